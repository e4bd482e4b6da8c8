"""Sign-in, callback and sign-out against the sandbox and a real redis-server."""

import base64
import hashlib
import json
import logging
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from portal.core.storage.keyspace import PENDING, SESSION
from portal.web.session_store import SESSION_COOKIE
from tests.helpers import KEY_COOKIE, PortalBrowser, pending_login, query_of, session_key, token_key
from tests.oauth_helpers import refresh as sandbox_refresh
from tools.stack import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, free_port, portal_env, start_portal

VERIFIER = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")


def test_login_redirects_to_authorize_with_every_parameter(browser, sandbox, portal):
    url = browser.start_login()
    assert url.startswith(sandbox.url + "/authorize?")
    params = query_of(url)
    assert params["response_type"] == "code"
    assert params["client_id"] == SANDBOX_CLIENT_ID
    assert params["redirect_uri"] == portal.url + "/callback"
    assert params["audience"] == "https://api.navexa.io/api"
    assert params["scope"] == "openid profile email offline_access"
    assert params["code_challenge_method"] == "S256"
    assert len(params["state"]) >= 20 and len(params["nonce"]) >= 20
    assert "code_verifier" not in params


def test_the_challenge_is_the_s256_of_a_verifier_kept_on_the_server(browser, portal):
    params = query_of(browser.start_login())
    pending = pending_login(portal, params["state"])
    verifier = pending["code_verifier"]
    assert VERIFIER.match(verifier)
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert params["code_challenge"] == digest
    assert pending["nonce"] == params["nonce"]
    assert verifier not in str(browser.cookies.get_dict())


def test_sign_in_lands_on_portfolios_and_shows_the_users_portfolios(browser):
    response = browser.sign_in("alice")
    assert response.status_code == 302 and response.headers["Location"] == "/portfolios"
    page = browser.get(browser.portal.url + "/portfolios", timeout=10)
    assert page.status_code == 200
    assert "Retirement" in page.text and "US Growth" in page.text and "Family SMSF" not in page.text
    assert "Alice Nguyen" in page.text


def test_bob_sees_only_his_portfolios(browser):
    browser.sign_in("bob")
    page = browser.get(browser.portal.url + "/portfolios", timeout=10)
    assert "Family SMSF" in page.text and "Retirement" not in page.text


def test_the_token_request_carries_client_secret_and_code_verifier(browser, sandbox):
    browser.sign_in()
    token_request = sandbox.token_requests()[-1]
    assert token_request["grant_type"] == "authorization_code"
    assert token_request["auth_method"] == "client_secret_post"
    assert {"client_id", "client_secret", "code", "code_verifier", "redirect_uri"} <= set(token_request["params"])


def test_signing_in_again_gives_a_new_session_id_and_the_old_one_is_gone(signed_in, portal):
    before = signed_in.session_id()
    signed_in.approve(signed_in.start_login())  # a second pending login, same browser
    assert signed_in.session_id() == before
    signed_in.sign_in()
    after = signed_in.session_id()
    assert after and after != before
    assert portal.redis.get(session_key(before)) is None


def test_only_an_opaque_session_cookie_reaches_the_browser(signed_in):
    assert set(signed_in.cookies.keys()) <= {SESSION_COOKIE, "navexa_sandbox_sso", KEY_COOKIE, "navexa_portal_login",
                                             "navexa_portal_same_site", "navexa_sandbox_sid"}
    record = signed_in.portal.redis.get(session_key(signed_in.session_id()))
    assert b"access_token" not in record and b"refresh_token" not in record


def test_next_is_kept_when_relative(browser):
    callback = browser.approve(browser.start_login("/login?next=/portfolios%3Fsort%3Dname"))
    response = browser.get(callback, allow_redirects=False, timeout=10)
    assert response.headers["Location"] == "/portfolios?sort=name"


@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example/", "/\\evil.example", "javascript:alert(1)",
                                    "evil.example", "/\r\nSet-Cookie:x=1"])
def test_next_that_leaves_the_site_is_dropped(browser, target):
    callback = browser.approve(browser.start_login("/login?" + requests.compat.urlencode({"next": target})))
    response = browser.get(callback, allow_redirects=False, timeout=10)
    assert response.headers["Location"] == "/portfolios"


