"""The outbound clients against an injected transport: every lower-level failure is translated,
in one place per client, and every resulting error has an answer for the person."""


import json

import pytest
import requests
import urllib3
from requests.adapters import BaseAdapter

from portal.core.navexa import client as navexa
from portal.core.navexa.client import NavexaClient, RateLimited
from portal.core.oauth import provider, refresh_failures, refresh_policy
from portal.core.oauth.provider import Provider
from portal.web import problems as errors

TRANSPORT_FAILURES = [
    (requests.ConnectTimeout, "timeout"),
    (requests.ReadTimeout, "timeout"),
    (requests.Timeout, "timeout"),
    (requests.ConnectionError, "unreachable"),
    (requests.exceptions.SSLError, "unreachable"),
    (requests.exceptions.ProxyError, "unreachable"),
    (requests.exceptions.ChunkedEncodingError, "unreachable"),
    (requests.exceptions.ContentDecodingError, "unreachable"),
    (requests.exceptions.InvalidURL, "unreachable"),
    (requests.exceptions.TooManyRedirects, "unreachable"),
    (requests.RequestException, "unreachable"),
]


class Transport(BaseAdapter):
    """A requests adapter that raises a given exception or answers with a given status and body."""

    def __init__(self, raises=None, status=200, body=b"{}", headers=None):
        super().__init__()
        self.raises, self.status, self.body, self.headers = raises, status, body, headers or {}

    def send(self, request, **kwargs):
        if self.raises:
            raise self.raises("injected")
        response = requests.Response()
        response.status_code, response._content, response.request = self.status, self.body, request
        response.headers.update({"Content-Type": "application/json", **self.headers})
        return response

    def close(self):
        pass


def session_with(transport) -> requests.Session:
    http = requests.Session()
    http.mount("http://", transport)
    return http


def a_provider(transport, metadata=True) -> Provider:
    p = Provider(auth_url="http://idp.invalid", client_id="c", client_secret="s", audience=None, scope="openid",
                 http=session_with(transport))
    if metadata:
        p._metadata = {"issuer": "http://idp.invalid/", "authorization_endpoint": "http://idp.invalid/authorize",
                       "token_endpoint": "http://idp.invalid/oauth/token", "jwks_uri": "http://idp.invalid/jwks",
                       "revocation_endpoint": "http://idp.invalid/oauth/revoke"}
    return p


@pytest.mark.parametrize("failure, kind", TRANSPORT_FAILURES)
def test_every_transport_failure_of_the_provider_is_translated(failure, kind):
    expected = provider.ProviderTimeout if kind == "timeout" else provider.ProviderUnreachable
    with pytest.raises(expected):
        a_provider(Transport(raises=failure)).refresh("r")
    with pytest.raises(expected):
        a_provider(Transport(raises=failure), metadata=False).metadata()


URLLIB3_FAILURES = [
    (lambda: urllib3.exceptions.ConnectTimeoutError("connect timed out"), "timeout"),
    (lambda: urllib3.exceptions.ReadTimeoutError(None, "/", "read timed out"), "timeout"),
    (lambda: urllib3.exceptions.NewConnectionError(None, "refused"), "unreachable"),
    (lambda: urllib3.exceptions.NameResolutionError("api.invalid", None, OSError("no such host")), "unreachable"),
    (lambda: urllib3.exceptions.ProtocolError("connection reset"), "unreachable"),
    (lambda: urllib3.exceptions.SSLError("bad certificate"), "unreachable"),
    (lambda: urllib3.exceptions.ProxyError("proxy down", OSError()), "unreachable"),
    (lambda: urllib3.exceptions.MaxRetryError(None, "/", None), "unreachable"),
    (lambda: urllib3.exceptions.IncompleteRead(10, 100), "unreachable"),
    (lambda: urllib3.exceptions.DecodeError("bad gzip"), "unreachable"),
    (lambda: urllib3.exceptions.LocationParseError("bad url"), "unreachable"),
    (lambda: urllib3.exceptions.HTTPError("anything else"), "unreachable"),
]


