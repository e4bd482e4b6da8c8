"""The sale planner (pages.planner): what a sale adds to its year, and what waiting for the discount saves, by hand;
and the page at the page layer (the sandbox's data in-process), its bad input and its states."""

from datetime import date
from decimal import Decimal as D
from fractions import Fraction
from html import unescape

import pytest

from portal.pages import cgt, planner
from tests.helpers import page

HALF = Fraction(1, 2)


def open_parcel(acquired: str, units, cost) -> cgt.OpenParcel:
    day = date.fromisoformat(acquired)
    return cgt.OpenParcel("TST", 1, day, Fraction(units), D(cost), cgt.discount_from(day), Fraction(cost))


PARCELS = [open_parcel("2025-01-10", 100, "1000"), open_parcel("2026-06-15", 50, "750")]  # $10 and $15 a unit


def test_a_sale_adds_its_gains_to_the_year_and_waiting_for_the_discount_halves_the_young_parcels_part():
    """Sell 150 at $20 on 1 Dec 2026 (FIFO): 100 of the 2025 parcel, $1,000 → $2,000, +$1,000.00, discountable (from
    11 Jan 2026); 50 of the June 2026 parcel, $750 → $1,000, +$250.00, not (from 16 Jun 2027). The year (2026–27, no
    other sales): discount $500.00, net $750.00, all of it this sale's. Waiting to 16 Jun 2027 (197 days): both
    discountable, $1,250.00 − $625.00 = $625.00 added: $125.00 less."""
    sale = planner.plan(PARCELS, Fraction(150), date(2026, 12, 1), Fraction(20), "fifo", HALF, [])
    assert [(d.acquired.isoformat(), str(d.gain), d.discount_eligible) for d in sale.disposals] == [
        ("2025-01-10", "1000.00", True), ("2026-06-15", "250.00", False)]
    assert sale.adds == D("750.00") and sale.fy == 2027
    [wait] = sale.waits
    assert (wait.eligible_from, wait.days_to_go, wait.adds_then, wait.saves(sale.adds)) == (
        date(2027, 6, 16), 197, D("625.00"), D("125.00"))


def test_the_years_other_sales_and_carried_losses_come_first():
    """A loss of $400.00 already made in 2026–27 and $100.00 brought in: selling 100 of the 2025 parcel at $20
    (+$1,000.00, discountable) makes the year $1,000 − $400 − $100 = $500.00, discount $250.00, net $250.00;
    without it the year is a $500.00 loss carried forward (net $0.00): the sale adds $250.00."""
    loss = cgt.Disposal("OTH", 2, date(2024, 1, 1), date(2026, 8, 1), Fraction(1), D("500"), D("100"), D("-400.00"), True)
    earlier = [cgt.HoldingGains("OTH", 2, [loss], [])]
    sale = planner.plan(PARCELS, Fraction(100), date(2026, 12, 1), Fraction(20), "fifo", HALF, earlier, D("100.00"))
    assert sale.adds == D("250.00") and sale.waits == []
    assert sale.year_with_sale.net_capital_gain == D("250.00")


def test_minimise_names_the_parcels_it_would_choose():
    """Sell 50 at $20 by `min`: the young parcel adds $5 a unit with no discount, the old one $10 × 50 % = $5 a unit
    after it; equal, so the older first: 50 of the 2025 parcel, +$500.00. At $14 the young one is a loss
    ($14 − $15): min takes it first, −$50.00."""
    at_20 = planner.plan(PARCELS, Fraction(50), date(2026, 12, 1), Fraction(20), "min", HALF, [])
    assert [(d.acquired.isoformat(), str(d.gain)) for d in at_20.disposals] == [("2025-01-10", "500.00")]
    at_14 = planner.plan(PARCELS, Fraction(50), date(2026, 12, 1), Fraction(14), "min", HALF, [])
    assert [(d.acquired.isoformat(), str(d.gain)) for d in at_14.disposals] == [("2026-06-15", "-50.00")]
    assert at_14.adds == D("0.00") and at_14.year_with_sale.loss_carried_forward == D("50.00")


