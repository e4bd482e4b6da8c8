"""Portfolio pages."""

from flask import Blueprint, current_app, render_template, session

from .auth import login_required
from .errors import SessionExpired

bp = Blueprint("views", __name__)


def navexa():
    return current_app.extensions["navexa"]


def access_token() -> str:
    record = current_app.extensions["token_store"].load(session.sid)
    if not record:
        raise SessionExpired()
    return record["access_token"]


@bp.get("/")
def index():
    return render_template("index.html")


@bp.get("/portfolios")
@login_required
def portfolios():
    items = navexa().get_json("/portfolios", access_token())
    return render_template("portfolios.html", portfolios=items if isinstance(items, list) else [])
