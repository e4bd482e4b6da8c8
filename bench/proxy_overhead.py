"""The /api/ hop, side by side in one run: the floor, a naive proxy and the portal, under gunicorn and granian.

Starts redis-server, the sandbox (for sign-in) and a fast local upstream (gunicorn); then, under each server
with the same workers and threads: the floor (bench/floor_app.py: a bare WSGI app making the one urllib3
call any proxy must), the floor with the one Redis MGET a BFF must make, a naive Flask + Flask-Session +
requests proxy, and the portal (NAVEXA_API_URL at the upstream). With wrk, in interleaved rounds (every stack
once a round; the median of each figure), it prints median and p99 at 1 connection, requests/s at 16, and the
CPU each stack's own workers spend per request, with its ratio to the floor + MGET's. Targets, under granian:
the portal within 1.25x the floor + MGET, and at least 2x the naive stack's requests/s (exit 1 when missed).
On a 2-core machine wrk, the upstream and Redis share the cores, so req/s moves less than worker CPU.

    python -m bench.proxy_overhead [--seconds 3] [--rounds 3] [--workers 2] [--threads 4]
                                   [--servers gunicorn,granian,image]
"""

import argparse
import re
import shutil
import statistics
import subprocess
import sys

import requests

from bench.common import Stack, sign_in
from tools.stack import free_port, portal_env

PATH = "/api/portfolios"


