"""RFC 10017's cookie rules and the sessions page in a real browser (Debian's Chromium through Playwright).

"Another site" is http://localhost:<port>: Chromium counts it a different site from 127.0.0.1, where the
portal listens, and its page is served by Playwright itself (route.fulfill), so nothing else listens.
"""

import pytest

from portal.web.session_store import SESSION_COOKIE
from tests.helpers import KEY_COOKIE, SAME_SITE_COOKIE
from tests.test_browser import phone, sign_in_as, sign_in_through_navexa, violations
from tools.stack import free_port

pytestmark = pytest.mark.browser


@pytest.fixture
def portal(lone_portal):
    return lone_portal


def another_site(page, html: str) -> str:
    """Open a page of another site (not the portal's) holding this HTML; its address."""
    url = f"http://localhost:{free_port()}/elsewhere"
    page.route(url, lambda route: route.fulfill(status=200, content_type="text/html", body=html))
    page.goto(url)
    return url


def cookies_sent(request) -> set[str]:
    header = request.all_headers().get("cookie", "")
    return {part.split("=", 1)[0].strip() for part in header.split(";") if "=" in part}


def test_signing_in_through_the_sandbox_sets_a_strict_same_site_cookie_beside_lax_ones(page, portal, sandbox):
    sign_in_through_navexa(page, portal, "alice")  # the return from Navexa's sign-in lands signed in
    assert page.get_by_role("heading", name="Your portfolios", exact=True).is_visible()
    cookies = {c["name"]: c for c in page.context.cookies(portal.url)}
    assert cookies[SAME_SITE_COOKIE]["sameSite"] == "Strict" and cookies[SAME_SITE_COOKIE]["httpOnly"]
    assert cookies[SESSION_COOKIE]["sameSite"] == "Lax" and cookies[KEY_COOKIE]["sameSite"] == "Lax"


def test_a_link_from_another_site_arrives_signed_in_without_the_strict_cookie(page, portal, sandbox):
    sign_in_as(page, portal, "alice")
    another_site(page, f'<!doctype html><title>Elsewhere</title><a href="{portal.url}/portfolios">My portfolios</a>')
    with page.expect_request(portal.url + "/portfolios") as arrival:
        page.get_by_role("link", name="My portfolios").click()
    page.wait_for_url(portal.url + "/portfolios")
    assert page.get_by_role("heading", name="Your portfolios", exact=True).is_visible()  # signed in: Lax did its part
    sent = cookies_sent(arrival.value)
    assert SESSION_COOKIE in sent and SAME_SITE_COOKIE not in sent  # …and Chromium kept the Strict one back
    # Once here, the portal's own requests carry it again: a same-site fetch to /api/ works.
    status = page.evaluate("""() => fetch('/api/portfolios', {headers: {'X-CSRF': '1'}}).then(r => r.status)""")
    assert status == 200


def test_a_cross_site_form_post_is_refused_and_the_person_stays_signed_in(page, portal, sandbox):
    sign_in_as(page, portal, "alice")
    page.goto(portal.url + "/sessions")
    leaked = page.locator('input[name="csrf_token"]').first.get_attribute("value")  # even with the token leaked
    for action in ("/logout", "/sessions/end-everywhere"):
        another_site(page, f'<!doctype html><title>Win a prize</title><form method="post" action="{portal.url}{action}">'
                           f'<input type="hidden" name="csrf_token" value="{leaked}"><button>Claim</button></form>')
        with page.expect_response(portal.url + action) as refused:
            page.get_by_role("button", name="Claim").click()
        # No Lax cookie on a cross-site POST: the portal sees nobody (400 or sign-in) and the session is untouched.
        assert refused.value.status in (302, 400, 403), action
        assert refused.value.status != 302 or "/login" in refused.value.headers["location"], action
        page.goto(portal.url + "/portfolios")
        assert page.get_by_role("heading", name="Your portfolios", exact=True).is_visible(), action
    assert sandbox.stats()["revocations"] == 0 and sandbox.stats()["logouts"] == 0


