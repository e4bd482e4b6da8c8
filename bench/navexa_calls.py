"""Navexa calls of a typical visit, with the session's answer cache and without it, in one run.

The visit: the overview, a portfolio, three period switches, two sorts, the CSV and a holding.
Public Navexa API clients throttle themselves to about 5 requests a second, so every call saved counts.
Target: at most 15 calls with the cache.

    python -m bench.navexa_calls
"""

from bench.common import Stack, sign_in
from tools.stack import free_port, portal_env

VISIT = ["/portfolios", "/portfolios/101", "/portfolios/101?period=3M", "/portfolios/101?period=6M",
         "/portfolios/101?period=ALL", "/portfolios/101?period=ALL&sort=symbol&dir=asc",
         "/portfolios/101?period=ALL&sort=return_pct&dir=desc", "/portfolios/101/holdings.csv?period=ALL",
         "/portfolios/101/holdings/1001"]


def calls_of_a_visit(sandbox, url) -> int:
    person = sign_in(url)
    before = sandbox.stats()["api_requests"]
    for path in VISIT:
        person.get(url + path, timeout=30).raise_for_status()
    return sandbox.stats()["api_requests"] - before


def main():
    with Stack() as started:
        redis_url, sandbox = started.redis(), started.sandbox()
        results = {}
        for label, seconds in (("without the cache", "0"), ("with the cache (60 s)", "60")):
            port = free_port()
            url = started.gunicorn(portal_env(sandbox.url, redis_url, f"http://127.0.0.1:{port}",
                                              NAVEXA_CACHE_SECONDS=seconds), port=port, workers=1)
            results[label] = calls_of_a_visit(sandbox, url)
    print(f"a typical visit ({len(VISIT)} pages: overview, a portfolio, 3 period switches, 2 sorts, the CSV, a holding)")
    for label, calls in results.items():
        print(f"  Navexa calls {label}: {calls}")
    without, cached = results.values()
    print(f"ratio without / with: {without / cached:.1f}x (target: at most 15 calls with the cache)")
    return 0 if cached <= 15 else 1


if __name__ == "__main__":
    raise SystemExit(main())
