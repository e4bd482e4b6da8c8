"""HTTP clients for the local stack, shared by the tests and the benchmarks: the sandbox's
control endpoints, and a browser-like client that signs in through the sandbox's form."""

import json

import requests


class SandboxControl:
    """The sandbox's knobs and counters, under /_sandbox."""

    def __init__(self, url: str):
        self.url = url

    def reset(self):
        requests.post(self.url + "/_sandbox/reset", timeout=5).raise_for_status()

    def config(self, **knobs) -> dict:
        response = requests.post(self.url + "/_sandbox/config", json=knobs, timeout=5)
        response.raise_for_status()
        return response.json()

    def stats(self) -> dict:
        return requests.get(self.url + "/_sandbox/stats", timeout=5).json()

    def live_refresh_tokens(self, user: str) -> int:
        """How many of the user's refresh tokens would still refresh at the sandbox."""
        return requests.get(self.url + f"/_sandbox/live_refresh_tokens/{user}", timeout=5).json()["live"]

    def api_requests(self) -> list:
        return requests.get(self.url + "/_sandbox/requests", timeout=5).json()

    def token_requests(self) -> list:
        return requests.get(self.url + "/_sandbox/token_requests", timeout=5).json()

    def logout_elsewhere(self, user: str, reason: str = "idp-logout", sid: str | None = None) -> list:
        """End the user's Navexa sign-in sessions (or one) as Auth0 would; the back-channel deliveries."""
        response = requests.post(self.url + "/_sandbox/logout_elsewhere", json={"user": user, "reason": reason,
                                                                                 **({"sid": sid} if sid else {})}, timeout=30)
        response.raise_for_status()
        return response.json()["deliveries"]

    def logout_token(self, user: str | None = "alice", sid: str | None = None, claims: dict | None = None,
                     drop=(), header: dict | None = None) -> str:
        """A logout token signed by the tenant, not sent: claims and header overridden, claims in drop left out."""
        body = json.dumps({"user": user, "sid": sid, "claims": claims or {}, "drop": list(drop), "header": header or {}})
        # json.dumps, not requests' json=: a hostile test's claims may be NaN or Infinity, which a tenant could sign
        response = requests.post(self.url + "/_sandbox/logout_token", data=body,
                                 headers={"Content-Type": "application/json"}, timeout=5)
        response.raise_for_status()
        return response.json()["logout_token"]

    def idp_sessions(self) -> dict:
        return requests.get(self.url + "/_sandbox/idp_sessions", timeout=5).json()

    def backchannel(self) -> list:
        return requests.get(self.url + "/_sandbox/backchannel", timeout=5).json()

    def register_client_keys(self, jwks: dict):
        requests.post(self.url + "/_sandbox/client_keys", json={"jwks": jwks}, timeout=5).raise_for_status()


class Browser(requests.Session):
    """A cookie-keeping HTTP client that signs in the way a person's browser would, and calls /api/ the way
    the portal's front-end code must: with the X-CSRF header on every request."""

    def __init__(self, portal_url: str):
        super().__init__()
        self.portal_url = portal_url
        self.headers["X-CSRF"] = "1"  # any value for GET; a state change sends the session's token instead

    def start_login(self, path="/login") -> str:
        """GET the portal's /login; return the sandbox authorize URL it redirects to."""
        response = self.get(self.portal_url + path, allow_redirects=False, timeout=10)
        assert response.status_code == 302, response.text
        return response.headers["Location"]

    def approve(self, authorize_url: str, username="alice", decision="allow") -> str:
        """Sign in at the sandbox; return the portal callback URL it redirects to."""
        page = self.get(authorize_url, timeout=10)
        assert page.status_code == 200, page.text
        answer = self.post(authorize_url, data={"username": username, "decision": decision},
                           allow_redirects=False, timeout=10)
        assert answer.status_code == 302, answer.text
        return answer.headers["Location"]

    def sign_in(self, username="alice", path="/login") -> requests.Response:
        """Run the whole flow; return the portal's answer to /callback (not followed)."""
        callback = self.approve(self.start_login(path), username)
        return self.get(callback, allow_redirects=False, timeout=10)

    def twin(self) -> "Browser":
        """Another client with the same cookies: the same person in another tab."""
        other = Browser(self.portal_url)
        other.cookies.update(self.cookies)
        return other
