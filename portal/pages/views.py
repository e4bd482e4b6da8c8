"""Portfolio pages: the overview, a portfolio (and its holdings CSV), a holding, income by financial year,
capital gains (with its two CSVs) and taxable income (with its two)."""

from datetime import date, timedelta
from fractions import Fraction

from flask import Blueprint, Response, render_template

from ..core.navexa import client as navexa
from ..core.navexa.client import resource
from ..web.cookies import signed_out_cookie
from ..web.problems import NotFound
from ..web.signed_in import login_required
from . import cgt, exports, income_records, models, money, planner, tax_report, taxable_income
from .fetch import fetch
from .income import income_by_financial_year, income_csv
from .options import (
    chosen_fixed_methods,
    chosen_fy,
    chosen_losses,
    chosen_period,
    chosen_sale,
    chosen_sort,
    chosen_tax_options,
    today,
)
from .portfolio import (
    PERIODS,
    PortfolioCard,
    currency_totals,
    holding_rows,
    holdings_csv,
    is_cash,
    period_params,
    period_start,
    period_years,
    sort_rows,
    summary_of,
)
from .reading import as_dict, as_list, day_of, text

bp = Blueprint("views", __name__)


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
    return render_template("portfolio.html", portfolio_id=portfolio_id,
                           **models.portfolio_page(data, period, sort_key, direction, today()))


@bp.get("/portfolios/<int:portfolio_id>/holdings.csv")
@login_required
def holdings_download(portfolio_id):
    period = chosen_period()
    sort_key, direction = chosen_sort()
    data = portfolio_data(portfolio_id, [period], period)
    info = as_dict(data["portfolio"])
    currency = text(info.get("baseCurrencyCode"))
    rows = sort_rows(holding_rows(data["holdings"], data[f"perf:{period}"], currency), sort_key, direction)
    start = period_start(period, today(), day_of(info.get("dateCreated")))
    label = f"{PERIODS[period][0]}: {start.isoformat() if start else 'since the portfolio began'} to {today().isoformat()}"
    facts = exports.holdings_facts(info, currency, label, summary_of(data[f"perf:{period}"]))
    return csv_download(exports.with_summary("Holdings", facts, holdings_csv(rows), today()),
                        f"portfolio-{portfolio_id}-holdings-{period.lower()}.csv")


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
    none_at_navexa = {name for name, error in failures.items() if isinstance(error, navexa.NotFound)}
    model = models.holding_page(data, holding_id, none_at_navexa, today())
    if model is None:
        raise NotFound("That holding is not in this portfolio.")
    return render_template("holding.html", portfolio_id=portfolio_id, **model)


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
    """One financial year a page (the newest with income by default), with a picker of every year there is."""
    fy = chosen_fy()
    info, currency, years = income_data(portfolio_id)
    fy = fy or (years[0].fy if years else None)
    return render_template("income.html", portfolio=info, portfolio_id=portfolio_id, currency=currency,
                           years=[y for y in years if y.fy == fy], offered=[y.fy for y in years], chosen=fy,
                           print_facts=exports.income_facts(info, currency, [y for y in years if y.fy == fy]), as_of=today(),
                           year_label=money.year_label)


@bp.get("/portfolios/<int:portfolio_id>/income.csv")
@login_required
def income_download(portfolio_id):
    info, currency, years = income_data(portfolio_id)
    return csv_download(exports.with_summary("Income by financial year", exports.income_facts(info, currency, years),
                                             income_csv(years, currency), today()),
                        f"portfolio-{portfolio_id}-income-by-financial-year.csv")


# -- capital gains at tax time ------------------------------------------------------------------------------

def tax_inputs(portfolio_id: int, cash_income: bool = False) -> tuple[dict, list, object, dict, dict, frozenset]:
    """What the tax pages work from: the portfolio, its holdings, today's values (optional), and each share's and
    ETF's trades and income (and each cash account's income, if asked), by holding id. A holding whose trades or
    income Navexa can't give is absent from that dict: the pages name it, never leave it out silently; the last
    item names the holdings Navexa has no trades for at all (its 404s), told apart from those it couldn't give now."""
    base = fetch({"portfolio": (resource("portfolios", portfolio_id), None),
                  "holdings": (resource("portfolios", portfolio_id, "holdings"), None),
                  "performance": (resource("portfolios", portfolio_id, "performance"), period_params("ALL", today()))},
                 optional={"performance"})
    holdings = as_list(base["holdings"])
    ids = [h["id"] for h in holdings if isinstance(h.get("id"), int) and not is_cash(h)]
    cash = [h["id"] for h in holdings if isinstance(h.get("id"), int) and is_cash(h)] if cash_income else []
    wanted = {("trades", i): (resource("holdings", i, "trades"), None) for i in ids}
    wanted |= {("income", i): (resource("holdings", i, "income"), None) for i in ids + cash}
    failures: dict = {}
    found = fetch(wanted, optional=set(wanted), failures=failures)
    trades = {i: found[("trades", i)] for i in ids if ("trades", i) in found}
    incomes = {i: found[("income", i)] for i in ids + cash if ("income", i) in found}
    no_trades = frozenset(name[1] for name, error in failures.items()
                          if name[0] == "trades" and isinstance(error, navexa.NotFound))
    return as_dict(base["portfolio"]), base["holdings"], base.get("performance"), trades, incomes, no_trades


