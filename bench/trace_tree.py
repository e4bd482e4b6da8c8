"""One traced page, printed as a tree of its spans: what an operator sees in a tracing viewer, as text.

    python -m bench.trace_tree

Starts redis-server and the sandbox, a portal in-process with OTEL_EXPORTER_OTLP_ENDPOINT at a loopback collector
(real OTLP/HTTP from the SDK's exporter), signs in with a token that must be refreshed, asks for /portfolios/101
with a proxy's traceparent, and prints the trace's spans, indented under their parents, with their durations.
"""

import threading
import time
from http.server import ThreadingHTTPServer

from werkzeug.serving import make_server

from bench.common import Stack
from portal.app import create_app
from portal.core.observability import tracing
from portal.core.sessions.tokens import VALID_MARGIN
from portal.settings import Settings
from tools.clients import Browser
from tools.otlp_collector import TRACE_ID, TRACEPARENT, Collector
from tools.stack import free_port, portal_env


def main():
    with Stack() as started:
        redis_url, sandbox = started.redis(), started.sandbox()
        Collector.received = []
        collector_port, port = free_port(), free_port()
        collector = ThreadingHTTPServer(("127.0.0.1", collector_port), Collector)
        threading.Thread(target=collector.serve_forever, daemon=True).start()
        app = create_app(Settings.from_env(portal_env(sandbox.url, redis_url, f"http://127.0.0.1:{port}",
                                                      OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{collector_port}")))
        server = make_server("127.0.0.1", port, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            sandbox.config(access_token_ttl=VALID_MARGIN - 2)
            person = Browser(f"http://127.0.0.1:{port}")
            assert person.sign_in().status_code == 302
            sandbox.config(access_token_ttl=86400)
            assert person.get(f"http://127.0.0.1:{port}/portfolios/101", headers={"traceparent": TRACEPARENT},
                              timeout=30).status_code == 200
            tracing._state["provider"].force_flush()
            time.sleep(0.2)
        finally:
            server.shutdown()
            tracing.configure(None)
            collector.shutdown()
    spans = [s for s in Collector.received if s.trace_id.hex() == TRACE_ID]
    children: dict = {}
    for span in spans:
        children.setdefault(span.parent_span_id.hex(), []).append(span)

    def show(parent: str, depth: int):
        for span in sorted(children.get(parent, []), key=lambda s: s.start_time_unix_nano):
            took = (span.end_time_unix_nano - span.start_time_unix_nano) / 1e6
            print(f"{'  ' * depth}{span.name}  {took:.1f} ms")
            show(span.span_id.hex(), depth + 1)

    print(f"trace {TRACE_ID} (the proxy's span 00f067aa0ba902b7 is the root's parent)")
    show("00f067aa0ba902b7", 1)


if __name__ == "__main__":
    main()
