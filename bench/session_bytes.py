"""What one signed-in session costs Redis, by key kind, measured with MEMORY USAGE on a real redis-server.

Signs N people in through the sandbox (gunicorn, one worker) and has each open the overview and one
portfolio (the answer cache is what a visit leaves behind for 60 s), then prints bytes per session
for each key prefix, the total, and the same with the cache off: what to size `maxmemory` by.

    python -m bench.session_bytes [-n 40]
"""

import argparse
from collections import defaultdict

import redis

from bench.common import Stack, sign_in
from tools.stack import free_port, portal_env


def bytes_by_prefix(client: redis.Redis) -> dict[str, int]:
    totals = defaultdict(int)
    for key in client.scan_iter("portal:*", count=1000):
        name = key.decode()
        prefix = name.split("{", 1)[0] if "{" in name else name.rsplit(":", 1)[0] + ":"
        totals[prefix] += client.memory_usage(key, samples=0) or 0
    return dict(totals)


def measure(started, sandbox, people: int, cache_seconds: str) -> dict[str, int]:
    redis_url = started.redis()
    port = free_port()
    url = started.gunicorn(portal_env(sandbox.url, redis_url, f"http://127.0.0.1:{port}",
                                      NAVEXA_CACHE_SECONDS=cache_seconds), port=port, workers=1)
    for _ in range(people):
        person = sign_in(url)
        for path in ("/portfolios", "/portfolios/101"):
            person.get(url + path, timeout=30).raise_for_status()
    return bytes_by_prefix(redis.Redis.from_url(redis_url))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=40, help="people signed in")
    people = parser.parse_args().n
    with Stack() as started:
        sandbox = started.sandbox()
        with_cache = measure(started, sandbox, people, "60")
        without = measure(started, sandbox, people, "0")
    print(f"Redis bytes per signed-in session ({people} people, each after the overview and one portfolio):")
    for prefix in sorted(with_cache, key=with_cache.get, reverse=True):
        print(f"  {prefix:<28} {with_cache[prefix] / people:>9,.0f}")
    total, bare = sum(with_cache.values()) / people, sum(without.values()) / people
    print(f"  {'total':<28} {total:>9,.0f}   (cache off: {bare:,.0f}; the cache is {total / bare:.1f}x the rest)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
