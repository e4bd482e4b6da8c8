"""Where the /api/ hop's time goes: the portal's WSGI app called in-process for a few thousand `/api/` GETs (the
fast path, as the usual call takes it) under cProfile, against a local upstream and Redis; prints the top costs by
own time and by cumulative time, so every change to the hop is justified by a number. The same for a cached
portfolio page (`/portfolios/101`, its answers in the cache) with --page.

    python -m bench.profile_hop [--calls 3000] [--page] [--top 15]

Starts redis-server, the sandbox (for sign-in) and the fast upstream (gunicorn); signs in over HTTP to a portal
served on a thread, then calls the same app's WSGI callable directly: no server, no network beyond Redis and
the upstream, so what is left is the portal's own Python plus the irreducible calls.
"""

import argparse
import cProfile
import io
import os
import pstats
import statistics
import threading
import time

from werkzeug.serving import make_server

from bench.common import Stack
from portal.app import create_app
from portal.settings import Settings
from tools.clients import Browser
from tools.stack import free_port, portal_env

PATH = "/api/portfolios"


def environ_for(path: str, cookies: str, port: int) -> dict:
    import sys

    return {"REQUEST_METHOD": "GET", "SCRIPT_NAME": "", "PATH_INFO": path, "QUERY_STRING": "", "RAW_URI": path,
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": str(port), "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1", "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(),
            "wsgi.errors": sys.stderr, "wsgi.multithread": True, "wsgi.multiprocess": False, "wsgi.run_once": False,
            "HTTP_HOST": f"127.0.0.1:{port}", "HTTP_COOKIE": cookies, "HTTP_X_CSRF": "1",
            "HTTP_SEC_FETCH_SITE": "same-origin", "HTTP_ACCEPT": "application/json"}


def call(app, environ: dict) -> int:
    status = []

    def start_response(line, headers, exc_info=None):
        status.append(int(line.split(" ", 1)[0]))

    body = app(dict(environ, **{"wsgi.input": io.BytesIO()}), start_response)
    for _ in body:
        pass
    getattr(body, "close", lambda: None)()
    return status[0]


def compare_cpu(app, environ: dict, redis_url: str, upstream_url: str, calls: int, rounds: int = 5) -> None:
    """This process's CPU a call, without a profiler: the portal's app and the floor (a bare WSGI app making one
    Redis MGET and one urllib3 GET, bench/floor_app.py) against the same Redis and upstream, in interleaved rounds;
    the median round of each. No server and no client in the figures: what is left is the apps' own work."""
    os.environ.update(FLOOR_UPSTREAM=upstream_url + "/api", FLOOR_REDIS_URL=redis_url)
    from bench import floor_app

    floor_environ = dict(environ, HTTP_COOKIE="")
    per_call = {"floor + MGET": [], "portal": []}
    for _ in range(rounds):
        for name, target, env in (("floor + MGET", floor_app.app, floor_environ), ("portal", app, environ)):
            began = time.process_time()
            for _ in range(calls // rounds):
                assert call(target, env) == 200
            per_call[name].append(1e6 * (time.process_time() - began) / (calls // rounds))
    floor, portal = (statistics.median(per_call[name]) for name in ("floor + MGET", "portal"))
    print(f"in-process CPU a call ({rounds} interleaved rounds of {calls // rounds}, the median): floor + MGET "
          f"{floor:.0f} µs, portal {portal:.0f} µs; portal ÷ floor {portal / floor:.2f}×, its own work {portal - floor:.0f} µs")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--page", action="store_true", help="profile the cached portfolio page instead")
    args = parser.parse_args()
    with Stack() as started:
        redis_url, sandbox = started.redis(), started.sandbox()
        upstream_url = started.gunicorn({}, app="bench.fast_upstream:app", workers=2, threads=4)
        port = free_port()
        env = portal_env(sandbox.url, redis_url, f"http://127.0.0.1:{port}",
                         **({} if args.page else {"NAVEXA_API_URL": upstream_url + "/api"}))
        app = create_app(Settings.from_env(env))
        server = make_server("127.0.0.1", port, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            person = Browser(f"http://127.0.0.1:{port}")
            assert person.sign_in().status_code == 302
            path = "/portfolios/101" if args.page else PATH
            assert person.get(f"http://127.0.0.1:{port}{path}", timeout=10).status_code == 200  # cached, "last used"
            cookies = "; ".join(f"{c.name}={c.value}" for c in person.cookies if c.domain in ("127.0.0.1", ""))
            environ = environ_for(path, cookies, port)
            for _ in range(200):  # warm: connections made, code paths taken
                assert call(app, environ) == 200
            if not args.page:
                compare_cpu(app, environ, redis_url, upstream_url, args.calls)
            profiler = cProfile.Profile()
            began = time.perf_counter()
            profiler.enable()
            for _ in range(args.calls):
                call(app, environ)
            profiler.disable()
            took = time.perf_counter() - began
        finally:
            server.shutdown()
    print(f"{args.calls} calls of {path} in-process under cProfile: {1000 * took / args.calls:.3f} ms a call "
          "(the profiler's own cost included: compare runs, not absolutes)")
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order).print_stats(args.top)
        text = out.getvalue()
        print(f"\n-- top {args.top} by {order} --")
        print(text[text.index("   ncalls"):].rstrip())


if __name__ == "__main__":
    main()
