"""A slow or failing token endpoint: what a session's burst costs, and what it costs everyone else.

Starts redis-server, the sandbox, a portal under gunicorn (2 workers x 8 threads) and a twin whose
token clock runs a day ahead less 30 s (so a session's token is inside the refresh leeway there,
still valid), then measures side by side, in one run:

  A. token endpoint at --latency s, 32 concurrent requests on a session whose token is inside the
     leeway: statuses, answer times against the endpoint's latency, refresh grants, reuse detections,
     whether the session survives;
  B. token endpoint failing fast (503), 16 concurrent requests on a session whose token has expired,
     in waves for two backoff windows: statuses, slowest answer (target < 2 s), grants per window;
  C. token endpoint at --latency s, 32 concurrent requests on a session whose token has expired,
     while another person browses and an orchestrator polls /healthz: their answer times against
     the same requests with no burst.

    python -m bench.slow_provider [--latency 12]
"""

import argparse
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from bench.common import Stack, percentile, sign_in
from portal.core.sessions.tokens import REFRESH_BACKOFF, VALID_MARGIN
from tools.stack import free_port, portal_env

DAY = 86400
EXPIRED_TTL = VALID_MARGIN - 2  # s: a token issued for this long already counts as expired


def timed(http, url):
    started = time.perf_counter()
    try:
        status = http.get(url, timeout=120).status_code
    except Exception:  # noqa: BLE001 - a bench counts failures, whatever they are
        status = 0
    return status, time.perf_counter() - started


def burst(browser, url, n):
    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(lambda _: timed(browser.twin(), url), range(n)))


def describe(results):
    statuses = {}
    for status, _ in results:
        statuses[status] = statuses.get(status, 0) + 1
    times = [seconds for _, seconds in results]
    return (f"statuses {dict(sorted(statuses.items()))}; p50 {1000 * statistics.median(times):.0f} ms, "
            f"p99 {1000 * percentile(times, 99):.0f} ms, slowest {1000 * max(times):.0f} ms")


def wait_until(condition, timeout):
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return condition()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency", type=float, default=12.0, help="token endpoint latency in seconds (A and C)")
    args = parser.parse_args()
    latency_ms = int(args.latency * 1000)
    with Stack() as started:
        redis_url, sandbox = started.redis(), started.sandbox()
        port = free_port()
        env = portal_env(sandbox.url, redis_url, f"http://127.0.0.1:{port}")
        url = started.gunicorn(env, port=port)
        ahead_url = started.gunicorn({**env, "BENCH_CLOCK_OFFSET": str(DAY - 30)}, app="bench.skewed_wsgi:app")
        api = "/api/portfolios"
        ok = True

        # A. slow endpoint, token inside the leeway
        person = sign_in(url)
        sandbox.config(token_latency_ms=latency_ms)
        before = sandbox.stats()
        results = burst(person, ahead_url + api, 32)
        wait_until(lambda: sandbox.stats()["token_requests"]["refresh_token"] > before["token_requests"]["refresh_token"],
                   args.latency + 10)
        time.sleep(0.5)  # let the background refresh store its answer
        after = sandbox.stats()
        grants = after["token_requests"]["refresh_token"] - before["token_requests"]["refresh_token"]
        reuse = after["refresh_reuse_detected"] - before["refresh_reuse_detected"]
        survived = timed(person, url + api)[0] == 200
        slowest = max(seconds for _, seconds in results)
        print(f"A. token endpoint {args.latency:.0f} s, 32 concurrent requests, token inside the leeway:")
        print(f"   {describe(results)}")
        print(f"   slowest answer / token endpoint latency: {slowest / args.latency:.3f}")
        print(f"   refresh grants {grants} (target 1), reuse detections {reuse} (target 0), session survives: {survived}")
        ok &= all(s == 200 for s, _ in results) and grants == 1 and reuse == 0 and survived

        # B. failing endpoint, expired token, waves over two backoff windows
        sandbox.config(token_latency_ms=0, access_token_ttl=EXPIRED_TTL)
        person = sign_in(url, "bob")
        sandbox.config(access_token_ttl=DAY, token_error={"status": 503, "count": 100000})
        before = sandbox.stats()
        started = time.monotonic()
        waves = []
        while time.monotonic() - started < 2 * REFRESH_BACKOFF:
            waves += burst(person, url + api, 16)
            time.sleep(0.5)
        elapsed = time.monotonic() - started
        grants = sandbox.stats()["token_requests"]["refresh_token"] - before["token_requests"]["refresh_token"]
        windows = elapsed / REFRESH_BACKOFF
        print(f"B. token endpoint failing fast, token expired, {len(waves)} requests in waves of 16 over {elapsed:.1f} s:")
        print(f"   {describe(waves)}")
        print(f"   refresh grants {grants} over {windows:.1f} backoff windows of {REFRESH_BACKOFF:.0f} s "
              f"(target at most one per window)")
        ok &= max(seconds for _, seconds in waves) < 2 and grants <= int(windows) + 1
        sandbox.config(token_error=None)

        # C. slow endpoint, expired token: does one session's burst slow everyone else down?
        other = sign_in(url, "carol")
        sandbox.config(access_token_ttl=EXPIRED_TTL)
        stuck = sign_in(url, "alice")
        sandbox.config(access_token_ttl=DAY, token_latency_ms=latency_ms)

        def bystanders(rounds=10):
            pages = [timed(other, url + "/portfolios")[1] for _ in range(rounds)]
            health = [timed(other, url + "/healthz")[1] for _ in range(rounds)]
            return statistics.median(pages), statistics.median(health), max(pages + health)

        alone = bystanders()
        hold = []
        thread = threading.Thread(target=lambda: hold.extend(burst(stuck, url + api, 32)))
        thread.start()
        time.sleep(1.5)  # the burst is in: a few wait out the refresh, the rest have answered "busy"
        during = bystanders()
        thread.join()
        print(f"C. token endpoint {args.latency:.0f} s, 32 concurrent requests on an expired token; another person meanwhile:")
        print(f"   the burst: {describe(hold)}")
        print(f"   another person's page p50: alone {1000 * alone[0]:.0f} ms, during {1000 * during[0]:.0f} ms "
              f"(ratio {during[0] / alone[0]:.2f}); /healthz p50 alone {1000 * alone[1]:.1f} ms, "
              f"during {1000 * during[1]:.1f} ms; slowest during {1000 * during[2]:.0f} ms")
        ok &= during[2] < 2
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
