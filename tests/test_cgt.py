"""Capital gains, by hand: every test carries the working it checks, to the cent."""

import re
from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from portal.pages.cgt import (
    ENTITIES,
    Disposal,
    brought_forward_into,
    discount_from,
    disposals_in,
    match,
    sell_everything,
    summarise,
    tax_trades,
    unrealised,
    value_a_unit,
    years_with_disposals,
)
from portal.pages.money import exact, financial_year_of, year_bounds, year_label
from portal.pages.trades import CannotCompute

HALF, THIRD, NONE = Fraction(1, 2), Fraction(1, 3), Fraction(0)
D = Decimal


def trade(day: str, kind: str, units, price, brokerage=0, currency="AUD", rate=1.0) -> dict:
    return {"tradeDate": day + "T00:00:00", "tradeType": kind, "quantity": units, "price": price, "brokerage": brokerage,
            "currencyCode": currency, "exchangeRate": rate}


def gains(trades, method="fifo", rate=HALF, holding="AUD", base="AUD"):
    return match(tax_trades(trades, holding, base), method, rate, symbol="TST", holding_id=1)


def rows(found) -> list[tuple]:
    return [(d.acquired.isoformat(), d.disposed.isoformat(), float(d.units), str(d.cost_base), str(d.proceeds),
             str(d.gain), d.discount_eligible) for d in found.disposals]


# -- years and the discount date ----------------------------------------------------------------------


@pytest.mark.parametrize("day, fy", [(date(2024, 7, 1), 2025), (date(2025, 6, 30), 2025), (date(2025, 7, 1), 2026),
                                     (date(2024, 12, 31), 2025)])
def test_a_financial_year_is_named_by_the_year_it_ends(day, fy):
    assert financial_year_of(day) == fy


def test_fy_2025_is_1_july_2024_to_30_june_2025_shown_as_2024_25():
    assert year_bounds(2025) == (date(2024, 7, 1), date(2025, 6, 30)) and year_label(2025) == "2024–25"


@pytest.mark.parametrize("acquired, first_day, working", [
    (date(2023, 7, 1), date(2024, 7, 2), "counting from 2 Jul 2023, 12 months end 1 Jul 2024; a sale on 2 Jul 2024 "
                                         "leaves them whole between the two days"),
    (date(2024, 2, 29), date(2025, 3, 1), "from 1 Mar 2024 to 28 Feb 2025 is 12 months: 1 Mar 2025 qualifies"),
    (date(2024, 2, 28), date(2025, 3, 1), "from 29 Feb 2024, 12 months end 28 Feb 2025 (no 29 Feb 2025)"),
    (date(2023, 2, 28), date(2024, 3, 1), "from 1 Mar 2023, 12 months end 29 Feb 2024 (a leap year): 1 Mar 2024"),
    (date(2023, 12, 31), date(2025, 1, 1), "from 1 Jan 2024 to 31 Dec 2024"),
    (date(2024, 6, 30), date(2025, 7, 1), "from 1 Jul 2024 to 30 Jun 2025: eligible in the next financial year"),
])
def test_the_discount_needs_twelve_months_between_the_days_of_acquisition_and_disposal(acquired, first_day, working):
    assert discount_from(acquired) == first_day, working


# -- reading the trades ----------------------------------------------------------------------------------


def test_amounts_are_read_exactly_not_as_floats():
    assert exact(0.1) == Fraction(1, 10) and exact("1,234.56") == Fraction(123456, 100)
    assert exact(True) is None and exact("ten") is None and exact(None) is None and exact("nan") is None


@pytest.mark.parametrize("bad, reason", [
    (trade("2024-03-04", "Demerger", 2, 0), "a trade of a kind the report can't use (Demerger) on 4 Mar 2024"),
    ({"tradeDate": "2024-03-04", "quantity": 1, "price": 1}, "a trade of a kind the report can't use (none given)"),
    (trade("yesterday", "Buy", 1, 1), "a buy on an unreadable date has a date, quantity"),
    (trade("2024-03-04", "Buy", "ten", 1), "a buy on 4 Mar 2024 has a date, quantity, price or brokerage"),
    (trade("2024-03-04", "Buy", 1, 1, brokerage=-5), "brokerage the report can't read"),
    (trade("2024-03-04", "Buy", 1, 1, currency="USD", rate=None), "in USD has no exchange rate to AUD"),
])
def test_a_trade_the_report_cant_use_is_named(bad, reason):
    with pytest.raises(CannotCompute, match=reason.replace("(", r"\(").replace(")", r"\)")):
        tax_trades([bad], "AUD", "AUD")


