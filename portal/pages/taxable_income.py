"""Taxable income for a financial year, on the labels of an individual's tax return (myTax), and its two CSVs.
No Flask here; amounts in Australian dollars, each payment's rounded to the cent once and the totals their sums.

What goes where (docs/tax.md gives the ATO's references):
- a company's dividend (Navexa's trust-income flag off) is income of the year it is paid: its unfranked amount at
  11S, franked amount at 11T and franking credits at 11U, from the record's own fields;
- a trust's distribution (the flag on) is income of the year it is for, the year of its ex-dividend date (a June
  distribution paid in July is the earlier year's): its taxable parts come from the fund's annual tax statement
  (AMMA); where the record carries them they go at 13U, 13C, 13Q and 20E/20M/20O, and its capital gains are
  named for 18H; the cash received is never taken as its taxable amount;
- a dividend paid in another currency is foreign source income: net plus the foreign tax withheld, each payment
  converted at its own exchange rate, at 20E and 20M; the tax withheld at 20O (the offset's rule: foreign_offset);
- a cash account's income is interest, at 10L;
- a payment marked "exclude from tax" is listed and not added; a reinvested one is income all the same;
- a payment lacking a field its figures need is "incomplete": listed with what it lacks, and every total it would
  have joined is shown as unknown, never as a smaller number;
- capital gains (18H, 18A, 18V) are the capital gains report's for the same year, method and entity.
"""

from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from . import holding_period, money
from .income_records import GUESSED_FIELDS, IncomeRecord
from .reading import cell, csv_text, safe_text
from .trades import CannotCompute, read_trades

LABELS = {
    "10L": "Gross interest",
    "11S": "Unfranked amount",
    "11T": "Franked amount",
    "11U": "Franking credit",
    "13U": "Share of net income from trusts, less capital gains, foreign income and franked distributions",
    "13C": "Franked distributions from trusts",
    "13Q": "Share of franking credit from franked dividends",
    "18H": "Total current year capital gains",
    "18A": "Net capital gain",
    "18V": "Net capital losses carried forward to later income years",
    "20E": "Assessable foreign source income",
    "20M": "Other net foreign source income",
    "20O": "Foreign income tax offset",
}
SHORT = {"13U": "net income", "13C": "franked distributions", "13Q": "franking credits", "20E": "foreign income",
         "20O": "foreign tax offset"}  # a trust's components, as a table cell names them
# who holds the portfolio → the return its totals belong on (an individual's: the labels above)
RETURNS = {"individual": "your individual tax return (myTax)", "smsf": "the fund's SMSF annual return",
           "company": "the company tax return", "trust": "the trust tax return"}
FITO_WITHOUT_LIMIT = Decimal("1000.00")
SMALL_SHAREHOLDER_LIMIT = Decimal("5000.00")
ZERO = Decimal("0.00")


def dollars(amount: Decimal) -> str:
    return f"${amount:,.2f}"


# -- the two rules with a threshold ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Offset:
    paid: Decimal  # the year's foreign tax paid (20O's figure before the limit)
    claim: Decimal | None  # what to claim without more work; None: work out the limit
    rule: str


def foreign_offset(paid: Decimal) -> Offset:
    """The foreign income tax offset: up to $1,000 of foreign tax paid is claimed as it is; over $1,000, either
    claim $1,000 or work out the limit (the ATO's Guide to foreign income tax offset rules)."""
    if paid <= FITO_WITHOUT_LIMIT:
        return Offset(paid, paid, "The year's foreign tax paid is $1,000 or less: claim all of it at 20O.")
    return Offset(paid, None, "The year's foreign tax paid is over $1,000: claim $1,000, or work out your limit with "
                              "the ATO's Guide to foreign income tax offset rules and claim up to it.")


def small_shareholder_exempt(entity: str, credits: Decimal | None) -> bool | None:
    """The holding period rule's small shareholder exemption: an individual whose franking credits for the year
    total $5,000 or less. Never an SMSF, a company or a trust; None when the credits aren't known."""
    if entity != "individual":
        return False
    return None if credits is None else credits <= SMALL_SHAREHOLDER_LIMIT


