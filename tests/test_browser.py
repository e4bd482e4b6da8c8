"""A person signs in and out with a real browser: Debian's Chromium driven by Playwright."""

import dataclasses
import json

import pytest

from portal.app import create_app
from portal.settings import Settings
from portal.web.session_store import SESSION_COOKIE
from tests.helpers import PINNED_TODAY, SCREENSHOTS, LivePortal, MovableClock
from tools.clients import Browser
from tools.stack import free_port, portal_env

pytestmark = pytest.mark.browser


def test_sign_in_with_navexa_then_sign_out(page, portal, sandbox):
    page.goto(portal.url + "/")
    page.get_by_role("link", name="Sign in with Navexa").click()
    page.wait_for_url(sandbox.url + "/authorize*")
    page.get_by_label("Username").fill("alice")
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url(portal.url + "/portfolios")
    assert page.get_by_role("heading", name="Your portfolios", exact=True).is_visible()
    assert page.get_by_role("link", name="Retirement").is_visible()
    cookies = {c["name"]: c for c in page.context.cookies(portal.url)}
    assert cookies[SESSION_COOKIE]["httpOnly"]

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(portal.url + "/")
    assert page.get_by_role("link", name="Sign in with Navexa").is_visible()
    assert sandbox.stats()["logouts"] == 1
    assert SESSION_COOKIE not in {c["name"] for c in page.context.cookies(portal.url)}


def test_declining_at_navexa_shows_the_friendly_page(page, portal, sandbox):
    page.goto(portal.url + "/login")
    page.get_by_role("button", name="Deny").click()
    page.wait_for_url(portal.url + "/callback*")
    assert page.get_by_role("heading", name="You declined to sign in").is_visible()
    assert page.get_by_role("link", name="Sign in again").is_visible()


def violations(axe, page, target_size: bool = False) -> list[tuple[str, str, int]]:
    """axe-core's violations of any impact on the page as it is: (rule, impact, nodes) each."""
    options = {"resultTypes": ["violations"]}  # every rule still runs; only the passes' details are left out
    if target_size:
        options["rules"] = {"target-size": {"enabled": True}}
    page.evaluate(axe.axe_script)
    return [tuple(v) for v in page.evaluate(f"axe.run(document, {json.dumps(options)})"
                                           ".then(r => r.violations.map(v => [v.id, v.impact, v.nodes.length]))")]


def test_the_accessibility_check_sees_a_violation_it_must_refuse(page):
    """The checker itself, as the tests use it: an image without a text alternative and a tiny button are found."""
    from axe_playwright_python.sync_playwright import Axe

    page.set_content('<html lang="en"><title>t</title><main><img src="data:,"><button style="width:8px;height:8px">'
                     '</button></main></html>')
    found = {rule for rule, _, _ in violations(Axe(), page, target_size=True)}
    assert "image-alt" in found


def sign_in_through_navexa(page, portal, username):
    """Sign in as a person does: the portal's sign-in, Navexa's consent page, back to the portfolios."""
    page.goto(portal.url + "/login")
    page.get_by_label("Username").fill(username)
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url(portal.url + "/portfolios")


def sign_in_as(page, portal, username):
    """Sign this page's browser in as `username`, for tests about what comes after: the same exchange (/login,
    Navexa's consent, /callback) made over HTTP with the browser's own User-Agent, its cookies handed to the
    browser with their attributes, then the portfolios opened as the return from sign-in opens them. Tests about
    the sign-in itself use sign_in_through_navexa (a browser rendering two pages and following three redirects
    costs this suite more than anything else it does)."""
    if portal.services.settings.production:
        return sign_in_through_navexa(page, portal, username)  # __Host- cookies: only the real exchange sets them
    person = Browser(portal.url)
    person.headers["User-Agent"] = page.evaluate("navigator.userAgent")
    assert person.sign_in(username).status_code == 302
    page.context.add_cookies([{"name": cookie.name, "value": cookie.value, "domain": cookie.domain, "path": cookie.path,
                               "httpOnly": cookie.has_nonstandard_attr("HttpOnly"), "secure": bool(cookie.secure),
                               "sameSite": (cookie.get_nonstandard_attr("SameSite") or "Lax").capitalize(),
                               **({"expires": cookie.expires} if cookie.expires else {})} for cookie in person.cookies])
    page.goto(portal.url + "/portfolios")


