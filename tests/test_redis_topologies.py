"""The portal on Redis that fails over (Sentinel), scales out (Cluster) and restarts, with real
redis-server processes on loopback."""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from werkzeug.test import EnvironBuilder

from portal.app import create_app
from portal.core.sessions.tokens import VALID_MARGIN
from portal.settings import Settings
from portal.web.cookies import key_cookie, same_site_cookie
from portal.web.session_store import SESSION_COOKIE
from tests.helpers import PortalBrowser, lock_key, session_key, signed_in_then_redis_stops, stored_sid, token_key, warning_lines
from tests.redis_topologies import SENTINEL_MASTER, start_cluster, start_sentinel_setup
from tools.clients import Browser
from tools.stack import free_port, portal_env, start_portal, start_redis

pytestmark = pytest.mark.soak  # Sentinel failovers and a Cluster of processes: `make test` runs them, `make test-fast` doesn't


def poll_until_ok(browser, seconds=30.0) -> list[int]:
    """GET /portfolios every 0.2 s until it answers 200 (bounded); every status seen."""
    statuses, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        statuses.append(browser.page("/portfolios").status_code)
        if statuses[-1] == 200:
            break
        time.sleep(0.2)
    return statuses


@pytest.fixture
def sentinel_setup():
    topology, primary, sentinels = start_sentinel_setup()
    yield topology, primary, sentinels
    topology.stop()


def test_a_sentinel_failover_keeps_people_signed_in(make_portal, sandbox, sentinel_setup):
    topology, primary, sentinels = sentinel_setup
    portal = make_portal(REDIS_URL=None, REDIS_SENTINELS=",".join(f"127.0.0.1:{p}" for p in sentinels),
                         REDIS_SENTINEL_MASTER=SENTINEL_MASTER)
    person = PortalBrowser(portal, sandbox)
    assert person.sign_in().status_code == 302
    assert person.page().status_code == 200
    sid = person.session_id()
    assert redis.Redis(port=primary).execute_command("WAIT", 1, 2000) == 1  # the replica has the session

    topology.services.pop("primary").stop()  # the primary dies while the person is browsing
    started = time.monotonic()
    statuses = poll_until_ok(person)
    print(f"failover: {len(statuses) - 1} answers of 503 over {time.monotonic() - started:.1f} s, then 200")
    assert statuses[-1] == 200, statuses
    assert set(statuses[:-1]) <= {503}, statuses  # a short burst of "try again", never a 500
    assert len(statuses) <= 50  # back within 10 s
    assert person.session_id() == sid  # the same session: nobody signed in again
    new_primary = redis.Redis(port=sentinels[0]).execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", SENTINEL_MASTER)
    assert int(new_primary[1]) != primary


def test_after_a_sentinel_failover_the_sessions_page_still_lists_and_ends_every_session(make_portal, sandbox,
                                                                                         sentinel_setup):
    """The session index is plain keys on the primary, so a replica promoted by Sentinel has it too: the
    person's two sessions are both listed after the failover, and signing the other out still ends it."""
    from tests.test_your_sessions import csrf_of, listed

    topology, primary, sentinels = sentinel_setup
    portal = make_portal(REDIS_URL=None, REDIS_SENTINELS=",".join(f"127.0.0.1:{p}" for p in sentinels),
                         REDIS_SENTINEL_MASTER=SENTINEL_MASTER)
    laptop, phone = PortalBrowser(portal, sandbox), PortalBrowser(portal, sandbox)
    assert laptop.sign_in().status_code == 302 and phone.sign_in().status_code == 302
    assert redis.Redis(port=primary).execute_command("WAIT", 1, 2000) == 1  # the replica has both, and the index

    topology.services.pop("primary").stop()
    assert poll_until_ok(laptop)[-1] == 200
    assert [handle is None for _, handle in listed(laptop)] == [True, False]  # this one, and the phone's
    other = listed(laptop)[1][1]
    ended = laptop.post(portal.url + "/sessions/end", data={"csrf_token": csrf_of(laptop), "session": other},
                        allow_redirects=False, timeout=10)
    assert ended.status_code == 302
    assert phone.page("/portfolios").status_code == 302  # signed out, on the promoted replica
    assert laptop.page("/portfolios").status_code == 200
    assert sandbox.stats()["revocations"] == 1


@pytest.fixture(scope="module")
def shared_cluster():
    """One Cluster for the module's tests (six processes take seconds to start)."""
    topology, ports = start_cluster()
    yield ports
    topology.stop()


@pytest.fixture
def cluster(shared_cluster):
    """The shared Cluster, emptied for this test."""
    client = redis.RedisCluster(host="127.0.0.1", port=shared_cluster[0])
    client.flushall(target_nodes=redis.RedisCluster.PRIMARIES)
    client.close()
    return shared_cluster


