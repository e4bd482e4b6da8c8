"""The page layer: pages through Flask's test client against a fake Navexa (tests/fake_navexa.py), with a
session started in-process. For what doesn't cross a process; the over-HTTP tests are test_views.py."""

import re
import threading

import pytest

from portal.app import create_app
from portal.pages.portfolio import PERIODS
from portal.settings import Settings
from portal.web import sessions
from portal.web.services import services
from tests.fake_navexa import PORTFOLIO_ID, FakeNavexa, one_portfolio
from tests.helpers import PINNED_TODAY, MovableClock
from tools.stack import portal_env

TOKEN = {"access_token": "page-layer-token", "refresh_token": "page-layer-refresh", "expires_in": 3600}
PAGE_CALLS = 2 + len(PERIODS)  # the portfolio, its holdings, and a report per period


@pytest.fixture
def make_page_app(redis_url):
    """An app whose Navexa is a FakeNavexa, and a signed-in test client (no provider: the session is started here)."""

    def make(navexa: FakeNavexa):
        env = portal_env("http://idp.invalid", redis_url, "http://127.0.0.1:5999", NAVEXA_API_URL="http://navexa.invalid/api",
                         NAVEXA_CACHE_SECONDS="0")
        app = create_app(Settings.from_env(env), clock=MovableClock(), today=lambda: PINNED_TODAY)
        services(app).navexa.pool = navexa

        def sign_in():
            sessions.start(sessions.User("auth0|page", "Page Layer", "page@example.com"), TOKEN)
            return "signed in"

        app.add_url_rule("/_test/sign-in", "test_sign_in", sign_in)
        client = app.test_client()
        assert client.get("/_test/sign-in").status_code == 200
        return app, client

    return make


def test_the_portfolio_page_makes_its_calls_at_once_with_one_token(make_page_app):
    """Every call must be in flight together to pass the barrier: an ordering fact, no stopwatch."""
    navexa = FakeNavexa(one_portfolio(), barrier=threading.Barrier(PAGE_CALLS))
    _, client = make_page_app(navexa)
    response = client.get(f"/portfolios/{PORTFOLIO_ID}")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert len(navexa.calls) == PAGE_CALLS and navexa.most_in_flight == PAGE_CALLS
    assert {call["authorization"] for call in navexa.calls} == {"Bearer page-layer-token"}


def test_the_page_layer_sees_a_missing_portfolio_as_a_404_page(make_page_app):
    _, client = make_page_app(FakeNavexa({}))
    response = client.get("/portfolios/404")
    assert response.status_code == 404 and "Not found" in response.get_data(as_text=True)


def test_a_period_navexa_cannot_give_costs_its_bar_not_the_page(make_page_app):
    answers = one_portfolio()
    navexa = FakeNavexa(answers)
    _, client = make_page_app(navexa)
    original = navexa.urlopen

    def three_year_fails(method, url, **kwargs):
        return original(method, url.replace("/performance", "/missing") if "from=2023-11-21" in url else url, **kwargs)

    navexa.urlopen = three_year_fails
    page = client.get(f"/portfolios/{PORTFOLIO_ID}").get_data(as_text=True)
    assert "Page-layer shares" in page and "CBA" in page
    assert "Navexa couldn't give us every period just now" in page  # the missing period says so in its own section


def test_periods_longer_than_the_portfolio_has_existed_are_not_charted(make_page_app):
    """Created 1 Mar 2024; on 21 Nov 2026 a 3Y period would start 21 Nov 2023, before it existed: no 3Y bar."""
    answers = one_portfolio()
    answers[f"/portfolios/{PORTFOLIO_ID}"] = {**answers[f"/portfolios/{PORTFOLIO_ID}"], "dateCreated": "2024-03-01T00:00:00"}
    _, client = make_page_app(FakeNavexa(answers))
    chart = client.get(f"/portfolios/{PORTFOLIO_ID}").get_data(as_text=True).split('id="returns-title"', 1)[1].split("</section>")[0]
    labels = re.findall(r'class="bar-label"[^>]*>([^<]+)<', chart)
    assert labels == ["1M", "3M", "6M", "1Y", "All"]


def test_a_holding_not_in_the_portfolio_gets_the_portals_own_404_with_what_is_missing(make_page_app):
    """Before, the page raised the Navexa client's NotFound, whose table wording replaced the page's own."""
    _, client = make_page_app(FakeNavexa(one_portfolio()))
    response = client.get(f"/portfolios/{PORTFOLIO_ID}/holdings/999")
    assert response.status_code == 404
    assert "That holding is not in this portfolio." in response.get_data(as_text=True)


def test_the_holding_page_reads_a_trade_named_only_by_its_type_id(make_page_app):
    """Navexa's tradeTypeId alone (1 buy, 2 sell): the tax page always computed it; the holding page showed
    "—" for every figure. Both now use pages.trades. 10 bought at $40 + $10 brokerage: cost base $410.00."""
    answers = one_portfolio()
    holding_id = answers[f"/portfolios/{PORTFOLIO_ID}/holdings"][0]["id"]
    answers[f"/holdings/{holding_id}/trades"] = [{"tradeDate": "2025-01-02T00:00:00", "tradeTypeId": 1, "quantity": 10,
                                                     "price": 40, "brokerage": 10}]
    answers[f"/holdings/{holding_id}/income"] = []
    _, client = make_page_app(FakeNavexa(answers))
    page = client.get(f"/portfolios/{PORTFOLIO_ID}/holdings/{holding_id}").get_data(as_text=True)
    assert "$410.00" in page