class Pool:
    """Stands in for urllib3's connection pool: raises a given failure or answers with a given status and body."""

    def __init__(self, raises=None, status=200, body=b"[]", headers=None):
        self.raises, self.status, self.body, self.headers = raises, status, body, headers or {}
        self.urls = []

    def urlopen(self, method, url, **kwargs):
        self.urls.append(url)
        if self.raises:
            raise self.raises()
        return urllib3.HTTPResponse(body=self.body, status=self.status, preload_content=True,
                                    headers={"Content-Type": "application/json", **self.headers})


@pytest.mark.parametrize("failure, kind", URLLIB3_FAILURES)
def test_every_transport_failure_of_the_navexa_client_is_translated(failure, kind):
    client = NavexaClient("http://api.invalid", pool=Pool(raises=failure))
    with pytest.raises(navexa.UpstreamTimeout if kind == "timeout" else navexa.UpstreamError):
        client.get_json("/v1/portfolios", "token")


@pytest.mark.parametrize("segments", [["portfolios", "101"], ["a b", "c/d", "%2e", "?x", "#y", "@evil", "é", ";p"]])
def test_segments_are_sent_percent_encoded_below_the_base(segments):
    url = NavexaClient("http://api.invalid/api/").url(segments)
    assert url.startswith("http://api.invalid/api/")
    assert url.split("/api/", 1)[1].count("/") == len(segments) - 1  # nothing added a segment
    for character in "?#@ ":
        assert character not in url.split("/api/", 1)[1]


@pytest.mark.parametrize("status, body, expected", [
    (400, {"error": "invalid_grant"}, provider.ProviderRefused),
    (401, {"error": "invalid_client"}, provider.ProviderRefused),
    (403, {"error": "invalid_scope", "error_description": "x"}, provider.ProviderRefused),
    (200, {"error": "invalid_request"}, provider.ProviderRefused),
    (503, {"error": "temporarily_unavailable"}, provider.ProviderBadAnswer),  # a 5xx is not a verdict
    (400, {"message": "no error code"}, provider.ProviderBadAnswer),
    (200, ["not", "an", "object"], provider.ProviderBadAnswer),
    (200, {"token_type": "Bearer"}, provider.ProviderBadAnswer),  # no access token
])
def test_token_endpoint_answers_are_read_by_one_rule(status, body, expected):
    with pytest.raises(expected):
        a_provider(Transport(status=status, body=json.dumps(body).encode())).refresh("r")


def test_a_token_endpoint_answer_that_is_not_json_is_a_bad_answer():
    with pytest.raises(provider.ProviderBadAnswer):
        a_provider(Transport(status=502, body=b"<html>Bad gateway</html>")).refresh("r")


@pytest.mark.parametrize("error, expected", [
    (provider.ProviderRefused("invalid_grant", 400), "SessionEnded"),
    (provider.ProviderRefused("invalid_client", 401), "SessionEnded"),
    (provider.ProviderRefused("invalid_scope", 400), "RefreshRefused"),
    (provider.ProviderTimeout("slow"), "RefreshTimedOut"),
    (provider.ProviderUnreachable("down"), "RefreshUnavailable"),
    (provider.ProviderBadAnswer("odd"), "RefreshUnavailable"),
])
def test_the_refresh_policy_ends_sessions_only_on_invalid_grant_and_invalid_client(error, expected):
    class Failing:
        def refresh(self, refresh_token):
            raise error

    with pytest.raises(Exception) as caught:
        refresh_policy.refresher(Failing())("r")
    assert type(caught.value).__name__ == expected
    # Whatever the kind, only two families come out: one ends the session, the other keeps it.
    assert isinstance(caught.value, refresh_failures.SessionEnded if expected == "SessionEnded" else refresh_failures.RefreshUnavailable)


def subclasses(cls):
    found = [cls]
    for sub in cls.__subclasses__():
        found += subclasses(sub)
    return found


