"""Active ISO 4217 currency codes (circulating currencies; no funds or precious metals)."""

ISO_4217 = frozenset(
    [
        "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN",
        "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHF",
        "CLP", "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB",
        "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG",
        "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF",
        "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA",
        "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO",
        "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD",
        "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN",
        "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX",
        "USD", "UYU", "UZS", "VES", "VND", "VUV", "WST", "XAF", "XCD", "XOF", "XPF", "YER", "ZAR", "ZMW",
        "ZWL"
    ]
)

# Currencies of no single country: the euro, and the "X" codes of unions and territories (XAF, XCD, ...).
_SHARED = frozenset(["EUR"])


def country_of_currency(code: str | None) -> str | None:
    """The ISO 3166 country whose brands a line in this currency names: its first two letters (NZD -> NZ).

    None for a shared currency (EUR, X..) or an unknown code.
    """
    if not code or code not in ISO_4217 or code in _SHARED or code.startswith("X"):
        return None
    return code[:2]


def country_of(currencies: list[str | None]) -> str | None:
    """The country of most of a file's rows that name a currency with one (None: no such row)."""
    countries = [c for c in map(country_of_currency, currencies) if c]
    return max(set(countries), key=countries.count) if countries else None
