"""A person signs in and out with a real browser: Debian's Chromium driven by Playwright."""

import pytest

pytestmark = pytest.mark.browser


def test_sign_in_with_navexa_then_sign_out(page, portal, sandbox):
    page.goto(portal.url + "/")
    page.get_by_role("link", name="Sign in with Navexa").click()
    page.wait_for_url(sandbox.url + "/authorize*")
    page.get_by_label("Username").fill("alice")
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url(portal.url + "/portfolios")
    assert page.get_by_role("heading", name="Your portfolios").is_visible()
    assert page.get_by_text("Retirement").is_visible()
    cookies = {c["name"]: c for c in page.context.cookies(portal.url)}
    assert cookies["navexa_portal_session"]["httpOnly"]

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(portal.url + "/")
    assert page.get_by_role("link", name="Sign in with Navexa").is_visible()
    assert sandbox.stats()["logouts"] == 1
    assert "navexa_portal_session" not in {c["name"] for c in page.context.cookies(portal.url)}


def test_declining_at_navexa_shows_the_friendly_page(page, portal, sandbox):
    page.goto(portal.url + "/login")
    page.get_by_role("button", name="Deny").click()
    page.wait_for_url(portal.url + "/callback*")
    assert page.get_by_role("heading", name="You declined to sign in").is_visible()
    assert page.get_by_role("link", name="Sign in again").is_visible()
