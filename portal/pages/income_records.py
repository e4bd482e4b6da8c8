"""One reader of a Navexa income record (a dividend, a trust distribution, a cash account's interest), for every
page that shows income. No Flask here; amounts are exact fractions in the payment's own currency.

Field names. Public clients of Navexa's API show `paidDate`, `exDividendDate`, `netAmount`, `grossAmount`,
`frankingCredits`, `dividendCurrency` and `exchangeRate`. Navexa's help centre names the rest of what an income
record holds (franked and unfranked amounts, foreign tax withheld, trust income, reinvested, excluded from tax, a
trust's tax components) but not their JSON names: those are guessed, listed once here (GUESSED_FIELDS,
TAX_COMPONENTS, PREFERENCE_FIELD) and in the README. A record that lacks a field a figure needs, or has one that
can't be read, is reported as such (`missing`), never read as nothing.

`exchangeRate` is the portfolio's currency a unit of the payment's (1 when they are the same).
"""

from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction

from .money import exact, financial_year_of
from .reading import as_dict, day_of, text

GUESSED_FIELDS = {  # what the record says → Navexa's field name (guessed)
    "franked": "frankedAmount",  # the franked part of a dividend's cash
    "unfranked": "unfrankedAmount",  # the unfranked part
    "foreign_tax": "foreignTaxWithheld",  # "Foreign Tax Withheld/Offset" in Navexa's income form, a positive amount
    "trust": "isTrustIncome",  # a trust's distribution (an ETF, a managed fund), not a company's dividend
    "excluded": "excludeFromTax",  # "exclude from tax": listed, never added to a tax figure
    "reinvested": "isReinvested",  # paid as units (a DRP): income all the same
    "components": "taxComponents",  # a trust's tax components from its annual statement (AMMA), if entered
}
# A trust's components, as the annual statement gives them: myTax label → Navexa's field name (guessed) inside
# `taxComponents`. Foreign income goes at both 20E and 20M; capital gains are the gross (grossed-up) amount, 18H.
TAX_COMPONENTS = {
    "13U": "nonPrimaryProductionIncome",
    "13C": "frankedDistributions",
    "13Q": "frankingCredits",
    "18H": "capitalGains",
    "20E": "foreignIncome",
    "20O": "foreignIncomeTaxOffset",
}
PREFERENCE_FIELD = "isPreferenceShare"  # on the holding: a preference share's holding period is 90 days, not 45


@dataclass(frozen=True)
class IncomeRecord:
    holding_id: int | None
    symbol: str | None
    name: str | None
    paid: date
    ex_date: date | None
    currency: str | None  # the payment's own
    foreign: bool  # paid in a currency other than the portfolio's
    rate: Fraction | None  # the portfolio's currency a unit of the payment's; None if it can't be read
    net: Fraction | None  # cash received, in the payment's currency
    gross: Fraction | None
    franking: Fraction | None
    franked: Fraction | None
    unfranked: Fraction | None
    foreign_tax: Fraction | None
    trust: bool | None  # None: the record doesn't say
    excluded: bool | None
    reinvested: bool | None
    components: dict = field(default_factory=dict)  # myTax label → amount in the payment's currency
    missing: tuple = ()  # Navexa's names of fields absent or unreadable here (those the reader looks for)

    @property
    def entitled_earlier(self) -> bool:
        """A trust's distribution whose ex-date is in an earlier financial year than its paid date: income of the
        earlier year (a company's dividend is income of the year it is paid, whatever its ex-date)."""
        return bool(self.trust) and self.ex_date is not None and financial_year_of(self.ex_date) < financial_year_of(self.paid)

    def lacks(self, *names: str) -> tuple:
        """Which of these Navexa field names this record lacks or can't be read."""
        return tuple(n for n in names if n in self.missing)


def _flag(record: dict, name: str, missing: list) -> bool | None:
    value = record.get(name)
    if isinstance(value, bool):
        return value
    missing.append(name)
    return None


def _amount(record: dict, name: str, missing: list) -> Fraction | None:
    value = exact(record.get(name))
    if value is None:
        missing.append(name)
    return value


def read(record: dict, holding: dict, base_currency: str | None) -> IncomeRecord | None:
    """One income record; None if it has no readable paid date (it can't be placed in any year)."""
    paid = day_of(record.get("paidDate"))
    if paid is None:
        return None
    missing: list[str] = []
    currency = text(record.get("dividendCurrency")) or text(holding.get("currencyCode")) or base_currency
    foreign = bool(currency and base_currency and currency != base_currency)
    rate = exact(record.get("exchangeRate")) if foreign else Fraction(1)
    if rate is None or rate <= 0:
        rate = None
        missing.append("exchangeRate")
    amounts = {name: _amount(record, name, missing) for name in ("netAmount", "grossAmount", "frankingCredits")}
    parts = {key: _amount(record, GUESSED_FIELDS[key], missing) for key in ("franked", "unfranked", "foreign_tax")}
    flags = {key: _flag(record, GUESSED_FIELDS[key], missing) for key in ("trust", "excluded", "reinvested")}
    given = record.get(GUESSED_FIELDS["components"])
    components = {}
    if given is not None:
        for label, name in TAX_COMPONENTS.items():
            value = as_dict(given).get(name)
            if value is None:
                continue
            amount = exact(value)
            if amount is None:
                missing.append(f"{GUESSED_FIELDS['components']}.{name}")
            else:
                components[label] = amount
        if not isinstance(given, dict):
            missing.append(GUESSED_FIELDS["components"])
    return IncomeRecord(holding.get("id"), text(holding.get("symbol")), text(holding.get("name")), paid,
                        day_of(record.get("exDividendDate")), currency, foreign, rate, amounts["netAmount"],
                        amounts["grossAmount"], amounts["frankingCredits"], parts["franked"], parts["unfranked"],
                        parts["foreign_tax"], flags["trust"], flags["excluded"], flags["reinvested"], components,
                        tuple(missing))


def is_preference(holding: dict) -> bool:
    return as_dict(holding).get(PREFERENCE_FIELD) is True
