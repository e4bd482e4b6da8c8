"""The sandbox behaves like Navexa's Auth0 tenant and API, over real HTTP, with no portal involved."""

import base64
import time

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.oauth_helpers import (
    API_AUDIENCE,
    CLIENT_ID,
    CLIENT_SECRET,
    REDIRECT_URI,
    api_get,
    authorize_params,
    exchange,
    get_code,
    make_verifier,
    redirect_params,
    refresh,
    s256,
    sign_in,
    tokens_for,
)


def decode(sandbox, token):
    keys = KeySet.import_key_set(requests.get(sandbox.url + "/.well-known/jwks.json", timeout=5).json())
    return jwt.decode(token, keys, algorithms=["RS256"])


# -- discovery ----------------------------------------------------------------


def test_discovery_lists_every_endpoint_under_a_trailing_slash_issuer(sandbox):
    meta = requests.get(sandbox.url + "/.well-known/openid-configuration", timeout=5).json()
    assert meta["issuer"] == sandbox.url + "/"
    for key, path in [("authorization_endpoint", "authorize"), ("token_endpoint", "oauth/token"),
                      ("userinfo_endpoint", "userinfo"), ("jwks_uri", ".well-known/jwks.json"),
                      ("revocation_endpoint", "oauth/revoke"), ("end_session_endpoint", "oidc/logout")]:
        assert meta[key] == sandbox.url + "/" + path
    assert meta["code_challenge_methods_supported"] == ["S256"]


# -- /authorize ---------------------------------------------------------------


@pytest.mark.parametrize("override, reason", [
    ({"client_id": "someone-else"}, "client"),
    ({"redirect_uri": "https://evil.example/callback"}, "redirect"),
    ({"redirect_uri": "http://127.0.0.1:5999/elsewhere"}, "redirect"),
    ({"redirect_uri": "http://127.0.0.1/callback"}, "redirect"),
])
def test_authorize_shows_an_error_page_and_never_redirects_for_a_bad_client_or_redirect_uri(sandbox, override, reason):
    response = requests.get(sandbox.url + "/authorize", params=authorize_params(make_verifier(), **override),
                            allow_redirects=False, timeout=5)
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "text/html" in response.headers["Content-Type"]


def test_authorize_accepts_localhost_on_any_port(sandbox):
    params = authorize_params(make_verifier(), redirect_uri="http://localhost:61234/callback")
    assert requests.get(sandbox.url + "/authorize", params=params, timeout=5).status_code == 200


def test_authorize_without_code_challenge_redirects_with_auth0s_pkce_error(sandbox):
    params = authorize_params(None)
    response = requests.get(sandbox.url + "/authorize", params=params, allow_redirects=False, timeout=5)
    answer = redirect_params(response)
    assert answer == {"error": "invalid_request", "error_description": "The PKCE protocol extension is required.",
                      "state": params["state"]}


def test_authorize_refuses_the_plain_challenge_method(sandbox):
    verifier = make_verifier()
    params = authorize_params(verifier, code_challenge=verifier, code_challenge_method="plain")
    answer = redirect_params(requests.get(sandbox.url + "/authorize", params=params, allow_redirects=False, timeout=5))
    assert answer["error"] == "invalid_request"
    assert "S256" in answer["error_description"]


def test_authorize_refuses_response_types_other_than_code(sandbox):
    params = authorize_params(make_verifier(), response_type="token")
    answer = redirect_params(requests.get(sandbox.url + "/authorize", params=params, allow_redirects=False, timeout=5))
    assert answer["error"] == "unsupported_response_type"


def test_sign_in_page_is_a_form_with_a_username_field(sandbox):
    page = requests.get(sandbox.url + "/authorize", params=authorize_params(make_verifier()), timeout=5)
    assert 'name="username"' in page.text and "alice" in page.text and "bob" in page.text
    assert 'value="allow"' in page.text and 'value="deny"' in page.text


def test_deny_redirects_with_access_denied_and_the_state_unchanged(sandbox):
    params = authorize_params(make_verifier(), state="odd state/with+chars")
    answer = redirect_params(sign_in(sandbox.url, params, decision="deny"))
    assert answer["error"] == "access_denied"
    assert answer["state"] == "odd state/with+chars"


def test_unknown_user_is_asked_again(sandbox):
    response = sign_in(sandbox.url, authorize_params(make_verifier()), username="mallory")
    assert response.status_code == 400
    assert "Unknown user" in response.text


