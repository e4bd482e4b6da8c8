"""Deterministic demo data for the emulated Navexa API.

Prices move along a fixed curve so that any `from`/`to` window gives stable,
believable numbers: no randomness, no clock beyond the dates asked for.
"""

import math
from dataclasses import dataclass
from datetime import date, timedelta

USERS = {
    "alice": {"sub": "auth0|alice-7f3a91", "name": "Alice Nguyen", "email": "alice@example.com"},
    "bob": {"sub": "auth0|bob-21c94e", "name": "Bob Smith", "email": "bob@example.com"},
    # carol's answers have odd and missing fields; dave has no portfolios: for robustness tests.
    "carol": {"sub": "auth0|carol-5d02aa", "name": "Carol Odd", "email": "carol@example.com"},
    "dave": {"sub": "auth0|dave-90b1c3", "name": "Dave New", "email": "dave@example.com"},
    # erin's trades are chosen to hit the edges of a capital gains report (see TAX_TRADES).
    "erin": {"sub": "auth0|erin-44e0b7", "name": "Erin Tax", "email": "erin@example.com"},
    # frank holds fifty shares in one portfolio: the size a crowd bench needs (bench/many_sessions.py).
    "frank": {"sub": "auth0|frank-3c71d8", "name": "Frank Fifty", "email": "frank@example.com"},
    # grace's portfolio has a corporate action of every kind the capital gains report applies (ACTION_TRADES).
    "grace": {"sub": "auth0|grace-6a19f2", "name": "Grace Actions", "email": "grace@example.com"},
    # ivy's income has every kind a tax return asks for, and franking credits over $5,000 (INCOME_RECORDS); her
    # super fund has a payment that fails the 45-day rule. jack's credits are small: the exemption applies.
    "ivy": {"sub": "auth0|ivy-8e27c4", "name": "Ivy Income", "email": "ivy@example.com"},
    "jack": {"sub": "auth0|jack-1b5d93", "name": "Jack Small", "email": "jack@example.com"},
}

SHARE, ETF, CASH = 1, 1, 3  # Navexa's holdingTypeId: 1 = share or ETF, 3 = cash
BUY, SELL, DEPOSIT, SPLIT = 1, 2, 5, 7  # the sandbox's tradeTypeId values (the portal reads tradeType's text)
# Ids for the other kinds, as the sandbox numbers them (Navexa's own numbers for these are not public).
TRADE_TYPE_IDS = {"Buy": BUY, "Sell": SELL, "Deposit": DEPOSIT, "Split": SPLIT, "Consolidation": 8,
                  "Dividend Reinvestment": 9, "Opening Balance": 10, "Return of Capital": 11, "Demerger": 12}

PORTFOLIOS = {
    101: {"owner": "alice", "name": "Retirement", "baseCurrencyCode": "AUD", "dateCreated": "2019-07-01T00:00:00"},
    102: {"owner": "alice", "name": "US Growth", "baseCurrencyCode": "USD", "dateCreated": "2021-03-15T00:00:00"},
    201: {"owner": "bob", "name": "Family SMSF", "baseCurrencyCode": "AUD", "dateCreated": "2018-02-10T00:00:00"},
    301: {"owner": "carol", "name": None, "baseCurrencyCode": None, "dateCreated": "not a date"},
    302: {"owner": "carol", "name": "Fresh start", "baseCurrencyCode": "AUD", "dateCreated": "2026-11-01T00:00:00"},
    401: {"owner": "erin", "name": "Tax time", "baseCurrencyCode": "AUD", "dateCreated": "2022-07-01T00:00:00"},
    501: {"owner": "frank", "name": "Fifty holdings", "baseCurrencyCode": "AUD", "dateCreated": "2020-01-02T00:00:00"},
    601: {"owner": "grace", "name": "Corporate actions", "baseCurrencyCode": "AUD", "dateCreated": "2021-03-15T00:00:00"},
    701: {"owner": "ivy", "name": "Income", "baseCurrencyCode": "AUD", "dateCreated": "2024-07-01T00:00:00"},
    702: {"owner": "ivy", "name": "Ivy Super Fund", "baseCurrencyCode": "AUD", "dateCreated": "2024-07-01T00:00:00"},
    801: {"owner": "jack", "name": "Small holdings", "baseCurrencyCode": "AUD", "dateCreated": "2024-07-01T00:00:00"},
}