def test_a_trade_kind_may_come_as_navexas_trade_type_id():
    read = tax_trades([{"tradeDate": "2024-03-04", "tradeTypeId": 1, "quantity": 5, "price": 2}], "AUD", "AUD")
    assert read[0].kind == "buy" and read[0].units == 5


# -- matching: FIFO, LIFO, brokerage on both sides, the day before and the first day of the discount ------

TWO_PARCELS = [trade("2023-07-01", "Buy", 100, 10.00, 20), trade("2024-01-01", "Buy", 100, 12.00, 10)]


def test_fifo_a_sale_spanning_two_parcels_the_day_before_the_discount():
    """Parcel 1: 100 × $10.00 + $20 = $1,020.00 (10.20 a unit). Parcel 2: 100 × $12.00 + $10 = $1,210.00.
    Sale 1 Jul 2024: 150 × $15.00 − $30 = $2,220.00, $14.80 a unit.
    FIFO: all of parcel 1: cost $1,020.00, proceeds 100 × 14.80 = $1,480.00, gain $460.00, not discounted
    (eligible only from 2 Jul 2024); then 50 of parcel 2: cost 1,210 × 50/100 = $605.00, proceeds $740.00,
    gain $135.00. Year: other gains $595.00, no discount, net capital gain $595.00."""
    found = gains([*TWO_PARCELS, trade("2024-07-01", "Sell", 150, 15.00, 30)])
    assert rows(found) == [("2023-07-01", "2024-07-01", 100, "1020.00", "1480.00", "460.00", False),
                           ("2024-01-01", "2024-07-01", 50, "605.00", "740.00", "135.00", False)]
    year = summarise(found.disposals, HALF)
    assert (year.other_gains, year.discountable_gains, year.discount, year.net_capital_gain) == (D("595.00"), 0, 0,
                                                                                                  D("595.00"))
    assert [(float(p.units), str(p.cost_base)) for p in found.open] == [(50, "605.00")]  # the rest of parcel 2


def test_fifo_the_same_sale_on_the_first_day_of_the_discount():
    """Sold 2 Jul 2024 instead: parcel 1's $460.00 is discountable, parcel 2's $135.00 (bought 1 Jan 2024) isn't.
    Individual: discount 50 % × $460.00 = $230.00; net capital gain $135.00 + $460.00 − $230.00 = $365.00."""
    found = gains([*TWO_PARCELS, trade("2024-07-02", "Sell", 150, 15.00, 30)])
    assert [d.discount_eligible for d in found.disposals] == [True, False]
    year = summarise(found.disposals, HALF)
    assert (year.discountable_gains, year.other_gains, year.discount, year.net_capital_gain) == (
        D("460.00"), D("135.00"), D("230.00"), D("365.00"))


def test_lifo_takes_the_newest_parcel_first():
    """LIFO, sale 2 Jul 2024 of 150 at $14.80 a unit net: all of parcel 2 (cost $1,210.00, proceeds $1,480.00,
    gain $270.00, held under 12 months), then 50 of parcel 1 (cost 1,020 × 50/100 = $510.00, proceeds $740.00,
    gain $230.00, discountable). Individual: $270.00 + $230.00 − $115.00 = $385.00."""
    found = gains([*TWO_PARCELS, trade("2024-07-02", "Sell", 150, 15.00, 30)], method="lifo")
    assert rows(found) == [("2024-01-01", "2024-07-02", 100, "1210.00", "1480.00", "270.00", False),
                           ("2023-07-01", "2024-07-02", 50, "510.00", "740.00", "230.00", True)]
    assert summarise(found.disposals, HALF).net_capital_gain == D("385.00")


def test_a_parcel_bought_on_29_february():
    """Bought 29 Feb 2024, 10 × $50.00, no brokerage ($500.00). 4 sold 28 Feb 2025 at $60.00: gain $40.00, not
    discounted (eligible from 1 Mar 2025); 6 sold 1 Mar 2025 at $60.00: cost $300.00, gain $60.00, discounted."""
    found = gains([trade("2024-02-29", "Buy", 10, 50), trade("2025-02-28", "Sell", 4, 60), trade("2025-03-01", "Sell", 6, 60)])
    assert rows(found) == [("2024-02-29", "2025-02-28", 4, "200.00", "240.00", "40.00", False),
                           ("2024-02-29", "2025-03-01", 6, "300.00", "360.00", "60.00", True)]


