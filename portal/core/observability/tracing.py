"""OpenTelemetry traces, off unless OTEL_EXPORTER_OTLP_ENDPOINT is set (app.py hands the endpoint in). No Flask here.

One trace from the browser's request to Navexa's answer: a span for the request (its W3C `traceparent`, from the
reverse proxy, is its parent), one for each Navexa call and each token-endpoint call (with `traceparent` sent on),
and one for a refresh, with its lock wait and its grant as their own spans. Attributes name methods, routes,
paths without their query, statuses and outcomes: never a token, code, verifier, cookie or query value.

Off, every span is OpenTelemetry's no-op (no SDK loaded, nothing exported); the request span is not even started.
"""

import contextlib
import contextvars

from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

PROPAGATOR = TraceContextTextMapPropagator()
_state = {"tracer": trace.NoOpTracer(), "provider": None}


def configure(endpoint: str | None, service_name: str = "navexa-portal"):
    """Trace to this OTLP/HTTP endpoint (its /v1/traces), or not at all (None). Returns the SDK's provider, if on."""
    if _state["provider"] is not None:
        _state["provider"].shutdown()
        _state["session"].close()  # the exporter's connections: closed, not left to the garbage collector
    if not endpoint:
        _state.update(tracer=trace.NoOpTracer(), provider=None)
        return None
    import requests  # noqa: PLC0415 - only if on
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter  # noqa: PLC0415 - only if on
    from opentelemetry.sdk.resources import Resource  # noqa: PLC0415
    from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415
    from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: PLC0415

    session = requests.Session()
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces",
                                                                    session=session)))
    _state.update(tracer=provider.get_tracer("navexa-portal"), provider=provider, session=session)
    return provider


def enabled() -> bool:
    return _state["provider"] is not None


def span(name: str, parent=None, **attributes):
    """A span as the current one for the `with` block (a no-op while tracing is off)."""
    if _state["provider"] is None:
        return contextlib.nullcontext()
    return _state["tracer"].start_as_current_span(name, context=parent, attributes=attributes)


def start(name: str, **attributes):
    """A span that isn't made current (ended by its caller: `.end()`); the no-op span while tracing is off."""
    if _state["provider"] is None:
        return trace.INVALID_SPAN
    return _state["tracer"].start_span(name, attributes=attributes)


def inject(headers: dict) -> dict:
    """Add `traceparent` (and `tracestate`) for the current span to outgoing headers; the same dict."""
    if _state["provider"] is not None:
        PROPAGATOR.inject(headers)
    return headers


def extract(headers) -> object:
    """The context a request's `traceparent` names (its parent span), if it carries one."""
    return PROPAGATOR.extract({k.lower(): v for k, v in headers.items()} if hasattr(headers, "items") else headers)


def carried(function):
    """function, to run in another thread with this one's context (the current span as its parent)."""
    context = contextvars.copy_context()
    return lambda *args, **kwargs: context.run(function, *args, **kwargs)


def set_status(current_span, status: int):
    current_span.set_attribute("http.response.status_code", status)
    if status >= 500:
        current_span.set_status(trace.Status(trace.StatusCode.ERROR))