# Answers served as they are for carol's odd portfolio: wrong types, nulls, missing and extra fields.
RAW = {
    "/portfolios/301/holdings": [
        {"id": 9001, "symbol": "ODD", "exchange": "ASX", "name": None, "currencyCode": "AUD", "holdingTypeId": 1,
         "portfolioId": 301, "unexpected": {"nested": True}},
        {"id": 9002, "symbol": None, "exchange": None, "currencyCode": "ZZZ", "portfolioId": 301},
        "not an object",
    ],
    "/portfolios/301/performance": {
        "totalReturn": {"totalValue": "1234.5", "capitalGainValue": None, "dividendReturnValue": True},
        "holdings": [
            {"id": 9001, "currentPrice": "12.3", "totalQuantity": None, "totalReturn": {"totalValue": 1234.5}},
            {"id": 9002, "totalReturn": "broken"},
            {"id": 9003, "symbol": "GHOST", "totalReturn": {"totalValue": 0, "totalReturnPercent": -1.5}},
        ],
    },
    "/holdings/9001/trades": [{"id": 1, "tradeDate": "yesterday", "tradeType": None, "quantity": "ten"}],
    "/holdings/9001/income": [{"id": 1, "paidDate": None, "netAmount": 10.0, "frankingCredits": None}],
}
OWNERS_OF_RAW_HOLDINGS = {9001: "carol", 9002: "carol"}


@dataclass(frozen=True)
class Holding:
    id: int
    portfolio_id: int
    symbol: str
    exchange: str
    name: str
    currency: str
    type_id: int
    quantity: float
    price: float  # current price
    growth: float  # yearly price growth, drives historic prices
    first_bought: date
    dividend_per_unit: float = 0.0  # per payment
    payments_per_year: int = 0
    franking: float = 0.0  # share of the dividend that is franked (ASX only)
    to_base: float = 1.0  # the portfolio's currency a unit of the holding's: performance reports in the portfolio's