# -- /oauth/token: authorization_code ----------------------------------------------


def test_full_code_flow_with_pkce_and_client_secret_returns_every_token(sandbox):
    verifier = make_verifier()
    params = authorize_params(verifier)
    code = redirect_params(sign_in(sandbox.url, params))["code"]
    response = exchange(sandbox.url, code, verifier)
    assert response.status_code == 200
    token = response.json()
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 86400
    assert token["scope"] == "openid profile email offline_access"
    assert token["refresh_token"].startswith("v1.")
    id_token = decode(sandbox, token["id_token"])
    assert id_token.header["alg"] == "RS256"
    assert id_token.claims["nonce"] == params["nonce"]
    assert id_token.claims["aud"] == CLIENT_ID
    assert id_token.claims["iss"] == sandbox.url + "/"
    assert id_token.claims["email"] == "alice@example.com"
    access = decode(sandbox, token["access_token"]).claims
    assert API_AUDIENCE in access["aud"]
    assert access["exp"] > time.time()
    assert sandbox.stats()["token_requests"]["authorization_code"] == 1


def test_token_endpoint_takes_form_bodies_and_basic_client_auth(sandbox):
    verifier = make_verifier()
    code = get_code(sandbox.url, verifier)
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    response = requests.post(sandbox.url + "/oauth/token", headers={"Authorization": f"Basic {basic}"}, timeout=5, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI, "code_verifier": verifier})
    assert response.status_code == 200, response.text
    assert sandbox.token_requests()[-1]["auth_method"] == "client_secret_basic"


def test_wrong_client_secret_is_invalid_client_401(sandbox):
    verifier = make_verifier()
    for as_json in (True, False):
        response = exchange(sandbox.url, get_code(sandbox.url, verifier), verifier, secret="wrong", as_json=as_json)
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_client"


def test_wrong_verifier_fails_with_auth0s_text(sandbox):
    code = get_code(sandbox.url, make_verifier())
    response = exchange(sandbox.url, code, make_verifier())
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_grant", "error_description": "Failed to verify code_verifier."}


def test_missing_verifier_is_refused(sandbox):
    verifier = make_verifier()
    response = exchange(sandbox.url, get_code(sandbox.url, verifier), None)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_sending_the_challenge_instead_of_the_verifier_fails(sandbox):
    verifier = make_verifier()
    response = exchange(sandbox.url, get_code(sandbox.url, verifier), s256(verifier))
    assert response.json()["error_description"] == "Failed to verify code_verifier."


def test_code_is_single_use_and_a_replay_revokes_what_it_issued(sandbox):
    verifier = make_verifier()
    code = get_code(sandbox.url, verifier)
    first = exchange(sandbox.url, code, verifier).json()
    assert api_get(sandbox.url, "/portfolios", first["access_token"]).status_code == 200
    replay = exchange(sandbox.url, code, verifier)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert api_get(sandbox.url, "/portfolios", first["access_token"]).status_code == 401
    assert refresh(sandbox.url, first["refresh_token"]).json()["error"] == "invalid_grant"


def test_expired_code_is_refused_with_auth0s_text(sandbox):
    sandbox.config(authorization_code_ttl=0)
    verifier = make_verifier()
    response = exchange(sandbox.url, get_code(sandbox.url, verifier), verifier)
    assert response.json() == {"error": "invalid_grant", "error_description": "Authorization code expired"}


def test_redirect_uri_must_match_the_one_authorized(sandbox):
    verifier = make_verifier()
    response = exchange(sandbox.url, get_code(sandbox.url, verifier), verifier,
                        redirect_uri="http://127.0.0.1:5998/callback")
    assert response.json()["error"] == "invalid_grant"


def test_no_openid_no_id_token_and_no_offline_access_no_refresh_token(sandbox):
    token = tokens_for(sandbox.url, scope="profile")
    assert "id_token" not in token and "refresh_token" not in token
    token = tokens_for(sandbox.url, scope="openid email")
    assert "id_token" in token and "refresh_token" not in token


def test_without_audience_the_access_token_is_refused_by_the_api(sandbox):
    token = tokens_for(sandbox.url, audience=None)
    assert API_AUDIENCE not in decode(sandbox, token["access_token"]).claims.get("aud", [])
    assert api_get(sandbox.url, "/portfolios", token["access_token"]).status_code == 401


