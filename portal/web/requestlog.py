"""Each request's id and its one log line (the format is core.observability.logformat's)."""

import time

from flask import Flask, g, request
from opentelemetry import trace as otel_trace

from ..core.observability import logformat, tracing


def traced(wsgi_app):
    """The outermost WSGI layer when tracing is on: a span for each request (the fast path's included), its parent
    the `traceparent` the reverse proxy sent; named by its route (Flask's, or /api/<path> for the proxy)."""

    def app(environ, start_response):
        headers = {key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key.startswith("HTTP_")}
        method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "")
        name = f"{method} /api/<path>" if path.startswith("/api/") else method
        with tracing.span(name, parent=tracing.extract(headers),
                          **{"http.request.method": method, "url.path": path}) as current:  # never the query

            def starting(status, response_headers, exc_info=None):
                tracing.set_status(current, int(status.split(" ", 1)[0]))
                return start_response(status, response_headers, exc_info)

            return wsgi_app(environ, starting)

    return app


def name_span():
    """before_request, when tracing: the request's span is named by its route, not its path."""
    if request.url_rule is not None:
        current = otel_trace.get_current_span()
        current.update_name(f"{request.method} {request.url_rule.rule}")
        current.set_attribute("http.route", request.url_rule.rule)


def start_request():
    g.request_id = logformat.request_id_for(request.headers.get("X-Request-ID", ""))
    g.request_started = time.perf_counter()
    g.request_id_token = logformat.current_request_id.set(g.request_id)


def finish_request(response, user_of=lambda: None):
    """Echo the request id and write the request's one line."""
    if "request_id" not in g:  # a request that failed before start_request ran
        start_request()
    response.headers["X-Request-ID"] = g.request_id
    user = user_of()
    logformat.log_request(request.method, request.path, response.status_code, g.request_started, g.request_id,
                          user.sub if user else None)
    return response


def forget_request(_error=None):
    """teardown: lines logged after this request (by the same thread) carry no id of its."""
    if "request_id_token" in g:
        logformat.current_request_id.reset(g.pop("request_id_token"))


def init_app(app: Flask, user_of):
    """Log each request; user_of() gives the signed-in person (with a `sub`) or None."""
    logformat.install()
    app.before_request(start_request)
    if tracing.enabled():
        app.before_request(name_span)
    app.after_request(lambda response: finish_request(response, user_of))
    app.teardown_request(forget_request)