HOLDINGS = [
    Holding(1001, 101, "CBA", "ASX", "Commonwealth Bank of Australia", "AUD", SHARE, 120, 151.40, 0.14, date(2019, 8, 5), 2.40, 2, 1.0),
    Holding(1002, 101, "BHP", "ASX", "BHP Group Limited", "AUD", SHARE, 400, 44.75, 0.05, date(2019, 9, 12), 0.85, 2, 1.0),
    Holding(1003, 101, "VAS", "ASX", "Vanguard Australian Shares Index ETF", "AUD", ETF, 250, 101.32, 0.07, date(2020, 4, 2), 0.95, 4, 0.7),
    Holding(1004, 101, "CSL", "ASX", "CSL Limited", "AUD", SHARE, 30, 282.10, 0.02, date(2022, 2, 18), 1.60, 2, 0.1),
    Holding(1005, 101, "AUD", "CASH", "Cash account (AUD)", "AUD", CASH, 12500.00, 1.0, 0.0, date(2019, 7, 1)),
    Holding(2001, 102, "AAPL", "NASDAQ", "Apple Inc.", "USD", SHARE, 45, 228.52, 0.18, date(2021, 3, 16), 0.25, 4),
    Holding(2002, 102, "MSFT", "NASDAQ", "Microsoft Corporation", "USD", SHARE, 20, 423.10, 0.16, date(2021, 4, 9), 0.83, 4),
    Holding(2003, 102, "VOO", "NYSEARCA", "Vanguard S&P 500 ETF", "USD", ETF, 15, 512.80, 0.12, date(2022, 6, 1), 1.70, 4),
    Holding(2004, 102, "USD", "CASH", "Cash account (USD)", "USD", CASH, 3150.00, 1.0, 0.0, date(2021, 3, 15)),
    Holding(3001, 201, "WES", "ASX", "Wesfarmers Limited", "AUD", SHARE, 300, 72.15, 0.09, date(2018, 3, 1), 1.00, 2, 1.0),
    Holding(3002, 201, "TLS", "ASX", "Telstra Group Limited", "AUD", SHARE, 5000, 4.02, 0.01, date(2018, 3, 1), 0.09, 2, 1.0),
    Holding(3003, 201, "NAB", "ASX", "National Australia Bank Limited", "AUD", SHARE, 800, 38.60, 0.08, date(2020, 5, 20), 0.84, 2, 1.0),
    Holding(3004, 201, "AUD", "CASH", "Cash account (AUD)", "AUD", CASH, 48200.00, 1.0, 0.0, date(2018, 2, 10)),
    # erin's "Tax time": units held now are what TAX_TRADES leave (FMG and TLX are Navexa's own idea of them).
    Holding(4001, 401, "WOW", "ASX", "Woolworths Group Limited", "AUD", SHARE, 70, 31.50, 0.02, date(2022, 7, 15)),
    Holding(4002, 401, "ANZ", "ASX", "ANZ Group Holdings Limited", "AUD", SHARE, 120, 30.40, 0.04, date(2024, 2, 29)),
    Holding(4003, 401, "XRO", "ASX", "Xero Limited", "AUD", SHARE, 10, 150.20, -0.05, date(2024, 8, 1)),
    Holding(4004, 401, "AAPL", "NASDAQ", "Apple Inc.", "USD", SHARE, 10, 228.52, 0.18, date(2023, 3, 10), to_base=1.52),
    Holding(4005, 401, "FMG", "ASX", "Fortescue Ltd", "AUD", SHARE, 100, 18.90, 0.01, date(2023, 9, 1)),
    Holding(4006, 401, "TLX", "ASX", "Telix Pharmaceuticals Limited", "AUD", SHARE, 200, 21.00, 0.30, date(2023, 5, 1)),
    Holding(4007, 401, "NDQ", "ASX", "Betashares Nasdaq 100 ETF", "AUD", ETF, 60, 49.80, 0.10, date(2024, 9, 2)),
    Holding(4008, 401, "VGS", "ASX", "Vanguard MSCI Index International Shares ETF", "AUD", ETF, 100, 139.10, 0.08,
            date(2023, 8, 1)),
    # grace's corporate actions: units held now are what ACTION_TRADES leave.
    Holding(6001, 601, "SPL", "ASX", "Split Example Limited", "AUD", SHARE, 30, 8.40, 0.03, date(2022, 8, 1)),
    Holding(6002, 601, "CON", "ASX", "Consolidated Example Limited", "AUD", SHARE, 3.3, 13.20, 0.03, date(2022, 9, 1)),
    Holding(6003, 601, "DRP", "ASX", "Reinvesting Example Limited", "AUD", SHARE, 2, 13.60, 0.03, date(2022, 7, 4)),
    Holding(6004, 601, "ROC", "ASX", "Capital Return Example Limited", "AUD", SHARE, 200, 2.10, 0.02, date(2022, 7, 4)),
    Holding(6005, 601, "OPN", "ASX", "Opening Balance Example Limited", "AUD", SHARE, 0, 46.00, 0.02, date(2021, 3, 15)),
    Holding(6006, 601, "LOS", "ASX", "Loss Example Limited", "AUD", SHARE, 0, 6.20, 0.01, date(2022, 8, 1)),
    Holding(6007, 601, "WSH", "ASX", "Wash Sale Example Limited", "AUD", SHARE, 100, 15.60, 0.01, date(2024, 1, 10)),
    Holding(6008, 601, "DMG", "ASX", "Demerger Example Limited", "AUD", SHARE, 100, 5.50, 0.02, date(2023, 1, 10)),
    Holding(6009, 601, "AMT", "ASX", "Attribution Trust Example ETF", "AUD", ETF, 200, 2.40, 0.02, date(2022, 7, 4)),
    # ivy's and jack's income (INCOME_RECORDS): units held now are what INCOME_TRADES leave.
    Holding(7001, 701, "FFD", "ASX", "Fully Franked Example Limited", "AUD", SHARE, 10000, 21.00, 0.02, date(2024, 7, 1)),
    Holding(7002, 701, "PFD", "ASX", "Partly Franked Example Limited", "AUD", SHARE, 1000, 10.50, 0.02, date(2024, 7, 1)),
    Holding(7003, 701, "UFD", "ASX", "Unfranked Example Limited", "AUD", SHARE, 2000, 5.20, 0.02, date(2024, 7, 1)),
    Holding(7004, 701, "TRU", "ASX", "Statement Trust Example ETF", "AUD", ETF, 1000, 52.00, 0.02, date(2024, 7, 1)),
    Holding(7005, 701, "NST", "ASX", "No Statement Example ETF", "AUD", ETF, 500, 31.00, 0.02, date(2024, 7, 1)),
    Holding(7006, 701, "USX", "NYSE", "US Example Corporation", "USD", SHARE, 100, 104.00, 0.03, date(2024, 7, 1), to_base=1.52),
    Holding(7007, 701, "EXC", "ASX", "Excluded Payment Example Limited", "AUD", SHARE, 100, 10.20, 0.01, date(2024, 7, 1)),
    Holding(7008, 701, "DRP", "ASX", "Reinvested Dividend Example Limited", "AUD", SHARE, 1040, 8.40, 0.02, date(2024, 7, 1)),
    Holding(7009, 701, "AUD", "CASH", "Cash account (AUD)", "AUD", CASH, 20000.00, 1.0, 0.0, date(2024, 7, 1)),
    Holding(7010, 701, "SHT", "ASX", "Short Hold Example Limited", "AUD", SHARE, 0, 31.50, 0.01, date(2026, 2, 10)),
    Holding(7101, 702, "SMF", "ASX", "Super Hold Example Limited", "AUD", SHARE, 0, 21.50, 0.01, date(2026, 4, 1)),
    Holding(7102, 702, "LTH", "ASX", "Long Hold Example Limited", "AUD", SHARE, 1000, 15.80, 0.02, date(2024, 7, 1)),
    Holding(8001, 801, "SHJ", "ASX", "Short Hold Small Example Limited", "AUD", SHARE, 0, 31.50, 0.01, date(2026, 2, 10)),
    Holding(8002, 801, "BNK", "ASX", "Steady Bank Example Limited", "AUD", SHARE, 500, 21.00, 0.02, date(2024, 7, 1)),
] + [  # frank's fifty: made-up ASX codes, prices and dividends that vary by position
    Holding(5001 + i, 501, f"F{i + 1:02}", "ASX", f"Fifty Holdings Company {i + 1}", "AUD", SHARE, 100 + 10 * i,
            round(5 + 3.7 * i, 2), round(0.02 + 0.003 * (i % 9), 3), date(2020, 1 + i % 12, 2 + i % 25),
            round(0.05 + 0.01 * (i % 7), 2), 2, 1.0 if i % 3 else 0.5)
    for i in range(50)
]

