"""/api/<path>: the JSON proxy to Navexa with the session's token."""

import pytest


def test_proxy_returns_navexa_json_with_the_session_token(signed_in, portal, sandbox):
    response = signed_in.get(portal.url + "/api/portfolios/101/holdings", timeout=10)
    assert response.status_code == 200
    assert {h["symbol"] for h in response.json()} >= {"CBA", "BHP"}
    assert response.headers["Cache-Control"] == "no-store"


def test_query_strings_are_forwarded(signed_in, portal, sandbox):
    signed_in.get(portal.url + "/api/portfolios/101/performance?from=2026-01-01&groupBy=holding", timeout=10)
    assert sandbox.api_requests()[-1]["query"] == "from=2026-01-01&groupBy=holding"


def test_the_browsers_cookie_and_authorization_never_reach_navexa(signed_in, portal, sandbox):
    signed_in.get(portal.url + "/api/portfolios", headers={"Authorization": "Bearer browser-made-this"}, timeout=10)
    upstream = sandbox.api_requests()[-1]["headers"]
    assert "Cookie" not in upstream
    assert upstream["Authorization"] == "<redacted>"  # present: the portal's own token
    assert "browser-made-this" not in str(sandbox.api_requests())


def test_signed_out_api_calls_get_401_json(browser, portal):
    response = browser.get(portal.url + "/api/portfolios", timeout=10)
    assert response.status_code == 401
    assert response.json() == {"error": "session_expired", "message": "Sign in to use the API."}


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_writes_need_the_csrf_header(signed_in, portal, sandbox, method):
    response = signed_in.request(method, portal.url + "/api/portfolios", json={}, timeout=10)
    assert response.status_code == 400
    assert response.json()["error"] == "csrf_failed"
    assert sandbox.stats()["api_requests"] == 0


def test_writes_with_the_csrf_header_are_forwarded(signed_in, portal, sandbox):
    response = signed_in.post(portal.url + "/api/portfolios", json={"name": "x"},
                              headers={"X-CSRF": signed_in.csrf()}, timeout=10)
    assert response.status_code == 405  # the sandbox API is read-only; the call reached it
    assert sandbox.api_requests()[-1]["method"] == "POST"


def test_navexa_client_errors_pass_through(signed_in, portal, sandbox):
    missing = signed_in.get(portal.url + "/api/portfolios/201", timeout=10)
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    sandbox.config(api_error={"status": 429, "count": 1, "retry_after": 9})
    limited = signed_in.get(portal.url + "/api/portfolios", timeout=10)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "9"


def test_navexa_server_errors_become_502_json(signed_in, portal, sandbox):
    sandbox.config(api_error={"status": 503, "count": 1})
    response = signed_in.get(portal.url + "/api/portfolios", timeout=10)
    assert response.status_code == 502 and response.json()["error"] == "upstream_error"


def test_large_downloads_stream_through(signed_in, portal):
    response = signed_in.get(portal.url + "/api/portfolios/101/reports/tax.pdf?size_mb=8", stream=True, timeout=30)
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"] == 'attachment; filename="tax-report-101.pdf"'
    assert response.headers["Content-Length"] == str(8 * 1024 * 1024)
    assert sum(len(chunk) for chunk in response.iter_content(256 * 1024)) == 8 * 1024 * 1024


def test_dot_dot_paths_are_refused(signed_in, portal, sandbox):
    response = signed_in.get(portal.url + "/api/portfolios/%2E%2E/%2E%2E/_sandbox/stats", timeout=10)
    assert response.status_code in (400, 404)
    assert sandbox.stats()["api_requests"] == 0