def test_cross_site_requests_to_the_api_are_refused_and_nothing_reaches_navexa(page, portal, sandbox):
    sign_in_as(page, portal, "alice")
    before = sandbox.stats()["api_requests"]
    another_site(page, f'<!doctype html><title>Elsewhere</title><a href="{portal.url}/api/portfolios">data</a>')
    statuses = page.evaluate("""url => Promise.all([
        fetch(url, {credentials: 'include', mode: 'no-cors'}).then(r => r.type, () => 'blocked'),
        fetch(url, {credentials: 'include', method: 'POST', mode: 'no-cors', body: '{}'}).then(r => r.type, () => 'blocked'),
    ])""", portal.url + "/api/portfolios")
    assert set(statuses) <= {"opaque", "blocked"}  # the page learns nothing either way
    with page.expect_response(portal.url + "/api/portfolios") as top_level:
        page.get_by_role("link", name="data").click()  # a top-level GET carries the Lax cookies, but no X-CSRF
    assert top_level.value.status == 403
    assert sandbox.stats()["api_requests"] == before


def test_two_browsers_one_person_end_the_other_session_from_the_sessions_page(chromium, portal, sandbox):
    laptop_context = chromium.new_context(viewport={"width": 1280, "height": 800}, locale="en-AU")
    laptop, (phone_context, handset) = laptop_context.new_page(), phone(chromium)
    sign_in_as(laptop, portal, "alice")
    sign_in_as(handset, portal, "alice")
    laptop.get_by_role("link", name="Sessions").click()
    laptop.wait_for_url(portal.url + "/sessions")
    cards = laptop.locator("li.session")
    assert cards.count() == 2 and "This browser" in cards.first.inner_text()
    cards.nth(1).get_by_role("button", name="Sign out").click()
    laptop.wait_for_url(portal.url + "/sessions?ended=1")
    assert laptop.get_by_role("status").inner_text() == "Signed out 1 other session."
    assert laptop.locator("li.session").count() == 1
    handset.goto(portal.url + "/portfolios")  # signed out: told why, and offered to sign in again (E16)
    assert handset.get_by_role("heading", name="Your session has ended").is_visible()
    handset.get_by_role("link", name="Sign in again").click()
    handset.wait_for_url(sandbox.url + "/authorize*")
    assert sandbox.stats()["revocations"] == 1
    laptop.get_by_role("button", name="Sign out everywhere").click()
    laptop.wait_for_url(portal.url + "/")
    assert laptop.get_by_role("link", name="Sign in with Navexa").is_visible()
    laptop_context.close()
    phone_context.close()


@pytest.mark.parametrize("width, height, scheme", [(1280, 800, "light"), (390, 844, "dark"), (320, 640, "light")])
def test_the_sessions_page_has_no_accessibility_violations_and_fits_any_screen(chromium, portal, sandbox, width,
                                                                               height, scheme):
    from axe_playwright_python.sync_playwright import Axe

    other = chromium.new_context(locale="en-AU")
    sign_in_as(other.new_page(), portal, "alice")
    context = chromium.new_context(viewport={"width": width, "height": height}, locale="en-AU", color_scheme=scheme)
    page = context.new_page()
    sign_in_as(page, portal, "alice")
    page.goto(portal.url + "/sessions?ended=1")
    assert page.locator("li.session").count() == 2
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert violations(Axe(), page, target_size=True) == []
    small = page.eval_on_selector_all("main button, header a, header button", """ns => ns.map(n => {
        const r = n.getBoundingClientRect(); return [n.textContent.trim(), r.width, r.height]; })""")
    if width < 400:
        assert [s for s in small if s[1] < 44 or s[2] < 44] == []
    context.close()
    other.close()


@pytest.mark.screenshots
def test_screenshots_of_the_sessions_page(chromium, portal, sandbox):
    """For the README: the sessions page with a phone's session beside this one, at 1280 and 390 px."""
    from tests.helpers import SCREENSHOTS

    iphone = ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
              "Version/18.1 Mobile/15E148 Safari/604.1")
    handset = chromium.new_context(user_agent=iphone, locale="en-AU")
    sign_in_as(handset.new_page(), portal, "alice")
    for name, width, height in (("sessions.png", 1280, 800), ("sessions-phone.png", 390, 844)):
        context = chromium.new_context(viewport={"width": width, "height": height}, locale="en-AU")
        page = context.new_page()
        sign_in_as(page, portal, "alice")
        page.goto(portal.url + "/sessions")
        assert page.get_by_role("heading", name="Safari on iPhone").is_visible()
        assert "This browser" in page.locator("li.session").first.inner_text()
        page.screenshot(path=SCREENSHOTS / name, full_page=True)
        context.close()
    handset.close()