# erin's trades, as (day, kind, units, price, brokerage[, exchange rate]): the edges a CGT report must get right.
TAX_TRADES = {
    4001: [  # several parcels at different prices; sales spanning parcels, brokerage on both sides; under FIFO
        ("2022-07-15", "Buy", 100, 30.00, 19.95),  # the 3 Jul 2024 sale takes 50 of the 2023 parcel the day
        ("2023-07-03", "Buy", 100, 34.00, 19.95),  # before its discount (from 4 Jul 2024) and the 4 Jul sale
        ("2024-01-10", "Buy", 50, 29.00, 9.95),  # takes 30 on the first day of it
        ("2024-07-03", "Sell", 150, 36.00, 29.95),
        ("2024-07-04", "Sell", 30, 36.50, 9.95),
    ],
    4002: [("2024-02-29", "Buy", 200, 27.50, 19.95), ("2025-03-01", "Sell", 80, 30.10, 19.95)],  # 29 Feb: from 1 Mar 2025
    4003: [("2024-08-01", "Buy", 50, 160.00, 19.95), ("2025-02-03", "Sell", 40, 130.00, 19.95)],  # a loss
    4004: [("2023-03-10", "Buy", 20, 150.00, 5.00, 1.49), ("2024-11-12", "Sell", 10, 224.00, 5.00, 1.53)],  # US$ in AUD
    4005: [("2023-09-01", "Buy", 100, 20.00, 9.95), ("2024-10-01", "Sell", 150, 22.00, 9.95)],  # more than is held
    4006: [("2023-05-01", "Buy", 100, 10.00, 9.95), ("2024-05-01", "Split", 100, 0.0, 0.0)],  # a kind the report can't use
    4007: [("2024-09-02", "Buy", 60, 45.00, 9.95)],  # and no income at all
    4008: [("2023-08-01", "Buy", 80, 110.00, 9.95), ("2026-06-15", "Buy", 20, 135.00, 9.95)],  # a parcel not a year old
}
# grace's trades, in the same shape: every corporate action the report applies, and one it can't (a demerger).
ACTION_TRADES = {
    6001: [("2022-08-01", "Buy", 100, 10.00, 10.00), ("2023-01-02", "Split", 100, 0.0, 0.0),  # 2-for-1 between buys,
           ("2023-03-01", "Buy", 50, 6.00, 10.00), ("2024-08-01", "Sell", 220, 8.00, 22.00)],  # a sale across both
    6002: [("2022-09-01", "Buy", 105, 1.00, 0.0), ("2024-07-01", "Buy", 48, 2.00, 0.0),
           ("2024-08-01", "Consolidation", 137.7, 0.0, 0.0), ("2024-09-02", "Sell", 12, 13.00, 0.0)],  # 1-for-10: 3.3 left
    6003: [("2022-07-04", "Buy", 100, 10.00, 0.0), ("2023-10-02", "Dividend Reinvestment", 5, 11.00, 0.0),
           ("2024-10-01", "Dividend Reinvestment", 4, 12.50, 0.0), ("2025-03-03", "Sell", 107, 13.00, 0.0)],
    6004: [("2022-07-04", "Buy", 100, 0.50, 0.0), ("2024-07-01", "Buy", 100, 3.00, 0.0),
           ("2024-10-01", "Return of Capital", 200, 1.00, 0.0)],  # $1.00 a unit: more than the first parcel's cost
    6005: [("2021-03-15", "Opening Balance", 50, 40.00, 0.0), ("2024-07-01", "Sell", 50, 45.00, 10.00)],
    6006: [("2022-08-01", "Buy", 100, 10.00, 0.0), ("2023-03-01", "Sell", 100, 6.00, 0.0)],  # a loss year (2022–23)
    6007: [("2024-01-10", "Buy", 100, 20.00, 0.0), ("2025-06-20", "Sell", 100, 15.00, 0.0),  # a loss on 20 June,
           ("2025-07-05", "Buy", 100, 15.20, 0.0)],  # bought back on 5 July: a possible wash sale
    6008: [("2023-01-10", "Buy", 100, 5.00, 0.0), ("2024-05-01", "Demerger", 100, 0.0, 0.0)],  # a kind still unknown
    6009: [("2022-07-04", "Buy", 100, 1.00, 0.0), ("2024-07-01", "Buy", 100, 2.00, 0.0)],  # an AMIT ETF (AMIT_INCOME)
}
# grace's AMIT ETF's distributions, as (ex-dividend day, paid day, cash paid, AMIT cost base net amount): the fund's
# annual statement (AMMA) gives the net amount, an increase (+) in some years and a decrease (−) in others; the last
# drives the first parcel's cost base below nil (a capital gain, CGT event E10).
AMIT_INCOME = {
    6009: [("2023-06-30", "2023-07-14", 4.00, 10.00), ("2024-06-28", "2024-07-12", 6.00, -50.00),
           ("2025-06-30", "2025-07-15", 9.00, -250.00)],
}
# ivy's and jack's trades: bought 20 days before an ex-date and sold 10 days after (SHT, SMF, SHJ: 29 days held, the
# 45-day rule fails); everything else held long before and after its payments.
INCOME_TRADES = {
    7001: [("2024-07-01", "Buy", 10000, 20.00, 0.0)],
    7002: [("2024-07-01", "Buy", 1000, 10.00, 0.0)],
    7003: [("2024-07-01", "Buy", 2000, 5.00, 0.0)],
    7004: [("2024-07-01", "Buy", 1000, 50.00, 0.0)],
    7005: [("2024-07-01", "Buy", 500, 30.00, 0.0)],
    7006: [("2024-07-01", "Buy", 100, 100.00, 0.0, 1.50)],
    7007: [("2024-07-01", "Buy", 100, 10.00, 0.0)],
    7008: [("2024-07-01", "Buy", 1000, 8.00, 0.0), ("2026-03-25", "Dividend Reinvestment", 40, 10.00, 0.0)],
    7010: [("2026-02-10", "Buy", 1000, 30.00, 0.0), ("2026-03-12", "Sell", 1000, 31.00, 0.0)],
    7101: [("2026-04-01", "Buy", 500, 20.00, 0.0), ("2026-05-01", "Sell", 500, 21.00, 0.0)],
    7102: [("2024-07-01", "Buy", 1000, 15.00, 0.0)],
    8001: [("2026-02-10", "Buy", 100, 30.00, 0.0), ("2026-03-12", "Sell", 100, 31.00, 0.0)],
    8002: [("2024-07-01", "Buy", 500, 20.00, 0.0)],
}
TAX_TRADES.update(ACTION_TRADES)
TAX_TRADES.update(INCOME_TRADES)
# erin's income, as (ex-dividend day, paid day, net, franking credits, currency, exchange rate).
TAX_INCOME = {
    4001: [("2024-09-03", "2024-09-27", 65.00, 27.86, "AUD", 1.0), ("2025-03-04", "2025-04-10", 32.90, 14.10, "AUD", 1.0)],
    4004: [("2024-11-08", "2024-11-14", 5.00, 0.0, "USD", 1.53), ("2025-02-10", "2025-02-13", 2.50, 0.0, "USD", 1.59)],
    4008: [("2025-03-31", "2025-04-16", 61.20, 0.0, "AUD", 1.0),
           ("2025-06-30", "2025-07-16", 95.40, 0.0, "AUD", 1.0)],  # a June distribution paid in July
}
# ivy's and jack's income in 2025–26, as (ex-dividend day, paid day, net, franking credits, currency, exchange rate,
# the record's other fields): every field a taxable income report reads. Franking credits at 30 %: franked × 3/7.
INCOME_RECORDS = {
    7001: [("2025-08-20", "2025-09-15", 6000.00, 2571.43, "AUD", 1.0, {"frankedAmount": 6000.00}),
           ("2026-02-20", "2026-03-20", 7000.00, 3000.00, "AUD", 1.0, {"frankedAmount": 7000.00})],
    7002: [("2025-09-01", "2025-09-25", 500.00, 128.57, "AUD", 1.0, {"frankedAmount": 300.00, "unfrankedAmount": 200.00})],
    7003: [("2025-10-01", "2025-10-20", 250.00, 0.0, "AUD", 1.0, {"frankedAmount": 0.0, "unfrankedAmount": 250.00})],
    7004: [("2025-12-31", "2026-01-16", 800.00, 0.0, "AUD", 1.0, {"taxComponents": {  # from the fund's AMMA statement
        "nonPrimaryProductionIncome": 420.00, "frankedDistributions": 150.00, "frankingCredits": 64.29,
        "capitalGains": 180.00, "foreignIncome": 50.00, "foreignIncomeTaxOffset": 7.50}})],
    7005: [("2025-12-31", "2026-01-20", 300.00, 0.0, "AUD", 1.0, {}),  # no statement entered
           ("2026-06-30", "2026-07-15", 450.00, 0.0, "AUD", 1.0, {})],  # June's, paid in July: income of 2025–26
    7006: [("2025-11-07", "2025-11-14", 85.00, 0.0, "USD", 1.55, {"foreignTaxWithheld": 15.00}),  # US 15 % withheld
           ("2026-02-06", "2026-02-13", 85.00, 0.0, "USD", 1.52, {"foreignTaxWithheld": 15.00})],
    7007: [("2025-11-20", "2025-12-01", 40.00, 17.14, "AUD", 1.0, {"frankedAmount": 40.00, "excludeFromTax": True})],
    7008: [("2026-03-02", "2026-03-25", 400.00, 171.43, "AUD", 1.0, {"frankedAmount": 400.00, "isReinvested": True})],
    7009: [("2025-12-31", "2025-12-31", 55.20, 0.0, "AUD", 1.0, {}), ("2026-06-30", "2026-06-30", 61.80, 0.0, "AUD", 1.0, {})],
    7010: [("2026-03-02", "2026-03-20", 900.00, 385.71, "AUD", 1.0, {"frankedAmount": 900.00})],
    7101: [("2026-04-21", "2026-05-10", 350.00, 150.00, "AUD", 1.0, {"frankedAmount": 350.00})],
    7102: [("2025-09-10", "2025-10-01", 700.00, 300.00, "AUD", 1.0, {"frankedAmount": 700.00})],
    8001: [("2026-03-02", "2026-03-20", 90.00, 38.57, "AUD", 1.0, {"frankedAmount": 90.00})],
    8002: [("2025-08-15", "2025-09-10", 350.00, 150.00, "AUD", 1.0, {"frankedAmount": 350.00})],
}
TRUST_WORDS = ("ETF", "Fund", "Trust")  # a holding so named pays a trust's distributions
HOLDINGS_BY_ID = {h.id: h for h in HOLDINGS}

