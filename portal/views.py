"""Portfolio pages."""

from flask import Blueprint, current_app, render_template

from .auth import login_required, with_access_token

bp = Blueprint("views", __name__)


def navexa():
    return current_app.extensions["navexa"]


@bp.get("/")
def index():
    return render_template("index.html")


@bp.get("/portfolios")
@login_required
def portfolios():
    items = with_access_token(lambda token: navexa().get_json("/portfolios", token))
    return render_template("portfolios.html", portfolios=items if isinstance(items, list) else [])
