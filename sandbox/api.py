"""The emulated Navexa API: bearer JWTs for the Navexa audience, per-user data, test knobs."""

import gzip
import time
from datetime import date

from flask import Blueprint, Response, abort, current_app, g, jsonify, request

from . import data
from .auth import decode_access_token, user_for_sub

bp = Blueprint("api", __name__, url_prefix="/api")

API_AUDIENCE = "https://api.navexa.io/api"
SECRET_HEADERS = {"authorization", "x-api-key", "cookie"}


def state():
    return current_app.extensions["sandbox_state"]


@bp.before_app_request
def gatekeeper():
    """Log every /api/ call (routed or not), apply latency and forced errors, then authenticate it."""
    if not request.path.startswith("/api/"):
        return None
    state().log_api_request({
        "method": request.method,
        "path": request.path,
        "raw_path": (request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or "").split("?")[0],
        "body_length": len(request.get_data(cache=True)) if request.method not in ("GET", "HEAD") else None,
        "query": request.query_string.decode(),
        "headers": {name: ("<redacted>" if name.lower() in SECRET_HEADERS else value) for name, value in request.headers.items()},
    })
    # A forced error is taken on arrival, before the latency: a request its client gave up on must not take,
    # when its sleep ends, an error the next test forced.
    forced = state().take_forced_error("api_error", request.full_path)
    delay = state().knob("api_latency_ms")
    if delay:
        time.sleep(delay / 1000)
    if forced:
        response = jsonify(error="forced_error", message=f"Sandbox forced HTTP {forced['status']}.")
        response.status_code = forced["status"]
        if forced.get("retry_after") is not None:
            response.headers["Retry-After"] = str(forced["retry_after"])
        return response
    g.user = authenticate()
    if g.user is None:
        return jsonify(error="unauthorized", message="A valid access token for the Navexa API is required."), 401
    if state().over_rate(g.user):
        response = jsonify(error="rate_limited", message="Too many requests.")
        response.status_code = 429
        response.headers["Retry-After"] = str(state().knob("api_rate_limit").get("retry_after", 1))
        return response
    v1 = request.path.startswith("/api/v1/")
    served = state().knob("api_paths")  # which family this Navexa answers: "documented", "v1" or "both"
    if (v1 and served == "documented") or (not v1 and served == "v1" and not request.path.startswith("/api/_sandbox/")):
        return jsonify(error="not_found", message="No such resource."), 404
    raw = data.RAW.get(request.path.removeprefix("/api").removeprefix("/v1"))
    if raw is not None and g.user == "carol":
        return jsonify(raw)
    return None


def authenticate() -> str | None:
    api_key = current_app.config.get("SANDBOX_API_KEY")
    given_key = request.headers.get("x-api-key")
    if given_key is not None:
        return current_app.config["SANDBOX_API_KEY_USER"] if api_key and given_key == api_key else None
    auth = request.headers.get("Authorization", "")
    if not auth.startswith("Bearer "):
        return None
    claims = decode_access_token(auth[7:].strip())
    if not claims or API_AUDIENCE not in claims.get("aud", []):
        return None
    return user_for_sub(claims["sub"])


def own_portfolio(portfolio_id: int) -> int:
    portfolio = data.PORTFOLIOS.get(portfolio_id)
    if not portfolio or portfolio["owner"] != g.user:
        abort(404)
    return portfolio_id


def own_holding(holding_id: int) -> data.Holding:
    if data.owner_of_holding(holding_id) != g.user or holding_id not in data.HOLDINGS_BY_ID:
        abort(404)
    return data.HOLDINGS_BY_ID[holding_id]


def day_arg(name: str) -> date | None:
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw[:10])
    except ValueError:
        abort(400, f"'{name}' must be a date like 2026-11-21")


def resource(rule: str):
    """Serve a Navexa resource at <rule>, the path Navexa's developer documentation shows, and at /v1<rule>, the
    older public clients' (the api_paths knob says which this Navexa answers: by default only the documented)."""
    def register(view):
        bp.add_url_rule("/v1" + rule, view_func=view, methods=["GET"])
        bp.add_url_rule(rule, view_func=view, methods=["GET"])
        return view
    return register


