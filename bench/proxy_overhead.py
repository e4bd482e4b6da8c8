"""The /api/ hop, side by side in one run: upstream straight, a naive proxy, and the portal.

Starts redis-server, the sandbox (for sign-in), a fast local upstream, the portal (NAVEXA_API_URL at
that upstream) and a naive Flask + Flask-Session + requests proxy, both under gunicorn with the
same workers and threads; signs in; then with wrk prints median and p99 at 1 connection and
requests/s at 16 connections for each, the portal's added median latency over the upstream, and its
throughput against the naive stack. Targets: added median <= 1.5 ms; throughput >= 2x naive.

    python -m bench.proxy_overhead [--seconds 5] [--workers 2] [--threads 4]
"""

import argparse
import re
import shutil
import subprocess
import sys

import requests

from bench.common import Stack, sign_in
from tools.stack import free_port, portal_env

PATH = "/api/v1/portfolios"


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


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    with Stack() as started:
        redis_url, sandbox = started.redis(), started.sandbox()
        gunicorn = {"workers": args.workers, "threads": args.threads}
        upstream_url = started.gunicorn({}, app="bench.fast_upstream:app", **gunicorn)
        port = free_port()
        env = portal_env(sandbox.url, redis_url, f"http://127.0.0.1:{port}", NAVEXA_API_URL=upstream_url + "/api")
        portal_url = started.gunicorn(env, port=port, **gunicorn)
        naive_url = started.gunicorn({"NAIVE_REDIS_URL": redis_url, "NAIVE_UPSTREAM": upstream_url + "/api"},
                                     app="bench.naive_proxy:app", **gunicorn)

        person = sign_in(portal_url)
        assert person.get(portal_url + PATH, timeout=10).status_code == 200
        naive_session = requests.Session()
        naive_session.get(naive_url + "/bench-login", timeout=10).raise_for_status()
        assert naive_session.get(naive_url + PATH, timeout=10).status_code == 200

        targets = {"upstream straight": (upstream_url + PATH, ["Authorization: Bearer bench-token"]),
                   "naive proxy": (naive_url + PATH, [cookie_header(naive_session)]),
                   # As the portal's front-end calls it: the cookies (the Strict one among them) and X-CSRF.
                   "portal": (portal_url + PATH, [cookie_header(person), "X-CSRF: 1"])}
        results = {}
        for name, (url, header) in targets.items():
            wrk(url, 1, 1, header)  # warm up
            base = url.split("/api/", 1)[0]
            cpu_before = started.worker_cpu(base)
            loaded = wrk(url, 16, args.seconds, header)
            cpu_used = started.worker_cpu(base) - cpu_before
            results[name] = {**{k: v for k, v in wrk(url, 1, args.seconds, header).items() if k != "rps"},
                             "rps": loaded["rps"], "cpu_ms": 1000 * cpu_used / (loaded["rps"] * args.seconds)}

    print(f"gunicorn {args.workers} workers x {args.threads} threads each; wrk {args.seconds} s per figure")
    print(f"{'':20} {'p50 @1':>9} {'p99 @1':>9} {'req/s @16':>10} {'worker CPU/req @16':>19}")
    for name, r in results.items():
        print(f"{name:20} {r['p50']:7.2f}ms {r['p99']:7.2f}ms {r['rps']:10.0f} {r['cpu_ms']:17.2f}ms")
    added = results["portal"]["p50"] - results["upstream straight"]["p50"]
    naive_added = results["naive proxy"]["p50"] - results["upstream straight"]["p50"]
    ratio = results["portal"]["rps"] / results["naive proxy"]["rps"]
    cpu_ratio = results["naive proxy"]["cpu_ms"] / results["portal"]["cpu_ms"]
    print(f"added median latency: portal {added:.2f} ms (target <= 1.5), naive {naive_added:.2f} ms")
    print(f"throughput portal / naive: {ratio:.2f}x (target >= 2)")
    print(f"CPU the hop's own workers spend per request, naive / portal: {cpu_ratio:.2f}x "
          "(the upstream and wrk share the same cores, so whole-machine req/s moves less)")
    return 0 if added <= 1.5 and ratio >= 2 else 1


if __name__ == "__main__":
    raise SystemExit(main())