def test_two_tabs_signing_in_at_once_both_complete(browser):
    first = browser.approve(browser.start_login("/login?next=/portfolios%3Ftab%3D1"))
    second = browser.approve(browser.start_login("/login?next=/portfolios%3Ftab%3D2"))
    answer_one = browser.get(first, allow_redirects=False, timeout=10)
    answer_two = browser.get(second, allow_redirects=False, timeout=10)
    assert answer_one.headers["Location"] == "/portfolios?tab=1"
    assert answer_two.headers["Location"] == "/portfolios?tab=2"
    assert browser.get(browser.portal.url + "/portfolios", timeout=10).status_code == 200


def test_organization_and_invitation_are_forwarded_when_well_formed(browser):
    params = query_of(browser.start_login("/login?organization=org_W30s&invitation=Ab12-cd_3"))
    assert params["organization"] == "org_W30s" and params["invitation"] == "Ab12-cd_3"


def test_malformed_invitation_is_refused_with_a_page(browser):
    response = browser.get(browser.portal.url + "/login?invitation=%3Cscript%3E", allow_redirects=False, timeout=10)
    assert response.status_code == 400
    assert "<script>" not in response.text and "invitation" in response.text


# -- bad input at the callback --------------------------------------------------------


def assert_state_page(response):
    assert response.status_code == 400
    assert "sign in again" in response.text.lower()
    assert 'href="/login"' in response.text


def test_unknown_state_is_refused_before_any_code_exchange(browser, sandbox):
    browser.start_login()
    response = browser.get(browser.portal.url + "/callback?code=abc&state=forged", timeout=10)
    assert_state_page(response)
    assert sandbox.stats()["token_requests"]["authorization_code"] == 0


def test_missing_state_is_refused(browser, sandbox):
    assert_state_page(browser.get(browser.portal.url + "/callback?code=abc", timeout=10))
    assert sandbox.stats()["token_requests"]["authorization_code"] == 0


def test_a_state_from_another_browser_is_refused(browser, portal, sandbox):
    callback = browser.approve(browser.start_login())
    stranger = requests.Session()
    stranger.get(portal.url + "/", timeout=10)
    assert_state_page(stranger.get(callback, timeout=10))
    assert sandbox.stats()["token_requests"]["authorization_code"] == 0


def test_a_replayed_callback_is_refused(browser, sandbox):
    callback = browser.approve(browser.start_login())
    assert browser.get(callback, allow_redirects=False, timeout=10).status_code == 302
    signed_out = browser.twin()
    signed_out.cookies.clear(domain="127.0.0.1", path="/", name=SESSION_COOKIE)
    assert_state_page(signed_out.get(callback, timeout=10))
    assert sandbox.stats()["token_requests"]["authorization_code"] == 1


@pytest.mark.parametrize("name", ["state", "code"])
def test_duplicated_parameters_are_refused(browser, sandbox, name):
    callback = browser.approve(browser.start_login())
    params = query_of(callback)
    response = browser.get(callback + f"&{name}={params[name]}", timeout=10)
    assert response.status_code == 400
    assert sandbox.stats()["token_requests"]["authorization_code"] == 0


def test_tampered_code_is_refused_with_a_sign_in_again_page(browser):
    callback = browser.approve(browser.start_login())
    response = browser.get(callback.replace("code=", "code=x"), timeout=10)
    assert response.status_code == 400
    assert "sign in again" in response.text.lower()


def test_missing_code_is_refused(browser, sandbox):
    params = query_of(browser.start_login())
    response = browser.get(browser.portal.url + "/callback", params={"state": params["state"]}, timeout=10)
    assert response.status_code == 400
    assert sandbox.stats()["token_requests"]["authorization_code"] == 0


def test_declining_shows_a_friendly_page(browser):
    callback = browser.approve(browser.start_login(), decision="deny")
    response = browser.get(callback, timeout=10)
    assert response.status_code == 403
    assert "You declined" in response.text


def test_provider_errors_are_shown_escaped(browser):
    params = query_of(browser.start_login())
    response = browser.get(browser.portal.url + "/callback", timeout=10, params={
        "state": params["state"], "error": "server_error", "error_description": "<b>boom</b>"})
    assert response.status_code == 400
    assert "&lt;b&gt;boom&lt;/b&gt;" in response.text and "<b>boom" not in response.text


def test_an_expired_code_gets_a_sign_in_again_page(browser, sandbox):
    sandbox.config(authorization_code_ttl=0)
    response = browser.get(browser.approve(browser.start_login()), timeout=10)
    assert response.status_code == 400
    assert "sign in again" in response.text.lower()