# -- one payment ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    record: IncomeRecord
    kind: str  # "dividend", "trust", "foreign" or "interest"
    fy: int  # the financial year it is income of
    cash: Decimal | None  # cash received, in AUD
    amounts: dict = field(default_factory=dict)  # label → what this payment adds there, in AUD
    foreign_tax: Decimal | None = None  # in AUD
    trust_gains: Decimal = ZERO  # a trust's capital gains from its statement: for 18H, not in the report's
    problem: str = ""  # why it is incomplete
    check: holding_period.HoldingCheck | None = None  # the 45-day rule, for a franked dividend
    unchecked: str = ""  # why the 45-day rule couldn't be checked

    @property
    def counted(self) -> bool:
        return not self.problem and self.record.excluded is False

    @property
    def needs_statement(self) -> bool:
        return self.kind == "trust" and not self.problem and not self.record.components

    @property
    def credit(self) -> Decimal:
        return self.amounts.get("11U", ZERO)

    @property
    def at_risk(self) -> Decimal:
        """Franking credits that may not be claimable: the 45-day rule failed on some of the units."""
        return self.check.at_risk(self.credit) if self.check and self.counted else ZERO

    @property
    def label(self) -> str:
        return {"dividend": "11", "trust": "13", "foreign": "20E/20M", "interest": "10L"}[self.kind]


def _aud(amount: Fraction | None, rate: Fraction | None) -> Decimal | None:
    return None if amount is None or rate is None else money.cents(amount * rate)


def _lacking(record: IncomeRecord, *names: str) -> str:
    lacks = record.lacks(*names)
    return f"Navexa's record lacks {', '.join(lacks)}" if lacks else ""


def line(record: IncomeRecord, cash_account: bool, trades, today, preference: bool = False) -> Line:
    """One payment read onto its labels; `trades` the holding's (None: Navexa couldn't give them)."""
    fy = money.financial_year_of(record.paid)
    if cash_account:
        kind = "interest"
    elif record.trust:
        kind = "trust"
        fy = money.financial_year_of(record.ex_date or record.paid)
    else:
        kind = "foreign" if record.foreign else "dividend"
    cash = _aud(record.net, record.rate)
    common = ("netAmount", GUESSED_FIELDS["excluded"]) + (() if cash_account else (GUESSED_FIELDS["trust"],))
    if kind == "dividend":
        needs = common + ("frankingCredits", GUESSED_FIELDS["franked"], GUESSED_FIELDS["unfranked"])
    elif kind == "foreign":
        needs = common + ("exchangeRate", GUESSED_FIELDS["foreign_tax"])
    else:
        needs = common + (("exchangeRate",) if record.foreign else ())
    problem = _lacking(record, *needs) or _lacking(record, *(n for n in record.missing if n.startswith(GUESSED_FIELDS["components"])))
    if problem:
        return Line(record, kind, fy, cash, problem=problem)
    if kind == "interest":
        return Line(record, kind, fy, cash, {"10L": cash})
    if kind == "foreign":
        gross = _aud(record.net + record.foreign_tax, record.rate)
        withheld = _aud(record.foreign_tax, record.rate)
        return Line(record, kind, fy, cash, {"20E": gross, "20M": gross, "20O": withheld}, foreign_tax=withheld)
    if kind == "trust":
        parts = {label: _aud(amount, record.rate) for label, amount in record.components.items()}
        gains = parts.pop("18H", ZERO)
        if "20E" in parts:
            parts["20M"] = parts["20E"]
        return Line(record, kind, fy, cash, parts, foreign_tax=parts.get("20O"), trust_gains=gains)
    franked, unfranked = money.cents(record.franked), money.cents(record.unfranked)
    if franked + unfranked != cash:
        return Line(record, kind, fy, cash, problem=f"its franked ({dollars(franked)}) and unfranked ({dollars(unfranked)}) "
                                                    f"amounts don't add up to the {dollars(cash)} paid")
    amounts = {"11S": unfranked, "11T": franked, "11U": money.cents(record.franking)}
    check, unchecked = None, ""
    if amounts["11U"] > 0 and record.excluded is False:
        if record.ex_date is None:
            unchecked = "the payment has no ex-dividend date"
        elif trades is None:
            unchecked = "Navexa couldn't give its trades just now"
        else:
            try:
                check = holding_period.check(read_trades(trades), record.ex_date, today, preference)
            except CannotCompute as error:
                unchecked = str(error)
    return Line(record, kind, fy, cash, amounts, check=check, unchecked=unchecked)