def tax_data(portfolio_id: int, fy: int | None = None, inputs=None) -> tuple[dict, tax_report.TaxReport]:
    """The portfolio and its capital gains report. A holding whose trades Navexa can't give is listed as
    such (never silently left out); today's values are optional (open parcels then show no value)."""
    chosen_fy, method, entity = chosen_tax_options()
    fy = fy or chosen_fy
    losses, fixed = chosen_losses(), chosen_fixed_methods()
    info, holdings, performance, trades, incomes, no_trades = inputs or tax_inputs(portfolio_id)
    return info, tax_report.build(holdings, trades, performance, text(info.get("baseCurrencyCode")), fy, method, entity,
                                  today(), losses, fixed, incomes, no_trades)


@bp.get("/portfolios/<int:portfolio_id>/tax")
@login_required
def tax(portfolio_id):
    info, report = tax_data(portfolio_id)
    return render_template("tax.html", portfolio=info, portfolio_id=portfolio_id, report=report, as_of=today(),
                           print_facts=exports.tax_facts(info, report),
                           methods=cgt.METHODS, entities=cgt.ENTITIES, year_label=money.year_label)


@bp.get("/tax")
@login_required
def person_tax():
    """The person's whole year: every Australian-dollar portfolio's capital gains combined before the discount."""
    fy, method, entity = chosen_tax_options()
    fy = fy or money.financial_year_of(today()) - 1  # the latest complete year: the one people lodge
    losses = chosen_losses()
    listing = [p for p in as_list(fetch({"list": (resource("portfolios"), None)})["list"]) if isinstance(p.get("id"), int)]
    parts = []
    for listed in listing:
        if text(listed.get("baseCurrencyCode")) != "AUD":
            parts.append(tax_report.PortfolioPart(listed["id"], text(listed.get("name")), None,
                                                  f"its amounts are in {text(listed.get('baseCurrencyCode')) or 'an unknown currency'}, "
                                                  "not Australian dollars"))
            continue
        info, report = tax_data(listed["id"], fy)
        parts.append(tax_report.PortfolioPart(listed["id"], text(info.get("name")), report))
    year = tax_report.person_year(parts, fy, method, entity, losses)
    return render_template("tax_person.html", year=year, methods=cgt.METHODS, entities=cgt.ENTITIES,
                           year_label=money.year_label)


@bp.get("/portfolios/<int:portfolio_id>/holdings/<int:holding_id>/plan")
@login_required
def sale_planner(portfolio_id, holding_id):
    """What selling some of a holding on a day would add to that year's net capital gain, and what waiting saves.
    Read-only: it records nothing."""
    info, report = tax_data(portfolio_id, money.financial_year_of(today()))
    gains = next((g for g in report.gains if g.holding_id == holding_id), None)
    unusable = next((u for u in report.unusable if u.holding_id == holding_id), None)
    if gains is None and unusable is None:
        raise NotFound("That holding is not in this portfolio, or it isn't shares or an ETF.")
    held = planner.held_units(gains.open) if gains else Fraction(0)
    units, day = chosen_sale(held) if held else (Fraction(0), today())
    value = report.values.get(holding_id)
    sale = None
    if gains and held and value is not None and report.tax_result:  # every recorded sale is in report.gains
        sale = planner.plan(gains.open, units, day, value, report.method, cgt.ENTITIES[report.entity][1],
                            list(report.gains), report.losses_from_outside)
    return render_template("planner.html", portfolio=info, portfolio_id=portfolio_id, holding_id=holding_id,
                           gains=gains, unusable=unusable, held=held, plan=sale, value=value, report=report,
                           units=units, day=day, as_of=today(), latest=today() + timedelta(days=365),
                           methods=cgt.METHODS, entities=cgt.ENTITIES, year_label=money.year_label,
                           units_text=tax_report.units_text)


