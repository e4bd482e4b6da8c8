"""/sessions: a person sees their own sessions and signs any of them out, over real sockets."""

import html
import re
import subprocess
import sys

import pytest
import redis

from portal.core.sessions.browsers import describe
from portal.core.sessions.record import SEEN, SEEN_EVERY
from portal.signin.your_sessions import ago, handle_of
from tests.conftest import LONE_DB
from tests.helpers import PortalBrowser, session_key, token_key
from tests.oauth_helpers import refresh as sandbox_refresh

FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
SAFARI_IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                 "Version/18.1 Mobile/15E148 Safari/604.1")


@pytest.fixture
def portal(lone_portal):
    return lone_portal


def facts(person) -> list[tuple[str, str]]:
    """(signed in, last used) of each card."""
    return re.findall(r"<dt>Signed in</dt><dd>([^<]+)</dd>.*?<dt>Last used</dt><dd>([^<]+)</dd>",
                      person.page("/sessions").text, re.S)


def person_on(portal, sandbox, agent: str, username="alice") -> PortalBrowser:
    person = PortalBrowser(portal, sandbox)
    person.headers["User-Agent"] = agent
    assert person.sign_in(username).status_code == 302
    return person


def listed(person) -> list[tuple[str, str | None]]:
    """(browser, handle of its Sign out form or None for this one) for each card on the page."""
    html = person.page("/sessions").text
    cards = re.findall(r'<li class="card session[^"]*">(.*?)</li>', html, re.S)
    return [(re.search(r"<h2>([^<]+)", card).group(1).strip(),
             (re.search(r'name="session" value="([^"]+)"', card) or [None, None])[1]) for card in cards]


def csrf_of(person) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', person.page("/sessions").text).group(1)


def test_two_browsers_of_one_person_each_see_both_sessions_this_one_first(portal, sandbox):
    laptop, phone = person_on(portal, sandbox, FIREFOX_WINDOWS), person_on(portal, sandbox, SAFARI_IPHONE)
    person_on(portal, sandbox, FIREFOX_WINDOWS, "bob")  # somebody else's session is nobody else's business
    assert listed(laptop) == [("Firefox on Windows", None), ("Safari on iPhone", handle_of(phone.session_id()))]
    assert listed(phone) == [("Safari on iPhone", None), ("Firefox on Windows", handle_of(laptop.session_id()))]
    page = laptop.page("/sessions").text
    assert "This browser" in page and laptop.session_id() not in page and phone.session_id() not in page


def test_signing_the_other_session_out_ends_it_at_once_and_revokes_its_refresh_token(portal, sandbox):
    laptop, phone = person_on(portal, sandbox, FIREFOX_WINDOWS), person_on(portal, sandbox, SAFARI_IPHONE)
    phones_refresh_token = phone.record().refresh_token
    answer = laptop.post(portal.url + "/sessions/end", data={"csrf_token": csrf_of(laptop),
                                                             "session": handle_of(phone.session_id())},
                         allow_redirects=False, timeout=10)
    assert answer.status_code == 302 and answer.headers["Location"] == "/sessions?ended=1"
    assert "Signed out 1 other session." in laptop.page("/sessions?ended=1").text
    assert phone.page().status_code == 302  # its next page: signed out
    assert phone.get(portal.url + "/api/portfolios", timeout=10).status_code == 401
    assert sandbox.stats()["revocations"] == 1
    assert sandbox_refresh(sandbox.url, phones_refresh_token).json()["error"] == "invalid_grant"
    assert laptop.page().status_code == 200
    assert [b for b, _ in listed(laptop)] == ["Firefox on Windows"], listed(laptop)


def test_sign_out_of_all_other_sessions_keeps_this_one(portal, sandbox):
    laptop = person_on(portal, sandbox, FIREFOX_WINDOWS)
    others = [person_on(portal, sandbox, SAFARI_IPHONE) for _ in range(2)]
    answer = laptop.post(portal.url + "/sessions/end-others", data={"csrf_token": csrf_of(laptop)},
                         allow_redirects=False, timeout=10)
    assert answer.headers["Location"] == "/sessions?ended=2"
    assert [o.page().status_code for o in others] == [302, 302]
    assert laptop.page().status_code == 200 and sandbox.stats()["revocations"] == 2


