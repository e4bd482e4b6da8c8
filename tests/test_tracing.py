"""OpenTelemetry traces (issue 29), received as real OTLP/HTTP from the SDK's exporter on a loopback endpoint."""

import logging
import threading
from http.server import ThreadingHTTPServer

import pytest

from portal.core.observability import logformat, tracing
from tests.helpers import PortalBrowser
from tools.otlp_collector import TRACE_ID, TRACEPARENT, Collector
from tools.stack import free_port


@pytest.fixture
def collector():
    Collector.received = []
    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{port}"
    tracing.configure(None)  # the exporter stops and closes its connections before the collector goes
    server.shutdown()
    server.server_close()


class Lines(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.addFilter(logformat.RequestContext())
        self.records = []

    def emit(self, record):
        self.records.append(record)


def spans_of(trace_id: str) -> list:
    tracing._state["provider"].force_flush()
    return [s for s in Collector.received if s.trace_id.hex() == trace_id]


def test_one_trace_from_the_proxy_through_the_portal_to_navexa_and_the_token_endpoint(make_portal, sandbox, collector,
                                                                                        caplog):
    """With OTEL_EXPORTER_OTLP_ENDPOINT set: a page asked with the proxy's traceparent is one trace: the request's span
    (its parent the proxy's, named by its route), a span per Navexa call (each sending traceparent on), and, when the
    token has expired, a refresh with its lock wait and its grant, and the token-endpoint call, as their own spans.
    The trace id is in the request's log lines; no attribute holds a token, a cookie or a query value."""
    from portal.core.sessions.tokens import VALID_MARGIN

    sandbox.config(access_token_ttl=VALID_MARGIN - 2)  # the page must refresh first
    portal = make_portal(OTEL_EXPORTER_OTLP_ENDPOINT=collector)
    person = PortalBrowser(portal, sandbox)
    assert person.sign_in().status_code == 302
    sandbox.config(access_token_ttl=86400)
    lines = Lines()  # what the portal's JSON handler would write: its filter adds the request's and trace's ids
    logging.getLogger().addHandler(lines)
    caplog.set_level(logging.INFO)
    try:
        assert person.get(portal.url + "/portfolios/101?period=1Y", headers={"traceparent": TRACEPARENT},
                          timeout=30).status_code == 200
    finally:
        logging.getLogger().removeHandler(lines)
    spans = spans_of(TRACE_ID)
    names = [s.name for s in spans]
    assert "GET /portfolios/<int:portfolio_id>" in names
    assert names.count("navexa GET") >= 4  # the portfolio, its holdings and its performance reports
    assert {"refresh", "refresh.lock_wait", "refresh.grant", "token endpoint refresh"} <= set(names)
    request_span = next(s for s in spans if s.name == "GET /portfolios/<int:portfolio_id>")
    assert request_span.parent_span_id.hex() == "00f067aa0ba902b7"  # the proxy's span is its parent
    assert all(r["headers"].get("Traceparent", "").split("-")[1] == TRACE_ID for r in sandbox.api_requests()[-4:])
    record = person.record()
    text = " ".join(str(a.value) for s in spans for a in s.attributes)
    for secret in (record.access_token, record.refresh_token, person.cookie_id(), "period=1Y"):
        assert secret not in text
    assert any(r.name == "portal.request" and getattr(r, "trace_id", None) == TRACE_ID for r in lines.records)


def test_the_api_fast_path_is_traced_too_and_tracing_off_loads_no_sdk(make_portal, sandbox, collector):
    portal = make_portal(OTEL_EXPORTER_OTLP_ENDPOINT=collector)
    person = PortalBrowser(portal, sandbox)
    assert person.sign_in().status_code == 302
    assert person.get(portal.url + "/api/portfolios", timeout=10).status_code == 200  # "last used" written
    portal.clock.advance(61)
    assert person.get(portal.url + "/api/portfolios", timeout=10).status_code == 200
    assert person.get(portal.url + "/api/portfolios", headers={"traceparent": TRACEPARENT}, timeout=10).status_code == 200
    names = [s.name for s in spans_of(TRACE_ID)]
    assert names.count("GET /api/<path>") == 1 and "navexa GET" in names
    make_portal()  # another app, tracing off: spans are no-ops again (and the exporter's connections closed)
    assert not tracing.enabled() and tracing.span("x").__enter__() is None