# -- the page ---------------------------------------------------------------------------------------------------
# erin's 4008 (sandbox/data.py TAX_TRADES): 80 from 1 Aug 2023 and 20 from 15 Jun 2026 (discount from 16 Jun 2027);
# today is 21 Nov 2026.

PLAN = "/portfolios/401/holdings/4008/plan"


@pytest.fixture
def erin(read_as):
    return read_as("erin")


def test_the_planner_shows_the_parcels_and_what_waiting_saves(erin):
    """At Navexa's $139.10 a unit: 80 × 139.10 = $11,128.00 less (80 × $110 + $9.95) = +$2,318.05, discountable;
    20 × 139.10 = $2,782.00 less (20 × $135 + $9.95) = +$72.05, not yet. 2026–27 has no other sale: discount
    2,318.05 / 2 = $1,159.03 (half up), net 72.05 + 2,318.05 − 1,159.03 = $1,231.07. On 16 Jun 2027 both get it:
    2,390.10 / 2 = $1,195.05, so waiting 207 days saves $36.02."""
    html = " ".join(unescape(page(erin, PLAN).text).split())
    assert "Selling 100 on 21 Nov 2026" in html and "VGS" in html
    assert "+$2,318.05" in html and "+$72.05" in html and "$1,231.07" in html
    assert ("The 20 units acquired 15 Jun 2026 get the discount from <strong>16 Jun 2027</strong> (207 days to go). "
            "Sold then at today's value, the sale would add $1,195.05: <strong>$36.02 less</strong>") in html


def test_the_planner_is_linked_from_each_open_holding_on_the_tax_page(erin):
    assert f'href="{PLAN}?method=fifo&amp;entity=individual"' in page(erin, "/portfolios/401/tax").text


@pytest.mark.parametrize("query, says", [
    ("units=-5", "a number above 0 and at most the 100 held"), ("units=ten", "a number above 0"),
    ("units=101", "at most the 100 held"), ("units=0", "a number above 0"), ("units=1e2", "a number above 0"),
    ("date=2026-11-20", "from today (21 Nov 2026)"), ("date=2027-11-22", "a year ahead (21 Nov 2027)"),
    ("date=2027-02-30", "as YYYY-MM-DD"), ("date=tomorrow", "as YYYY-MM-DD"),
])
def test_bad_planner_input_is_a_clear_400_and_nothing_else_changes(erin, query, says):
    response = page(erin, f"{PLAN}?{query}", status=400)
    assert says in unescape(response.text)
    assert page(erin, PLAN).status_code == 200


def test_a_holding_that_cant_be_computed_or_isnt_there(erin):
    assert "can't be planned: its capital gains can't be computed, because a sale of 150 units" in unescape(
        page(erin, "/portfolios/401/holdings/4005/plan").text)
    page(erin, "/portfolios/401/holdings/9999/plan", status=404)


def test_a_planned_sale_records_nothing(erin):
    """Only reads: the tax page is the same before and after a sale is planned."""
    before = page(erin, "/portfolios/401/tax").text
    assert page(erin, PLAN + "?units=10&date=2027-01-05").status_code == 200
    assert page(erin, "/portfolios/401/tax").text == before


def test_a_sale_at_a_loss_leaves_the_loss_to_carry_forward():
    """At $100 a unit (below both parcels' cost) a sale of the 20 young units: 20 × $100 = $2,000 less $2,709.95 =
    −$709.95 (min picks the young parcel, at a loss, first). The year had no other sale: it takes $0.00 off a nil
    gain and leaves a $709.95 loss to carry forward."""
    from portal.pages import planner

    gains = planner.plan([open_parcel("2026-06-15", 20, "2709.95")], Fraction(20), date(2026, 12, 1), Fraction(100),
                         "min", HALF, [])
    assert gains.adds == D("0.00") and gains.year_with_sale.loss_carried_forward == D("709.95")