def test_foreign_trades_are_converted_at_their_own_rates():
    """AUD portfolio, a US$ holding. Buy 10 × US$100.00 + US$5.00 at 1.5: (1,000 + 5) × 1.5 = $1,507.50.
    Sell 10 × US$120.00 − US$5.00 at 1.4: (1,200 − 5) × 1.4 = $1,673.00. Gain $165.50."""
    found = gains([trade("2024-01-10", "Buy", 10, 100, 5, "USD", 1.5), trade("2024-09-10", "Sell", 10, 120, 5, "USD", 1.4)],
                  holding="USD")
    assert rows(found) == [("2024-01-10", "2024-09-10", 10, "1507.50", "1673.00", "165.50", False)]


def test_a_trade_in_the_base_currency_is_taken_at_one_whatever_its_rate_says():
    found = gains([trade("2024-01-10", "Buy", 1, 100, 0, "AUD", 0.65), trade("2024-02-10", "Sell", 1, 110, 0, "AUD", 0.7)])
    assert rows(found)[0][3:6] == ("100.00", "110.00", "10.00")


def test_a_part_sold_parcels_parts_add_up_to_what_was_paid_and_the_totals_add_the_rows():
    """3 × $10.00 + $10.00 = $40.00, $13.333… a unit. Two sales of 1 at $20.00 and one unit still held. Rounding
    each part alone gives 13.33 three times: $39.99, a cent less than was paid. The running total is rounded instead
    and each part is what it adds: first sale 40/3 = 13.333 → $13.33 (gain $6.67); second 80/3 = 26.667 → $26.67,
    less 13.33 = $13.34 (gain $6.66); still held: $40.00 − $26.67 = $13.33. Parts: 13.33 + 13.34 + 13.33 = $40.00.
    The year's gains, $13.33, are the rows' sum."""
    found = gains([trade("2024-01-01", "Buy", 3, 10, 10), trade("2024-02-01", "Sell", 1, 20), trade("2024-03-01", "Sell", 1, 20)])
    assert [str(d.cost_base) for d in found.disposals] == ["13.33", "13.34"]
    assert [str(d.gain) for d in found.disposals] == ["6.67", "6.66"]
    assert str(found.open[0].cost_base) == "13.33"
    assert sum(d.cost_base for d in found.disposals) + found.open[0].cost_base == D("40.00")
    assert summarise(found.disposals, HALF).other_gains == D("13.33")


def test_a_sales_parts_add_up_to_its_proceeds():
    """A sale of 3 at $10.00 less $10.00 brokerage ($20.00) across three parcels of 1: a third each, 6.667 → the
    running total rounded: $6.67, $13.33 − 6.67 = $6.66, $20.00 − 13.33 = $6.67: $20.00."""
    found = gains([trade("2024-01-01", "Buy", 1, 1), trade("2024-01-02", "Buy", 1, 1), trade("2024-01-03", "Buy", 1, 1),
                   trade("2024-02-01", "Sell", 3, 10, 10)])
    assert [str(d.proceeds) for d in found.disposals] == ["6.67", "6.66", "6.67"]


def test_a_sale_of_more_than_is_held_cant_be_computed():
    with pytest.raises(CannotCompute, match="a sale of 15 units on 1 Feb 2024 is more than the 10 held then"):
        gains([trade("2024-01-01", "Buy", 10, 1), trade("2024-02-01", "Sell", 15, 1)])


def test_a_sale_before_any_purchase_cant_be_computed():
    with pytest.raises(CannotCompute, match="more than the 0 held"):
        gains([trade("2024-02-01", "Sell", 1, 1), trade("2024-03-01", "Buy", 10, 1)])


# -- minimise ------------------------------------------------------------------------------------------------

MIN_PARCELS = [trade("2020-01-01", "Buy", 100, 5), trade("2024-01-01", "Buy", 100, 20), trade("2024-06-01", "Buy", 100, 14)]


def test_min_takes_losses_first_then_the_smallest_gain_after_the_discount():
    """Sale 1 Sep 2024: 120 × $15.00, no brokerage. A unit adds: parcel 1 (2020, $5.00) +$10.00, discounted to
    +$5.00; parcel 2 ($20.00) −$5.00; parcel 3 (June 2024, $14.00) +$1.00, not discountable.
    Min: all 100 of parcel 2 (loss $500.00), then 20 of parcel 3 (cost $280.00, proceeds $300.00, gain $20.00).
    Year: the $500.00 loss covers the $20.00 gain; $480.00 is carried forward; net capital gain $0.00.
    FIFO instead: 100 of parcel 1 (gain $1,000.00, discountable) and 20 of parcel 2 (loss $100.00):
    $1,000.00 − $100.00 = $900.00, less the 50 % discount: $450.00."""
    sale = trade("2024-09-01", "Sell", 120, 15)
    least = gains([*MIN_PARCELS, sale], method="min")
    assert rows(least) == [("2024-01-01", "2024-09-01", 100, "2000.00", "1500.00", "-500.00", False),
                           ("2024-06-01", "2024-09-01", 20, "280.00", "300.00", "20.00", False)]
    year = summarise(least.disposals, HALF)
    assert (year.net_capital_gain, year.loss_carried_forward, year.losses_on_other) == (D("0.00"), D("480.00"), D("20.00"))
    assert summarise(gains([*MIN_PARCELS, sale]).disposals, HALF).net_capital_gain == D("450.00")