def test_unsupported_grant_type_is_refused(sandbox):
    response = requests.post(sandbox.url + "/oauth/token", timeout=5, json={
        "grant_type": "password", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})
    assert response.json()["error"] == "unsupported_grant_type"


def test_malformed_json_body_is_invalid_request(sandbox):
    response = requests.post(sandbox.url + "/oauth/token", data="{nope", timeout=5,
                             headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


# -- /oauth/token: refresh_token ------------------------------------------------------


def test_refresh_rotates_the_refresh_token(sandbox):
    first = tokens_for(sandbox.url)
    response = refresh(sandbox.url, first["refresh_token"])
    assert response.status_code == 200
    second = response.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert API_AUDIENCE in decode(sandbox, second["access_token"]).claims["aud"]
    assert refresh(sandbox.url, second["refresh_token"]).status_code == 200
    assert sandbox.stats()["token_requests"]["refresh_token"] == 2


def test_reusing_a_rotated_refresh_token_revokes_the_whole_family(sandbox):
    first = tokens_for(sandbox.url)
    second = refresh(sandbox.url, first["refresh_token"]).json()
    reuse = refresh(sandbox.url, first["refresh_token"])
    assert reuse.status_code == 400
    assert reuse.json() == {"error": "invalid_grant", "error_description": "Unknown or invalid refresh token."}
    assert sandbox.stats()["refresh_reuse_detected"] == 1
    assert refresh(sandbox.url, second["refresh_token"]).json()["error"] == "invalid_grant"
    assert api_get(sandbox.url, "/portfolios", second["access_token"]).status_code == 401


def test_reuse_within_the_reuse_interval_is_tolerated(sandbox):
    sandbox.config(refresh_reuse_interval=30)
    first = tokens_for(sandbox.url)
    refresh(sandbox.url, first["refresh_token"])
    assert refresh(sandbox.url, first["refresh_token"]).status_code == 200
    assert sandbox.stats()["refresh_reuse_detected"] == 0


def test_unknown_refresh_token_is_invalid_grant(sandbox):
    assert refresh(sandbox.url, "v1.made-up").json()["error"] == "invalid_grant"


def test_refresh_with_a_wrong_secret_is_invalid_client(sandbox):
    response = refresh(sandbox.url, tokens_for(sandbox.url)["refresh_token"], secret="wrong")
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_access_token_ttl_knob_sets_expiry(sandbox):
    sandbox.config(access_token_ttl=0)
    token = tokens_for(sandbox.url)
    assert token["expires_in"] == 0
    assert api_get(sandbox.url, "/portfolios", token["access_token"]).status_code == 401


# -- revocation, userinfo, logout -----------------------------------------------------


def test_revocation_revokes_the_family_and_counts(sandbox):
    token = tokens_for(sandbox.url)
    response = requests.post(sandbox.url + "/oauth/revoke", timeout=5, json={
        "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "token": token["refresh_token"]})
    assert response.status_code == 200
    assert sandbox.stats()["revocations"] == 1
    assert refresh(sandbox.url, token["refresh_token"]).json()["error"] == "invalid_grant"


def test_revoking_an_unknown_token_is_still_200(sandbox):
    response = requests.post(sandbox.url + "/oauth/revoke", timeout=5, data={
        "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "token": "v1.unknown"})
    assert response.status_code == 200
    assert sandbox.stats()["revocations"] == 0


def test_userinfo_answers_for_an_openid_access_token(sandbox):
    token = tokens_for(sandbox.url, username="bob")
    response = requests.get(sandbox.url + "/userinfo", headers={"Authorization": "Bearer " + token["access_token"]}, timeout=5)
    assert response.json()["email"] == "bob@example.com"
    assert requests.get(sandbox.url + "/userinfo", timeout=5).status_code == 401


def test_oidc_logout_redirects_to_an_allowed_url_and_forgets_the_user(sandbox):
    http = requests.Session()
    sign_in(sandbox.url, authorize_params(make_verifier()), session=http)
    assert http.cookies.get("navexa_sandbox_sso") == "alice"
    response = http.get(sandbox.url + "/oidc/logout", allow_redirects=False, timeout=5, params={
        "client_id": CLIENT_ID, "post_logout_redirect_uri": "http://127.0.0.1:5999/"})
    assert response.status_code == 302 and response.headers["Location"] == "http://127.0.0.1:5999/"
    assert "navexa_sandbox_sso" not in http.cookies
    assert sandbox.stats()["logouts"] == 1


@pytest.mark.parametrize("params", [
    {"client_id": "nope", "returnTo": "http://127.0.0.1:5999/"},
    {"client_id": CLIENT_ID, "returnTo": "https://evil.example/"},
])
def test_v2_logout_refuses_unknown_clients_and_foreign_return_urls(sandbox, params):
    response = requests.get(sandbox.url + "/v2/logout", params=params, allow_redirects=False, timeout=5)
    assert response.status_code == 400


def test_v2_logout_redirects_to_return_to(sandbox):
    response = requests.get(sandbox.url + "/v2/logout", allow_redirects=False, timeout=5,
                            params={"client_id": CLIENT_ID, "returnTo": "http://localhost:5000/"})
    assert response.headers["Location"] == "http://localhost:5000/"


# -- the Navexa API -------------------------------------------------------------------


@pytest.fixture
def alice(sandbox):
    return tokens_for(sandbox.url, username="alice")["access_token"]


@pytest.fixture
def bob(sandbox):
    return tokens_for(sandbox.url, username="bob")["access_token"]


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer not-a-jwt"}, {"Authorization": "Basic abc"}, {"x-api-key": "guess"},
])
def test_api_refuses_requests_without_a_valid_token(sandbox, headers):
    response = requests.get(sandbox.url + "/api/portfolios", headers=headers, timeout=5)
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"


def test_api_refuses_a_token_signed_by_someone_else(sandbox, alice):
    from joserfc.jwk import RSAKey
    claims = decode(sandbox, alice).claims
    forged = jwt.encode({"alg": "RS256"}, claims, RSAKey.generate_key(2048))
    assert api_get(sandbox.url, "/portfolios", forged).status_code == 401


def test_each_user_sees_only_their_own_portfolios(sandbox, alice, bob):
    mine = api_get(sandbox.url, "/portfolios", alice).json()
    theirs = api_get(sandbox.url, "/portfolios", bob).json()
    assert {p["id"] for p in mine} == {101, 102}
    assert {p["id"] for p in theirs} == {201}
    assert set(mine[0]) == {"id", "name", "dateCreated", "baseCurrencyCode"}
    assert {p["baseCurrencyCode"] for p in mine} == {"AUD", "USD"}
    assert api_get(sandbox.url, "/portfolios/101", bob).status_code == 404
    assert api_get(sandbox.url, "/portfolios/101/holdings", bob).status_code == 404
    assert api_get(sandbox.url, "/holdings/1001/trades", bob).status_code == 404


def test_holdings_cover_asx_us_and_cash(sandbox, alice):
    holdings = api_get(sandbox.url, "/portfolios/101/holdings", alice).json()
    assert {"id", "symbol", "exchange", "displayExchange", "name", "currencyCode", "holdingTypeId", "portfolioId",
            "dateCreated", "classification"} == set(holdings[0])
    assert set(holdings[0]["classification"]) == {"sector", "industryGroup", "industry", "subIndustry"}
    kinds = {h["symbol"]: h["holdingTypeId"] for h in holdings}
    assert (kinds["CBA"], kinds["VAS"], kinds["AUD"]) == (1, 1, 3)  # Navexa's types: share or ETF, and cash
    assert {h["exchange"] for h in holdings} >= {"ASX", "CASH"}
    us = api_get(sandbox.url, "/portfolios/102/holdings", alice).json()
    assert {h["exchange"] for h in us} >= {"NASDAQ"}


@pytest.mark.parametrize("path", ["/portfolios", "/portfolios/101", "/portfolios/101/holdings",
                                  "/portfolios/101/performance", "/holdings/1001/trades", "/holdings/1001/income"])
def test_every_resource_answers_the_same_under_v1_and_as_before(sandbox, alice, path):
    current = api_get(sandbox.url, path, alice)
    assert current.status_code == 200
    assert current.json() == api_get(sandbox.url, path, alice).json()


def test_performance_takes_the_flags_public_clients_send(sandbox, alice):
    flags = {"groupBy": "holding", "isPortfolioGroup": "false", "showLocalCurrency": "false"}
    assert api_get(sandbox.url, "/portfolios/101/performance", alice, params=flags).status_code == 200
    odd = api_get(sandbox.url, "/portfolios/101/performance", alice, params={**flags, "showLocalCurrency": "maybe"})
    assert odd.status_code == 400 and "showLocalCurrency" in odd.json()["message"]


def test_performance_depends_on_the_period(sandbox, alice):
    whole = api_get(sandbox.url, "/portfolios/101/performance", alice, params={"groupBy": "holding"}).json()
    year = api_get(sandbox.url, "/portfolios/101/performance", alice,
                   params={"from": "2025-11-20", "to": "2026-11-20", "groupBy": "holding"}).json()
    assert set(whole["totalReturn"]) == {"totalValue", "capitalGainValue", "capitalGainPercent",
                                         "dividendReturnValue", "totalReturnPercent"}
    assert whole["totalReturn"]["totalValue"] == year["totalReturn"]["totalValue"]
    assert whole["totalReturn"]["capitalGainValue"] > year["totalReturn"]["capitalGainValue"]
    assert round(sum(h["holdingWeight"] for h in whole["holdings"])) == 100
    bad = api_get(sandbox.url, "/portfolios/101/performance", alice, params={"from": "yesterday"})
    assert bad.status_code == 400


def test_trades_and_income_carry_franking_credits(sandbox, alice):
    trades = api_get(sandbox.url, "/holdings/1001/trades", alice).json()
    assert {"id", "holdingId", "tradeDate", "tradeType", "tradeTypeId", "quantity", "price", "brokerage", "value",
            "currencyCode", "exchangeRate", "notes"} == set(trades[0])
    assert {t["holdingId"] for t in trades} == {1001}
    income = api_get(sandbox.url, "/holdings/1001/income", alice).json()
    assert {"id", "paidDate", "exDividendDate", "netAmount", "grossAmount", "frankingCredits", "frankedAmount",
            "unfrankedAmount", "foreignTaxWithheld", "total", "isTrustIncome", "excludeFromTax", "isReinvested",
            "dividendCurrency", "exchangeRate", "symbol", "companyName"} == set(income[0])
    assert income[0]["frankedAmount"] + income[0]["unfrankedAmount"] == pytest.approx(income[0]["netAmount"], abs=0.005)
    assert (income[0]["symbol"], income[0]["companyName"], income[0]["dividendCurrency"]) == (
        "CBA", "Commonwealth Bank of Australia", "AUD")
    assert income and all(i["frankingCredits"] > 0 for i in income)
    assert income[0]["grossAmount"] == pytest.approx(income[0]["netAmount"] + income[0]["frankingCredits"], abs=0.01)


def test_x_api_key_is_accepted_when_configured(tmp_path):
    from tools.stack import start_sandbox
    service, url = start_sandbox(env={"SANDBOX_API_KEY": "k-123"})
    try:
        assert requests.get(url + "/api/portfolios", headers={"x-api-key": "k-123"}, timeout=5).status_code == 200
        assert requests.get(url + "/api/portfolios", headers={"x-api-key": "k-124"}, timeout=5).status_code == 401
    finally:
        service.stop()


def test_tax_report_streams_n_megabytes_of_pdf(sandbox, alice):
    response = api_get(sandbox.url, "/portfolios/101/reports/tax.pdf", alice, params={"size_mb": 3}, stream=True)
    assert response.headers["Content-Type"] == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    assert sum(len(chunk) for chunk in response.iter_content(65536)) == 3 * 1024 * 1024


# -- knobs and counters ---------------------------------------------------------------


def test_api_error_knob_answers_the_next_n_calls_then_recovers(sandbox, alice):
    sandbox.config(api_error={"status": 429, "count": 2, "retry_after": 7})
    for _ in range(2):
        response = api_get(sandbox.url, "/portfolios", alice)
        assert response.status_code == 429 and response.headers["Retry-After"] == "7"
    assert api_get(sandbox.url, "/portfolios", alice).status_code == 200


def test_api_latency_knob_delays_calls(sandbox, alice):
    sandbox.config(api_latency_ms=300)
    started = time.monotonic()
    api_get(sandbox.url, "/portfolios", alice)
    assert time.monotonic() - started >= 0.3


def test_token_latency_knob_delays_token_calls(sandbox):
    token = tokens_for(sandbox.url)
    sandbox.config(token_latency_ms=300)
    started = time.monotonic()
    refresh(sandbox.url, token["refresh_token"])
    assert time.monotonic() - started >= 0.3


def test_token_error_knob_fails_the_token_and_revocation_endpoints_n_times(sandbox):
    token = tokens_for(sandbox.url)
    sandbox.config(token_error={"status": 503, "count": 2})
    assert refresh(sandbox.url, token["refresh_token"]).status_code == 503
    revoke = requests.post(sandbox.url + "/oauth/revoke", timeout=5, data={
        "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "token": token["refresh_token"]})
    assert revoke.status_code == 503
    assert refresh(sandbox.url, token["refresh_token"]).status_code == 200


def test_token_error_knob_can_fail_the_revocation_endpoint_alone(sandbox):
    token = tokens_for(sandbox.url)
    sandbox.config(token_error={"status": 503, "count": 1, "match": "/oauth/revoke"})
    assert refresh(sandbox.url, token["refresh_token"]).status_code == 200  # the token endpoint: not matched
    revoke = requests.post(sandbox.url + "/oauth/revoke", timeout=5, data={
        "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "token": token["refresh_token"]})
    assert revoke.status_code == 503


@pytest.mark.parametrize("knobs", [{"nope": 1}, {"api_latency_ms": "slow"}, {"api_error": {"status": 418}},
                                   {"token_error": {"status": 418}}, {"api_rate_limit": 5}])
def test_config_refuses_unknown_or_ill_typed_knobs(sandbox, knobs):
    assert requests.post(sandbox.url + "/_sandbox/config", json=knobs, timeout=5).status_code == 400


def test_requests_log_records_calls_without_secret_values(sandbox, alice):
    api_get(sandbox.url, "/portfolios/101/performance", alice, params={"from": "2026-01-01"})
    entry = sandbox.api_requests()[-1]
    assert entry["method"] == "GET" and entry["path"] == "/api/portfolios/101/performance"
    assert entry["query"] == "from=2026-01-01"
    assert entry["headers"]["Authorization"] == "<redacted>"
    assert alice not in str(sandbox.api_requests())
    assert sandbox.stats()["api_requests"] == 1


def test_reset_restores_defaults_and_zeroes_counters(sandbox, alice):
    sandbox.config(api_latency_ms=50)
    api_get(sandbox.url, "/portfolios", alice)
    sandbox.reset()
    assert sandbox.stats()["api_requests"] == 0
    assert sandbox.stats()["token_requests"] == {"authorization_code": 0, "refresh_token": 0}
    assert sandbox.config()["api_latency_ms"] == 0


def test_opaque_access_tokens_are_accepted_by_the_api(sandbox):
    sandbox.config(opaque_access_tokens=True)
    tokens = tokens_for(sandbox.url)
    assert tokens["access_token"].startswith("at.") and tokens["access_token"].count(".") == 1
    assert api_get(sandbox.url, "/portfolios", tokens["access_token"]).status_code == 200
    assert api_get(sandbox.url, "/portfolios", tokens["access_token"] + "x").status_code == 401


def test_a_strict_provider_refuses_scope_on_refresh_but_not_without_it(sandbox):
    sandbox.config(refuse_refresh_scope=True)
    refresh_token = tokens_for(sandbox.url)["refresh_token"]
    with_scope = requests.post(sandbox.url + "/oauth/token", timeout=5, data={
        "grant_type": "refresh_token", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
        "refresh_token": refresh_token, "scope": "openid offline_access"})
    assert with_scope.status_code == 403 and with_scope.json()["error"] == "invalid_scope"
    assert refresh(sandbox.url, refresh_token).status_code == 200


def test_boolean_knobs_take_booleans_only(sandbox):
    response = requests.post(sandbox.url + "/_sandbox/config", json={"opaque_access_tokens": 1}, timeout=5)
    assert response.status_code == 400
    response = requests.post(sandbox.url + "/_sandbox/config", json={"api_latency_ms": True}, timeout=5)
    assert response.status_code == 400


def test_browser_facing_endpoints_can_name_another_address_than_the_issuer():
    """For the compose demo: the portal calls the sandbox by its service name, the browser by a published port."""
    from tools.stack import start_sandbox

    service, url = start_sandbox(env={"SANDBOX_BROWSER_URL": "http://127.0.0.1:8400"})
    try:
        document = requests.get(url + "/.well-known/openid-configuration", timeout=5).json()
        assert document["authorization_endpoint"] == "http://127.0.0.1:8400/authorize"
        assert document["end_session_endpoint"] == "http://127.0.0.1:8400/oidc/logout"
        assert document["issuer"] == url + "/" and document["token_endpoint"] == url + "/oauth/token"
    finally:
        service.stop()