def taxable_income_data(portfolio_id: int) -> tuple[dict, taxable_income.TaxableIncome, tax_report.TaxReport, list[int]]:
    """The portfolio, its taxable income for the year asked (default: the latest complete year), the capital gains
    report its Item 18 comes from (same year, method and entity), and the years a person can choose."""
    chosen_fy, _, entity = chosen_tax_options()
    fy = chosen_fy or money.financial_year_of(today()) - 1
    inputs = tax_inputs(portfolio_id, cash_income=True)
    info, holdings, _, trades, incomes, _ = inputs
    _, report = tax_data(portfolio_id, fy, inputs)
    currency = text(info.get("baseCurrencyCode"))
    described = {h["id"]: h for h in as_list(holdings) if isinstance(h.get("id"), int)}
    records = [(record, is_cash(described[i]), trades.get(i), income_records.is_preference(described[i]))
               for i, answer in incomes.items() for item in as_list(answer)
               if (record := income_records.read(item, described[i], currency)) is not None]
    missing = [text(h.get("symbol")) or f"holding {i}" for i, h in described.items() if i not in incomes
               and money.financial_year_of(day_of(h.get("dateCreated")) or date.min) <= fy]
    capital = None
    if report.tax_result:
        problem = ", ".join(u.symbol or "a holding" for u in report.unusable)
        capital = taxable_income.CapitalGains(report.summary.total_gains, report.summary.net_capital_gain,
                                              report.summary.loss_carried_forward,
                                              f"the capital gains of {problem} can't be computed" if problem else "")
    year = taxable_income.build(records, fy, entity, today(), missing, capital)
    years = sorted({fy, *taxable_income.years_offered(records, today()), *report.years}, reverse=True)
    return info, year, report, years


@bp.get("/portfolios/<int:portfolio_id>/taxable-income")
@login_required
def taxable_income_page(portfolio_id):
    info, year, report, years = taxable_income_data(portfolio_id)
    return render_template("taxable_income.html", portfolio=info, portfolio_id=portfolio_id, ti=year, report=report,
                           years=years, currency=text(info.get("baseCurrencyCode")), methods=cgt.METHODS,
                           print_facts=exports.taxable_facts(info, year, report.method)[:5],
                           entities=cgt.ENTITIES, returns=taxable_income.RETURNS, short=taxable_income.SHORT, as_of=today(),
                           year_label=money.year_label, note_of=taxable_income.note_of,
                           rate_text=money.rate_text, units_text=tax_report.units_text)


@bp.get("/portfolios/<int:portfolio_id>/taxable-income.csv")
@login_required
def taxable_income_download(portfolio_id):
    info, year, report, _ = taxable_income_data(portfolio_id)
    return csv_download(exports.with_summary("Taxable income, payment by payment",
                                             exports.taxable_facts(info, year, report.method),
                                             taxable_income.payments_csv(year), today()),
                        f"portfolio-{portfolio_id}-taxable-income-fy{year.fy}-{year.entity}.csv")


@bp.get("/portfolios/<int:portfolio_id>/taxable-income-totals.csv")
@login_required
def taxable_income_totals_download(portfolio_id):
    info, year, report, _ = taxable_income_data(portfolio_id)
    return csv_download(exports.with_summary("Taxable income, the year's totals",
                                             exports.taxable_facts(info, year, report.method)[:6],
                                             taxable_income.totals_csv(year), today()),
                        f"portfolio-{portfolio_id}-taxable-income-totals-fy{year.fy}-{year.entity}.csv")


@bp.get("/portfolios/<int:portfolio_id>/cgt.csv")
@login_required
def cgt_download(portfolio_id):
    info, report = tax_data(portfolio_id)
    return csv_download(exports.with_summary("Capital gains by parcel", exports.tax_facts(info, report),
                                             tax_report.cgt_csv(report), today()),
                        f"portfolio-{portfolio_id}-capital-gains-fy{report.fy}-{report.method}-{report.entity}.csv")


@bp.get("/portfolios/<int:portfolio_id>/unrealised.csv")
@login_required
def unrealised_download(portfolio_id):
    info, report = tax_data(portfolio_id)
    return csv_download(exports.with_summary("Unrealised gains by parcel", exports.unrealised_facts(info, report, today()),
                                             tax_report.unrealised_csv(report), today()),
                        f"portfolio-{portfolio_id}-unrealised-gains-{report.method}-{report.entity}.csv")