def test_min_weighs_the_discount_by_the_entity():
    """Sale 1 Sep 2024 of 10 × $10.00. Parcel A (2020, $7.00): +$3.00 a unit, discountable. Parcel B (2024,
    $8.00): +$2.00, not. An individual keeps half of A's: $1.50 < $2.00, so A ($30.00 gain, $15.00 after the
    discount). A company has no discount: $3.00 > $2.00, so B ($20.00)."""
    parcels = [trade("2020-01-01", "Buy", 10, 7), trade("2024-03-01", "Buy", 10, 8), trade("2024-09-01", "Sell", 10, 10)]
    individual = gains(parcels, method="min", rate=ENTITIES["individual"][1])
    company = gains(parcels, method="min", rate=ENTITIES["company"][1])
    assert [d.acquired for d in individual.disposals] == [date(2020, 1, 1)]
    assert summarise(individual.disposals, HALF).net_capital_gain == D("15.00")
    assert [d.acquired for d in company.disposals] == [date(2024, 3, 1)]
    assert summarise(company.disposals, NONE).net_capital_gain == D("20.00")


# -- the year, as the ATO adds it up --------------------------------------------------------------------------


def disposal(gain: str, eligible: bool) -> Disposal:
    return Disposal("X", 1, date(2020, 1, 1), date(2024, 9, 1), Fraction(1), D("0.00"), D(gain), D(gain), eligible)


YEAR = [disposal("1000.00", True), disposal("300.00", False), disposal("-500.00", False)]


@pytest.mark.parametrize("entity, discount, net", [
    ("individual", "400.00", "400.00"),  # losses $500: $300 against the other gain, $200 against the $1,000;
    ("trust", "400.00", "400.00"),  # $800 left, discount 50 % = $400, net $400
    ("smsf", "266.67", "533.33"),  # discount ⅓ × $800 = $266.666… → $266.67; net $800 − $266.67 = $533.33
    ("company", "0.00", "800.00"),  # no discount: $800
])
def test_losses_go_against_other_gains_first_then_the_discount(entity, discount, net):
    year = summarise(YEAR, ENTITIES[entity][1])
    assert (year.losses, year.losses_on_other, year.losses_on_discountable) == (D("500.00"), D("300.00"), D("200.00"))
    assert (str(year.discount), str(year.net_capital_gain), year.loss_carried_forward) == (discount, net, D("0.00"))


def test_a_year_of_net_losses_carries_the_loss_forward():
    """Gains $1,000.00 (discountable) + $300.00; losses $2,000.00: $300 and $1,000 are covered, $700.00 carried
    forward, and nothing is left to discount."""
    year = summarise([disposal("1000.00", True), disposal("300.00", False), disposal("-2000.00", False)], HALF)
    assert (year.net_capital_gain, year.discount, year.loss_carried_forward) == (D("0.00"), D("0.00"), D("700.00"))


def test_a_year_with_no_disposals_is_all_zero():
    year = summarise([], HALF)
    assert (year.total_gains, year.losses, year.net_capital_gain, year.loss_carried_forward) == (0, 0, 0, 0)


def test_disposals_fall_in_the_year_of_their_trade_date():
    found = gains([trade("2023-01-01", "Buy", 10, 1), trade("2024-06-30", "Sell", 4, 2), trade("2024-07-01", "Sell", 6, 2)])
    assert [d.units for d in disposals_in([found], 2024)] == [4] and [d.units for d in disposals_in([found], 2025)] == [6]
    assert years_with_disposals([found]) == [2025, 2024]


# -- what is still held ---------------------------------------------------------------------------------------