def test_sign_out_everywhere_ends_both_and_signs_out_at_navexa_too(portal, sandbox):
    laptop, phone = person_on(portal, sandbox, FIREFOX_WINDOWS), person_on(portal, sandbox, SAFARI_IPHONE)
    sid = laptop.session_id()
    answer = laptop.post(portal.url + "/sessions/end-everywhere", data={"csrf_token": csrf_of(laptop)},
                         allow_redirects=False, timeout=10)
    assert answer.status_code == 302 and answer.headers["Location"].startswith(sandbox.url + "/oidc/logout?")
    assert "id_token_hint=" in answer.headers["Location"]
    assert phone.page().status_code == 302 and laptop.page().status_code == 302
    assert not portal.redis.exists(session_key(sid)) and not portal.redis.exists(token_key(sid))
    assert sandbox.stats()["revocations"] == 2


def test_a_browser_whose_session_was_ended_elsewhere_signs_in_again_at_once(portal, sandbox):
    laptop, phone = person_on(portal, sandbox, FIREFOX_WINDOWS), person_on(portal, sandbox, SAFARI_IPHONE)
    laptop.post(portal.url + "/sessions/end-others", data={"csrf_token": csrf_of(laptop)}, timeout=10)
    assert phone.page().status_code == 302
    assert phone.sign_in().status_code == 302
    assert phone.page().status_code == 200  # not the ended session "winning" the browser back


def test_a_browser_whose_session_was_ended_elsewhere_is_told_why_before_navexas_sign_in(portal, sandbox):
    """E16: the phone's session was ended from the laptop; its next page used to go straight to Navexa's sign-in with
    no word why. It gets the portal's "Your session has ended" page, which offers to sign in again and come back."""
    laptop, phone = person_on(portal, sandbox, FIREFOX_WINDOWS), person_on(portal, sandbox, SAFARI_IPHONE)
    laptop.post(portal.url + "/sessions/end-others", data={"csrf_token": csrf_of(laptop)}, timeout=10)
    moved = phone.get(portal.url + "/portfolios/101?period=ALL", allow_redirects=False, timeout=10)
    assert moved.status_code == 302 and "expired=1" in moved.headers["Location"]
    ended = phone.get(portal.url + moved.headers["Location"], allow_redirects=False, timeout=10)
    assert ended.status_code == 200 and "Your session has ended" in ended.text
    assert "next=/portfolios/101?period%3DALL" in ended.text or "next=%2Fportfolios%2F101%3Fperiod%3DALL" in ended.text
    fresh = PortalBrowser(portal, sandbox)  # a browser that never signed in goes to sign in as before
    assert "expired" not in fresh.get(portal.url + "/portfolios", allow_redirects=False, timeout=10).headers["Location"]


def test_two_sessions_of_the_same_browser_are_told_apart_by_when_and_where(make_portal, redis_url, sandbox):
    """E20: relative times only, and nothing told two "Firefox on Windows" sessions apart. Each card gives the date
    and time in UTC, named, beside "ago", and the address it signed in from as the trusted proxy told it; and
    "Sign out everywhere", the most drastic action, is not the primary button."""
    url = redis_url.rstrip("/") + f"/{LONE_DB}"  # alice's sessions of this test only
    redis.Redis.from_url(url).flushdb()
    portal = make_portal(REDIS_URL=url, TRUSTED_PROXY_COUNT="1")
    home, office = PortalBrowser(portal, sandbox), PortalBrowser(portal, sandbox)
    for person, address in ((home, "203.0.113.7"), (office, "198.51.100.23")):
        person.headers.update({"User-Agent": FIREFOX_WINDOWS, "X-Forwarded-For": address})
        assert person.sign_in().status_code == 302
    page = html.unescape(home.page("/sessions").text)
    cards = re.findall(r'<li class="card session[^"]*">(.*?)</li>', page, re.S)
    assert len(cards) == 2 and all("Firefox on Windows" in card for card in cards)
    assert "From 203.0.113.7" in " ".join(cards[0].split()) and "From 198.51.100.23" in " ".join(cards[1].split())
    assert all(re.search(r"\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d UTC", card) for card in cards)
    everywhere = re.search(r'<button type="submit" class="([^"]+)">Sign out everywhere</button>', page).group(1)
    assert "secondary" in everywhere.split()


