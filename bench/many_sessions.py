"""A crowd: many signed-in sessions, then mixed traffic at a fixed arrival rate, Navexa answering in 100 ms.

Signs in N sessions through the sandbox (alice, bob, erin and frank in turn: frank's portfolio has fifty
holdings), then for `--seconds` sends requests at `--rate` a second, open loop (each at its scheduled time,
whatever the others are doing; latency counts from that time, so queueing shows): the overview, portfolio
pages with period switches and sorts, a holding, an income page, the CSV and /api/ calls. Prints per route
p50/p95/p99 and errors, Navexa calls per page view, and Redis bytes per session and in all. With
`--capacity`, then steps the rate up until p95 passes 300 ms: what one container (2 workers) sustains.

    python -m bench.many_sessions [-n 1000] [--rate 20] [--seconds 60] [--capacity]
"""

import argparse
import random
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import redis

from bench.common import Stack, percentile, sign_in
from bench.session_bytes import bytes_by_prefix
from tools.stack import free_port, portal_env

PORTFOLIOS = {"alice": [101, 102], "bob": [201], "erin": [401], "frank": [501]}
HOLDINGS = {101: 1001, 102: 2001, 201: 3001, 401: 4001, 501: 5001}
ROUTES = [  # (name, weight, path for a portfolio id)
    ("overview", 20, lambda p: "/portfolios"),
    ("portfolio (period)", 25, lambda p: f"/portfolios/{p}?period={random.choice(['1M', '3M', '6M', '1Y', 'ALL'])}"),
    ("portfolio (sort)", 10, lambda p: f"/portfolios/{p}?period=ALL&sort={random.choice(['symbol', 'value', 'weight'])}"),
    ("holding", 5, lambda p: f"/portfolios/{p}/holdings/{HOLDINGS[p]}"),
    ("income", 5, lambda p: f"/portfolios/{p}/income"),
    ("holdings.csv", 5, lambda p: f"/portfolios/{p}/holdings.csv?period=ALL"),
    ("api", 30, lambda p: f"/api/portfolios/{p}/holdings"),
]
PAGE_ROUTES = {name for name, _, _ in ROUTES if name != "api"}


def sign_in_many(url: str, n: int) -> list[tuple[str, object]]:
    users = list(PORTFOLIOS)
    with ThreadPoolExecutor(8) as pool:
        people = list(pool.map(lambda i: (users[i % len(users)], sign_in(url, users[i % len(users)])), range(n)))
    return people


def traffic(url: str, people, rate: float, seconds: float, threads: int = 128) -> dict[str, list]:
    """Open-loop traffic; {route: [latency s, or None for an error]}."""
    results, lock = defaultdict(list), threading.Lock()
    names, weights = [r[0] for r in ROUTES], [r[1] for r in ROUTES]
    paths = {r[0]: r[2] for r in ROUTES}
    start = time.monotonic() + 0.5
    count = int(rate * seconds)

    def one(i: int):
        due = start + i / rate
        user, person = random.choice(people)
        route = random.choices(names, weights)[0]
        path = paths[route](random.choice(PORTFOLIOS[user]))
        time.sleep(max(0.0, due - time.monotonic()))
        try:
            answer = person.get(url + path, timeout=30, allow_redirects=False)
            latency = time.monotonic() - due if answer.status_code == 200 else None
        except Exception:  # noqa: BLE001 - a failed request is an error in the figures, not a crash of the bench
            latency = None
        with lock:
            results[route].append(latency)

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, range(count)))
    return results


def summary(results: dict[str, list]) -> tuple[float, int]:
    everything = [t for times in results.values() for t in times if t is not None]
    errors = sum(1 for times in results.values() for t in times if t is None)
    return (percentile(everything, 95) if everything else float("inf")), errors


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=1000, help="signed-in sessions")
    parser.add_argument("--rate", type=float, default=20, help="requests a second")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--latency-ms", type=int, default=100, help="Navexa's answer time")
    parser.add_argument("--capacity", action="store_true", help="then step the rate up to find p95 <= 300 ms's edge")
    args = parser.parse_args()
    with Stack() as started:
        redis_url, sandbox = started.redis(), started.sandbox()
        port = free_port()
        url = started.gunicorn(portal_env(sandbox.url, redis_url, f"http://127.0.0.1:{port}",
                                          RATE_LIMIT_SIGN_IN="1000000 per minute"), port=port, workers=2, threads=16)
        began = time.monotonic()
        people = sign_in_many(url, args.n)
        signed_in_in = time.monotonic() - began
        sandbox.config(api_latency_ms=args.latency_ms)
        calls_before = sandbox.stats()["api_requests"]
        results = traffic(url, people, args.rate, args.seconds)
        navexa_calls = sandbox.stats()["api_requests"] - calls_before
        client = redis.Redis.from_url(redis_url)
        by_prefix, used = bytes_by_prefix(client), client.info("memory")["used_memory"]
        steps = []
        if args.capacity:
            for rate in (args.rate * 1.5, args.rate * 2, args.rate * 3, args.rate * 4):
                p95, errors = summary(traffic(url, people, rate, 20))
                steps.append((rate, p95, errors))
                if p95 > 0.3 or errors:
                    break

    print(f"{args.n} sessions signed in in {signed_in_in:.0f} s; then {args.rate:g} requests/s for {args.seconds:g} s, "
          f"open loop; Navexa at {args.latency_ms} ms; one container: gunicorn 2 workers x 16 threads")
    print(f"  {'route':20} {'count':>6} {'p50':>8} {'p95':>8} {'p99':>8} {'errors':>7}")
    for name, _, _ in ROUTES:
        times = results.get(name, [])
        ok = [t for t in times if t is not None]
        figures = [f"{percentile(ok, q) * 1000:6.0f}ms" if ok else "     -  " for q in (50, 95, 99)]
        print(f"  {name:20} {len(times):6} {' '.join(figures)} {len(times) - len(ok):7}")
    page_views = sum(len(results.get(name, [])) for name in PAGE_ROUTES)
    api_calls = len(results.get("api", []))
    print(f"  Navexa calls per page view: {(navexa_calls - api_calls) / max(1, page_views):.2f} "
          f"({navexa_calls} calls for {page_views} page views and {api_calls} /api/ calls)")
    total = sum(by_prefix.values())
    print(f"  Redis: {total / args.n:,.0f} bytes per session by MEMORY USAGE ({used / args.n:,.0f} of used_memory), "
          f"{total / 1e6:.1f} MB in all")
    for prefix in sorted(by_prefix, key=by_prefix.get, reverse=True)[:6]:
        print(f"    {prefix:26} {by_prefix[prefix] / args.n:8,.0f}")
    for rate, p95, errors in steps:
        print(f"  at {rate:g} requests/s: p95 {p95 * 1000:.0f} ms, {errors} errors")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