def test_open_parcels_with_their_discount_date_and_days_to_go():
    """Held on 21 Nov 2026: 50 bought 1 Jun 2026 for $1,000.00 + $10.00 ($1,010.00), eligible from 2 Jun 2027:
    193 days (9 days of Nov, then 31+31+28+31+30+31 to 31 May, then 2). Worth 50 × $25.00 = $1,250.00: gain $240.00.
    And 10 bought 1 Jan 2020 for $100.00, worth $250.00: gain $150.00, eligible already.
    Selling everything today: $150.00 discountable (→ $75.00 after 50 %) + $240.00 = $315.00."""
    found = gains([trade("2020-01-01", "Buy", 10, 10), trade("2026-06-01", "Buy", 50, 20, 10)])
    today = date(2026, 11, 21)
    open_rows = unrealised([found], {1: Fraction(25)}, today)
    assert [(r.parcel.acquired, str(r.market_value), str(r.gain), r.days_to_discount) for r in open_rows] == [
        (date(2020, 1, 1), "250.00", "150.00", 0), (date(2026, 6, 1), "1250.00", "240.00", 193)]
    assert open_rows[1].parcel.discount_from == date(2027, 6, 2)
    assert sell_everything(open_rows, today, HALF).net_capital_gain == D("315.00")


def test_an_open_parcel_without_a_value_is_shown_but_not_summed():
    found = gains([trade("2020-01-01", "Buy", 10, 10)])
    open_rows = unrealised([found], {1: None}, date(2026, 11, 21))
    assert open_rows[0].market_value is None and open_rows[0].gain is None
    assert sell_everything(open_rows, date(2026, 11, 21), HALF).net_capital_gain == 0


@pytest.mark.parametrize("report, holding_currency, expected", [
    ({"totalQuantity": 120, "totalReturn": {"totalValue": 18168.00}}, "AUD", Fraction(15140, 100)),  # $151.40
    ({"totalQuantity": 10, "totalReturn": {"totalValue": 3000.00}, "currentPrice": 200}, "USD", Fraction(300)),
    ({"currentPrice": 12.5}, "AUD", Fraction(25, 2)),  # no total: the price, as the holding trades in AUD
    ({"currentPrice": 200}, "USD", None),  # a US$ price can't stand in for an AUD value
    ({"totalQuantity": 0, "totalReturn": {"totalValue": 0}}, "AUD", None),
])
def test_a_units_value_comes_from_navexas_report_in_base_currency(report, holding_currency, expected):
    assert value_a_unit(report, holding_currency, "AUD") == expected


# -- corporate actions, each as the ATO treats it ------------------------------------------------------------


def held(found) -> list[tuple]:
    return [(p.acquired.isoformat(), p.units, str(p.cost_base)) for p in found.open]


def test_a_split_between_two_buys_and_a_later_sale_spanning_both():
    """100 at $10 + $10 (1 Jul 2023), a 2-for-1 split (+100, 1 Jan 2024), 50 at $6 + $10 (1 Mar 2024).
    The first parcel: 200 units, cost $1,010.00, still acquired 1 Jul 2023. Sale of 220 at $8 − $22 on 1 Aug 2024
    (FIFO): 200 of the first parcel: cost $1,010.00, proceeds 1,600 − 20 = $1,580.00, gain $570.00, discountable
    (from 2 Jul 2024); 20 of the second ($310 × 20/50 = $124.00): proceeds 160 − 2 = $158.00, gain $34.00, not
    (from 2 Mar 2025)."""
    found = gains([trade("2023-07-01", "Buy", 100, 10, 10), trade("2024-01-01", "Split", 100, 0),
                   trade("2024-03-01", "Buy", 50, 6, 10), trade("2024-08-01", "Sell", 220, 8, 22)])
    assert rows(found) == [("2023-07-01", "2024-08-01", 200.0, "1010.00", "1580.00", "570.00", True),
                           ("2024-03-01", "2024-08-01", 20.0, "124.00", "158.00", "34.00", False)]
    assert held(found) == [("2024-03-01", Fraction(30), "186.00")]  # 310 × 30/50


def test_sales_before_and_after_a_split_in_one_year():
    """100 at $20 (1 Jul 2023). Sell 40 at $25 on 1 Aug 2024: cost $800.00, proceeds $1,000.00, gain $200.00.
    A 3-for-1 split adds 120 (60 held → 180) on 1 Sep 2024; sell 90 at $9 on 1 Oct 2024: cost 1,200 × 90/180 =
    $600.00, proceeds $810.00, gain $210.00. Both discountable; 90 left, cost $600.00, acquired 1 Jul 2023."""
    found = gains([trade("2023-07-01", "Buy", 100, 20), trade("2024-08-01", "Sell", 40, 25),
                   trade("2024-09-01", "Split", 120, 0), trade("2024-10-01", "Sell", 90, 9)])
    assert [r[2:] for r in rows(found)] == [(40.0, "800.00", "1000.00", "200.00", True),
                                            (90.0, "600.00", "810.00", "210.00", True)]
    assert held(found) == [("2023-07-01", Fraction(90), "600.00")]


