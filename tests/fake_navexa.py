"""A fake Navexa for the page layer: stands in for the Navexa client's urllib3 pool, in-process.

It answers request targets from a table (anything else is 404), records every call with its
bearer token, and counts how many calls are in flight at once: for what doesn't cross a process.
"""

import json
import threading
from urllib.parse import urlsplit

import urllib3


class FakeNavexa:
    def __init__(self, answers: dict[str, object] | None = None, barrier: threading.Barrier | None = None):
        self.answers = dict(answers or {})  # path below the API base (no query) → JSON, or an int status
        self.barrier = barrier  # every call waits here: they only get through if that many are in flight at once
        self.calls: list[dict] = []
        self.in_flight = self.most_in_flight = 0
        self._lock = threading.Lock()

    def urlopen(self, method, url, headers=None, **kwargs):
        path = urlsplit(url).path.removeprefix("/api")
        with self._lock:
            self.calls.append({"method": method, "path": path, "query": urlsplit(url).query,
                               "authorization": (headers or {}).get("Authorization")})
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.barrier is not None:
                self.barrier.wait(timeout=10)  # broken (an error answer) unless the others arrive meanwhile
            answer = self.answers.get(path, 404)
        finally:
            with self._lock:
                self.in_flight -= 1
        status, body = (answer, {"error": "no"}) if isinstance(answer, int) else (200, answer)
        return urllib3.HTTPResponse(body=json.dumps(body).encode(), status=status, preload_content=True,
                                    headers={"Content-Type": "application/json"})


PORTFOLIO_ID = 7
PORTFOLIO = {"id": PORTFOLIO_ID, "name": "Page-layer shares", "baseCurrencyCode": "AUD"}
HOLDINGS = [
    {"id": 71, "symbol": "CBA", "name": "Commonwealth Bank", "exchange": "ASX", "currencyCode": "AUD", "holdingTypeId": 1,
     "classification": {"sector": "Financials"}},
    {"id": 72, "symbol": "VAS", "name": "Vanguard Australian Shares", "exchange": "ASX", "currencyCode": "AUD",
     "holdingTypeId": 1},
]
PERFORMANCE = {"totalReturn": {"totalValue": 15000.0, "capitalGainValue": 1500.0, "capitalGainPercent": 11.11,
                               "dividendReturnValue": 300.0, "totalReturnPercent": 13.33},
               "holdings": [{"id": 71, "totalQuantity": 100, "currentPrice": 100.0, "holdingWeight": 66.67,
                             "totalReturn": {"totalValue": 10000.0, "capitalGainValue": 1000.0,
                                             "dividendReturnValue": 200.0, "totalReturnPercent": 12.0}},
                            {"id": 72, "totalQuantity": 50, "currentPrice": 100.0, "holdingWeight": 33.33,
                             "totalReturn": {"totalValue": 5000.0, "capitalGainValue": 500.0,
                                             "dividendReturnValue": 100.0, "totalReturnPercent": 12.0}}]}


def one_portfolio() -> dict[str, object]:
    """The answers for one AUD portfolio of two holdings: its page makes 8 calls (itself, holdings, 6 periods)."""
    base = f"/portfolios/{PORTFOLIO_ID}"
    return {"/portfolios": [PORTFOLIO], base: PORTFOLIO, base + "/holdings": HOLDINGS, base + "/performance": PERFORMANCE}


PAGE_LAYER_KEY = "page-layer-key"  # the sandbox's API key for the page layer (the sandbox's x-api-key path)


class SandboxNavexa:
    """The sandbox's own Navexa API (its demo data, its knobs), answered in-process for one person: what the
    over-HTTP tests see, with no socket, no sign-in and no token. It stands in for the Navexa client's pool."""

    def __init__(self, user: str):
        import sandbox

        self.app = sandbox.create_app({"SANDBOX_API_KEY": PAGE_LAYER_KEY, "SANDBOX_API_KEY_USER": user})
        self.client = self.app.test_client()
        self.calls: list[str] = []

    def config(self, **knobs):
        """The sandbox's knobs, as POST /_sandbox/config sets them (a forced error counts once by default)."""
        for value in knobs.values():
            if isinstance(value, dict) and "status" in value:
                value.setdefault("count", 1)
        self.app.extensions["sandbox_state"].configure(knobs)

    def urlopen(self, method, url, headers=None, body=None, **kwargs):
        parts = urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        self.calls.append(target)
        sent = {name: value for name, value in (headers or {}).items() if name.lower() != "authorization"}
        answer = self.client.open(target, method=method, headers={**sent, "x-api-key": PAGE_LAYER_KEY}, data=body)
        return urllib3.HTTPResponse(body=answer.get_data(), status=answer.status_code, preload_content=True,
                                    headers=dict(answer.headers))