@pytest.mark.parametrize("form", ["/sessions/end", "/sessions/end-others", "/sessions/end-everywhere"])
def test_every_form_needs_the_csrf_token_and_the_same_site_cookie(portal, sandbox, form):
    laptop, phone = person_on(portal, sandbox, FIREFOX_WINDOWS), person_on(portal, sandbox, SAFARI_IPHONE)
    fields = {"session": handle_of(phone.session_id())}
    assert laptop.post(portal.url + form, data=fields, allow_redirects=False, timeout=10).status_code == 400
    strict = laptop.cookies.get("navexa_portal_same_site")
    del laptop.cookies["navexa_portal_same_site"]  # as a browser sends a request that started on another site
    answer = laptop.post(portal.url + form, data={**fields, "csrf_token": csrf_of(laptop)}, allow_redirects=False,
                         timeout=10)
    assert answer.status_code == 403 and "portal's own pages" in html.unescape(answer.text)
    laptop.cookies.set("navexa_portal_same_site", strict)
    assert phone.page().status_code == 200 and laptop.page().status_code == 200 and sandbox.stats()["revocations"] == 0


def test_a_session_that_is_not_yours_or_already_ended_cannot_be_signed_out(portal, sandbox):
    alice, bob = person_on(portal, sandbox, FIREFOX_WINDOWS), person_on(portal, sandbox, SAFARI_IPHONE, "bob")
    for handle in (handle_of(bob.session_id()), handle_of(alice.session_id()), "not-a-handle", "é" * 24, ""):
        answer = alice.post(portal.url + "/sessions/end", data={"csrf_token": csrf_of(alice), "session": handle},
                            allow_redirects=False, timeout=10)
        assert answer.status_code == 400 and "isn't one of yours" in html.unescape(answer.text)
    assert bob.page().status_code == 200 and alice.page().status_code == 200


def test_signed_out_the_sessions_page_asks_to_sign_in(browser, portal):
    answer = browser.page("/sessions")
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]
    assert browser.post(portal.url + "/sessions/end-others", allow_redirects=False, timeout=10).status_code in (302, 400)


def test_the_forms_are_rate_limited_like_sign_in(make_portal, sandbox):
    portal = make_portal(RATE_LIMIT_SIGN_IN="2 per minute")
    laptop = PortalBrowser(portal, sandbox)
    assert laptop.sign_in().status_code == 302
    token = csrf_of(laptop)
    statuses = [laptop.post(portal.url + "/sessions/end-others", data={"csrf_token": token}, allow_redirects=False,
                            timeout=10).status_code for _ in range(3)]
    assert statuses == [302, 302, 429]


def test_last_used_is_written_at_most_once_a_minute(portal, sandbox):
    # Frozen before signing in: sign-in writes "last used" too, and a slow machine must not age it before the
    # clock stops (it did in CI: 1.4 s between sign-in and freeze made 59 s read as 60).
    portal.clock.freeze()
    signed_in = person_on(portal, sandbox, FIREFOX_WINDOWS)

    def seen():
        import json

        return json.loads(portal.redis.get(session_key(signed_in.session_id())))[SEEN]

    signed_in.page()
    first = seen()
    portal.clock.advance(SEEN_EVERY - 1)
    signed_in.page()
    assert seen() == first
    portal.clock.advance(1)
    signed_in.page()
    assert seen() == first + SEEN_EVERY
    assert facts(signed_in) == [("1 minute ago", "just now")]
    portal.clock.advance(5 * 60)
    assert facts(signed_in) == [("6 minutes ago", "just now")]  # this request is a use


def test_ago_in_words():
    # Working: 59 s is under a minute; 60 s one minute; 7199 s is 1 h 59 min → 1 hour; 2 days 1 s → 2 days.
    assert [ago(0), ago(59), ago(60), ago(150), ago(3600), ago(7199), ago(2 * 86400 + 1), ago(-5)] == [
        "just now", "just now", "1 minute ago", "2 minutes ago", "1 hour ago", "1 hour ago", "2 days ago", "just now"]


