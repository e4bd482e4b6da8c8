"""Each request's id and its one log line (the format is core.observability.logformat's)."""

import time

from flask import Flask, g, request

from ..core.observability import logformat


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
    app.after_request(lambda response: finish_request(response, user_of))
    app.teardown_request(forget_request)
