"""How banks of NZ, AU, the UK and the US print lines, and the brandless lines they print.

A bank's templates fill these fields: ``{m}`` the merchant as the card network passes it (often
with its town), ``{payee}`` a person or business paid by transfer or direct debit, ``{part}``,
``{code}`` and ``{ref}`` the particulars, code and reference a payer types, ``{date}`` in the
bank's style, ``{time}``, ``{card}`` a card's last four digits, ``{mask}`` a masked card number,
``{seq}`` a bank's reference number, ``{acct}`` one of the user's own accounts, ``{town}``.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.hard_catalog import Chain, parse_chains


@dataclass(frozen=True, slots=True)
class Bank:
    """One bank's export format: templates per kind of line, its date style and casing."""

    id: str
    card: tuple[str, ...]
    bill: tuple[str, ...]
    pay_out: tuple[str, ...]
    pay_in: tuple[str, ...]
    own_out: tuple[str, ...]
    own_in: tuple[str, ...]
    salary: tuple[str, ...]
    atm: tuple[str, ...]
    refund: tuple[str, ...]
    credit: tuple[str, ...]  # money paid in by an organisation: tax refunds, benefits
    date: str = "%d/%m"
    mixed_case: bool = False  # prints merchants as they registered (Title Case), not upper case


BANKS = {
    "NZ": (
        Bank("westpac nz", card=("POS W/D {m}-{time}", "POS W/D {m}", "DEBIT CARD PURCHASE {m}"),
             bill=("A/P {payee} {ref}", "D/D {payee} {seq}", "{payee} {ref}"),
             pay_out=("{payee} {part} {code} {ref}", "TO {payee} {part}", "A/P {payee} {part}"),
             pay_in=("{payee} {part} {ref}", "FROM {payee} {part}", "D/C {payee} {part}"),
             own_out=("TFR TO {acct}", "TRANSFER TO {acct} {part}"), own_in=("TFR FROM {acct}", "TRANSFER FROM {acct}"),
             salary=("{payee} SALARY", "{payee} WAGES {ref}", "D/C {payee} PAYROLL"),
             atm=("ATM W/D {town}", "ATM WITHDRAWAL {operator} {town}"), refund=("REFUND {m}", "POS CREDIT {m}"),
             credit=("D/C {payee} {ref}", "{payee} {ref}")),
        Bank("kiwibank", card=("{mask} Df {m}", "{m} ;", "VISA PURCHASE {m}"),
             bill=("DIRECT DEBIT {payee} {ref}", "{payee} ;{ref}", "BILL PAYMENT {payee} {ref}"),
             pay_out=("{payee} ;{part} {code} {ref}", "PAYMENT TO {payee} ;{part}", "{payee} ;{part}"),
             pay_in=("{payee} ;{part} {ref}", "DEPOSIT FROM {payee} ;{part}"),
             own_out=("TRANSFER TO {acct}", "TO {acct} ;SAVINGS"), own_in=("TRANSFER FROM {acct}",),
             salary=("{payee} ;SALARY", "{payee} ;WAGES {ref}"), atm=("ATM {town}", "CASH WITHDRAWAL {town}"),
             refund=("{mask} Cr {m}", "REFUND {m}"),
             credit=("{payee} ;{ref}", "DIRECT CREDIT {payee}"), date="%d%b", mixed_case=True),
        Bank("anz nz", card=("{m} {date}", "EFTPOS {m}", "VISA PURCHASE {card} {m}"),
             bill=("{payee} {ref}", "AUTOMATIC PAYMENT {payee} {ref}", "DIRECT DEBIT {payee} {seq}"),
             pay_out=("{payee} {part} {code} {ref}", "ONLINE PAYMENT {payee} {part}", "AP#{seq} TO {payee}"),
             pay_in=("{payee} {part} {code} {ref}", "DIRECT CREDIT {payee} {part}"),
             own_out=("TRANSFER {acct} {part}", "ONLINE TRANSFER TO {acct}"), own_in=("TRANSFER FROM {acct} {part}",),
             salary=("{payee} SALARY {ref}", "PAYROLL {payee}", "{payee} PAY {ref}"),
             atm=("ATM DEBIT {operator} {town}", "CASH {town}"), refund=("REFUND {m}", "EFTPOS REFUND {m}"),
             credit=("DIRECT CREDIT {payee} {ref}", "{payee} {ref}"),
             date="%d/%m/%y"),
        Bank("asb", card=("EFTPOS {m} {date}", "DEBIT CARD {card} {m}", "{m} NZ"),
             bill=("D/D {payee} {ref}", "BILL PAYMENT {payee}", "{payee} AP {seq}"),
             pay_out=("TFR TO {payee} {part} {ref}", "{payee} {part} {code}", "MB TRANSFER {payee} {part}"),
             pay_in=("TFR FROM {payee} {part}", "{payee} {part} {ref}"),
             own_out=("MB TRANSFER TO {acct}", "TFR TO {acct}"), own_in=("MB TRANSFER FROM {acct}", "TFR FROM {acct}"),
             salary=("SALARY {payee}", "{payee} WAGES", "D/C FROM {payee} SALARY"),
             atm=("ATM WITHDRAWAL {town}", "ATM {operator} {town} {time}"), refund=("EFTPOS REFUND {m}", "CREDIT {m}"),
             credit=("D/C FROM {payee} {ref}", "{payee} {ref}")),
    ),
    "AU": (
        Bank("commbank", card=("{m} AU AUS Card xx{card} Value Date: {date}", "{m} AUS Card xx{card}", "{m}"),
             bill=("Direct Debit {seq} {payee} {ref}", "BPAY {payee} {ref}", "{payee} {seq}"),
             pay_out=("Transfer to {payee} NetBank {part}", "Fast Transfer To {payee} {part}",
                      "Osko Payment to {payee}"),
             pay_in=("Transfer from {payee} {part}", "Fast Transfer From {payee} {part}",
                     "Direct Credit {seq} {payee}"),
             own_out=("Transfer to xx{card} CommBank app", "Transfer To {acct} NetBank"),
             own_in=("Transfer from xx{card} CommBank app", "Transfer From {acct}"),
             salary=("Direct Credit {seq} {payee} SALARY", "Salary {payee} {ref}"),
             atm=("Wdl ATM CBA ATM {town}", "ATM Withdrawal {operator} {town}"),
             refund=("Refund {m} AUS Card xx{card}", "Credit {m}"),
             credit=("Direct Credit {seq} {payee} {ref}",), date="%d/%m/%Y", mixed_case=True),
        Bank("nab", card=("VISA DEBIT PURCHASE CARD {card} {m}", "EFTPOS PURCHASE {m}", "{m} {date}"),
             bill=("DIRECT DEBIT {payee} {seq}", "BPAY {payee} {ref}", "ONLINE {seq} {payee}"),
             pay_out=("INTERNET TRANSFER {payee} {part}", "OSKO PAYMENT {payee} {part}", "PAYID TO {payee}"),
             pay_in=("INTERNET TRANSFER {payee} {part}", "OSKO DEPOSIT {payee} {part}"),
             own_out=("INTERNET TRANSFER {acct}", "TRANSFER TO {acct}"), own_in=("TRANSFER FROM {acct}",),
             salary=("{payee} PAY {ref}", "{payee} SALARY", "PAYROLL {payee} {seq}"),
             atm=("ATM WITHDRAWAL {town}", "CASH WITHDRAWAL {operator}"), refund=("VISA DEBIT REFUND {m}",),
             credit=("DIRECT CREDIT {payee} {seq}",)),
        Bank("westpac au", card=("DEBIT CARD PURCHASE {m}", "EFTPOS DEBIT {m} {date}", "{m} AU"),
             bill=("DEBIT {payee} {ref}", "BPAY BILL PAYMENT {payee}", "DIRECT DEBIT {payee}"),
             pay_out=("WITHDRAWAL-OSKO PAYMENT {seq} {payee} {part}", "PAYMENT TO {payee} {part}"),
             pay_in=("DEPOSIT-OSKO PAYMENT {seq} {payee} {part}", "DEPOSIT {payee} {part}"),
             own_out=("WITHDRAWAL ONLINE {seq} TFR {acct}",), own_in=("DEPOSIT ONLINE {seq} TFR {acct}",),
             salary=("DEPOSIT {payee} SALARY {ref}", "DEPOSIT {payee} PAYROLL"),
             atm=("WITHDRAWAL ATM {town}", "ATM {operator} {town}"), refund=("REFUND {m}",),
             credit=("DEPOSIT {payee} {ref}",), date="%d%b"),
    ),
    "UK": (
        Bank("barclays", card=("CARD PAYMENT TO {m} ON {date}", "{m} ON {date} CLP", "{m}"),
             bill=("DIRECT DEBIT TO {payee} REF: {ref}", "DD {payee} {ref}", "BILL PAYMENT TO {payee}"),
             pay_out=("{payee} FPS {part}", "TO {payee} REF {part}", "SO {payee} {part}"),
             pay_in=("{payee} FPS {part}", "FROM {payee} REF {part}"),
             own_out=("TFR {acct}", "TRANSFER TO {acct}"), own_in=("TFR FROM {acct}",),
             salary=("{payee} BGC {ref}", "BGC {payee} SALARY", "{payee} PAYROLL BGC"),
             atm=("CASH {operator} {date} {town}", "CASH WITHDRAWAL AT {operator} {town}"),
             refund=("REFUND FROM {m}", "{m} REFUND"),
             credit=("{payee} BGC {ref}", "BGC {payee}"), date="%d %b"),
        Bank("hsbc", card=("))) {m}", "VIS {m}", "{m} {town}"),
             bill=("DD {payee}", "{payee} DD {ref}", "BP {payee} {ref}"),
             pay_out=("{payee} {part} OBP", "CR {payee} {part}", "SO {payee} {ref}"),
             pay_in=("{payee} {part} CR", "FPI {payee} {part}"),
             own_out=("TFR {acct}", "INTERNET TRANSFER {acct}"), own_in=("TFR {acct} CR",),
             salary=("{payee} SALARY CR", "{payee} {ref} BGC"), atm=("ATM {operator} {town}", "CASH {date} {town}"),
             refund=("CR {m}", "{m} CR"),
             credit=("{payee} CR {ref}",)),
        Bank("monzo", card=("{m}", "{m} {town} GBR", "{m} {date}"),
             bill=("{payee}", "{payee} {ref}"), pay_out=("{payee} {part}", "{payee}"),
             pay_in=("{payee} {part}", "{payee}"), own_out=("SAVINGS POT", "TRANSFER TO POT {part}"),
             own_in=("FROM SAVINGS POT", "POT TRANSFER"), salary=("{payee}", "{payee} SALARY"),
             atm=("CASH AT {operator}", "ATM {town}"), refund=("{m} REFUND",),
             credit=("{payee}",), mixed_case=True),
    ),
    "US": (
        Bank("wells fargo", card=("PURCHASE AUTHORIZED ON {date} {m} S{seq} CARD {card}",
                                  "PURCHASE AUTHORIZED ON {date} {m} P{seq} CARD {card}", "RECURRING PAYMENT {m}"),
             bill=("{payee} {ref} PPD", "{payee} AUTOPAY {seq}", "ONLINE PAYMENT {payee}"),
             pay_out=("ZELLE TO {payee} ON {date} REF # PP{seq}", "ONLINE TRANSFER TO {payee} REF #{seq}"),
             pay_in=("ZELLE FROM {payee} ON {date} REF # PP{seq}", "MOBILE DEPOSIT FROM {payee}"),
             own_out=("ONLINE TRANSFER TO {acct} REF #IB{seq}",), own_in=("ONLINE TRANSFER FROM {acct} REF #IB{seq}",),
             salary=("{payee} PAYROLL {ref} PPD", "{payee} DIR DEP {seq}"),
             atm=("ATM WITHDRAWAL AUTHORIZED ON {date} {town} {seq}", "NON-WF ATM WITHDRAWAL {operator}"),
             refund=("PURCHASE RETURN AUTHORIZED ON {date} {m} CARD {card}",),
             credit=("{payee} {ref} PPD", "{payee} DIR DEP {seq}"), date="%m/%d"),
        Bank("bank of america", card=("CHECKCARD {date} {m} {seq}", "{m} {date} PURCHASE", "POS DEBIT {m}"),
             bill=("{payee} DES:{ref} ID:{seq} INDN:JOHN DOE CO ID:{seq} PPD", "{payee} BILL PAYMENT"),
             pay_out=("Zelle payment to {payee} Conf# {seq}", "VENMO DES:PAYMENT ID:{seq}"),
             pay_in=("Zelle payment from {payee} Conf# {seq}", "VENMO DES:CASHOUT ID:{seq}"),
             own_out=("Online Banking transfer to {acct} Confirmation# {seq}",),
             own_in=("Online Banking transfer from {acct} Confirmation# {seq}",),
             salary=("{payee} DES:PAYROLL ID:{seq} INDN:JOHN DOE CO ID:{seq} PPD", "{payee} DES:DIR DEP ID:{seq}"),
             atm=("BKOFAMERICA ATM {date} #{seq} WITHDRWL {town}", "ATM WITHDRAWAL {operator}"),
             refund=("{m} {date} CREDIT",),
             credit=("{payee} DES:{ref} ID:{seq} PPD",), date="%m%d", mixed_case=True),
        Bank("chase", card=("{m}", "{m} {date}", "DEBIT CARD PURCHASE {m}"),
             bill=("{payee} ACH PMT {ref}", "{payee} WEB PMTS {seq}", "{payee} AUTOPAY"),
             pay_out=("Zelle Payment To {payee} {seq}", "Online Transfer to {payee}"),
             pay_in=("Zelle Payment From {payee} {seq}", "VENMO CASHOUT {payee}"),
             own_out=("Online Transfer to {acct} transaction#: {seq}",),
             own_in=("Online Transfer from {acct} transaction#: {seq}",),
             salary=("{payee} PAYROLL PPD ID: {seq}", "DIRECT DEP {payee}"),
             atm=("ATM WITHDRAWAL {seq} {date} {town}", "NON-CHASE ATM WITHDRAW {operator}"),
             refund=("{m} REFUND",),
             credit=("{payee} PPD ID: {seq}", "{payee} DIRECT DEP"), date="%m/%d"),
    ),
}