def test_a_consolidation_keeps_a_fraction_of_a_unit_exactly():
    """105 at $1 (1 Jul 2023) and 48 at $2 (1 Jul 2024); a 1-for-10 consolidation takes away 137.7 of 153 units
    (153 → 15.3) on 1 Aug 2024: parcels of 10.5 and 4.8 units, costs unchanged ($105.00, $96.00). Sell 12 at $13 on
    1 Sep 2024 (FIFO): 10.5 of the first, proceeds $136.50, gain $31.50, discountable; 1.5 of the second, cost
    96 × 1.5/4.8 = $30.00, proceeds $19.50, a loss of $10.50. Left: 3.3 units costing $66.00."""
    found = gains([trade("2023-07-01", "Buy", 105, 1), trade("2024-07-01", "Buy", 48, 2),
                   trade("2024-08-01", "Consolidation", "137.7", 0), trade("2024-09-01", "Sell", 12, 13)])
    assert [r[2:] for r in rows(found)] == [(10.5, "105.00", "136.50", "31.50", True),
                                            (1.5, "30.00", "19.50", "-10.50", False)]
    assert held(found) == [("2024-07-01", Fraction(33, 10), "66.00")]


def test_reinvested_dividends_are_parcels_with_their_own_twelve_months():
    """100 at $10 (1 Jul 2023); DRP allotments of 5 at $11 (1 Oct 2023) and 4 at $12.50 (1 Oct 2024). Sell 109 at
    $13 on 2 Jul 2025 (FIFO): the buy ($1,000 → $1,300, +$300.00) and the first DRP ($55 → $65, +$10.00) are past
    12 months; the second (2 Oct 2025) is not: $50 → $52, +$2.00, no discount."""
    found = gains([trade("2023-07-01", "Buy", 100, 10), trade("2023-10-01", "Dividend Reinvestment", 5, 11),
                   trade("2024-10-01", "DRP", 4, "12.50"), trade("2025-07-02", "Sell", 109, 13)])
    assert [(r[0], r[5], r[6]) for r in rows(found)] == [("2023-07-01", "300.00", True), ("2023-10-01", "10.00", True),
                                                         ("2024-10-01", "2.00", False)]


def test_a_split_and_a_reinvested_dividend_in_one_holding():
    """100 at $10 + $10 (1 Jul 2023); DRP 10 at $11 (1 Oct 2023); a 2-for-1 split adds 110 (1 Jan 2024): parcels of
    200 ($1,010) and 20 ($110). Sell 210 at $7 on 1 Aug 2024 (LIFO): the DRP parcel first, 20 units: $110.00 →
    $140.00, +$30.00 (1 Oct 2023 → discount from 2 Oct 2024: no); then 190 of the first: 1,010 × 190/200 = $959.50,
    proceeds $1,330.00, +$370.50, discountable."""
    found = gains([trade("2023-07-01", "Buy", 100, 10, 10), trade("2023-10-01", "DRP", 10, 11),
                   trade("2024-01-01", "Split", 110, 0), trade("2024-08-01", "Sell", 210, 7)], method="lifo")
    assert [r[2:] for r in rows(found)] == [(20.0, "110.00", "140.00", "30.00", False),
                                            (190.0, "959.50", "1330.00", "370.50", True)]


def test_an_opening_balance_is_a_parcel_on_its_date_at_its_cost():
    """Brought in: 50 units on 15 Mar 2022 at $40 (cost $2,000.00). Sold 50 at $45 − $10 on 1 Jul 2024: +$240.00."""
    found = gains([trade("2022-03-15", "Opening Balance", 50, 40), trade("2024-07-01", "Sell", 50, 45, 10)])
    assert rows(found) == [("2022-03-15", "2024-07-01", 50.0, "2000.00", "2240.00", "240.00", True)]


def test_a_return_of_capital_beyond_a_parcels_cost_base_is_a_g1_gain_and_leaves_it_nil():
    """Parcels: 100 at $0.50 (1 Jul 2023, cost $50.00) and 100 at $3 (1 Jul 2024, cost $300.00). $1.00 a unit
    returned on 1 Oct 2024: the first parcel's $100.00 exceeds its $50.00 by $50.00, a G1 gain, discountable (held
    since 1 Jul 2023), cost now nil; the second's cost falls to $200.00. Selling all 200 at $2 on 1 Nov 2024: the
    first +$200.00 from nil; the second $200.00 → $200.00, nothing."""
    found = gains([trade("2023-07-01", "Buy", 100, "0.50"), trade("2024-07-01", "Buy", 100, 3),
                   trade("2024-10-01", "Return of Capital", 200, 1), trade("2024-11-01", "Sell", 200, 2)])
    assert [(d.event, d.acquired.isoformat(), str(d.cost_base), str(d.gain), d.discount_eligible)
            for d in found.disposals] == [("G1", "2023-07-01", "0.00", "50.00", True),
                                          ("A1", "2023-07-01", "0.00", "200.00", True),
                                          ("A1", "2024-07-01", "200.00", "0.00", False)]