# Prices are "current" as of this day; earlier days are derived from it.
AS_OF = date(2026, 11, 20)


def owner_of_holding(holding_id: int) -> str | None:
    if holding_id in OWNERS_OF_RAW_HOLDINGS:
        return OWNERS_OF_RAW_HOLDINGS[holding_id]
    holding = HOLDINGS_BY_ID.get(holding_id)
    return PORTFOLIOS[holding.portfolio_id]["owner"] if holding else None


def portfolio_json(portfolio_id: int) -> dict:
    p = PORTFOLIOS[portfolio_id]
    return {"id": portfolio_id, "name": p["name"], "dateCreated": p["dateCreated"], "baseCurrencyCode": p["baseCurrencyCode"]}


def holdings_of(portfolio_id: int) -> list[Holding]:
    return [h for h in HOLDINGS if h.portfolio_id == portfolio_id]


# Navexa's classification (GICS-style); ETFs and cash accounts have none.
SECTORS = {"CBA": "Financials", "NAB": "Financials", "BHP": "Materials", "CSL": "Health Care",
           "AAPL": "Information Technology", "MSFT": "Information Technology", "WES": "Consumer Discretionary",
           "TLS": "Communication Services"}


def holding_json(h: Holding) -> dict:
    sector = SECTORS.get(h.symbol) if h.type_id != CASH else None
    return {
        "id": h.id,
        "symbol": h.symbol,
        "exchange": h.exchange,
        "displayExchange": h.exchange.title() if h.type_id == CASH else h.exchange,
        "name": h.name,
        "currencyCode": h.currency,
        "holdingTypeId": h.type_id,
        "portfolioId": h.portfolio_id,
        "dateCreated": h.first_bought.isoformat() + "T00:00:00",
        "classification": {"sector": sector, "industryGroup": None, "industry": None, "subIndustry": None},
    }