# Lines the bank itself prints, by category: (merchant identity suffix, descriptors).
BANK_LINES: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "financial.bank_fees": (("monthly fee", ("MONTHLY A/C FEE", "MONTHLY ACCOUNT FEE", "ACCOUNT FEE",
                                             "ACCT KEEPING FEE")),
                            ("overdrawn fee", ("OVERDRAWN FEE", "OVERDRAFT FEE", "UNARRANGED OD FEE")),
                            ("dishonour fee", ("DISHONOUR FEE", "RETURNED PAYMENT FEE")),
                            ("fx fee", ("INTL TRANSACTION FEE", "FOREIGN CURRENCY FEE", "OFFSHORE SERVICE MARGIN"))),
    "financial.atm_fees": (("atm fee", ("OTHER BANK ATM FEE", "ATM FEE", "NON-NETWORK ATM FEE")),),
    "financial.interest_charged": (("debit interest", ("DEBIT INTEREST", "OVERDRAFT INTEREST", "INTEREST CHARGED")),),
    "income.interest": (("credit interest", ("CREDIT INTEREST", "INTEREST PAID", "BONUS INTEREST", "INT PAID")),),
    "home.mortgage": (("home loan", ("HOME LOAN REPAYMENT", "LOAN REPAYMENT {acct}", "MORTGAGE PMT {seq}")),),
    "transfers.cash_deposit": (("cash deposit", ("CASH DEPOSIT", "DEPOSIT {town}", "BRANCH DEPOSIT")),),
    "transfers.check_deposit": (("cheque deposit", ("CHEQUE DEPOSIT", "MOBILE DEPOSIT", "CHQ DEP {seq}")),),
    "financial.credit_card_payment": (("credit card", ("PAYMENT TO CREDIT CARD", "VISA PAYMENT {mask}",
                                                         "CREDIT CARD REPAYMENT", "ONLINE PAYMENT - THANK YOU")),),
}