def test_a_return_of_capital_given_as_a_total_after_a_consolidation():
    """1,000 at $0.20 (1 Jul 2023, $200.00); a 1-for-10 consolidation takes away 900 (→ 100 units, still $200.00) on
    1 Jan 2024; a return of capital of $50.00 in all (no amount a unit given: 50/100 = $0.50 a unit) on 1 Mar 2024:
    cost $150.00. Sold 100 at $3 on 1 Aug 2024: $150.00 → $300.00, +$150.00, discountable."""
    returned = {**trade("2024-03-01", "Capital Return", 100, None), "value": 50}
    found = gains([trade("2023-07-01", "Buy", 1000, "0.20"), trade("2024-01-01", "Consolidation", 900, 0), returned,
                   trade("2024-08-01", "Sell", 100, 3)])
    assert [r[2:] for r in rows(found)] == [(100.0, "150.00", "300.00", "150.00", True)]


@pytest.mark.parametrize("trades, why", [
    ([trade("2024-01-01", "Split", 100, 0)], "a split on 1 Jan 2024 came when no units were held"),
    ([trade("2024-01-01", "Buy", 10, 1), trade("2024-02-01", "Consolidation", 10, 0)],
     "a consolidation on 1 Feb 2024 takes away 10 units of the 10 held"),
    ([trade("2024-01-01", "Buy", 10, 1), trade("2024-02-01", "Demerger", 10, 0)],
     "a trade of a kind the report can't use (Demerger) on 1 Feb 2024"),
])
def test_actions_that_cant_be_applied_say_why(trades, why):
    with pytest.raises(CannotCompute, match=re.escape(why)):
        gains(trades)


# -- net capital losses carried from year to year -------------------------------------------------------------


def disposal(gain: str, eligible: bool, day=date(2025, 3, 1)) -> Disposal:
    return Disposal("TST", 1, date(2020, 1, 1), day, Fraction(1), D("0"), D(gain), D(gain), eligible)


def test_losses_brought_forward_go_after_this_years_losses_other_gains_first_then_the_discount():
    """Other gains $100.00, discountable $1,000.00, a loss of $50.00 this year, $300.00 brought forward. This
    year's loss: $50.00 against the other gains (left $50.00). Brought forward: $50.00 against the rest of them, then
    $250.00 against the discountable ones (left $750.00). Discount 50 %: $375.00. Net $375.00; nothing carried."""
    s = summarise([disposal("100", False), disposal("1000", True), disposal("-50", False)], HALF, D("300.00"))
    assert (s.brought_forward_on_other, s.brought_forward_on_discountable) == (D("50.00"), D("250.00"))
    assert (s.discount, s.net_capital_gain, s.loss_carried_forward) == (D("375.00"), D("375.00"), D("0.00"))


def test_what_the_gains_cant_absorb_is_carried_forward_with_this_years_own_loss():
    """Discountable $100.00; a loss of $40.00 this year (against it: $60.00 left); $250.00 brought forward: $60.00
    applied, $190.00 left. Net $0.00; carried forward $190.00 (this year's loss was used up first)."""
    s = summarise([disposal("100", True), disposal("-40", True)], HALF, D("250.00"))
    assert (s.net_capital_gain, s.discount, s.loss_carried_forward) == (D("0.00"), D("0.00"), D("190.00"))


def test_a_loss_year_is_carried_into_the_gain_years_after_it():
    """FY2024: 100 at $10 (1 Jul 2023) sold at $6 on 1 Feb 2024: a loss of $400.00. FY2025: 100 at $5 (1 Jul 2024)
    sold at $6 on 1 Mar 2025: +$100.00, not discountable; $100.00 of the $400.00 absorbed: net $0.00, $300.00
    carried into FY2026. With $25.50 from outside the portfolio, FY2026 starts from $325.50."""
    found = [gains([trade("2023-07-01", "Buy", 100, 10), trade("2024-02-01", "Sell", 100, 6),
                    trade("2024-07-01", "Buy", 100, 5), trade("2025-03-01", "Sell", 100, 6)])]
    assert brought_forward_into(found, 2024, HALF) == D("0.00")
    assert brought_forward_into(found, 2025, HALF) == D("400.00")
    fy2025 = summarise(disposals_in(found, 2025), HALF, D("400.00"))
    assert (fy2025.net_capital_gain, fy2025.loss_carried_forward) == (D("0.00"), D("300.00"))
    assert brought_forward_into(found, 2026, HALF) == D("300.00")
    assert brought_forward_into(found, 2026, HALF, D("25.50")) == D("325.50")


