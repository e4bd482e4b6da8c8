"""Page fan-out: /portfolios/<id> against its slowest single Navexa call, with the sandbox at 200 ms.

Runs the portal in this process (so the same page can also be served with its API calls
made one after another), signs in through the sandbox, then measures side by side:
  - each of the page's API calls made alone, directly against the sandbox (median per call);
  - the page with its calls concurrent (the portal as shipped);
  - the page with its calls sequential (a one-thread pool), for comparison.
Prints the medians and the ratios; target: page / slowest call <= 1.3.

    python -m bench.page_fanout [--latency-ms 200] [--rounds 15]
"""

import argparse
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import requests
from werkzeug.serving import make_server

from bench.common import median, sign_in
from portal.app import create_app
from portal.core.storage.sealing import decode_key
from portal.pages.portfolio import PERIODS, period_params
from portal.settings import Settings
from portal.web.cookies import key_cookie
from portal.web.services import services
from portal.web.session_store import SESSION_COOKIE
from tools.clients import SandboxControl
from tools.stack import free_port, portal_env, start_redis, start_sandbox

PORTFOLIO = 101


def page_calls(today):
    calls = [(f"/portfolios/{PORTFOLIO}", None), (f"/portfolios/{PORTFOLIO}/holdings", None)]
    return calls + [(f"/portfolios/{PORTFOLIO}/performance", period_params(code, today)) for code in PERIODS]


def timed(func, rounds):
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        func()
        samples.append(time.perf_counter() - started)
    return median(samples)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency-ms", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    redis_service, redis_url = start_redis()
    sandbox_service, sandbox_url = start_sandbox()
    port = free_port()
    # No answer cache: every load must ask Navexa, or the bench would time cache hits.
    app = create_app(Settings.from_env(portal_env(sandbox_url, redis_url, f"http://127.0.0.1:{port}",
                                                  NAVEXA_CACHE_SECONDS="0")))
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    portal_url = f"http://127.0.0.1:{port}"
    try:
        browser = sign_in(portal_url)
        key = decode_key(browser.cookies.get(key_cookie.dev_name))
        token = services(app).tokens.load(browser.cookies.get(SESSION_COOKIE), key).access_token
        SandboxControl(sandbox_url).config(api_latency_ms=args.latency_ms)

        direct = requests.Session()
        direct.headers["Authorization"] = f"Bearer {token}"
        per_call = {}
        for path, params in page_calls(date.today()):
            label = path + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")
            per_call[label] = timed(lambda p=path, q=params: direct.get(sandbox_url + "/api" + p, params=q, timeout=30)
                                    .raise_for_status(), args.rounds)
        slowest = max(per_call.values())

        def load_page():
            response = browser.get(f"{portal_url}/portfolios/{PORTFOLIO}", timeout=60)
            response.raise_for_status()

        load_page()  # warm the connection pools
        parallel = timed(load_page, args.rounds)
        navexa = services(app).navexa
        shipped, navexa.executor = navexa.executor, ThreadPoolExecutor(1)  # the same page, one call at a time
        sequential = timed(load_page, args.rounds)
        navexa.executor = shipped
    finally:
        server.shutdown()
        sandbox_service.stop()
        redis_service.stop()

    print(f"sandbox API latency: {args.latency_ms} ms per call; {args.rounds} rounds; medians")
    print(f"the page makes {len(per_call)} API calls; slowest alone: {slowest * 1000:.0f} ms, "
          f"sum of all alone: {sum(per_call.values()) * 1000:.0f} ms")
    print(f"/portfolios/{PORTFOLIO} with concurrent calls: {parallel * 1000:.0f} ms")
    print(f"/portfolios/{PORTFOLIO} with sequential calls: {sequential * 1000:.0f} ms")
    print(f"ratio page / slowest call: {parallel / slowest:.2f} (target <= 1.3)")
    print(f"ratio sequential page / concurrent page: {sequential / parallel:.1f}")
    return 0 if parallel / slowest <= 1.3 else 1


if __name__ == "__main__":
    raise SystemExit(main())