def test_a_wrong_client_secret_is_an_operator_problem_not_a_traceback(make_portal, sandbox):
    portal = make_portal(NAVEXA_CLIENT_SECRET="wrong-secret")
    browser = PortalBrowser(portal, sandbox)
    response = browser.get(browser.approve(browser.start_login()), timeout=10)
    assert response.status_code == 502
    assert "NAVEXA_CLIENT_SECRET" in response.text
    assert "wrong-secret" not in response.text and "Traceback" not in response.text


def test_provider_unreachable_at_login_is_503(make_portal, sandbox):
    dead = f"http://127.0.0.1:{free_port()}"
    portal = make_portal(NAVEXA_AUTH_URL=dead)
    response = requests.get(portal.url + "/login", allow_redirects=False, timeout=10)
    assert response.status_code == 503
    assert "be reached" in response.text


def test_a_broken_discovery_document_is_a_502_page(make_portal, sandbox):
    portal = make_portal(NAVEXA_AUTH_URL=sandbox.url + "/nowhere")  # discovery answers 404 there
    response = requests.get(portal.url + "/login", allow_redirects=False, timeout=10)
    assert response.status_code == 502
    assert "answered unexpectedly" in response.text and "Traceback" not in response.text


def test_redis_unreachable_is_503_not_a_traceback(make_portal):
    portal = make_portal(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    response = requests.get(portal.url + "/login", allow_redirects=False, timeout=10)
    assert response.status_code == 503
    assert "briefly unavailable" in response.text and "Traceback" not in response.text
    assert requests.get(portal.url + "/readyz", timeout=10).status_code == 503
    assert requests.get(portal.url + "/healthz", timeout=10).status_code == 200


def test_secrets_never_reach_the_log(browser, sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    params = query_of(browser.start_login())
    verifier = pending_login(browser.portal, params["state"])["code_verifier"]
    callback = browser.approve(browser.start_login())
    code = query_of(callback)["code"]
    browser.get(callback, timeout=10)
    browser.get(callback, timeout=10)  # replay: logged as refused
    portal_address = browser.portal.url.split("//")[1]
    # urllib3 lines about requests sent *to* the portal come from this test's client, not the portal.
    portal_log = "\n".join(r.getMessage() for r in caplog.records
                           if not (r.name.startswith("urllib3") and portal_address.split(":")[1] in r.getMessage()))
    assert "/callback?code=[redacted]" in portal_log
    for secret in (verifier, code, SANDBOX_CLIENT_SECRET):
        assert secret not in portal_log


# -- sign-out -------------------------------------------------------------------------


def test_signed_out_people_are_sent_to_login_with_next(browser):
    response = browser.get(browser.portal.url + "/portfolios?x=1", allow_redirects=False, timeout=10)
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/portfolios?x%3D1"


def test_logout_clears_redis_and_the_cookie_and_signs_out_at_the_provider(signed_in, portal, sandbox):
    sid = signed_in.session_id()
    assert portal.redis.exists(token_key(sid))
    id_token = signed_in.record().id_token
    response = signed_in.post(portal.url + "/logout", data={"csrf_token": signed_in.csrf()},
                              allow_redirects=False, timeout=10)
    assert response.status_code == 302
    assert response.headers["Location"].startswith(sandbox.url + "/oidc/logout?")
    assert query_of(response.headers["Location"]) == {"client_id": SANDBOX_CLIENT_ID, "id_token_hint": id_token,
                                                      "logout_hint": signed_in.cookies["navexa_sandbox_sid"],
                                                      "post_logout_redirect_uri": portal.url + "/"}
    assert not portal.redis.exists(session_key(sid))
    assert not portal.redis.exists(token_key(sid))
    assert SESSION_COOKIE not in signed_in.cookies
    home = signed_in.get(response.headers["Location"], timeout=10)
    assert home.url == portal.url + "/" and sandbox.stats()["logouts"] == 1
    assert signed_in.get(portal.url + "/portfolios", allow_redirects=False, timeout=10).status_code == 302


def test_logout_without_csrf_token_is_refused_and_keeps_the_session(signed_in, portal):
    response = signed_in.post(portal.url + "/logout", allow_redirects=False, timeout=10)
    assert response.status_code == 400
    assert signed_in.get(portal.url + "/portfolios", allow_redirects=False, timeout=10).status_code == 200


def test_get_logout_shows_a_confirmation_form(signed_in, portal):
    page = signed_in.get(portal.url + "/logout", timeout=10)
    assert page.status_code == 200 and 'method="post"' in page.text


def test_pages_carry_security_headers(signed_in, portal):
    response = signed_in.get(portal.url + "/portfolios", timeout=10)
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"


def test_every_cookie_is_httponly_and_lax_but_the_same_site_one_strict(browser, portal):
    login = browser.get(portal.url + "/login", allow_redirects=False, timeout=10)
    callback = browser.approve(login.headers["Location"])
    signed_in = browser.get(callback, allow_redirects=False, timeout=10)
    cookies = login.raw.headers.getlist("Set-Cookie") + signed_in.raw.headers.getlist("Set-Cookie")
    named = {c.split("=", 1)[0]: c for c in cookies}
    assert set(named) == {"navexa_portal_login", SESSION_COOKIE, KEY_COOKIE, "navexa_portal_same_site"}
    for name, cookie in named.items():
        same_site = "SameSite=Strict" if name == "navexa_portal_same_site" else "SameSite=Lax"
        assert "HttpOnly" in cookie and same_site in cookie and "Path=/" in cookie


def test_a_non_json_session_record_is_ignored_not_unpickled(browser, portal):
    import pickle

    class Boom:
        def __reduce__(self):
            return (exec, ("raise SystemExit('unpickled!')",))

    browser.sign_in()
    portal.redis.set(session_key(browser.session_id()), pickle.dumps(Boom()))
    response = browser.get(portal.url + "/portfolios", allow_redirects=False, timeout=10)
    assert response.status_code == 302  # treated as signed out, nothing unpickled


def test_an_id_token_whose_nonce_does_not_match_is_refused(browser, portal):
    """The ID token is validated: here the nonce kept for this login no longer matches the token's."""
    callback = browser.approve(browser.start_login())
    state = query_of(callback)["state"]
    pending = pending_login(portal, state)
    pending["nonce"] = "someone-elses-nonce"
    portal.redis.hset(PENDING + state, "data", json.dumps(pending))
    response = browser.get(callback, allow_redirects=False, timeout=10)
    assert response.status_code == 502
    assert "ID token did not pass validation" in response.text
    assert browser.get(portal.url + "/portfolios", allow_redirects=False, timeout=10).status_code == 302  # not signed in


@pytest.mark.parametrize("proxies", ["0", "1"])
def test_no_request_header_sets_the_redirect_uri(make_portal, proxies):
    portal = make_portal(TRUSTED_PROXY_COUNT=proxies)
    response = requests.get(portal.url + "/login", allow_redirects=False, timeout=10, headers={
        "Host": "evil.example", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example",
        "X-Forwarded-For": "203.0.113.9"})
    assert query_of(response.headers["Location"])["redirect_uri"] == portal.url + "/callback"


def test_without_public_url_development_uses_the_address_it_serves_not_the_host_header(make_portal):
    portal = make_portal(PUBLIC_URL=None, PORT="5123")
    response = requests.get(portal.url + "/login", allow_redirects=False, timeout=10, headers={"Host": "evil.example"})
    assert query_of(response.headers["Location"])["redirect_uri"] == "http://127.0.0.1:5123/callback"


def test_gunicorns_access_log_never_shows_the_code(sandbox, redis_url, tmp_path):
    log_path = tmp_path / "portal.log"
    with open(log_path, "w") as log:
        service, url = start_portal(portal_env(sandbox.url, redis_url), workers=1, log=log, access_log=True)
        try:
            requests.get(url + "/callback?code=SECRETCODE123&state=STATE456", timeout=10)
        finally:
            service.stop()
    text = log_path.read_text()
    assert "GET /callback?code=[redacted]&state=[redacted]" in text
    assert "SECRETCODE123" not in text and "STATE456" not in text


# -- signing in again, going back, doubled callbacks -------------------------------------------------


def test_back_after_signing_in_goes_to_the_portfolios_without_an_exchange(browser, sandbox):
    callback = browser.approve(browser.start_login("/login?next=/portfolios/101"))
    assert browser.get(callback, allow_redirects=False, timeout=10).headers["Location"] == "/portfolios/101"
    again = browser.get(callback, allow_redirects=False, timeout=10)  # Back replays the used state
    assert again.status_code == 302 and again.headers["Location"] == "/portfolios"
    unknown = browser.get(browser.portal.url + "/callback?code=x&state=never-issued", allow_redirects=False, timeout=10)
    assert unknown.status_code == 302 and unknown.headers["Location"] == "/portfolios"
    assert sandbox.stats()["token_requests"]["authorization_code"] == 1


@pytest.mark.parametrize("second_user", ["alice", "bob"])
def test_signing_in_again_revokes_and_drops_the_replaced_session(signed_in, portal, sandbox, second_user):
    old_sid, old_refresh = signed_in.session_id(), signed_in.record().refresh_token
    assert signed_in.sign_in(second_user).status_code == 302
    assert sandbox.stats()["revocations"] == 1
    assert sandbox_refresh(sandbox.url, old_refresh).json()["error"] == "invalid_grant"
    assert not portal.redis.exists(session_key(old_sid)) and not portal.redis.exists(token_key(old_sid))
    assert signed_in.page().status_code == 200


def test_two_tabs_finishing_sign_in_at_once_leave_no_orphaned_session(browser, portal, sandbox):
    browser.start_login()  # the browser has been here before
    callbacks = [browser.approve(browser.start_login()) for _ in range(2)]
    sessions_before = set(portal.redis.scan_iter(SESSION + "*"))
    tabs = [browser.twin(), browser.twin()]
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda pair: pair[0].get(pair[1], allow_redirects=False, timeout=10),
                                zip(tabs, callbacks, strict=True)))
    assert [a.status_code for a in answers] == [302, 302]
    setting_a_session = [a for a in answers if SESSION_COOKIE in a.headers.get("Set-Cookie", "")]
    assert len(setting_a_session) == 1  # whatever order they arrive in, the browser keeps one session
    new_sessions = set(portal.redis.scan_iter(SESSION + "*")) - sessions_before
    assert len(new_sessions) == 1
    assert sandbox.stats()["revocations"] == 1  # the other tab's tokens were revoked, not left behind
    winner = tabs[answers.index(setting_a_session[0])]
    assert winner.page().status_code == 200