@pytest.mark.parametrize("agent, words", [
    (FIREFOX_WINDOWS, "Firefox on Windows"),
    (SAFARI_IPHONE, "Safari on iPhone"),
    ("Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36",
     "Chrome on Android"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36 "
     "Edg/131.0", "Edge on macOS"),
    ("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
     "Chrome on ChromeOS"),
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36",
     "Chrome on Linux"),
    ("curl/8.5.0", "An unknown browser"),
    ("", "An unknown browser"),
    ("<script>alert(1)</script> Firefox/1", "Firefox"),  # only known words come out
])
def test_a_browser_in_a_few_words(agent, words):
    assert describe(agent) == words


def test_a_slow_provider_delays_signing_others_out_by_one_wait_not_one_per_session(portal, sandbox):
    """Four other sessions, a revocation endpoint taking 2 s: one after another would be 8 s; at once, about 2 s.
    Bounded: the answer must come within 6 s (REVOKE_WAIT is 5), and every revocation is made."""
    import time

    laptop = person_on(portal, sandbox, FIREFOX_WINDOWS)
    others = [person_on(portal, sandbox, SAFARI_IPHONE) for _ in range(4)]
    sandbox.config(token_latency_ms=2000)
    started = time.monotonic()
    answer = laptop.post(portal.url + "/sessions/end-others", data={"csrf_token": csrf_of(laptop)},
                         allow_redirects=False, timeout=30)
    assert answer.headers["Location"] == "/sessions?ended=4" and time.monotonic() - started < 6
    assert [o.page().status_code for o in others] == [302] * 4  # ended at once, whatever the provider does
    assert sandbox.stats()["revocations"] == 4


# -- sessions from before the index: signed in under the release before it, still signed in after the upgrade --


def as_before_the_index(portal, person):
    """Make a session look as the release before the session index left it: its stored JSON with only the person,
    its end and its CSRF token; no revocation copy of its refresh token; in no index."""
    import json

    from portal.core.sessions.index import idp_session_key, person_key
    from portal.core.storage.keyspace import REVOCABLE, session_scoped

    sid = person.session_id()
    data = json.loads(portal.redis.get(session_key(sid)))
    portal.redis.set(session_key(sid), json.dumps({k: data[k] for k in ("user", "exp", "csrf") if k in data}),
                     keepttl=True)
    portal.redis.delete(session_scoped(REVOCABLE, sid))
    portal.redis.zrem(person_key(data["user"]["sub"]), sid)
    portal.redis.zrem(idp_session_key(data["idp_sid"]), sid)
    return sid


@pytest.mark.parametrize("first_use", ["a page", "an /api/ call"])
def test_a_session_from_before_the_upgrade_joins_the_index_at_its_next_use(portal, sandbox, first_use):
    """After an upgrade, sessions signed in under the old release are in no index and have no revocation copy:
    at their next use (a page, or an /api/ call, which the fast path hands to Flask once) they are adopted, so
    the sessions page lists them and signing them out from elsewhere revokes their refresh token."""
    laptop, old = person_on(portal, sandbox, FIREFOX_WINDOWS), person_on(portal, sandbox, SAFARI_IPHONE)
    as_before_the_index(portal, old)
    assert [b for b, _ in listed(laptop)] == ["Firefox on Windows"]  # not listed yet: nothing knows of it
    used = old.page() if first_use == "a page" else old.get(portal.url + "/api/portfolios", timeout=10)
    assert used.status_code == 200
    assert listed(laptop) == [("Firefox on Windows", None), ("Safari on iPhone", handle_of(old.session_id()))]
    old_refresh_token = old.record().refresh_token
    answer = laptop.post(portal.url + "/sessions/end-others", data={"csrf_token": csrf_of(laptop)},
                         allow_redirects=False, timeout=10)
    assert answer.headers["Location"] == "/sessions?ended=1"
    assert old.page().status_code == 302 and sandbox.stats()["revocations"] == 1
    assert sandbox_refresh(sandbox.url, old_refresh_token).json()["error"] == "invalid_grant"


# -- operators: `flask --app wsgi sessions list|end SUB`, from any container -------------------------------------


