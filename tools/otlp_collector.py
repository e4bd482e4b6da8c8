"""A loopback OTLP/HTTP trace collector for the tests and bench/trace_tree.py: it keeps every span the portal's
exporter sends (real OTLP protobuf, decoded with OpenTelemetry's own message types)."""

from http.server import BaseHTTPRequestHandler

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"  # the reverse proxy's traceparent names this trace
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


class Collector(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        for resource_spans in request.resource_spans:
            for scope_spans in resource_spans.scope_spans:
                Collector.received.extend(scope_spans.spans)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass
