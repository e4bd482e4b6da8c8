"""The page models: pure functions from Navexa's answers (and the person's choices) to what a template shows.
The views fetch and render; everything between is here, testable without Flask. No Flask here."""

from datetime import date
from fractions import Fraction

from . import cgt, formatting
from .charts import bar_chart, position_chart
from .money import Money
from .portfolio import COLUMNS, PERIODS, diversification, holding_rows, is_cash, period_start, period_years, sort_rows, summary_of
from .positions import holding_summary, position_history
from .reading import as_dict, as_list, day_of, number, text, total_of
from .trades import CannotCompute


def portfolio_page(data: dict, period: str, sort_key: str, direction: str, today: date) -> dict:
    """The portfolio page from its answers (portfolio, holdings, perf:<period> for each period; only the chosen
    period's is sure to be there): the summary, the sorted holdings, the allocation, returns and spread charts."""
    info = as_dict(data["portfolio"])
    currency = text(info.get("baseCurrencyCode"))
    began = day_of(info.get("dateCreated"))
    rows = sort_rows(holding_rows(data["holdings"], data[f"perf:{period}"], currency), sort_key, direction)
    allocation = bar_chart([(r.symbol or "—", r.weight, formatting.percent(r.weight, signed=False))
                            for r in sorted(rows, key=lambda r: -(r.weight or 0)) if r.weight], shares=True)
    returns = []
    for code, (label, _) in PERIODS.items():
        start = period_start(code, today, began)
        if code != "ALL" and began and start and start < began:
            continue  # longer than the portfolio has existed: not a 0.00 % bar
        summary = summary_of(data.get(f"perf:{code}"))
        returns.append((label, summary.total_return_pct, formatting.percent(summary.total_return_pct)))
    returns_incomplete = any(f"perf:{code}" not in data for code in PERIODS)
    spread = {name: bar_chart([(label, share, formatting.percent(share, signed=False)) for label, share in groups], shares=True)
              for name, groups in diversification(rows).items()}
    return dict(portfolio=info, currency=currency,
                           summary=summary_of(data[f"perf:{period}"], period_years(period, today, began)),
                           period_start=period_start(period, today, began), rows=rows, period=period, periods=PERIODS,
                           columns=COLUMNS, sort_key=sort_key, direction=direction, allocation=allocation, as_of=today,
                           returns=bar_chart(returns), returns_incomplete=returns_incomplete, spread=spread)


def newest_first(items: list[dict], field: str) -> list[dict]:
    """Most recent first; ISO dates sort as text, and undated items go last."""
    dated = [i for i in items if isinstance(i.get(field), str)]
    return sorted(dated, key=lambda i: i[field], reverse=True) + [i for i in items if not isinstance(i.get(field), str)]


def holding_label(holding: dict) -> str:
    """A holding's name on its page: its symbol, else its name, else plainly unnamed."""
    return text(holding.get("symbol")) or text(holding.get("name")) or "Unnamed holding"


def cannot_compute(trades, income, currency: str | None) -> str:
    """Why the holding's position can't be worked out from its trades ("" if it can): the capital gains engine's own
    verdict (the same trade reader, the same matching), so the holding page and the tax page tell one story."""
    try:
        cgt.match(cgt.tax_trades(trades, currency, currency, income), cgt.DEFAULT_METHOD, Fraction(1, 2))
    except CannotCompute as error:
        return str(error)
    return ""


def holding_page(data: dict, holding_id: int, none_at_navexa: set, today: date) -> dict | None:
    """The holding page from its answers (trades, income and performance may be missing: `none_at_navexa` names
    those Navexa has none of, the rest couldn't be had now); None when the holding isn't in the portfolio."""
    found = next((h for h in as_list(data["holdings"]) if h.get("id") == holding_id), None)
    if found is None:
        return None
    income = newest_first(as_list(data.get("income")), "paidDate")
    trades = newest_first(as_list(data.get("trades")), "tradeDate")
    franking = [i.get("frankingCredits") for i in income]
    base = text(as_dict(data["portfolio"]).get("baseCurrencyCode"))
    own = text(found.get("currencyCode")) or base  # what it trades in
    measured = next((h for h in as_list(as_dict(data.get("performance")).get("holdings")) if h.get("id") == holding_id), {})
    # A holding trading in another currency than the portfolio's is shown in the portfolio's, as the portfolio and tax
    # pages show it (Navexa's value; each trade at its own rate), with its price in its own beside it.
    foreign = bool(own and base and own != base)
    value = number(as_dict(measured.get("totalReturn")).get("totalValue")) if foreign else None
    currency = base if foreign else own
    problem = cannot_compute(data.get("trades"), data.get("income"), own) if "trades" in data and not is_cash(found) else ""
    summary = (holding_summary(data["trades"], data["income"], measured.get("currentPrice"), value)
               if "trades" in data and "income" in data and not is_cash(found) and not problem else None)
    steps = position_history(data["trades"]) if "trades" in data and not is_cash(found) and not problem else None
    # Franking credits are an Australian matter: shown for AUD income, or wherever Navexa reports some.
    franking_applies = own == "AUD" or any(number(f) for f in franking)
    return dict(portfolio=as_dict(data["portfolio"]),
                           holding=found, trades=trades, income=income, currency=currency, own_currency=own,
                           foreign=foreign, price=Money(number(measured.get("currentPrice")), own),
                           franking_applies=franking_applies,
                           unavailable={name for name in ("trades", "income") if name not in data and name not in none_at_navexa},
                           none_at_navexa=none_at_navexa, summary=summary, label=holding_label(found), problem=problem,
                           chart=position_chart(steps, today) if steps else None,
                           totals={"net": total_of(i.get("netAmount") for i in income),
                                   "franking": total_of(franking), "gross": total_of(i.get("grossAmount") for i in income)})