def operator(portal, sandbox, *args) -> subprocess.CompletedProcess:
    """Run the sessions command as an operator would in a container: the portal's environment, its Redis and key."""
    from tools.stack import ROOT, portal_env

    settings = portal.services.settings
    env = portal_env(sandbox.url, settings.redis_url, portal.url, SECRET_KEY=settings.secret_key)
    return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi:app", "sessions", *args], cwd=ROOT,
                          env={"PATH": "/usr/bin:/bin", **env}, capture_output=True, text=True, timeout=60)


def test_an_operator_lists_a_persons_sessions_and_ends_them_all_everywhere(portal, sandbox):
    laptop, phone = person_on(portal, sandbox, FIREFOX_WINDOWS), person_on(portal, sandbox, SAFARI_IPHONE)
    bob = person_on(portal, sandbox, FIREFOX_WINDOWS, "bob")
    listing = operator(portal, sandbox, "list", "auth0|alice-7f3a91")
    assert listing.returncode == 0, listing.stderr
    assert "2 sessions" in listing.stdout and "Firefox on Windows" in listing.stdout and "Safari on iPhone" in listing.stdout
    assert handle_of(phone.session_id()) in listing.stdout
    assert phone.session_id() not in listing.stdout + listing.stderr  # a session's id is a bearer secret

    ended = operator(portal, sandbox, "end", "auth0|alice-7f3a91")
    assert ended.returncode == 0, ended.stderr
    assert "Ended 2 sessions" in ended.stdout
    assert laptop.page().status_code == 302 and phone.page().status_code == 302
    assert bob.page().status_code == 200
    assert sandbox.stats()["revocations"] == 2
    assert "0 sessions" in operator(portal, sandbox, "list", "auth0|alice-7f3a91").stdout


def test_the_operator_command_says_plainly_when_there_is_nothing_to_end(portal, sandbox):
    nobody = operator(portal, sandbox, "end", "auth0|nobody")
    assert nobody.returncode == 0 and "Ended 0 sessions" in nobody.stdout
    missing = operator(portal, sandbox, "end")
    assert missing.returncode == 2 and "SUB" in missing.stderr  # click's usage error, no traceback


@pytest.mark.parametrize("command", ["list", "end"])
def test_the_operator_command_with_redis_down_says_so_in_one_line(make_portal, command):
    """Before, a traceback (issue 28's smaller findings). The store is unreachable: exit status 1, one line."""
    from tools.stack import free_port

    portal = make_portal(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    result = portal.app.test_cli_runner().invoke(args=["sessions", command, "auth0|alice-7f3a91"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: the session store (Redis) can't be reached: ConnectionError. Nothing was listed or ended; try again when "
        "it is back."]
    assert "Traceback" not in result.output


def test_a_redis_dump_names_no_session_and_an_id_without_its_key_cookie_acts_on_nothing(portal, sandbox):
    """N4: session ids were in the clear in Redis (key names, index members, browser claims): with one id from a
    dump and no key cookie, /sessions showed the person's name and "sign out of all other sessions" ended them.
    Now Redis holds a keyed hash of each id, never the id, and a session id acts on nothing without its key
    cookie: the person's other session stays signed in."""
    laptop, phone = person_on(portal, sandbox, FIREFOX_WINDOWS), person_on(portal, sandbox, SAFARI_IPHONE)
    ids = [browser.cookies.get("navexa_portal_session") for browser in (laptop, phone)]
    client = portal.redis
    dump = b" ".join([key for key in client.scan_iter("*")] + [
        member for key in client.scan_iter("portal:*person:*") for member in client.zrange(key, 0, -1)] + [
        client.get(key) or b"" for key in client.scan_iter("portal:browser:*")] + [
        client.get(key) or b"" for key in client.scan_iter("portal:session:*")])
    assert all(sid and sid.encode() not in dump for sid in ids), "a session id is in Redis in the clear"
    stranger = PortalBrowser(portal, sandbox)
    stranger.cookies.set("navexa_portal_session", ids[0])  # the id alone, no key cookie
    assert stranger.get(portal.url + "/sessions", allow_redirects=False, timeout=10).status_code == 302
    ended = stranger.post(portal.url + "/sessions/end-others", data={"csrf_token": csrf_of(laptop)},
                          allow_redirects=False, timeout=10)
    assert ended.status_code in (302, 400, 403)
    assert phone.page().status_code == 200 and laptop.page().status_code == 200  # nobody was signed out