def wrk(url: str, connections: int, seconds: int, headers: list[str]) -> dict:
    """Run wrk with these request headers; return median and p99 latency (ms) and requests/s."""
    args = ["wrk", f"-t{min(connections, 2)}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for header in headers:
        args += ["-H", header]
    out = subprocess.run(args + [url], capture_output=True, text=True, check=True, timeout=seconds + 30).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"{url}: {errors.group(1)} answers were not 2xx:\n{out}")

    def latency(label):
        value, unit = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]

    return {"p50": latency("50%"), "p99": latency("99%"),
            "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}


def cookie_header(session: requests.Session) -> str:
    return "Cookie: " + "; ".join(f"{c.name}={c.value}" for c in session.cookies if c.domain in ("127.0.0.1", ""))


TARGET_FLOOR = 1.25  # the portal's worker CPU a request at most this many times the floor with its Redis MGET's
TARGET_NAIVE = 2.0  # and its requests/s at 16 connections at least this many times the naive stack's
SHIP_CLIENT = 0.15  # another HTTP client ships only if the portal's worker CPU a request is at least this much lower


def start_stacks(started, server: str, upstream_url: str, redis_url: str, sandbox, args) -> dict:
    """Under one server, same workers and threads, for each HTTP client: the floor, the floor + MGET and the portal;
    and the naive proxy. {name: (url, headers)}."""
    options = {"workers": args.workers, "threads": args.threads}
    stacks = {}
    for client in args.clients:
        port = free_port()
        env = portal_env(sandbox.url, redis_url, f"http://127.0.0.1:{port}", NAVEXA_API_URL=upstream_url + "/api")
        app = "wsgi:app" if client == "urllib3" else "bench.portal_reqwest:app"
        if server in ("granian", "image"):
            portal_url = started.granian(env, app=app, workers=args.workers, threads=args.threads, port=port,
                                         interface="asgi" if server == "image" else "wsgi")
        else:
            portal_url = started.gunicorn(env, app=app, port=port, **options)
        floor_env = {"FLOOR_UPSTREAM": upstream_url + "/api", "FLOOR_CLIENT": client}
        floor_url = started.server(server, floor_env, app="bench.floor_app:app", **options)
        floor_redis_url = started.server(server, {**floor_env, "FLOOR_REDIS_URL": redis_url}, app="bench.floor_app:app",
                                         **options)
        person = sign_in(portal_url)
        assert person.get(portal_url + PATH, timeout=10).status_code == 200
        stacks[f"floor ({client})"] = (floor_url + PATH, ["Accept: application/json"])
        stacks[f"floor + MGET ({client})"] = (floor_redis_url + PATH, ["Accept: application/json"])
        # As the portal's front-end calls it: the cookies (the Strict one among them) and X-CSRF.
        stacks[f"portal ({client})"] = (portal_url + PATH, [cookie_header(person), "X-CSRF: 1"])
    naive_url = started.server(server, {"NAIVE_REDIS_URL": redis_url, "NAIVE_UPSTREAM": upstream_url + "/api"},
                               app="bench.naive_proxy:app", **options)
    naive_session = requests.Session()
    naive_session.get(naive_url + "/bench-login", timeout=10).raise_for_status()
    assert naive_session.get(naive_url + PATH, timeout=10).status_code == 200
    stacks["naive proxy"] = (naive_url + PATH, [cookie_header(naive_session)])
    return stacks


def measure_once(started, url: str, headers: list[str], seconds: int) -> dict:
    """One figure of one stack: requests/s and worker CPU a request at 16 connections, then latency at 1."""
    base = url.split("/api/", 1)[0]
    wrk(url, 1, 1, headers)  # warm up
    cpu_before = started.worker_cpu(base)
    loaded = wrk(url, 16, seconds, headers)
    cpu_used = started.worker_cpu(base) - cpu_before
    return {**{k: v for k, v in wrk(url, 1, seconds, headers).items() if k != "rps"},
            "rps": loaded["rps"], "cpu_ms": 1000 * cpu_used / (loaded["rps"] * seconds)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds: each stack once a round, the median")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--servers", default="gunicorn,granian,image",
                        help="gunicorn (portal/worker.py), granian (its WSGI interface), image (granian ASGI + the "
                             "portal's adapter, as serve.py): comma-separated")
    parser.add_argument("--clients", default="urllib3",
                        help="the HTTP client of the portal and its floor: urllib3 (the portal's), pyreqwest "
                             "(bench/reqwest_pool.py), or both, comma-separated")
    args = parser.parse_args()
    args.clients = [c.strip() for c in args.clients.split(",") if c.strip()]
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    with Stack() as started:
        redis_url, sandbox = started.redis(), started.sandbox()
        upstream_url = started.gunicorn({}, app="bench.fast_upstream:app", workers=args.workers, threads=args.threads)
        straight = wrk(upstream_url + PATH, 1, args.seconds, ["Authorization: Bearer bench-token"])
        stacks = {server: start_stacks(started, server, upstream_url, redis_url, sandbox, args) for server in servers}
        figures = {server: {name: [] for name in stacks[server]} for server in servers}
        for _ in range(args.rounds):  # interleaved: a slow moment of the machine falls on every stack alike
            for server in servers:
                for name, (url, headers) in stacks[server].items():
                    figures[server][name].append(measure_once(started, url, headers, args.seconds))
    by_server = {server: {name: {k: statistics.median(f[k] for f in runs) for k in runs[0]}
                          for name, runs in figures[server].items()} for server in servers}

    print(f"{args.workers} workers x {args.threads} threads each; wrk {args.seconds} s a figure, {args.rounds} interleaved "
          f"rounds, the median; the upstream under gunicorn throughout (median {straight['p50']:.2f} ms straight)")
    ok = True
    for server, results in by_server.items():
        naive = results["naive proxy"]
        print(f"\n{server}")
        print(f"  {'':26} {'p50 @1':>9} {'p99 @1':>9} {'req/s @16':>10} {'worker CPU/req':>15} {'/ floor+MGET':>13}")
        for name, r in results.items():
            client = name[name.index("(") + 1:-1] if "(" in name else args.clients[0]
            floor_mget = results[f"floor + MGET ({client})"]["cpu_ms"]
            print(f"  {name:26} {r['p50']:7.2f}ms {r['p99']:7.2f}ms {r['rps']:10.0f} {r['cpu_ms']:13.3f}ms "
                  f"{r['cpu_ms'] / floor_mget:12.2f}x")
        for client in args.clients:
            portal, with_redis = results[f"portal ({client})"], results[f"floor + MGET ({client})"]
            to_floor, to_naive = portal["cpu_ms"] / with_redis["cpu_ms"], portal["rps"] / naive["rps"]
            print(f"  portal on {client}: added median {portal['p50'] - straight['p50']:.2f} ms; worker CPU "
                  f"{to_floor:.2f}x the floor with its MGET (target <= {TARGET_FLOOR}), its own work "
                  f"{portal['cpu_ms'] - with_redis['cpu_ms']:.3f} ms a request; req/s {to_naive:.2f}x the naive "
                  f"stack's (target >= {TARGET_NAIVE})")
            if server == "granian" and client == "urllib3":  # the targets are set under granian, on the portal's client
                ok = to_floor <= TARGET_FLOOR and to_naive >= TARGET_NAIVE
        if {"urllib3", "pyreqwest"} <= set(args.clients):
            lower = 1 - results["portal (pyreqwest)"]["cpu_ms"] / results["portal (urllib3)"]["cpu_ms"]
            print(f"  the portal's worker CPU on pyreqwest: {100 * lower:.0f} % lower than on urllib3 (it ships only "
                  f"if at least {100 * SHIP_CLIENT:.0f} % lower)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