@pytest.mark.parametrize("error_class", subclasses(navexa.NavexaError), ids=lambda c: c.__name__)
def test_every_navexa_error_has_an_answer(error_class):
    answer = errors.answer_for(error_class("x"), errors.NAVEXA_ANSWERS)
    assert 400 <= answer.status < 600 and answer.code and answer.title and answer.message


@pytest.mark.parametrize("error_class", subclasses(provider.ProviderFailure), ids=lambda c: c.__name__)
def test_every_provider_failure_has_an_answer(error_class):
    error = error_class("invalid_grant", 400) if error_class is provider.ProviderRefused else error_class("x")
    answer = errors.answer_for(error, errors.PROVIDER_ANSWERS)
    assert 500 <= answer.status < 600 and answer.code and answer.title and answer.message


@pytest.mark.parametrize("error_class", subclasses(refresh_failures.RefreshUnavailable), ids=lambda c: c.__name__)
def test_every_refresh_failure_that_keeps_the_session_has_its_own_answer(error_class):
    error = error_class("invalid_scope") if error_class is refresh_failures.RefreshRefused else error_class("x")
    answer = errors.answer_for(error, errors.REFRESH_ANSWERS)
    assert answer is errors.REFRESH_ANSWERS[error_class]  # answered by its own class, not an ancestor's
    assert 500 <= answer.status < 600 and answer.code and answer.title and answer.message


@pytest.mark.parametrize("error_class", subclasses(refresh_failures.RefreshUnavailable), ids=lambda c: c.__name__)
def test_a_remembered_refresh_failure_comes_back_as_the_same_kind(error_class):
    error = error_class("invalid_scope") if error_class is refresh_failures.RefreshRefused else error_class("slow")
    recalled = refresh_failures.RefreshUnavailable.recalled(error.remembered().encode())
    expected = refresh_failures.RefreshUnavailable if error_class is refresh_failures.RefreshBusy else error_class
    assert type(recalled) is expected and str(recalled) == str(error)
    assert getattr(recalled, "error", None) == getattr(error, "error", None)


def test_a_remembered_pause_tells_the_wait_left_and_ends_on_the_apps_clock():
    # Working: paused 10 s at t=100, remembered for 5 s → until 105; recalled at 107 a 10 s pause has 3 s left
    # (ceil(100 + 10 - 107) = 3); at 109.5, ceil(0.5) = 1; past its end, never less than 1.
    remembered = refresh_failures.RefreshRateLimited(10).remembered(at=100.0, lasts=5.0).encode()
    recalled = refresh_failures.RefreshUnavailable.recalled(remembered)
    assert (recalled.at, recalled.until) == (100.0, 105.0)
    assert [recalled.as_of(now).retry_after for now in (100.0, 107.0, 109.5, 120.0)] == [10, 3, 1, 1]
    assert refresh_failures.RefreshUnavailable.recalled(refresh_failures.RefreshTimedOut("slow").remembered().encode()).until is None


@pytest.mark.parametrize("status, expected", [
    (401, navexa.Unauthorized), (403, navexa.Forbidden), (404, navexa.NotFound), (429, navexa.RateLimited),
    (500, navexa.UpstreamError), (503, navexa.UpstreamError), (418, navexa.UpstreamError),
    (302, navexa.UpstreamError), (307, navexa.UpstreamError),
])
def test_navexa_error_statuses_map_to_their_errors(status, expected):
    client = NavexaClient("http://api.invalid", pool=Pool(status=status, headers={"Retry-After": "7"}))
    with pytest.raises(expected) as caught:
        client.get_json("/v1/portfolios", "token")
    assert caught.value.upstream_status == status and caught.value.retry_after == 7


@pytest.mark.parametrize("value", ["²", "١٢", "7.5", "-1", " 7", "7\n"])
def test_an_odd_retry_after_is_ignored_not_a_500(value):
    client = NavexaClient("http://api.invalid", pool=Pool(status=429, headers={"Retry-After": value}))
    with pytest.raises(RateLimited) as caught:
        client.get_json("/v1/portfolios", "token")
    assert caught.value.retry_after is None