def price_on(h: Holding, day: date) -> float:
    """Price of a holding on a day: compound growth back from AS_OF, with a gentle wobble."""
    if h.type_id == CASH:
        return 1.0
    years_back = max((AS_OF - day).days, 0) / 365.25
    wobble = 1 + 0.04 * math.sin(day.toordinal() / 47 + h.id)
    today_wobble = 1 + 0.04 * math.sin(AS_OF.toordinal() / 47 + h.id)
    return round(h.price * (1 + h.growth) ** -years_back * wobble / today_wobble, 2)


def trades_of(h: Holding) -> list[dict]:
    if h.id in TAX_TRADES:
        return [_trade(h, n, date.fromisoformat(day), kind, quantity, price, brokerage, *rate)
                for n, (day, kind, quantity, price, brokerage, *rate) in enumerate(TAX_TRADES[h.id], 1)]
    if h.type_id == CASH:
        return [_trade(h, 1, h.first_bought, "Deposit", h.quantity, 1.0, 0.0)]
    first = round(h.quantity * 0.6)
    second = h.quantity - first + round(h.quantity * 0.1)
    sold = second + first - h.quantity
    later = h.first_bought + timedelta(days=400)
    trades = [
        _trade(h, 1, h.first_bought, "Buy", first, price_on(h, h.first_bought), 9.95),
        _trade(h, 2, later, "Buy", second, price_on(h, later), 9.95),
    ]
    if sold:
        sell_day = later + timedelta(days=300)
        trades.append(_trade(h, 3, sell_day, "Sell", sold, price_on(h, sell_day), 9.95))
    return trades


