"""A refresh storm: N sessions whose access tokens expire within seconds of each other, all back at once.

Signs in N sessions with short-lived tokens (`--ttl`), waits until every one has expired, then asks for
/api/ once per session, all at once, over two gunicorn processes; a client told 503 with Retry-After
comes back when it says, until every session has answered (bounded by `--give-up`). Prints the token
endpoint's busiest second (REFRESH_RATE_LIMIT keeps it at or under its rate, tenant-wide), the answers
seen, sessions kept (signed in at the end), refresh grants and reuse detections (0).

    python -m bench.refresh_storm [-n 1000] [--ttl 20] [--rate 20/second]
"""

import argparse
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from bench.common import Stack, sign_in
from tools.stack import free_port, portal_env


def busiest_second(times: list[float]) -> int:
    times = sorted(times)
    best, j = 0, 0
    for i, t in enumerate(times):
        while times[j] < t - 1.0:
            j += 1
        best = max(best, i - j + 1)
    return best


def until_answered(person, url: str, give_up: float, answers: Counter) -> bool:
    """Ask until a 200, honouring Retry-After; whether the session answered (and was never signed out)."""
    while time.monotonic() < give_up:
        response = person.get(url + "/api/portfolios", timeout=60)
        answers[response.status_code] += 1
        if response.status_code == 200:
            return True
        if response.status_code == 401:
            return False  # signed out: what must never happen
        time.sleep(min(float(response.headers.get("Retry-After", "1")), max(0.0, give_up - time.monotonic())))
    return False


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=1000)
    parser.add_argument("--ttl", type=int, default=20, help="access token lifetime, s")
    parser.add_argument("--rate", default="20/second", help="REFRESH_RATE_LIMIT")
    parser.add_argument("--give-up", type=float, default=180, help="s after the storm starts")
    args = parser.parse_args()
    with Stack() as started:
        redis_url, sandbox = started.redis(), started.sandbox()
        ports = [free_port(), free_port()]
        env = portal_env(sandbox.url, redis_url, f"http://127.0.0.1:{ports[0]}", REFRESH_RATE_LIMIT=args.rate,
                         RATE_LIMIT_SIGN_IN="1000000 per minute")
        urls = [started.gunicorn(env, port=port, workers=1, threads=16) for port in ports]
        sandbox.config(access_token_ttl=args.ttl)
        with ThreadPoolExecutor(8) as pool:
            people = list(pool.map(lambda i: sign_in(urls[0]), range(args.n)))
        sandbox.config(access_token_ttl=86400)
        time.sleep(args.ttl + 1)  # every token has expired now (the bench, not a test: it waits for real)
        grants_before = sandbox.stats()["token_requests"]["refresh_token"]
        answers, began = Counter(), time.monotonic()
        with ThreadPoolExecutor(64) as pool:
            kept = list(pool.map(lambda i: until_answered(people[i], urls[i % 2], began + args.give_up, answers),
                                 range(args.n)))
        took = time.monotonic() - began
        stats = sandbox.stats()
        times = [r["at"] for r in sandbox.token_requests() if r["grant_type"] == "refresh_token"]
    print(f"{args.n} sessions, every token expired, all back at once over two processes; REFRESH_RATE_LIMIT={args.rate}")
    print(f"  refresh grants: {stats['token_requests']['refresh_token'] - grants_before}; the token endpoint's busiest"
          f" second: {busiest_second(times)} grants; reuse detected: {stats['refresh_reuse_detected']}")
    print(f"  answers: {dict(sorted(answers.items()))}; sessions kept: {sum(kept)} of {args.n}; every session answered "
          f"within {took:.0f} s")
    return 0 if all(kept) and stats["refresh_reuse_detected"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
