"""A mass logout: the tenant ends N Navexa sign-ins at once (an incident, a policy change) and sends one
back-channel logout token for each, as fast as it can, to two portal processes.

Signs in N sessions (each its own Navexa sign-in, `sid`), mints a logout token for each (the sandbox signs
them as the tenant does), then POSTs them all from 16 threads, alternating between the two processes.
Beside it, in the same run, the same number of GETs of `/healthz` on the same processes: the floor of the
runtime for a request. Prints the logouts a second, the ratio to the floor, the answers (every one 200:
valid tokens never use up the rate limit), sessions still signed in (0) and refresh tokens revoked (N).

    python -m bench.mass_logout [-n 500]
"""

import argparse
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import requests

from bench.common import Stack, sign_in
from tools.stack import free_port, portal_env

SID_COOKIE = "navexa_sandbox_sid"


def timed(calls) -> tuple[float, Counter]:
    """Make the calls (a POST with a form, or a GET without one) from 16 threads, each on its own connection
    pool; seconds taken and statuses."""
    sessions: dict[int, requests.Session] = {}

    def one(call):
        client = sessions.setdefault(threading.get_ident(), requests.Session())
        url, data = call
        answer = client.post(url, data=data, timeout=60) if data else client.get(url, timeout=60)
        return answer.status_code

    began = time.monotonic()
    with ThreadPoolExecutor(16) as pool:
        statuses = Counter(pool.map(one, calls))
    return time.monotonic() - began, statuses


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=500)
    args = parser.parse_args()
    with Stack() as started:
        redis_url, sandbox = started.redis(), started.sandbox()
        ports = [free_port(), free_port()]
        env = portal_env(sandbox.url, redis_url, f"http://127.0.0.1:{ports[0]}", RATE_LIMIT_SIGN_IN="1000000 per minute")
        urls = [started.gunicorn(env, port=port, workers=1, threads=16) for port in ports]
        with ThreadPoolExecutor(8) as pool:
            people = list(pool.map(lambda i: sign_in(urls[i % 2]), range(args.n)))
        tokens = [sandbox.logout_token("alice", sid=person.cookies[SID_COOKIE]) for person in people]
        revoked_before = sandbox.stats()["revocations"]

        floor_took, floor_statuses = timed([(urls[i % 2] + "/healthz", None) for i in range(args.n)])
        took, statuses = timed([(urls[i % 2] + "/backchannel-logout", {"logout_token": token})
                                      for i, token in enumerate(tokens)])
        revoked = sandbox.stats()["revocations"] - revoked_before
        with ThreadPoolExecutor(16) as pool:
            still = sum(pool.map(lambda person: person.get(urls[0] + "/portfolios", allow_redirects=False,
                                                            timeout=30).status_code == 200, people))
    print(f"{args.n} Navexa sign-ins ended at once, a logout token each, 16 senders, two processes")
    print(f"  back-channel logout: {args.n / took:.0f} a second ({took:.2f} s); answers {dict(statuses)}")
    print(f"  floor (GET /healthz, same processes): {args.n / floor_took:.0f} a second ({floor_took:.2f} s); "
          f"answers {dict(floor_statuses)}; a logout costs {took / floor_took:.1f}x the floor's request")
    print(f"  sessions still signed in: {still} of {args.n}; refresh tokens revoked: {revoked}")
    return 0 if statuses == Counter({200: args.n}) and still == 0 and revoked == args.n else 1


if __name__ == "__main__":
    raise SystemExit(main())