# -- CSRF with odd values ----------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["header", "form"])
def test_a_non_ascii_csrf_value_is_refused_without_a_traceback(signed_in, portal, how, caplog):
    assert signed_in.csrf()  # the session has a CSRF token to compare with
    kwargs = {"headers": {"X-CSRF": "é"}} if how == "header" else {"data": {"csrf_token": "é"}}
    response = signed_in.post(portal.url + "/logout", allow_redirects=False, timeout=10, **kwargs)
    assert response.status_code == 400 and "This form has expired" in response.text
    assert "Traceback" not in caplog.text and all(r.exc_info is None for r in caplog.records)
    assert signed_in.page().status_code == 200


def test_signing_in_with_such_a_next_completes_without_a_500(browser, portal):
    response = browser.get(portal.url + "/login?next=/portfolios%0A", allow_redirects=False, timeout=10)
    callback = browser.approve(response.headers["Location"])
    done = browser.get(callback, allow_redirects=False, timeout=10)
    assert done.status_code == 302 and done.headers["Location"] == "/portfolios"


def test_the_callback_leaks_no_referrer(browser, portal):
    """RFC 9700 §4.2.4: the page answering the authorization response sends no Referer onward."""
    response = browser.sign_in()
    assert response.status_code == 302 and response.headers["Referrer-Policy"] == "no-referrer"
    from tools.clients import Browser

    refused = Browser(portal.url).get(portal.url + "/callback?code=x&state=unknown", timeout=10)  # an error page too
    assert refused.status_code == 400 and refused.headers["Referrer-Policy"] == "no-referrer"
    assert browser.get(portal.url + "/", timeout=10).headers["Referrer-Policy"] == "same-origin"  # elsewhere as before


def test_sign_out_asks_the_provider_to_end_its_session_with_an_id_token_hint(signed_in, portal):
    from tests.helpers import query_of

    id_token = signed_in.record().id_token
    response = signed_in.post(portal.url + "/logout", data={"csrf_token": signed_in.csrf()}, allow_redirects=False,
                              timeout=10)
    assert response.status_code == 302
    assert query_of(response.headers["Location"])["id_token_hint"] == id_token


def test_sign_out_clears_the_sites_cache_and_storage_but_no_other_sites_cookies(signed_in, portal):
    response = signed_in.post(portal.url + "/logout", data={"csrf_token": signed_in.csrf()}, allow_redirects=False,
                              timeout=10)
    assert response.headers["Clear-Site-Data"] == '"cache", "storage"'  # "cookies" would reach the whole domain's