# -- wash sales: flagged, never removed ------------------------------------------------------------------------


@pytest.mark.parametrize("sold, again, flagged, working", [
    ("2025-06-20", "2025-07-05", True, "a loss 10 days before 30 June, bought back 15 days later"),
    ("2025-06-01", "2025-07-01", True, "1 June is the 30th day before the year's end; back 30 days later"),
    ("2025-05-31", "2025-06-05", False, "31 May is 30 days before 30 June: outside the last 30 days"),
    ("2025-06-20", "2025-07-21", False, "bought back 31 days later"),
    ("2025-06-20", "2025-06-10", True, "another parcel bought 10 days before the sale"),
])
def test_a_loss_at_the_years_end_with_the_holding_bought_again_is_a_possible_wash_sale(sold, again, flagged, working):
    found = gains([trade("2024-01-10", "Buy", 100, 20), trade(again, "Buy", 10, 15) if again < sold else
                   trade(sold, "Sell", 100, 15), trade(sold, "Sell", 100, 15) if again < sold else trade(again, "Buy", 10, 15)])
    loss = next(d for d in found.disposals if d.gain < 0)
    assert loss.possible_wash_sale is flagged, working
    assert loss.gain < 0  # never removed from the figures


def test_a_gain_is_never_a_wash_sale():
    found = gains([trade("2024-01-10", "Buy", 100, 10), trade("2025-06-20", "Sell", 100, 15),
                   trade("2025-07-01", "Buy", 100, 15)])
    assert not found.disposals[0].possible_wash_sale and found.disposals[0].note == ""


# -- AMIT cost base adjustments, from the trust's income records ----------------------------------------------------


def distribution(ex: str, amit) -> dict:
    return {"exDividendDate": ex + "T00:00:00", "paidDate": ex + "T00:00:00", "netAmount": 5, "amitCostBaseNetAmount": amit}


def amit_gains(trades, income):
    return match(tax_trades(trades, "AUD", "AUD", income), "fifo", HALF, symbol="ETF", holding_id=9)


def test_amit_increases_and_decreases_move_each_parcels_cost_base_by_its_share():
    """100 at $1 (1 Jul 2022) and 300 at $2 (1 Jul 2023). +$40.00 on 30 Jun 2024 (400 held): $10.00 and $30.00
    (costs $110, $630); −$80.00 on 30 Jun 2025: −$20.00 and −$60.00 (costs $90, $570). Sold all at $3 on 1 Aug 2025:
    $300 − $90 = +$210.00 and $900 − $570 = +$330.00."""
    found = amit_gains([trade("2022-07-01", "Buy", 100, 1), trade("2023-07-01", "Buy", 300, 2),
                        trade("2025-08-01", "Sell", 400, 3)],
                       [distribution("2024-06-30", 40), distribution("2025-06-30", "-80.00")])
    assert [(str(d.cost_base), str(d.gain)) for d in found.disposals] == [("90.00", "210.00"), ("570.00", "330.00")]


def test_an_amit_decrease_below_a_parcels_cost_base_is_an_e10_gain_that_year():
    """100 at $0.10 (1 Jul 2022, $10.00) and 100 at $1 (1 Jul 2024, $100.00); −$60.00 on 30 Jun 2025 (200 held):
    $30.00 each. The first's $30 beyond its $10 is $20.00, CGT event E10, discountable, cost nil; the second $70.00."""
    found = amit_gains([trade("2022-07-01", "Buy", 100, "0.10"), trade("2024-07-01", "Buy", 100, 1)],
                       [distribution("2025-06-30", -60)])
    assert [(d.event, str(d.gain), d.discount_eligible) for d in found.disposals] == [("E10", "20.00", True)]
    assert held(found) == [("2022-07-01", Fraction(100), "0.00"), ("2024-07-01", Fraction(100), "70.00")]


def test_an_amit_field_that_cant_be_read_says_so():
    with pytest.raises(CannotCompute, match="AMIT cost base adjustment the report can't read"):
        amit_gains([trade("2022-07-01", "Buy", 100, 1)], [distribution("2024-06-30", "lots")])