# Government and council lines, per country, in the chain format.
GOVERNMENT = {
    "NZ": parse_chains("""
inland revenue | other.taxes | INLAND REVENUE DEPT; IRD TAX PAYMENT; IRD {seq}
christchurch city council | other.taxes | CHRISTCHURCH CITY COUNCIL RATES; CCC RATES {seq}
auckland council | other.taxes | AUCKLAND COUNCIL RATES; AKL COUNCIL {seq}
ird refund | income.tax_refund | IRD REFUND; INLAND REVENUE REFUND; IR TAX REFUND
msd | income.government_benefits | MSD BENEFIT; WINZ {seq}; MINISTRY OF SOCIAL DEV
working for families | income.government_benefits | IRD WFF; WORKING FOR FAMILIES
"""),
    "AU": parse_chains("""
ato | other.taxes | ATO PAYMENT; AUSTRALIAN TAXATION OFFICE; BPAY ATO {seq}
city council rates | other.taxes | CITY OF SYDNEY RATES; BRISBANE CITY COUNCIL; MORELAND CITY COUNCIL
ato refund | income.tax_refund | ATO REFUND; ATO TAX RFD; AUSTRALIAN TAXATION OFFICE REFUND
centrelink | income.government_benefits | CENTRELINK; SERVICES AUSTRALIA {seq}; CENTRELINK FTB
"""),
    "UK": parse_chains("""
hmrc | other.taxes | HMRC SELF ASSESSMENT; HMRC NDDS; HMRC GOV.UK SA
council tax | other.taxes | LB HACKNEY COUNCIL TAX; BRISTOL CITY COUNCIL; LEEDS CITY COUNCIL CT
hmrc refund | income.tax_refund | HMRC REFUND; HMRC TAX REPAYMENT
dwp | income.government_benefits | DWP UC; DWP CHILD BENEFIT; HMRC CHILD BENEFIT
"""),
    "US": (),
}