@pytest.mark.screenshots
def test_screenshots_of_the_three_pages(page, portal, sandbox):
    """Capture the overview, a portfolio and a holding for the README; each must render its content."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    sign_in_as(page, portal, "alice")
    assert page.get_by_role("link", name="US Growth").is_visible()
    page.screenshot(path=SCREENSHOTS / "portfolios.png", full_page=True)

    page.get_by_role("link", name="Retirement").click()
    page.wait_for_url(portal.url + "/portfolios/101")  # the card's all-time figures, one click on
    assert page.get_by_role("img", name="Allocation by holding weight").is_visible()
    assert page.get_by_role("img", name="Total return by period").is_visible()
    page.screenshot(path=SCREENSHOTS / "portfolio.png", full_page=True)

    page.get_by_role("link", name="CBA", exact=True).click()
    page.wait_for_url(portal.url + "/portfolios/101/holdings/1001")
    assert page.get_by_role("heading", name="Income").is_visible()
    page.screenshot(path=SCREENSHOTS / "holding.png", full_page=True)

    page.goto(portal.url + "/portfolios/101/income")
    assert page.get_by_role("heading", name="Income by financial year").is_visible()
    page.screenshot(path=SCREENSHOTS / "income.png", full_page=True)


TAX_PAGES = ["/portfolios/401/tax", "/portfolios/401/tax?fy=2025&method=min&entity=smsf", "/portfolios/401/tax?fy=2024",
             "/portfolios/401/income"]


def screens(chromium, portal, person: str):
    """For screenshots: (a page signed in as the person, the file name's suffix) on a laptop, then on a phone."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width, height, suffix in ((1280, 900, ""), (390, 844, "-phone")):
        context = chromium.new_context(viewport={"width": width, "height": height}, locale="en-AU", is_mobile=width < 400)
        page = context.new_page()
        sign_in_as(page, portal, person)
        yield page, suffix
        context.close()


@pytest.mark.screenshots
def test_screenshots_of_the_tax_and_income_pages(chromium, portal, sandbox):
    """erin's capital gains and income, at 1280 and 390 px, for the README."""
    for page, suffix in screens(chromium, portal, "erin"):
        page.goto(portal.url + "/portfolios/401/tax")
        assert page.get_by_role("heading", name="2024–25: net capital gain").is_visible()
        assert page.get_by_role("heading", name="Not in these figures").is_visible()
        page.screenshot(path=SCREENSHOTS / f"tax{suffix}.png", full_page=True)
        page.goto(portal.url + "/portfolios/401/income?fy=2025")
        assert page.get_by_role("heading", name="Income by financial year").is_visible()
        page.screenshot(path=SCREENSHOTS / f"income-tax-time{suffix}.png", full_page=True)
        page.goto(portal.url + "/portfolios/401/holdings/4004")  # US$ trades in an AUD portfolio
        assert page.get_by_text("US$228.52 a unit").is_visible()
        page.screenshot(path=SCREENSHOTS / f"holding-foreign{suffix}.png", full_page=True)
        page.goto(portal.url + "/portfolios/401/holdings/4005")  # a sale of more than was held
        assert page.get_by_text("can't be worked out from its trades").is_visible()
        page.screenshot(path=SCREENSHOTS / f"holding-cant-compute{suffix}.png", full_page=True)


TAXABLE_INCOME_PAGES = ["/portfolios/701/taxable-income?fy=2026", "/portfolios/702/taxable-income?fy=2026&entity=smsf",
                        "/portfolios/701/taxable-income?fy=2024"]


def tables_scrolling_sideways(page) -> list:
    """Each table region whose content is wider than its box (it would scroll sideways inside the page)."""
    return page.evaluate("""[...document.querySelectorAll('.table-wrap')]
        .filter(w => w.scrollWidth > w.clientWidth + 1).map(w => w.querySelector('caption')?.textContent)""")


@pytest.mark.parametrize("width, height", [(1280, 800), (390, 844), (320, 640)])
def test_the_taxable_income_page_fits_every_screen_with_nothing_scrolling_sideways(chromium, portal, sandbox, width, height):
    """ivy's year as an individual and as an SMSF, and a year with no income: no page or table wider than the screen
    (each payment a card on a phone), axe at zero; on a phone every figure of SHT's row is on screen."""
    context = chromium.new_context(viewport={"width": width, "height": height}, locale="en-AU", is_mobile=width < 400)
    page = context.new_page()
    sign_in_as(page, portal, "ivy")
    assert too_wide_or_failing(page, portal, TAXABLE_INCOME_PAGES, width, target_size=width < 400) == ({}, {})
    for path in TAXABLE_INCOME_PAGES:
        page.goto(portal.url + path)
        assert tables_scrolling_sideways(page) == [], path
    page.goto(portal.url + TAXABLE_INCOME_PAGES[0])
    sht = page.locator("table.stack tbody tr", has_text="SHT")
    for cell in sht.locator("td").all():
        box = cell.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= width
    assert "may not be claimable" in sht.inner_text()
    context.close()


def test_the_taxable_income_page_prints_on_a4(page, portal, sandbox):
    """Print media at an A4 page's width (210 mm less 12 mm margins: 700 px at 96 dpi): no navigation, no buttons,
    no form, nothing wider than the paper, the guide's words kept; and Chromium makes an A4 PDF of it."""
    sign_in_as(page, portal, "ivy")
    page.set_viewport_size({"width": 700, "height": 990})
    page.goto(portal.url + TAXABLE_INCOME_PAGES[0])
    page.emulate_media(media="print")
    assert page.evaluate("document.documentElement.scrollWidth") <= 700
    assert tables_scrolling_sideways(page) == []
    assert not page.locator("form.tax-options").is_visible() and not page.get_by_role("link", name="Payments CSV").is_visible()
    assert page.get_by_text("A guide, not tax advice.").is_visible()
    assert page.get_by_text("Printed from Navexa Portal on").is_visible()
    pdf = page.pdf(format="A4", print_background=False)
    assert pdf.startswith(b"%PDF") and b"/MediaBox [0 0 595" in pdf  # 595 × 842 points: A4
    for path, fact in ((TAXABLE_INCOME_PAGES[0], "Held by"), ("/portfolios/701/tax?fy=2026", "Sale allocation"),
                       ("/portfolios/701/income?fy=2026", "Basis")):
        page.goto(portal.url + path)  # on paper, each carries the facts its CSV starts with
        assert page.locator(".print-facts dt", has_text=fact).is_visible(), path
        assert page.locator(".print-facts dd", has_text="Income").first.is_visible(), path


@pytest.mark.screenshots
def test_screenshots_of_the_taxable_income_page(chromium, portal, sandbox):
    """ivy's 2025–26 on its labels, at 1280 and 390 px, for the README."""
    for page, suffix in screens(chromium, portal, "ivy"):
        page.goto(portal.url + TAXABLE_INCOME_PAGES[0])
        assert page.get_by_role("heading", name="On your return").is_visible()
        page.screenshot(path=SCREENSHOTS / f"taxable-income{suffix}.png", full_page=True)


def cells_off_screen(page, selector: str, width: int) -> list:
    """The texts of the cells matching `selector` that are not wholly inside the viewport's width (scrolled away
    inside a table region or past the page's edge)."""
    return page.evaluate("""([selector, width]) => [...document.querySelectorAll(selector)]
        .filter(c => { const r = c.getBoundingClientRect(); return r.left < 0 || r.right > width + 0.5; })
        .map(c => c.textContent.trim())""", [selector, width])


@pytest.mark.parametrize("width", [1280, 390])
def test_cards_never_touch_what_follows_and_chart_labels_are_never_cut(chromium, portal, sandbox, width):
    """E21: the tax page's summary card touched its working table, the portfolio's "Download CSV" touched the summary
    card, and a sector's label was cut ("Communication Serv…") with room to spare."""
    context = chromium.new_context(viewport={"width": width, "height": 900}, locale="en-AU", is_mobile=width < 400)
    page = context.new_page()
    sign_in_as(page, portal, "erin")
    gaps = """() => [...document.querySelectorAll('dl.summary')].map(card => {
        let next = card.nextElementSibling; while (next && !next.offsetHeight) next = next.nextElementSibling;
        const below = next || card.parentElement.nextElementSibling;
        return below ? below.getBoundingClientRect().top - card.getBoundingClientRect().bottom : 99; })"""
    for path in ("/portfolios/401/tax?fy=2025", "/portfolios/401"):
        page.goto(portal.url + path)
        assert all(gap >= 8 for gap in page.evaluate(gaps)), (path, page.evaluate(gaps))
    page.context.clear_cookies()
    sign_in_as(page, portal, "alice")
    page.goto(portal.url + "/portfolios/102")  # "Information Technology"
    labels = page.evaluate("[...document.querySelectorAll('.bar-label')].map(l => [l.textContent, l.scrollWidth > "
                           "l.clientWidth + 1 || l.getBoundingClientRect().width < 20])")
    assert "Information Technology" in [text for text, _ in labels]
    assert [text for text, cut in labels if cut] == []
    context.close()


ONE_STORY_PAGES = ["/portfolios/401", "/portfolios/401/holdings/4004", "/portfolios/401/holdings/4005",
                   "/portfolios/401/tax", "/portfolios/401/income", "/sessions"]  # AAPL in US$; FMG can't be computed


@pytest.mark.parametrize("width, height", [(1024, 768), (1280, 800), (1440, 900), (390, 844), (320, 640)])
def test_the_pages_a_holding_appears_on_fit_every_screen_light_and_dark(chromium, portal, sandbox, width, height):
    """Issue 27's matrix: the portfolio, a foreign holding, a holding that can't be computed, the tax, income and
    sessions pages at 1024, 1280, 1440, 390 and 320 px, in light and dark: no page wider than the screen, no table
    scrolling sideways inside it, axe at zero (target sizes too on a phone)."""
    for scheme in ("light", "dark"):
        context = chromium.new_context(viewport={"width": width, "height": height}, locale="en-AU", color_scheme=scheme,
                                       is_mobile=width < 400)
        page = context.new_page()
        sign_in_as(page, portal, "erin")
        assert too_wide_or_failing(page, portal, ONE_STORY_PAGES, width, target_size=width < 400) == ({}, {}), scheme
        for path in ONE_STORY_PAGES:
            page.goto(portal.url + path)
            assert tables_scrolling_sideways(page) == [], (scheme, path)
        context.close()


@pytest.mark.parametrize("width", [1024, 1280, 1440])
def test_the_holdings_table_shows_every_column_on_a_laptop(chromium, portal, sandbox, width):
    """E7: at 1024 px the holdings table hid Capital gain, Dividends and Return in a scrolling box (alice's and erin's),
    and at 1280 a long ETF name or carol's GHOST note pushed Return out of view. Every column's cells are on screen."""
    context = chromium.new_context(viewport={"width": width, "height": 900}, locale="en-AU")
    page = context.new_page()
    for person, portfolio in (("alice", 101), ("erin", 401), ("carol", 301)):
        sign_in_as(page, portal, person)
        page.goto(portal.url + f"/portfolios/{portfolio}")
        assert tables_scrolling_sideways(page) == [], (person, width)
        assert cells_off_screen(page, "table.holdings tr > *", width) == [], (person, width)
        page.context.clear_cookies()
    context.close()


@pytest.mark.parametrize("width, height", [(390, 844), (320, 640)])
def test_the_income_page_shows_every_column_on_a_phone(chromium, portal, sandbox, width, height):
    """E18: on phones the income table's last column was cut by 9 to 44 px. Every cell is on screen now, for alice's
    AUD and US$ portfolios and erin's foreign income ("Paid as"), and the year picker fits."""
    context = chromium.new_context(viewport={"width": width, "height": height}, locale="en-AU", is_mobile=True)
    page = context.new_page()
    for person, path in (("alice", "/portfolios/101/income"), ("alice", "/portfolios/102/income"),
                         ("erin", "/portfolios/401/income?fy=2025")):
        sign_in_as(page, portal, person)
        page.goto(portal.url + path)
        assert page.locator(".income-year table td").count() > 2, path
        assert cells_off_screen(page, ".income-year table th, .income-year table td, .years a", width) == [], path
        page.context.clear_cookies()
    context.close()


@pytest.mark.parametrize("width, height", [(390, 844), (320, 640)])
def test_the_tax_pages_parcels_keep_gain_and_discount_on_a_phone(chromium, portal, sandbox, width, height):
    """E2: on a phone the parcel tables showed Holding to part of Cost base; Gain, the discount and "Discount from (in N
    days)" sat off-screen in a scrolling box. Each parcel is a card now: every cell of both tables is on screen."""
    context = chromium.new_context(viewport={"width": width, "height": height}, locale="en-AU", is_mobile=True)
    page = context.new_page()
    sign_in_as(page, portal, "erin")
    page.goto(portal.url + "/portfolios/401/tax")
    assert page.locator("table.parcels td").count() > 20
    assert cells_off_screen(page, "table.parcels th, table.parcels td", width) == []
    assert tables_scrolling_sideways(page) == []
    gain = page.locator("table.parcels").first.locator("tbody tr").first.locator("td[data-label='Gain']")
    assert gain.is_visible() and "$" in gain.inner_text()
    context.close()


@pytest.mark.parametrize("width, height", [(1280, 800), (390, 844), (320, 640)])
def test_the_tax_pages_fit_every_screen_with_no_accessibility_violations(chromium, portal, sandbox, width, height):

    context = chromium.new_context(viewport={"width": width, "height": height}, locale="en-AU")
    page = context.new_page()
    sign_in_as(page, portal, "erin")
    assert too_wide_or_failing(page, portal, TAX_PAGES, width) == ({}, {})
    context.close()


def too_wide_or_failing(page, portal, paths, width, target_size=False) -> tuple[dict, dict]:
    """Open each page: (those wider than the screen, by their width; those with axe violations, by them)."""
    from axe_playwright_python.sync_playwright import Axe

    axe, found, wide = Axe(), {}, {}
    for path in paths:
        page.goto(portal.url + path)
        assert page.get_by_role("heading", level=1).is_visible(), path
        if page.evaluate("document.documentElement.scrollWidth") > width:
            wide[path] = page.evaluate("document.documentElement.scrollWidth")
        found[path] = violations(axe, page, target_size=target_size)
    return wide, {p: v for p, v in found.items() if v}


def test_after_show_the_next_tab_is_the_first_option_not_the_top_of_the_page(page, portal, sandbox):
    """E12: after "Show", focus was on <body>: 8 Tabs back to the menus. The form is the page's target now, so the
    next Tab lands on its first menu (the financial year)."""
    show_erins_smsf_by_keyboard(page, portal)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "fy"


def test_the_sign_out_pages_cancel_is_thumb_sized_on_a_phone(chromium, portal, sandbox):
    """E15: the /logout page's Cancel was 54 × 19 px on a phone."""
    context = chromium.new_context(viewport={"width": 390, "height": 844}, locale="en-AU", is_mobile=True)
    page = context.new_page()
    sign_in_as(page, portal, "alice")
    page.goto(portal.url + "/logout")
    box = page.get_by_role("link", name="Cancel").bounding_box()
    assert box and box["width"] >= 44 and box["height"] >= 44
    context.close()


def show_erins_smsf_by_keyboard(page, portal):
    """erin's tax page, "Held by" set to an SMSF, and "Show" pressed by keyboard: the report for it has loaded."""
    sign_in_as(page, portal, "erin")
    page.goto(portal.url + "/portfolios/401/tax")
    page.get_by_label("Held by").select_option("smsf")
    page.get_by_role("button", name="Show").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**entity=smsf**")


def test_the_tax_options_change_the_report_by_keyboard(page, portal, sandbox):
    show_erins_smsf_by_keyboard(page, portal)
    assert "self-managed super fund: 33⅓%" in page.locator("table.working").inner_text()


@pytest.mark.screenshots
def test_screenshots_on_a_phone(chromium, portal, sandbox):
    """The same pages at 390 px, for the README."""
    context = chromium.new_context(viewport={"width": 390, "height": 844}, locale="en-AU", is_mobile=True)
    page = context.new_page()
    sign_in_as(page, portal, "alice")
    for name, path, heading in (("portfolios", "/portfolios", "Your portfolios"), ("portfolio", "/portfolios/101", "Retirement"),
                                ("holding", "/portfolios/102/holdings/2001", "AAPL"),
                                ("income", "/portfolios/101/income", "Income by financial year")):
        page.goto(portal.url + path)
        assert page.get_by_role("heading", name=heading).first.is_visible()
        page.screenshot(path=SCREENSHOTS / f"{name}-phone.png", full_page=True)
    context.close()


def test_pages_raise_no_csp_violations_and_work_on_a_phone(chromium, portal, sandbox):
    context = chromium.new_context(viewport={"width": 390, "height": 844}, locale="en-AU", is_mobile=True)
    page = context.new_page()
    problems = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    sign_in_as(page, portal, "alice")
    page.goto(portal.url + "/portfolios/101")
    page.get_by_role("link", name="3M").click()
    page.wait_for_url("**period=3M**")
    assert page.locator("nav.periods a.current").inner_text() == "3M"
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390  # the wide table scrolls inside its own box, not the page
    assert problems == []
    context.close()


@pytest.fixture
def production_portal(sandbox, redis_url):
    """A portal with production cookies (__Host-, Secure) served over http://127.0.0.1, which Chromium
    treats as a secure context; production's https-only settings check is the one thing skipped."""
    port = free_port()
    settings = Settings.from_env(portal_env(sandbox.url, redis_url, f"http://127.0.0.1:{port}"))
    portal = LivePortal(create_app(dataclasses.replace(settings, app_env="production"), today=lambda: PINNED_TODAY),
                        port, MovableClock())
    yield portal
    portal.stop()


def test_in_production_every_cookie_is_gone_after_sign_out(page, production_portal, sandbox):
    portal = production_portal
    sign_in_as(page, portal, "alice")
    cookies = {c["name"]: c for c in page.context.cookies(portal.url)}
    for name in ("__Host-navexa_portal", "__Host-navexa_portal_key", "__Host-navexa_portal_login",
                 "__Host-navexa_portal_same_site"):
        assert cookies[name]["secure"] and cookies[name]["httpOnly"] and cookies[name]["path"] == "/", name
    assert cookies["__Host-navexa_portal_same_site"]["sameSite"] == "Strict"
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(portal.url + "/")
    left = {c["name"] for c in page.context.cookies(portal.url)}
    assert not {"__Host-navexa_portal", "__Host-navexa_portal_key", "__Host-navexa_portal_same_site"} & left
    assert page.get_by_role("link", name="Sign in with Navexa").is_visible()


@pytest.mark.parametrize("width, height", [(1280, 800), (390, 844), (320, 640)])
def test_no_page_is_wider_than_the_screen(chromium, portal, sandbox, width, height):
    context = chromium.new_context(viewport={"width": width, "height": height}, locale="en-AU")
    page = context.new_page()
    sign_in_as(page, portal, "alice")
    for path in ("/portfolios", "/portfolios/101", "/portfolios/101/holdings/1001", "/portfolios/102/holdings/2001",
                 "/portfolios/101/income", "/logout", "/no-such-page"):
        page.goto(portal.url + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= width, path
    context.close()


@pytest.mark.parametrize("width, height", [(1280, 800), (390, 844), (320, 640)])
def test_chart_text_is_at_least_eleven_pixels_at_any_width(chromium, portal, sandbox, width, height):
    context = chromium.new_context(viewport={"width": width, "height": height}, locale="en-AU")
    page = context.new_page()
    sign_in_as(page, portal, "alice")
    page.goto(portal.url + "/portfolios/101")
    sizes = page.eval_on_selector_all(".barchart .bar-label, .barchart .bar-value",
                                      "nodes => nodes.map(n => parseFloat(getComputedStyle(n).fontSize))")
    assert sizes and min(sizes) >= 11
    boxes = page.eval_on_selector_all(".barchart .bar-value", "nodes => nodes.map(n => n.getBoundingClientRect().right)")
    assert max(boxes) <= width  # every value is on the screen
    page.goto(portal.url + "/portfolios/102/holdings/2001")
    texts = page.eval_on_selector_all(".position-chart :is(.position-peak, .position-axis span, .position-legend span, "
                                      ".position-steps li)",
                                      "nodes => nodes.map(n => [n.innerText, parseFloat(getComputedStyle(n).fontSize),"
                                      " n.getBoundingClientRect().right])")
    assert {"49 units", "16 Mar 2021 · 0 units on the baseline", "21 Nov 2026", "Buy", "Sell",
            "16 Mar 2021 Bought 27 → 27 held"} <= {" ".join(t.split()) for t, _, _ in texts}
    assert min(size for _, size, _ in texts) >= 11 and max(right for _, _, right in texts) <= width
    context.close()


@pytest.mark.parametrize("width, height", [(1280, 800), (390, 844), (320, 640)])
def test_the_position_chart_marks_each_buy_and_sale_where_it_happened(chromium, portal, sandbox, width, height):
    """AAPL: bought 27 on 16 Mar 2021 and 22 on 20 Apr 2022, sold 4 on 14 Feb 2023: two round buy markers
    rising left to right, then a square sale marker a little lower, all inside the plot at every width."""
    context = chromium.new_context(viewport={"width": width, "height": height}, locale="en-AU")
    page = context.new_page()
    sign_in_as(page, portal, "alice")
    page.goto(portal.url + "/portfolios/102/holdings/2001")
    plot = page.locator(".position-track").bounding_box()
    marks = page.eval_on_selector_all(".position-track :is(circle, rect.sell)", "nodes => nodes.map(n => {"
                                      " const b = n.getBoundingClientRect(); return [n.getAttribute('class'),"
                                      " b.x + b.width / 2, b.y + b.height / 2, b.width, b.height]; })")
    assert [kind for kind, *_ in marks] == ["buy", "buy", "sell"]
    (_, x1, y1, w1, h1), (_, x2, y2, _, _), (_, x3, y3, w3, h3) = marks
    assert x1 < x2 < x3 and y2 < y1 and y2 < y3 < y1  # 27, then 49, then 45 units
    assert round(w1) == round(h1) == 10 and round(w3) == round(h3) == 10  # round and square at any width
    assert plot["x"] - 6 <= x1 and x3 <= plot["x"] + plot["width"]
    description = page.locator("#position-chart-title-desc").text_content()
    assert "16 Mar 2021: bought 27, holding 27." in description and "14 Feb 2023: sold 4, holding 45." in description
    context.close()


def test_on_a_phone_the_holding_and_income_tables_fit_without_sideways_scrolling(chromium, portal, sandbox):
    context = chromium.new_context(viewport={"width": 390, "height": 844}, locale="en-AU", is_mobile=True)
    page = context.new_page()
    sign_in_as(page, portal, "alice")
    for path in ("/portfolios/101/holdings/1001", "/portfolios/102/holdings/2001", "/portfolios/101/income"):
        page.goto(portal.url + path)
        scrolling = page.eval_on_selector_all(".table-wrap", "nodes => nodes.filter(n => n.scrollWidth > n.clientWidth)"
                                                             ".map(n => n.getAttribute('aria-label'))")
        assert scrolling == [], (path, scrolling)
    context.close()


@pytest.mark.parametrize("width, height", [(390, 844), (320, 640)])
def test_on_a_phone_the_holdings_show_symbol_value_weight_and_return_without_scrolling(chromium, portal, sandbox,
                                                                                      width, height):
    context = chromium.new_context(viewport={"width": width, "height": height}, locale="en-AU", is_mobile=True)
    page = context.new_page()
    sign_in_as(page, portal, "alice")
    response = page.goto(portal.url + "/portfolios/101")
    assert response.status == 200, response.status
    headings = page.eval_on_selector_all(
        "table.holdings thead th", "nodes => nodes.filter(n => n.offsetParent !== null)"
                                   ".map(n => [n.innerText.trim(), n.getBoundingClientRect().right])")
    visible = {text.split()[0]: right for text, right in headings}
    assert {"Symbol", "Value", "Weight", "Return"} <= set(visible), visible
    assert max(visible.values()) <= width - 8, visible  # all inside the screen: no sideways scrolling to read them
    context.close()


def luminance(rgb: str) -> float:
    r, g, b = (int(part) for part in rgb[rgb.index("(") + 1:rgb.index(")")].split(",")[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


def test_dark_mode_follows_the_system(chromium, portal, sandbox):
    context = chromium.new_context(viewport={"width": 1280, "height": 800}, color_scheme="dark")
    page = context.new_page()
    sign_in_as(page, portal, "alice")
    page.goto(portal.url + "/portfolios/101")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    text = page.evaluate("getComputedStyle(document.querySelector('h1')).color")
    assert luminance(background) < 0.2 and luminance(text) > 0.7
    context.close()


def test_a_portfolio_prints_cleanly_with_its_name_period_and_date(page, portal, sandbox):
    sign_in_as(page, portal, "alice")
    page.goto(portal.url + "/portfolios/101?period=3M")
    page.emulate_media(media="print")
    assert not page.get_by_role("button", name="Sign out").is_visible()
    assert not page.get_by_role("navigation", name="Period").is_visible()
    assert not page.get_by_role("link", name="Download CSV").is_visible()
    assert page.get_by_text("Period: 3M · as of 21 Nov 2026").is_visible()
    assert page.get_by_role("heading", name="Retirement").is_visible()
    assert page.locator("table.holdings th", has_text="Capital gain").is_visible()  # every column on paper


def test_a_slow_period_click_shows_progress_at_once_and_a_second_click_loads_nothing_more(page, portal, sandbox):
    sign_in_as(page, portal, "alice")
    page.goto(portal.url + "/portfolios/101")
    portal.clock.advance(61)  # the cached answers have lapsed: the switch waits on a slow Navexa
    sandbox.config(api_latency_ms=1500)
    loads = []
    page.on("request", lambda request: loads.append(request.url) if request.is_navigation_request() else None)
    # Click, look, click again: all in the page, in the moment after the click (the API answers in 1.5 s).
    # Read in the same task as the click (no event loop turn between): progress shows before anything else runs.
    loading, busy, loading_after_second = page.evaluate("""() => {
        const link = [...document.querySelectorAll("nav.periods a")].find(a => a.textContent.trim() === "3M");
        link.click();
        const loading = document.documentElement.classList.contains("is-loading");
        const busy = link.getAttribute("aria-busy");
        link.click();  // impatient
        return [loading, busy, document.documentElement.classList.contains("is-loading")];
    }""")
    assert loading and busy == "true" and loading_after_second
    page.wait_for_url("**period=3M**", timeout=15000)
    page.wait_for_load_state("load")
    assert page.locator("nav.periods a.current").inner_text() == "3M"
    assert len([url for url in loads if "period=3M" in url]) == 1  # one page load, not two
    assert "is-loading" not in (page.locator("html").get_attribute("class") or "")


def test_after_a_429_the_page_tries_again_by_itself_when_the_wait_is_over(page, portal, sandbox):
    sign_in_as(page, portal, "alice")
    portal.clock.advance(61)  # nothing cached: the next page asks Navexa
    sandbox.config(api_error={"status": 429, "count": 1, "retry_after": 5})
    page.clock.install()  # the page's timers run on Playwright's clock: moved, never slept on
    page.goto(portal.url + "/portfolios")
    assert page.get_by_role("heading", name="Navexa asks us to slow down").is_visible()
    assert page.locator("[role=timer]").inner_text() == "Trying again by itself in 5 seconds."
    assert page.get_by_role("button", name="Pause").is_visible() and page.get_by_role("link", name="Try again now").is_visible()
    assert page.locator('meta[http-equiv="refresh"]').count() == 0
    page.clock.run_for(2000)
    assert page.locator("[role=timer] .seconds").inner_text() == "3"
    portal.clock.advance(5)  # the wait is over for the portal's clock too (its pause of the person lapses)
    page.clock.run_for(3000)
    page.get_by_role("heading", name="Your portfolios", exact=True).wait_for(timeout=10000)  # retried by itself


def test_a_paused_429_countdown_never_reloads_by_itself(page, portal, sandbox):
    sign_in_as(page, portal, "alice")
    portal.clock.advance(61)
    sandbox.config(api_error={"status": 429, "count": 1, "retry_after": 5})
    page.clock.install()
    page.goto(portal.url + "/portfolios")
    page.get_by_role("button", name="Pause").click()
    page.clock.run_for(60_000)  # a minute on, well past the wait
    portal.clock.advance(60)
    assert page.get_by_role("heading", name="Navexa asks us to slow down").is_visible()
    assert "Paused" in page.locator(".countdown").inner_text()
    page.get_by_role("link", name="Try again now").click()
    page.get_by_role("heading", name="Your portfolios", exact=True).wait_for(timeout=10000)


A11Y_PAGES = ["/", "/portfolios", "/portfolios/101", "/portfolios/102/holdings/2001", "/portfolios/101/holdings/1001",
              "/portfolios/101/income", "/logout", "/no-such-page"]


@pytest.mark.parametrize("width, height, scheme", [(1280, 800, "light"), (390, 844, "light"), (1280, 800, "dark")])
def test_no_accessibility_violations_of_any_impact(chromium, portal, sandbox, width, height, scheme):
    from axe_playwright_python.sync_playwright import Axe

    context = chromium.new_context(viewport={"width": width, "height": height}, locale="en-AU", color_scheme=scheme)
    page = context.new_page()
    sign_in_as(page, portal, "alice")
    axe, found = Axe(), {}
    for path in A11Y_PAGES:
        page.goto(portal.url + path)
        found[path] = violations(axe, page)
    assert {p: v for p, v in found.items() if v} == {}
    context.close()


def tab_to(page, name: str, limit: int = 60):
    """Press Tab until the focused element's text (or its name attribute) is `name`; fail if it never is."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate("[document.activeElement.innerText, document.activeElement.value,"
                                " document.activeElement.getAttribute('aria-label'), document.activeElement.name]"
                                ".map(v => (v || '').trim())")
        if name in focused:
            return
    raise AssertionError(f"'{name}' cannot be reached with Tab")


def press(page, name: str, lands_on: str):
    """Tab to the control named `name`, press Enter, and wait for the page it leads to."""
    tab_to(page, name)
    page.keyboard.press("Enter")
    page.wait_for_url(lands_on)


def test_a_whole_visit_by_keyboard_alone(page, portal, sandbox):
    page.goto(portal.url + "/")
    press(page, "Sign in with Navexa", sandbox.url + "/authorize*")
    tab_to(page, "username")  # the sandbox's username field
    page.keyboard.type("alice")
    press(page, "Allow", portal.url + "/portfolios")
    press(page, "Retirement", portal.url + "/portfolios/101")
    press(page, "3M", "**period=3M**")
    press(page, "CBA", portal.url + "/portfolios/101/holdings/1001")
    press(page, "Sign out", portal.url + "/")
    assert page.get_by_text("You're signed out").is_visible()


ERROR_AND_EMPTY_STATES = [  # (who, path, forced Navexa error or None, heading)
    ("alice", "/portfolios/101", {"status": 429, "count": 1, "retry_after": 30, "match": "/portfolios/101/holdings"},
     "Navexa asks us to slow down"),
    ("alice", "/portfolios/101/income", {"status": 503, "count": 1, "match": "/portfolios/101/holdings"},
     "Navexa answered with an error"),
    ("alice", "/portfolios/101?sort=bogus", None, "That request isn't valid"),
    ("alice", "/no-such-page", None, "Page not found"),
    ("alice", "/login?expired=1", None, None),
    ("carol", "/portfolios/302", None, None),
    ("carol", "/portfolios/301", None, None),
    ("carol", "/portfolios/301/holdings/9002", None, "Unnamed holding"),
    ("dave", "/portfolios", None, "Your portfolios"),
    ("erin", "/portfolios/401/tax?fy=2024", None, None),
]


@pytest.mark.parametrize("width, height, scheme", [(w, h, scheme) for w, h in ((1280, 800), (390, 844), (320, 640))
                                                   for scheme in ("light", "dark")])
def test_error_and_empty_states_have_no_accessibility_violations(chromium, portal, sandbox, width, height, scheme):
    """Every error and empty state, target-size included; and no page reloads itself (no meta refresh)."""
    from axe_playwright_python.sync_playwright import Axe

    axe, found, signed_in_as = Axe(), {}, None
    context = chromium.new_context(viewport={"width": width, "height": height}, locale="en-AU", color_scheme=scheme)
    page = context.new_page()
    for who, path, error, heading in ERROR_AND_EMPTY_STATES:
        if who != signed_in_as:
            context.clear_cookies()
            sign_in_as(page, portal, who)
            signed_in_as = who
        portal.clock.advance(61)  # past the answer cache: the forced error is met
        sandbox.config(api_error=error)
        page.goto(portal.url + path)
        if heading:
            assert page.get_by_role("heading", name=heading, exact=True).first.is_visible(), path
        assert page.locator('meta[http-equiv="refresh"]').count() == 0, path
        assert page.evaluate("document.documentElement.scrollWidth") <= width, path
        found[path] = violations(axe, page, target_size=True)
    assert {p: v for p, v in found.items() if v} == {}
    context.close()


def phone(chromium, width=390, height=844):
    context = chromium.new_context(viewport={"width": width, "height": height}, locale="en-AU", is_mobile=True)
    return context, context.new_page()


def test_on_a_phone_the_holdings_are_within_the_first_screen(chromium, portal, sandbox):
    context, page = phone(chromium)
    sign_in_as(page, portal, "alice")
    page.goto(portal.url + "/portfolios/101")
    top = page.locator("#holdings-title").bounding_box()["y"]
    assert top < 844, f"the holdings start {top:.0f} px down"
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to holdings"
    context.close()


def sizes(page, selector: str) -> list[tuple[str, float, float]]:
    return page.eval_on_selector_all(selector, """nodes => nodes.filter(n => n.offsetParent !== null).map(n => {
        const r = n.getBoundingClientRect(); return [n.textContent.trim().slice(0, 20), r.width, r.height]; })""")


@pytest.mark.parametrize("width", [390, 320])
def test_on_a_phone_every_control_is_at_least_44_by_44(chromium, portal, sandbox, width):
    context, page = phone(chromium, width, 844 if width == 390 else 640)
    sign_in_as(page, portal, "alice")
    small = []
    for path, selector in (("/portfolios/101", ".periods a, .sections a, .crumbs a, thead th a, tbody th a, .actions a"),
                           ("/portfolios/101/holdings/1001", ".crumbs a"),
                           ("/no-such-page", ".problem-actions a, .problem-actions button")):
        page.goto(portal.url + path)
        small += [(path, *s) for s in sizes(page, selector) if s[1] < 44 or s[2] < 44]
    assert small == []
    page.goto(portal.url + "/portfolios/101")
    tops = {round(box[1]) for box in page.eval_on_selector_all(".periods a", "ns => ns.map(n => [0, n.getBoundingClientRect().top])")}
    assert len(tops) == 1  # the six period buttons on one row
    context.close()


def test_after_a_sort_or_a_period_change_focus_is_on_the_control_used(page, portal, sandbox):
    sign_in_as(page, portal, "alice")
    page.goto(portal.url + "/portfolios/101")
    page.locator("#sort-symbol").click()
    page.wait_for_url("**sort=symbol**")
    assert page.evaluate("document.activeElement.id") == "sort-symbol"
    page.locator("#period-3M").click()
    page.wait_for_url("**period=3M**")
    assert page.evaluate("document.activeElement.id") == "period-3M"
    page.keyboard.press("Tab")  # and the next Tab goes on from there, not from the top
    assert page.evaluate("document.activeElement.id") == "period-6M"


def test_while_a_period_loads_only_it_looks_current_and_the_page_reads_as_stale(page, portal, sandbox):
    sign_in_as(page, portal, "alice")
    page.goto(portal.url + "/portfolios/101")
    portal.clock.advance(61)
    sandbox.config(api_latency_ms=1500)
    current, stale = page.evaluate("""() => {
        document.querySelector("#period-3M").click();
        return [[...document.querySelectorAll(".periods a.current")].map(a => a.id),
                getComputedStyle(document.querySelector("main")).opacity];
    }""")
    assert current == ["period-3M"] and float(stale) < 1
    page.wait_for_url("**period=3M**", timeout=15000)
    assert [a for a in page.eval_on_selector_all(".periods a.current", "ns => ns.map(n => n.id)")] == ["period-3M"]


def rendered_error_pages(portal) -> dict[str, tuple[int, str]]:
    """The error pages no sandbox knob reaches on demand, as the portal's own renderer answers them."""
    from werkzeug.exceptions import RequestEntityTooLarge

    from portal.core.navexa.client import UpstreamTimeout
    from portal.web.errors import render_error, render_http_exception
    from portal.web.problems import StoreUnavailable, navexa_error

    pages = {}
    with portal.app.test_request_context("/portfolios/101"):
        for name, response in (("503", render_error(StoreUnavailable())),
                               ("504", render_error(navexa_error(UpstreamTimeout("slow"), "/portfolios/101"))),
                               ("413", render_http_exception(RequestEntityTooLarge()))):
            pages[name] = (response.status_code, response.get_data(as_text=True))
    return pages


def fulfilling(status: int, html: str):
    """A Playwright route handler answering with this page (one argument: Playwright passes the request to two)."""
    def answer(route):
        route.fulfill(status=status, body=html, content_type="text/html; charset=utf-8")

    return answer


@pytest.mark.parametrize("width, height, scheme", [(w, h, scheme) for w, h in ((1280, 800), (390, 844), (320, 640))
                                                   for scheme in ("light", "dark")])
def test_the_store_timeout_and_too_large_pages_have_no_accessibility_violations(chromium, portal, sandbox, width, height,
                                                                                scheme):
    from axe_playwright_python.sync_playwright import Axe

    context = chromium.new_context(viewport={"width": width, "height": height}, locale="en-AU", color_scheme=scheme)
    page = context.new_page()
    axe, found = Axe(), {}
    for name, (status, html) in rendered_error_pages(portal).items():
        page.route(f"{portal.url}/_state/{name}", fulfilling(status, html))
        page.goto(f"{portal.url}/_state/{name}")
        assert page.get_by_role("heading", level=1).is_visible() and f"error {status}" in page.content()
        assert page.evaluate("document.documentElement.scrollWidth") <= width, name
        found[name] = violations(axe, page, target_size=True)
    assert {p: v for p, v in found.items() if v} == {}
    context.close()


def test_a_cross_site_fetch_to_the_api_is_refused_in_chromium(page, portal, sandbox):
    """From another origin's page (the sandbox's), with the person's cookies: the portal forwards nothing."""
    from prometheus_client import REGISTRY

    def full_answers():
        return REGISTRY.get_sample_value("portal_api_answers_total", {"path": "full"}) or 0.0

    sign_in_as(page, portal, "alice")
    page.goto(sandbox.url + "/.well-known/openid-configuration")
    before, answered_before = sandbox.stats()["api_requests"], full_answers()
    page.evaluate("""url => fetch(url, {credentials: "include", mode: "no-cors"}).catch(() => null)""",
                  portal.url + "/api/portfolios")
    page.evaluate("""url => fetch(url, {credentials: "include", method: "POST", mode: "no-cors", body: "{}"})
                       .catch(() => null)""", portal.url + "/api/portfolios")
    assert full_answers() - answered_before == 2  # both reached the portal (and were answered by its full path)…
    assert sandbox.stats()["api_requests"] == before  # …and neither went on to Navexa
    page.goto(portal.url + "/portfolios")  # and the person is still signed in
    assert page.get_by_role("heading", name="Your portfolios", exact=True).is_visible()


# -- the sale planner and the corporate actions (grace) ------------------------------------------------------

PLANNER_PAGES = ["/portfolios/401/holdings/4008/plan", "/portfolios/401/holdings/4008/plan?units=20&date=2027-06-16",
                 "/portfolios/401/holdings/4005/plan", "/portfolios/401/holdings/4008/plan?units=-1", "/tax?fy=2025"]


@pytest.mark.parametrize("width, height", [(1280, 800), (390, 844), (320, 640)])
def test_the_planner_fits_every_screen_with_no_accessibility_violations(chromium, portal, sandbox, width, height):
    """The planner (a sale, a later sale, a holding that can't be computed, bad input) and the whole year: nothing
    wider than the screen, the key figures in view, axe at zero."""
    context = chromium.new_context(viewport={"width": width, "height": height}, locale="en-AU")
    page = context.new_page()
    sign_in_as(page, portal, "erin")
    assert too_wide_or_failing(page, portal, PLANNER_PAGES, width, target_size=width < 400) == ({}, {})
    page.goto(portal.url + PLANNER_PAGES[0])
    gain = page.locator("table.plan tbody tr").first.locator("td").nth(1)
    box = gain.bounding_box()
    assert box and box["x"] + box["width"] <= width  # the gain column is on screen, not scrolled away
    context.close()


def test_the_planner_by_keyboard_alone(page, portal, sandbox):
    """From the tax page: Tab to the holding's planner link, Enter; fill units and date, Enter: the new plan."""
    sign_in_as(page, portal, "erin")
    page.goto(portal.url + "/portfolios/401/tax")
    page.get_by_role("link", name="Plan a sale of VGS").first.focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/holdings/4008/plan**")
    page.get_by_label("Units to sell").focus()
    page.keyboard.press("Control+A")
    page.keyboard.type("20")
    page.get_by_label("Sale date").fill("2027-06-16")
    page.get_by_role("button", name="Work it out").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**units=20**")
    assert page.get_by_role("heading", name="Selling 20 on 16 Jun 2027").is_visible()


@pytest.mark.screenshots
def test_screenshots_of_the_planner_and_a_tax_page_with_corporate_actions(chromium, portal, sandbox):
    """erin's planner and grace's 2024–25 (a split, a consolidation, reinvested dividends, a return of capital), at
    1280 and 390 px, for docs/tax.md."""
    for width, height, suffix in ((1280, 900, ""), (390, 844, "-phone")):
        context = chromium.new_context(viewport={"width": width, "height": height}, locale="en-AU", is_mobile=width < 400)
        page = context.new_page()
        sign_in_as(page, portal, "erin")
        page.goto(portal.url + "/portfolios/401/holdings/4008/plan")
        assert page.get_by_role("heading", name="What waiting would change").is_visible()
        page.screenshot(path=SCREENSHOTS / f"planner{suffix}.png", full_page=True)
        context.clear_cookies()
        sign_in_as(page, portal, "grace")
        page.goto(portal.url + "/portfolios/601/tax?fy=2025")
        assert page.get_by_role("heading", name="2024–25: net capital gain").is_visible()
        page.screenshot(path=SCREENSHOTS / f"tax-corporate-actions{suffix}.png", full_page=True)
        context.close()
