"""Slow clients against the portal, under gunicorn and under granian: does anyone else still get an answer?

Opens N connections that each send one byte of a request's headers every `--drip` seconds (never finishing),
for `--seconds`; meanwhile, every 0.5 s, a fresh connection asks for /healthz and for another person's
page. Prints, per server, how many of those answered within 1 s, and the slowest. Bounded in count and time.

    python -m bench.slow_clients [--connections 40] [--seconds 20] [--drip 2]
"""

import argparse
import socket
import threading
import time

import requests

from bench.common import Stack, sign_in
from tools.stack import free_port, portal_env


def drip(port: int, stop: threading.Event, every: float):
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    except OSError:
        return
    request = b"GET /portfolios HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 10_000
    sent = 0
    while not stop.wait(every) and sent < len(request):
        try:
            sock.send(request[sent:sent + 1])
        except OSError:
            break
        sent += 1
    sock.close()


def probe(url: str, person, seconds: float) -> list[float | None]:
    """Answer times of /healthz and a signed-in page from fresh connections (None: no answer within 5 s)."""
    times, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        for target, client in ((url + "/healthz", requests), (url + "/portfolios", person)):
            started = time.monotonic()
            try:
                answer = client.get(target, timeout=5, headers={"Connection": "close"})
                times.append(time.monotonic() - started if answer.status_code == 200 else None)
            except requests.RequestException:
                times.append(None)
        time.sleep(0.5)
    return times


def run(started, sandbox, redis_url, server: str, args) -> list[float | None]:
    port = free_port()
    env = portal_env(sandbox.url, redis_url, f"http://127.0.0.1:{port}")
    if server == "granian":
        url = started.granian(env, port=port, workers=2, threads=8)
    else:
        url = started.gunicorn(env, port=port, workers=2, threads=8)
    person = sign_in(url)
    person.get(url + "/portfolios", timeout=30).raise_for_status()  # the cache is warm: pages cost no Navexa time
    stop = threading.Event()
    drippers = [threading.Thread(target=drip, args=(port, stop, args.drip), daemon=True) for _ in range(args.connections)]
    for thread in drippers:
        thread.start()
    time.sleep(1)
    try:
        return probe(url, person, args.seconds)
    finally:
        stop.set()
        for thread in drippers:
            thread.join(timeout=args.drip + 5)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--drip", type=float, default=2)
    parser.add_argument("--servers", default="gunicorn,granian")
    args = parser.parse_args()
    with Stack() as started:
        redis_url, sandbox = started.redis(), started.sandbox()
        results = {server: run(started, sandbox, redis_url, server, args) for server in args.servers.split(",")}
    print(f"{args.connections} connections each sending a header byte every {args.drip:g} s, for {args.seconds:g} s;"
          " meanwhile /healthz and a signed-in page from fresh connections every 0.5 s:")
    for server, times in results.items():
        answered = [t for t in times if t is not None]
        quick = sum(1 for t in answered if t <= 1.0)
        slowest = f"{max(answered) * 1000:.0f} ms" if answered else "-"
        print(f"  {server:9} {quick}/{len(times)} answered within 1 s; {len(times) - len(answered)} not within 5 s; "
              f"slowest answer {slowest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