def _trade(h, n, day, kind, quantity, price, brokerage, exchange_rate=1.0):
    return {
        "id": h.id * 10 + n,
        "holdingId": h.id,
        "tradeDate": day.isoformat() + "T00:00:00",
        "tradeType": kind,
        "tradeTypeId": TRADE_TYPE_IDS[kind],
        "quantity": quantity,
        "price": price,
        "brokerage": brokerage,
        "value": round(quantity * price, 2),
        "currencyCode": h.currency,
        "exchangeRate": exchange_rate,  # the portfolio's currency a unit of the trade's (1 when they are the same)
        "notes": None,
    }


def income_of(h: Holding, start: date | None = None, end: date | None = None) -> list[dict]:
    """Dividends paid on the holding, with franking credits at the 30% company rate."""
    if h.id in AMIT_INCOME:
        return [{**_payment(h, n, date.fromisoformat(ex), date.fromisoformat(paid), net, 0.0, h.currency, 1.0),
                 "isTrustIncome": True, "amitCostBaseNetAmount": amit}
                for n, (ex, paid, net, amit) in enumerate(AMIT_INCOME[h.id], 1)
                if (start is None or date.fromisoformat(paid) >= start) and (end is None or date.fromisoformat(paid) <= end)]
    if h.id in TAX_INCOME or h.id in INCOME_RECORDS:
        rows = INCOME_RECORDS.get(h.id) or [(*row, {}) for row in TAX_INCOME[h.id]]
        return [_payment(h, n, date.fromisoformat(ex), date.fromisoformat(paid), net, franking, currency, rate, **more)
                for n, (ex, paid, net, franking, currency, rate, more) in enumerate(rows, 1)
                if (start is None or date.fromisoformat(paid) >= start) and (end is None or date.fromisoformat(paid) <= end)]
    if not h.payments_per_year:
        return []
    step = 365 // h.payments_per_year
    payments = []
    day, n = h.first_bought + timedelta(days=step), 1
    while day <= AS_OF:
        if (start is None or day >= start) and (end is None or day <= end):
            net = round(h.quantity * h.dividend_per_unit, 2)
            franking = round(net * h.franking * 0.3 / 0.7, 2)
            payments.append(_payment(h, n, day - timedelta(days=28), day, net, franking, h.currency, 1.0,
                                     frankedAmount=round(net * h.franking, 2)))
        day, n = day + timedelta(days=step), n + 1
    return payments