def flag_arg(name: str) -> None:
    if request.args.get(name, "false") not in ("true", "false"):
        abort(400, f"'{name}' must be true or false")


@resource("/portfolios")
def portfolios():
    return jsonify([data.portfolio_json(pid) for pid, p in data.PORTFOLIOS.items() if p["owner"] == g.user])


@resource("/portfolios/<int:portfolio_id>")
def portfolio(portfolio_id):
    return jsonify(data.portfolio_json(own_portfolio(portfolio_id)))


@resource("/portfolios/<int:portfolio_id>/holdings")
def holdings(portfolio_id):
    return jsonify([data.holding_json(h) for h in data.holdings_of(own_portfolio(portfolio_id))])


@resource("/portfolios/<int:portfolio_id>/performance")
def performance(portfolio_id):
    own_portfolio(portfolio_id)
    flag_arg("isPortfolioGroup")
    flag_arg("showLocalCurrency")
    return jsonify(data.performance(portfolio_id, day_arg("from"), day_arg("to")))


@resource("/holdings/<int:holding_id>/trades")
def trades(holding_id):
    return jsonify(data.trades_of(own_holding(holding_id)))


@resource("/holdings/<int:holding_id>/income")
def income(holding_id):
    return jsonify(data.income_of(own_holding(holding_id)))


@bp.get("/portfolios/<int:portfolio_id>/reports/tax.pdf")
def tax_report(portfolio_id):
    own_portfolio(portfolio_id)
    size_mb = request.args.get("size_mb", "1")
    if not size_mb.isdigit() or not 0 < int(size_mb) <= 512:
        abort(400, "'size_mb' must be a whole number from 1 to 512")
    total = int(size_mb) * 1024 * 1024

    def body():
        chunk = b"%PDF-1.4\n" + b"0" * (64 * 1024 - 9)
        sent = 0
        while sent < total:
            piece = chunk[: total - sent]
            sent += len(piece)
            yield piece

    return Response(body(), mimetype="application/pdf", headers={
        "Content-Length": str(total),
        "Content-Disposition": f'attachment; filename="tax-report-{portfolio_id}.pdf"',
    })


# -- odd upstream behaviour, on demand (tests of the portal's proxy) ------------------------


@bp.get("/_sandbox/redirect")
def odd_redirect():
    return Response(status=302, headers={"Location": "/api/portfolios"})


@bp.get("/_sandbox/html")
def odd_html():
    return Response("<html><script>alert(document.cookie)</script></html>", mimetype="text/html")


@bp.get("/_sandbox/large")
def odd_large():
    kb = request.args.get("kb", "16")
    if not kb.isdigit() or not 0 < int(kb) <= 4096:
        abort(400, "'kb' must be a whole number from 1 to 4096")
    rows = int(kb) * 1024 // 64
    return jsonify([{"row": i, "text": "x" * 40} for i in range(rows)])


@bp.get("/_sandbox/cookie")
def odd_cookie():
    response = jsonify(ok=True)
    response.set_cookie("upstream_session", "from-navexa")
    # A hop-by-hop header named in Connection. "close" leads, because the development server closes every
    # connection with a second Connection header of its own, and http.client reads only the first.
    response.headers["Connection"] = "close, X-Upstream-Secret"
    response.headers["X-Upstream-Secret"] = "hop-by-hop"
    return response


@bp.after_app_request
def gzip_when_asked(response):
    if (request.path.startswith("/api/") and state().knob("gzip_responses") and not response.direct_passthrough
            and response.mimetype == "application/json" and "gzip" in request.headers.get("Accept-Encoding", "")):
        response.set_data(gzip.compress(response.get_data(), mtime=0))  # mtime 0: the same answer, byte for byte, whenever it is asked
        response.headers["Content-Encoding"] = "gzip"
        response.headers["Vary"] = "Accept-Encoding"
    return response


@bp.app_errorhandler(405)
def method_not_allowed(error):
    """Routing fails before a blueprint is chosen, so a 405 under /api/ is answered as JSON here."""
    if request.path.startswith("/api/"):
        return api_error(error)
    return error


@bp.errorhandler(400)
@bp.errorhandler(404)
def api_error(error):
    return jsonify(error=error.name.lower().replace(" ", "_"), message=error.description), error.code