def test_on_a_cluster_two_processes_share_sessions_and_refresh_once(sandbox, cluster):
    env = portal_env(sandbox.url, f"redis://127.0.0.1:{cluster[0]}/0", REDIS_CLUSTER="1")
    port_a, port_b = free_port(), free_port()
    env["PUBLIC_URL"] = f"http://127.0.0.1:{port_a}"
    portal_a, url_a = start_portal(env, port=port_a, workers=1)
    portal_b, url_b = start_portal(env, port=port_b, workers=1)
    try:
        sandbox.config(access_token_ttl=VALID_MARGIN - 2)  # as good as expired: the first use refreshes
        person = Browser(url_a)
        assert person.sign_in().status_code == 302
        sandbox.config(access_token_ttl=86400)
        with ThreadPoolExecutor(30) as pool:
            statuses = list(pool.map(lambda i: person.twin().get((url_a, url_b)[i % 2] + "/api/portfolios",
                                                                 timeout=60).status_code, range(30)))
        assert statuses == [200] * 30
        stats = sandbox.stats()
        assert stats["token_requests"]["refresh_token"] == 1 and stats["refresh_reuse_detected"] == 0
        assert person.get(url_b + "/portfolios", timeout=30).status_code == 200  # browsing through the other one
        sid = stored_sid(person.cookies.get(SESSION_COOKIE), env["SECRET_KEY"])
        client = redis.RedisCluster(host="127.0.0.1", port=cluster[0])
        slots = {client.keyslot(key) for key in (session_key(sid), token_key(sid), lock_key(sid))}
        assert len(slots) == 1  # a session's keys share one slot
        assert client.exists(session_key(sid)) and client.exists(token_key(sid))
        hop = create_app(Settings.from_env(env)).wsgi_app
        cookie = "; ".join(f"{name}={person.cookies.get(name)}"
                           for name in (SESSION_COOKIE, key_cookie.dev_name, same_site_cookie.dev_name))
        environ = EnvironBuilder(path="/api/portfolios", headers={"Cookie": cookie, "X-CSRF": "1"}).get_environ()
        assert hop.answer(environ, 0.0, "-") is not None  # the /api/ fast path reads both keys in one MGET: one slot
    finally:
        portal_a.stop()
        portal_b.stop()


def test_on_a_cluster_the_sessions_page_and_back_channel_logout_reach_every_session(sandbox, cluster):
    env = portal_env(sandbox.url, f"redis://127.0.0.1:{cluster[0]}/0", REDIS_CLUSTER="1")
    port_a, port_b = free_port(), free_port()
    portal_a, url_a = start_portal({**env, "PUBLIC_URL": f"http://127.0.0.1:{port_a}"}, port=port_a, workers=1)
    portal_b, url_b = start_portal({**env, "PUBLIC_URL": f"http://127.0.0.1:{port_b}"}, port=port_b, workers=1)
    try:
        people = [Browser(url) for url in (url_a, url_b, url_a)]
        for person in people:
            assert person.sign_in().status_code == 302
        listing = people[0].get(url_a + "/sessions", timeout=30).text
        assert listing.count('class="card session') == 3  # sessions in three slots, one index key
        sandbox.config(backchannel_logout_uri=url_b + "/backchannel-logout")
        first_sid = people[0].cookies.get("navexa_sandbox_sid")
        assert [d["status"] for d in sandbox.logout_elsewhere("alice", "session-revoked", sid=first_sid)] == [200]
        signed_in = [p.get(u + "/portfolios", allow_redirects=False, timeout=30).status_code
                     for p, u in zip(people, (url_a, url_b, url_a), strict=True)]
        assert signed_in == [302, 200, 200]
        assert [d["status"] for d in sandbox.logout_elsewhere("alice", "password-changed")] == [200]
        assert [p.get(url_a + "/portfolios", allow_redirects=False, timeout=30).status_code for p in people] == [302] * 3
        assert sandbox.stats()["revocations"] == 3
    finally:
        portal_a.stop()
        portal_b.stop()


def test_redis_restarted_under_traffic_gives_503s_meanwhile_and_recovers_alone(make_portal, sandbox, caplog):
    persistence = ("--appendonly", "yes", "--appendfsync", "always")  # the session survives the restart
    person, url, workdir = signed_in_then_redis_stops(make_portal, sandbox, caplog, extra_args=persistence)
    down = [person.page().status_code for _ in range(5)]
    assert down == [503] * 5
    warnings = warning_lines(caplog)
    assert len(warnings) == 5 and all(r.exc_info is None for r in warnings)
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    service, _ = start_redis(port=port, extra_args=persistence, workdir=workdir)
    try:
        statuses = poll_until_ok(person, seconds=15)
        assert statuses[-1] == 200 and set(statuses[:-1]) <= {503}, statuses
    finally:
        service.stop()