ATM_OPERATORS = {"NZ": ("ANZ", "ASB", "BNZ", "WESTPAC", "KIWIBANK"), "AU": ("CBA", "NAB", "WESTPAC", "ANZ", "ATMX"),
                 "UK": ("HSBC", "LLOYDS", "NATWEST", "BARCLAYS", "NOTEMACHINE"),
                 "US": ("ALLPOINT", "CARDTRONICS", "CHASE", "BOA", "7-ELEVEN")}
PARTICULARS = ("RENT", "FLAT", "DINNER", "THANKS", "POWER", "BIRTHDAY", "LOAN", "BOARD", "PETROL", "TICKETS",
               "GROCERIES", "BBQ", "KOHA", "XMAS", "HOLIDAY", "BILLS", "SHARE", "REPAY", "INV", "BABYSIT", "")
EMPLOYER_WORDS = ("CONSTRUCTION", "HOLDINGS", "GROUP", "TECHNOLOGIES", "LOGISTICS", "HEALTH", "ENGINEERING",
                  "CONSULTING", "FOODS", "SOLUTIONS", "SERVICES", "PROPERTY", "SYSTEMS", "DIGITAL", "TRADING")
PROCESSORS = {"NZ": ("LS ", "SQ *", "PAYPAL *", "WINDCAVE*"), "AU": ("SQ *", "PAYPAL *", "TYRO ", "ZLR*"),
              "UK": ("SUMUP *", "ZETTLE_*", "SQ *", "PAYPAL *"), "US": ("SQ *", "TST* ", "PAYPAL *", "CLV*", "SP ")}
CURRENCIES = {"NZ": "NZD", "AU": "AUD", "UK": "GBP", "US": "USD"}
AMOUNT_SCALE = {"NZ": 1.6, "AU": 1.5, "UK": 0.8, "US": 1.0}  # the taxonomy's amounts are USD


def government(country: str) -> tuple[Chain, ...]:
    """Tax offices, councils and benefit payers of a country."""
    return GOVERNMENT[country]