# -- the year ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CapitalGains:
    total_gains: Decimal  # 18H
    net_capital_gain: Decimal  # 18A
    carried_forward: Decimal  # 18V
    problem: str = ""  # why the figures are incomplete (holdings the report couldn't compute)


@dataclass(frozen=True)
class TaxableIncome:
    fy: int
    entity: str
    today_in_year: bool  # the year isn't over: more may be paid
    lines: list[Line]  # the year's payments, by kind then paid date
    missing: list[str]  # holdings whose income Navexa couldn't give: every income total is unknown
    capital: CapitalGains | None  # None: the report can't give Australian-dollar figures

    @property
    def label(self) -> str:
        return money.year_label(self.fy)

    @property
    def individual(self) -> bool:
        return self.entity == "individual"

    def of_kind(self, kind: str) -> list[Line]:
        return [ln for ln in self.lines if ln.kind == kind]

    @property
    def incomplete(self) -> list[Line]:
        return [ln for ln in self.lines if ln.problem]

    @property
    def kinds(self) -> set[str]:
        return {ln.kind for ln in self.lines}

    def total(self, label: str) -> Decimal | None:
        """A label's total over the counted payments; None if any payment that could add to it is incomplete or a
        holding's income is missing (a smaller number would be a wrong one)."""
        if label in ("18H", "18A", "18V"):
            if self.capital is None or self.capital.problem:
                return None
            return {"18H": self.capital.total_gains, "18A": self.capital.net_capital_gain,
                    "18V": self.capital.carried_forward}[label]
        kinds = {"10": ("interest",), "11": ("dividend",), "13": ("trust",), "20": ("foreign", "trust")}[label[:2]]
        if self.missing or any(ln.problem for ln in self.lines if ln.kind in kinds):
            return None
        return sum((ln.amounts.get(label, ZERO) for ln in self.lines if ln.counted and ln.kind in kinds), ZERO)

    @property
    def credits(self) -> Decimal | None:
        """The year's franking credits (11U and 13Q): what the small shareholder exemption is measured by."""
        dividends, trusts = self.total("11U"), self.total("13Q")
        return None if dividends is None or trusts is None else dividends + trusts

    @property
    def exempt(self) -> bool | None:
        return small_shareholder_exempt(self.entity, self.credits)

    @property
    def offset(self) -> Offset | None:
        paid = self.total("20O")
        return None if paid is None else foreign_offset(paid)

    @property
    def failing(self) -> list[Line]:
        return [ln for ln in self.lines if ln.check and ln.check.status == "fails" and ln.counted]

    @property
    def at_risk(self) -> Decimal:
        return sum((ln.at_risk for ln in self.failing), ZERO)

    @property
    def trust_gains(self) -> Decimal:
        return sum((ln.trust_gains for ln in self.lines if ln.counted), ZERO)

    @property
    def needs_statement(self) -> list[Line]:
        return [ln for ln in self.lines if ln.needs_statement and ln.counted]

    def rows(self) -> list[tuple[str, str, Decimal | None]]:
        """(label, what it is, total) for each label this year has something for, in the return's order."""
        shown = []
        for code, words in LABELS.items():
            item = code[:2]
            if item == "10" and "interest" not in self.kinds:
                continue  # interest only where Navexa gives a cash account's income
            if item == "18" and self.capital is None:
                continue
            shown.append((code, words, self.total(code)))
        return shown


KIND_ORDER = {"dividend": 0, "trust": 1, "foreign": 2, "interest": 3}


