"""Portfolio pages: the overview, a portfolio (and its holdings CSV), a holding, income by financial year,
and capital gains (with its two CSVs)."""

import re

from flask import Blueprint, Response, render_template, request

from ..core.navexa.client import NotFound, resource
from ..web.cookies import signed_out_cookie
from ..web.problems import BadInput
from ..web.services import services
from ..web.signed_in import login_required
from . import cgt, formatting, tax_report
from .charts import bar_chart, position_chart
from .fetch import fetch
from .income import income_by_financial_year, income_csv
from .portfolio import (
    COLUMNS,
    DEFAULT_PERIOD,
    DEFAULT_SORT,
    PERIODS,
    SORT_KEYS,
    PortfolioCard,
    currency_totals,
    diversification,
    holding_rows,
    holdings_csv,
    is_cash,
    period_params,
    period_start,
    period_years,
    sort_rows,
    summary_of,
)
from .positions import holding_summary, position_history
from .reading import as_dict, as_list, day_of, number, text, total_of

bp = Blueprint("views", __name__)


def today():
    return services().today()


def csv_download(body: str, filename: str) -> Response:
    """A CSV the browser saves as filename."""
    return Response(body, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.get("/")
def index():
    signed_out = signed_out_cookie.read() is not None
    if signed_out:
        signed_out_cookie.clear()  # said once
    return render_template("index.html", signed_out=signed_out)


@bp.get("/portfolios")
@login_required
def portfolios():
    listing = [p for p in as_list(fetch({"list": (resource("portfolios"), None)})["list"]) if isinstance(p.get("id"), int)]
    calls = {p["id"]: (resource("portfolios", p["id"], "performance"), period_params("ALL", today())) for p in listing}
    reports = fetch(calls, optional=calls.keys())  # one portfolio's figures failing costs only its card
    cards = [PortfolioCard(p["id"], text(p.get("name")), text(p.get("baseCurrencyCode")),
                           summary_of(reports.get(p["id"]), period_years("ALL", today(), day_of(p.get("dateCreated")))))
             for p in listing]
    return render_template("portfolios.html", cards=cards, totals=currency_totals(cards),
                           unavailable={p["id"] for p in listing if p["id"] not in reports})


def chosen_period() -> str:
    """The period asked for, or the default one for anything unknown (an old link should still work)."""
    period = request.args.get("period", DEFAULT_PERIOD).upper()
    return period if period in PERIODS else DEFAULT_PERIOD


def chosen_sort() -> tuple[str, str]:
    key = request.args.get("sort", DEFAULT_SORT[0])
    direction = request.args.get("dir", "desc" if key == DEFAULT_SORT[0] else "asc")
    if key not in SORT_KEYS or direction not in ("asc", "desc"):
        raise BadInput("The holdings table can't be sorted that way.")
    return key, direction


def portfolio_data(portfolio_id: int, periods: list[str], chosen: str) -> dict:
    """The portfolio, its holdings and its performance over each period; only the chosen period's is essential."""
    calls = {"portfolio": (resource("portfolios", portfolio_id), None),
             "holdings": (resource("portfolios", portfolio_id, "holdings"), None)}
    calls |= {f"perf:{code}": (resource("portfolios", portfolio_id, "performance"), period_params(code, today())) for code in periods}
    return fetch(calls, optional={f"perf:{code}" for code in periods if code != chosen})


@bp.get("/portfolios/<int:portfolio_id>")
@login_required
def portfolio(portfolio_id):
    period = chosen_period()
    sort_key, direction = chosen_sort()
    data = portfolio_data(portfolio_id, list(PERIODS), period)  # every period: the return chart shows them all
    info = as_dict(data["portfolio"])
    currency = text(info.get("baseCurrencyCode"))
    began = day_of(info.get("dateCreated"))
    rows = sort_rows(holding_rows(data["holdings"], data[f"perf:{period}"], currency), sort_key, direction)
    allocation = bar_chart([(r.symbol or "—", r.weight, formatting.percent(r.weight, signed=False))
                            for r in sorted(rows, key=lambda r: -(r.weight or 0)) if r.weight], shares=True)
    returns = []
    for code, (label, _) in PERIODS.items():
        start = period_start(code, today(), began)
        if code != "ALL" and began and start and start < began:
            continue  # longer than the portfolio has existed: not a 0.00 % bar
        summary = summary_of(data.get(f"perf:{code}"))
        returns.append((label, summary.total_return_pct, formatting.percent(summary.total_return_pct)))
    returns_incomplete = any(f"perf:{code}" not in data for code in PERIODS)
    spread = {name: bar_chart([(label, share, formatting.percent(share, signed=False)) for label, share in groups], shares=True)
              for name, groups in diversification(rows).items()}
    return render_template("portfolio.html", portfolio=info, portfolio_id=portfolio_id, currency=currency,
                           summary=summary_of(data[f"perf:{period}"], period_years(period, today(), began)),
                           period_start=period_start(period, today(), began), rows=rows, period=period, periods=PERIODS,
                           columns=COLUMNS, sort_key=sort_key, direction=direction, allocation=allocation, as_of=today(),
                           returns=bar_chart(returns), returns_incomplete=returns_incomplete, spread=spread)


@bp.get("/portfolios/<int:portfolio_id>/holdings.csv")
@login_required
def holdings_download(portfolio_id):
    period = chosen_period()
    sort_key, direction = chosen_sort()
    data = portfolio_data(portfolio_id, [period], period)
    currency = text(as_dict(data["portfolio"]).get("baseCurrencyCode"))
    rows = sort_rows(holding_rows(data["holdings"], data[f"perf:{period}"], currency), sort_key, direction)
    return csv_download(holdings_csv(rows), f"portfolio-{portfolio_id}-holdings-{period.lower()}.csv")


@bp.get("/portfolios/<int:portfolio_id>/holdings/<int:holding_id>")
@login_required
def holding(portfolio_id, holding_id):
    failures: dict = {}
    data = fetch({
        "portfolio": (resource("portfolios", portfolio_id), None),
        "holdings": (resource("portfolios", portfolio_id, "holdings"), None),
        "trades": (resource("holdings", holding_id, "trades"), None),
        "income": (resource("holdings", holding_id, "income"), None),
        "performance": (resource("portfolios", portfolio_id, "performance"), period_params("ALL", today())),
    }, optional={"trades", "income", "performance"}, failures=failures)
    found = next((h for h in as_list(data["holdings"]) if h.get("id") == holding_id), None)
    if found is None:
        raise NotFound("That holding is not in this portfolio.")
    income = newest_first(as_list(data.get("income")), "paidDate")
    trades = newest_first(as_list(data.get("trades")), "tradeDate")
    franking = [i.get("frankingCredits") for i in income]
    currency = text(found.get("currencyCode")) or text(as_dict(data["portfolio"]).get("baseCurrencyCode"))
    measured = next((h for h in as_list(as_dict(data.get("performance")).get("holdings")) if h.get("id") == holding_id), {})
    summary = (holding_summary(data["trades"], data["income"], measured.get("currentPrice"))
               if "trades" in data and "income" in data and not is_cash(found) else None)
    steps = position_history(data["trades"]) if "trades" in data and not is_cash(found) else None
    # Navexa's 404 for a holding's trades or income: it has none to give (reloading won't help); anything else: not now.
    none_at_navexa = {name for name, error in failures.items() if isinstance(error, NotFound)}
    # Franking credits are an Australian matter: shown for AUD income, or wherever Navexa reports some.
    franking_applies = currency == "AUD" or any(number(f) for f in franking)
    return render_template("holding.html", portfolio=as_dict(data["portfolio"]), portfolio_id=portfolio_id,
                           holding=found, trades=trades, income=income, currency=currency,
                           franking_applies=franking_applies,
                           unavailable={name for name in ("trades", "income") if name not in data and name not in none_at_navexa},
                           none_at_navexa=none_at_navexa, summary=summary, label=holding_label(found),
                           chart=position_chart(steps, today()) if steps else None,
                           totals={"net": total_of(i.get("netAmount") for i in income),
                                   "franking": total_of(franking), "gross": total_of(i.get("grossAmount") for i in income)})


def income_data(portfolio_id: int):
    """The portfolio and its holdings' income by financial year. A holding whose income Navexa can't give
    leaves the page up: it is named, and the years it may have paid in are marked incomplete."""
    base = fetch({"portfolio": (resource("portfolios", portfolio_id), None),
                  "holdings": (resource("portfolios", portfolio_id, "holdings"), None)})
    ids = [h["id"] for h in as_list(base["holdings"]) if isinstance(h.get("id"), int) and not is_cash(h)]
    incomes = fetch({holding_id: (resource("holdings", holding_id, "income"), None) for holding_id in ids}, optional=set(ids))
    info = as_dict(base["portfolio"])
    currency = text(info.get("baseCurrencyCode"))
    return info, currency, income_by_financial_year(base["holdings"], incomes, currency, today(),
                                                    unavailable={i for i in ids if i not in incomes})


@bp.get("/portfolios/<int:portfolio_id>/income")
@login_required
def income(portfolio_id):
    info, currency, years = income_data(portfolio_id)
    return render_template("income.html", portfolio=info, portfolio_id=portfolio_id, years=years, currency=currency)


@bp.get("/portfolios/<int:portfolio_id>/income.csv")
@login_required
def income_download(portfolio_id):
    _, currency, years = income_data(portfolio_id)
    return csv_download(income_csv(years, currency), f"portfolio-{portfolio_id}-income-by-financial-year.csv")


def holding_label(holding: dict) -> str:
    """A holding's name on its page: its symbol, else its name, else plainly unnamed."""
    return text(holding.get("symbol")) or text(holding.get("name")) or "Unnamed holding"


def newest_first(items: list[dict], field: str) -> list[dict]:
    """Most recent first; ISO dates sort as text, and undated items go last."""
    dated = [i for i in items if isinstance(i.get(field), str)]
    return sorted(dated, key=lambda i: i[field], reverse=True) + [i for i in items if not isinstance(i.get(field), str)]


# -- capital gains at tax time ------------------------------------------------------------------------------

_YEAR = re.compile(r"[0-9]{4}")  # ASCII digits, the whole value (no trailing newline, no other scripts' digits)


def chosen_tax_options() -> tuple[int | None, str, str]:
    """The financial year (None: the default one), sale-allocation method and entity asked for; 400 for others."""
    fy, method = request.args.get("fy"), request.args.get("method", cgt.DEFAULT_METHOD)
    entity = request.args.get("entity", cgt.DEFAULT_ENTITY)
    latest = cgt.financial_year_of(today()) + 1
    if fy is not None and not (_YEAR.fullmatch(fy) and 1990 <= int(fy) <= latest):
        raise BadInput(f"Choose a financial year by the year it ends, from 1990 to {latest}: fy=2025 is "
                       "1 July 2024 to 30 June 2025.")
    if method not in cgt.METHODS:
        raise BadInput("Choose a sale-allocation method: method=fifo, lifo or min.")
    if entity not in cgt.ENTITIES:
        raise BadInput("Choose who holds the portfolio: entity=individual, trust, smsf or company.")
    return (int(fy) if fy else None), method, entity


def tax_data(portfolio_id: int) -> tuple[dict, tax_report.TaxReport]:
    """The portfolio and its capital gains report. A holding whose trades Navexa can't give is listed as
    such (never silently left out); today's values are optional (open parcels then show no value)."""
    fy, method, entity = chosen_tax_options()
    base = fetch({"portfolio": (resource("portfolios", portfolio_id), None),
                  "holdings": (resource("portfolios", portfolio_id, "holdings"), None),
                  "performance": (resource("portfolios", portfolio_id, "performance"), period_params("ALL", today()))},
                 optional={"performance"})
    ids = [h["id"] for h in as_list(base["holdings"]) if isinstance(h.get("id"), int) and not is_cash(h)]
    trades = fetch({holding_id: (resource("holdings", holding_id, "trades"), None) for holding_id in ids}, optional=set(ids))
    info = as_dict(base["portfolio"])
    return info, tax_report.build(base["holdings"], trades, base.get("performance"), text(info.get("baseCurrencyCode")),
                                  fy, method, entity, today())


@bp.get("/portfolios/<int:portfolio_id>/tax")
@login_required
def tax(portfolio_id):
    info, report = tax_data(portfolio_id)
    return render_template("tax.html", portfolio=info, portfolio_id=portfolio_id, report=report, as_of=today(),
                           methods=cgt.METHODS, entities=cgt.ENTITIES, year_label=cgt.year_label)


@bp.get("/portfolios/<int:portfolio_id>/cgt.csv")
@login_required
def cgt_download(portfolio_id):
    _, report = tax_data(portfolio_id)
    return csv_download(tax_report.cgt_csv(report),
                        f"portfolio-{portfolio_id}-capital-gains-fy{report.fy}-{report.method}-{report.entity}.csv")


@bp.get("/portfolios/<int:portfolio_id>/unrealised.csv")
@login_required
def unrealised_download(portfolio_id):
    _, report = tax_data(portfolio_id)
    return csv_download(tax_report.unrealised_csv(report),
                        f"portfolio-{portfolio_id}-unrealised-gains-{report.method}-{report.entity}.csv")
