"""A plain `requests` OAuth client for exercising the sandbox without the portal."""

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlsplit

import requests

from tools.stack import SANDBOX_CLIENT_ID as CLIENT_ID
from tools.stack import SANDBOX_CLIENT_SECRET as CLIENT_SECRET

REDIRECT_URI = "http://127.0.0.1:5999/callback"
API_AUDIENCE = "https://api.navexa.io/api"
FULL_SCOPE = "openid profile email offline_access"


def make_verifier() -> str:
    return secrets.token_urlsafe(48)


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def authorize_params(verifier=None, **overrides):
    params = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "audience": API_AUDIENCE,
        "scope": FULL_SCOPE,
        "state": "st-" + secrets.token_urlsafe(8),
        "nonce": "n-" + secrets.token_urlsafe(8),
    }
    if verifier:
        params.update(code_challenge=s256(verifier), code_challenge_method="S256")
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def redirect_params(response) -> dict:
    assert response.status_code == 302, response.text
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["Location"]).query).items()}


def sign_in(base_url, params, username="alice", decision="allow", session=None):
    """Show the sign-in page, then submit it; return the sandbox's redirect response."""
    http = session or requests.Session()
    page = http.get(base_url + "/authorize", params=params, allow_redirects=False, timeout=5)
    assert page.status_code == 200, page.text
    return http.post(base_url + "/authorize", params=params, data={"username": username, "decision": decision},
                     allow_redirects=False, timeout=5)


def get_code(base_url, verifier, username="alice", **overrides) -> str:
    params = authorize_params(verifier, **overrides)
    answer = redirect_params(sign_in(base_url, params, username))
    assert answer["state"] == params["state"]
    return answer["code"]


def exchange(base_url, code, verifier, secret=CLIENT_SECRET, as_json=True, **extra):
    body = {"grant_type": "authorization_code", "client_id": CLIENT_ID, "client_secret": secret,
            "code": code, "redirect_uri": REDIRECT_URI, "code_verifier": verifier, **extra}
    body = {k: v for k, v in body.items() if v is not None}
    kwargs = {"json": body} if as_json else {"data": body}
    return requests.post(base_url + "/oauth/token", timeout=5, **kwargs)


def refresh(base_url, refresh_token, secret=CLIENT_SECRET):
    return requests.post(base_url + "/oauth/token", timeout=5, json={
        "grant_type": "refresh_token", "client_id": CLIENT_ID, "client_secret": secret, "refresh_token": refresh_token})


def tokens_for(base_url, username="alice", **overrides) -> dict:
    verifier = make_verifier()
    response = exchange(base_url, get_code(base_url, verifier, username, **overrides), verifier)
    assert response.status_code == 200, response.text
    return response.json()


def api_get(base_url, path, access_token, **kwargs):
    return requests.get(base_url + "/api" + path, headers={"Authorization": f"Bearer {access_token}"}, timeout=10, **kwargs)