def _payment(h, n, ex_day, paid_day, net, franking, currency, exchange_rate, **more):
    """An income record with every field the portal reads (the guessed names are pages.income_records'); `more`
    overrides the defaults: the franked part is what the credits frank at 30 % (franking × 7/3), the rest unfranked."""
    withheld = more.get("foreignTaxWithheld", 0.0)
    franked = more.get("frankedAmount", min(round(franking * 7 / 3, 2), net))
    record = {
        "id": h.id * 1000 + n,
        "paidDate": paid_day.isoformat() + "T00:00:00",
        "exDividendDate": ex_day.isoformat() + "T00:00:00",
        "netAmount": net,
        "grossAmount": round(net + franking + withheld, 2),
        "frankingCredits": franking,
        "frankedAmount": franked,
        "unfrankedAmount": round(net - franked, 2),
        "foreignTaxWithheld": withheld,
        "total": net,
        "isTrustIncome": any(word in h.name for word in TRUST_WORDS),
        "excludeFromTax": False,
        "isReinvested": False,
        "dividendCurrency": currency,
        "exchangeRate": exchange_rate,  # the portfolio's currency a unit of the dividend's
        "symbol": h.symbol,
        "companyName": h.name,
    }
    return {**record, **more}


def performance(portfolio_id: int, start: date | None, end: date | None) -> dict:
    """Total return of a portfolio between two days, per holding and in all."""
    end = min(end or AS_OF, AS_OF)
    rows = []
    for h in holdings_of(portfolio_id):
        since = max(start or h.first_bought, h.first_bought)
        value = round(h.quantity * price_on(h, end) * h.to_base, 2)
        cost = h.quantity * price_on(h, since) * h.to_base
        gain = round(value - cost, 2)
        dividends = round(sum(p["netAmount"] * p["exchangeRate"] for p in income_of(h, since, end)), 2)
        rows.append({
            "id": h.id,
            "symbol": h.symbol,
            "name": h.name,
            "currentPrice": price_on(h, end),
            "totalQuantity": h.quantity,
            "currencyCode": h.currency,
            "totalReturn": _total_return(value, gain, dividends, cost),
        })
    total_value = sum(r["totalReturn"]["totalValue"] for r in rows)
    for r in rows:
        r["holdingWeight"] = round(100 * r["totalReturn"]["totalValue"] / total_value, 2) if total_value else 0
    cost = sum(r["totalReturn"]["totalValue"] - r["totalReturn"]["capitalGainValue"] for r in rows)
    return {
        "totalReturn": _total_return(
            round(total_value, 2),
            round(sum(r["totalReturn"]["capitalGainValue"] for r in rows), 2),
            round(sum(r["totalReturn"]["dividendReturnValue"] for r in rows), 2),
            cost,
        ),
        "holdings": rows,
    }


def _total_return(value, gain, dividends, cost):
    return {
        "totalValue": value,
        "capitalGainValue": gain,
        "capitalGainPercent": round(100 * gain / cost, 2) if cost else 0,
        "dividendReturnValue": dividends,
        "totalReturnPercent": round(100 * (gain + dividends) / cost, 2) if cost else 0,
    }