def build(records: list[tuple[IncomeRecord, bool, object, bool]], fy: int, entity: str, today, missing: list[str],
          capital: CapitalGains | None) -> TaxableIncome:
    """The year's taxable income from every payment read (record, from a cash account, the holding's trades or
    None, a preference share), the holdings whose income Navexa couldn't give, and the year's capital gains."""
    lines = [ln for record, cash_account, trades, preference in records
             if (ln := line(record, cash_account, trades, today, preference)).fy == fy]
    lines.sort(key=lambda ln: (KIND_ORDER[ln.kind], ln.record.paid, ln.record.symbol or ""))
    return TaxableIncome(fy, entity, money.financial_year_of(today) <= fy, lines, sorted(missing), capital)


def years_offered(records, today) -> list[int]:
    """Every financial year from the first payment's to the current one, newest first."""
    current = money.financial_year_of(today)
    first = min((money.financial_year_of(r.ex_date if r.trust and r.ex_date else r.paid) for r, *_ in records),
                default=current - 1)
    return list(range(current, min(first, current - 1) - 1, -1))


# -- the CSVs ---------------------------------------------------------------------------------------------------

CSV_COLUMNS = ("financial_year", "symbol", "paid", "ex_dividend", "kind", "label", "amount_aud", "franked", "unfranked",
               "franking_credits", "foreign_tax_aud", "currency", "amount_original", "exchange_rate", "held_days", "note")
TOTALS_COLUMNS = ("financial_year", "label", "description", "amount_aud", "note")



def note_of(ln: Line, exempt: bool | None) -> str:
    """What a person should know of one payment, in one sentence (the page and the CSV say the same)."""
    notes = []
    if ln.problem:
        notes.append(f"incomplete: {ln.problem}")
    if ln.record.excluded:
        notes.append("excluded from tax: not added")
    if ln.record.reinvested:
        notes.append("reinvested: income all the same")
    if ln.kind == "trust" and not ln.problem:
        notes.append("components from the fund's statement (AMMA)" if ln.record.components else
                     "a trust's distribution: its taxable components come from the fund's annual tax statement (AMMA)")
        if ln.trust_gains:
            notes.append(f"capital gains of {dollars(ln.trust_gains)} go at 18H")
    if ln.check and ln.check.status == "fails":
        notes.append("held under the 45-day rule: exempt as a small shareholder" if exempt else
                     f"45-day rule not met: {dollars(ln.at_risk)} of franking credits may not be claimable")
    elif ln.check and ln.check.status == "pending":
        notes.append(f"45-day rule: still counting until {ln.check.window_end:%-d %b %Y}")
    elif ln.check and ln.check.status == "none":
        notes.append("45-day rule: Navexa's trades show no units held before the ex-dividend date")
    elif ln.unchecked:
        notes.append(f"45-day rule not checked: {ln.unchecked}")
    return "; ".join(notes)


def payments_csv(ti: TaxableIncome) -> str:
    """One row per payment, in CSV_COLUMNS; text cells guarded against spreadsheet formulas."""
    return csv_text(CSV_COLUMNS, (
        [ti.label, safe_text(ln.record.symbol), ln.record.paid.isoformat(),
         ln.record.ex_date.isoformat() if ln.record.ex_date else "", ln.kind, ln.label if ti.individual else "",
         cell(ln.cash), cell(ln.amounts.get("11T")), cell(ln.amounts.get("11S")),
         cell(ln.amounts.get("11U", ln.amounts.get("13Q"))), cell(ln.foreign_tax), safe_text(ln.record.currency),
         cell(money.cents(ln.record.net) if ln.record.net is not None else None), money.rate_text(ln.record.rate),
         cell(ln.check.fewest_days if ln.check else None), safe_text(note_of(ln, ti.exempt))] for ln in ti.lines))


def totals_csv(ti: TaxableIncome) -> str:
    """The year's total on each label (no label codes for a fund, company or trust: the description says it)."""
    def note(code: str, amount) -> str:
        if code == "20O" and ti.offset and ti.offset.claim is None:
            return ti.offset.rule
        return "unknown: a payment or holding is incomplete" if amount is None else ""

    return csv_text(TOTALS_COLUMNS, ([ti.label, code if ti.individual else "", words, cell(amount), note(code, amount)]
                                     for code, words, amount in ti.rows()))

