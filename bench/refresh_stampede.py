"""Refresh stampede: N concurrent requests on one session whose access token has expired (all must wait).

Two gunicorn processes share one Redis. Prints how many refresh grants reached the token
endpoint (target: 1), reuse detections (target: 0), p50/p99 latency of the N requests, and
p99 divided by the latency of one request that refreshes alone, measured in the same run.

    python -m bench.refresh_stampede [-n 200] [--token-latency-ms 0]
"""

import argparse
import time
from concurrent.futures import ThreadPoolExecutor

from bench.common import median, percentile, sign_in, stack
from portal.core.sessions.tokens import VALID_MARGIN

EXPIRING_TTL = VALID_MARGIN - 2  # s: a token issued for this long already counts as expired: every request needs the refresh


def expiring_session(sandbox, portal_url):
    """A signed-in session whose stored access token is due for refresh."""
    sandbox.config(access_token_ttl=EXPIRING_TTL)
    http = sign_in(portal_url)
    sandbox.config(access_token_ttl=86400)
    return http


def timed_get(http, url):
    started = time.perf_counter()
    response = http.get(url, timeout=120)
    return time.perf_counter() - started, response.status_code


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=200, help="concurrent requests (default 200)")
    parser.add_argument("--token-latency-ms", type=int, default=0, help="sandbox token endpoint latency")
    parser.add_argument("--singles", type=int, default=7, help="lone refreshes measured for the baseline")
    args = parser.parse_args()

    with stack(portals=2, threads=32) as (sandbox, portals):
        sandbox.config(token_latency_ms=args.token_latency_ms)
        path = "/api/portfolios"

        singles = []
        for i in range(args.singles):
            http = expiring_session(sandbox, portals[0])
            seconds, status = timed_get(http, portals[i % 2] + path)
            assert status == 200, status
            singles.append(seconds)
        single = median(singles)

        def burst(http):
            with ThreadPoolExecutor(args.n) as pool:
                return list(pool.map(lambda i: timed_get(http.twin(), portals[i % 2] + path), range(args.n)))

        fresh = burst(sign_in(portals[0]))  # same burst, no refresh needed: the cost of concurrency alone
        http = expiring_session(sandbox, portals[0])
        before = sandbox.stats()
        results = burst(http)
        after = sandbox.stats()

    latencies = [seconds for seconds, _ in results]
    ok = sum(1 for _, status in results if status == 200)
    refreshes = after["token_requests"]["refresh_token"] - before["token_requests"]["refresh_token"]
    reuse = after["refresh_reuse_detected"] - before["refresh_reuse_detected"]
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    print(f"requests: {args.n} concurrent over 2 gunicorn processes, {ok} answered 200")
    print(f"refresh grants at the token endpoint: {refreshes} (target 1)")
    print(f"refresh reuse detections: {reuse} (target 0)")
    print(f"latency p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms")
    print(f"one lone refreshing request (median of {args.singles}): {single * 1000:.0f} ms")
    fresh_p99 = percentile([seconds for seconds, _ in fresh], 99)
    print(f"same burst on a fresh token (no refresh): p99 {fresh_p99 * 1000:.0f} ms")
    print(f"ratio p99 / lone refresh: {p99 / single:.1f}")
    print(f"ratio p99 stampede / p99 fresh burst: {p99 / fresh_p99:.2f}")
    return 0 if (refreshes == 1 and reuse == 0 and ok == args.n) else 1


if __name__ == "__main__":
    raise SystemExit(main())
