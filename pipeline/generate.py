"""A deterministic generator of realistic bank lines, labeled, for training, the demo and benchmarks.

The catalog is the shipped merchant list (``data/merchants.csv``) plus local businesses invented
from each category's keywords. Lines carry real-world descriptor noise: processor prefixes,
store numbers, city and state, truncation, dates, masked cards, mixed case.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.taxonomy import Taxonomy, default_taxonomy

MERCHANTS_PATH = Path(__file__).parent / "data" / "merchants.csv"
GENERATED_COUNTRY = "US"  # the merchants, cities and currency of generated lines
CITIES = (
    ("SAN FRANCISCO", "CA"),
    ("LOS ANGELES", "CA"),
    ("OAKLAND", "CA"),
    ("SAN DIEGO", "CA"),
    ("SEATTLE", "WA"),
    ("PORTLAND", "OR"),
    ("DENVER", "CO"),
    ("AUSTIN", "TX"),
    ("HOUSTON", "TX"),
    ("DALLAS", "TX"),
    ("CHICAGO", "IL"),
    ("NEW YORK", "NY"),
    ("BROOKLYN", "NY"),
    ("BOSTON", "MA"),
    ("MIAMI", "FL"),
    ("ORLANDO", "FL"),
    ("ATLANTA", "GA"),
    ("PHOENIX", "AZ"),
    ("SEATTLE", "WA"),
    ("MINNEAPOLIS", "MN"),
    ("DETROIT", "MI"),
    ("PHILADELPHIA", "PA"),
    ("NASHVILLE", "TN"),
    ("CHARLOTTE", "NC"),
    ("SALT LAKE CTY", "UT"),
    ("LAS VEGAS", "NV"),
    ("COLUMBUS", "OH"),
    ("ARLINGTON", "VA"),
    ("WASHINGTON", "DC"),
    ("RALEIGH", "NC"),
)
_LOCAL_PREFIXES = ("SQ *", "TST* ", "SP ", "PAYPAL *", "CLV*", "")
_LOCAL_PREFIX_P = (0.3, 0.15, 0.1, 0.05, 0.05, 0.35)
_CARD_LEADS = ("", "POS DEBIT ", "DEBIT CARD PURCHASE ", "CHECKCARD ", "POS PURCHASE ")
_CARD_LEAD_P = (0.7, 0.1, 0.08, 0.07, 0.05)
_NAME_STEMS = (
    "MAPLE",
    "OAK",
    "PINE",
    "CEDAR",
    "HARBOR",
    "SUNSET",
    "MAIN ST",
    "UNION",
    "GOLDEN",
    "RIVER",
    "LUCKY",
    "BLUE DOOR",
    "RED FOX",
    "NORTHSIDE",
    "EASTSIDE",
    "VILLAGE",
    "CORNER",
    "PARK AVE",
    "HIGHLAND",
    "MISSION",
    "JOE'S",
    "MARIA'S",
    "SAM'S",
    "LINDA'S",
    "DOWNTOWN",
    "HILLTOP",
    "BAYVIEW",
    "GREENLEAF",
    "SILVER",
    "LIBERTY",
    "PACIFIC",
    "ATLAS",
    "PIONEER",
    "SUMMIT",
    "ELM",
    "BIRCH",
)
_NON_CARD_HINTS = ("transfers.", "income.", "financial.")


@dataclass(frozen=True, slots=True)
class Merchant:
    """A merchant of the catalog and how banks print it."""

    name: str
    category: str
    weight: float
    descriptors: tuple[str, ...]
    mcc: str | None
    local: bool


def load_catalog(taxonomy: Taxonomy | None = None, locals_per_category: int = 6) -> list[Merchant]:
    """Shipped merchants plus invented local ones; deterministic."""
    taxonomy = taxonomy or default_taxonomy()
    return list(_national_merchants()) + _local_merchants(taxonomy, locals_per_category)


@lru_cache(maxsize=1)
def _national_merchants() -> tuple[Merchant, ...]:
    with MERCHANTS_PATH.open(newline="", encoding="utf-8") as handle:
        return tuple(
            Merchant(
                name=row["name"],
                category=row["category"],
                weight=float(row["weight"]),
                descriptors=tuple(d.strip() for d in row["descriptors"].split("|") if d.strip()),
                mcc=row["mcc"] or None,
                local=False,
            )
            for row in csv.DictReader(handle)
        )


def _local_merchants(taxonomy: Taxonomy, per_category: int) -> list[Merchant]:
    rng = np.random.default_rng(7)
    merchants = []
    for category in taxonomy.categories.values():
        for _ in range(per_category if category.keywords else 0):
            stem = _NAME_STEMS[rng.integers(len(_NAME_STEMS))]
            word = category.keywords[rng.integers(len(category.keywords))].upper()
            name = f"{stem} {word}"
            mcc = category.mcc[0] if category.mcc else None
            merchants.append(Merchant(name, category.id, 1.0, (name,), mcc, local=True))
    return merchants


def skewed_popularity(catalog: list[Merchant], exponent: float = 1.1) -> np.ndarray:
    """How often each merchant appears: a property of the catalog, the same for every seed.

    Shipped weights skew the chains; local businesses get a Zipf tail over a fixed order.
    """
    order = np.random.default_rng(11).permutation(len(catalog)) + 1
    weights = np.array(
        [
            m.weight if not m.local else 3.0 / (r / 50.0) ** exponent if r > 50 else 3.0
            for m, r in zip(catalog, order, strict=True)
        ]
    )
    return np.asarray(weights / weights.sum())


class Generator:
    """Renders labeled transactions; the same seed always gives the same lines."""

    def __init__(
        self,
        seed: int = 0,
        *,
        catalog: list[Merchant] | None = None,
        taxonomy: Taxonomy | None = None,
        accounts: int = 8,
        start: dt.date = dt.date(2026, 10, 1),
        days: int = 30,
        zipf_exponent: float = 1.1,
    ) -> None:
        self.taxonomy = taxonomy or default_taxonomy()
        self.catalog = catalog if catalog is not None else load_catalog(self.taxonomy)
        self.rng = np.random.default_rng(seed)
        self.seed = seed
        self.accounts = [f"acct-{i + 1:02d}" for i in range(accounts)]
        self.start = start
        self.days = days
        self._popularity = skewed_popularity(self.catalog, zipf_exponent)
        self._store_numbers = {m.name: self.rng.integers(10, 9999, size=8) for m in self.catalog}

    def rows(self, n: int, id_prefix: str | None = None) -> list[dict[str, Any]]:
        """``n`` labeled rows in the transaction contract, plus ``category`` and ``merchant``."""
        return list(self.iter_rows(n, id_prefix))

    def iter_rows(self, n: int, id_prefix: str | None = None) -> Iterator[dict[str, Any]]:
        """Like ``rows`` but lazily, for inputs too large to hold."""
        prefix = id_prefix if id_prefix is not None else f"g{self.seed}-"
        picks = self.rng.choice(len(self.catalog), size=n, p=self._popularity)
        for i, pick in enumerate(picks):
            yield self._row(f"{prefix}{i:08d}", self.catalog[pick])

    def _row(self, txn_id: str, merchant: Merchant) -> dict[str, Any]:
        category = self.taxonomy.categories[merchant.category]
        rng = self.rng
        magnitude = float(np.exp(rng.normal(np.log(category.amount_median), category.amount_sigma)))
        amount = round(max(magnitude, 0.5), 2) * (1 if category.direction == "in" else -1)
        day = self.start + dt.timedelta(days=int(rng.integers(self.days)))
        return {
            "id": txn_id,
            "description": self._describe(merchant, day),
            "amount": f"{amount:.2f}",
            "currency": "USD",
            "date": day.isoformat(),
            "account_id": self.accounts[int(rng.integers(len(self.accounts)))],
            "mcc": merchant.mcc,
            "category": merchant.category,
            "merchant": merchant.name,
        }

    def _describe(self, merchant: Merchant, day: dt.date) -> str:
        rng = self.rng
        base = merchant.descriptors[int(rng.integers(len(merchant.descriptors)))]
        if merchant.category.startswith(_NON_CARD_HINTS) and not merchant.mcc:
            return self._case(self._non_card(base))
        name = self._choice(_LOCAL_PREFIXES, _LOCAL_PREFIX_P) + base if merchant.local else base
        if not merchant.local and rng.random() < 0.6:
            name += f" #{self._store_numbers[merchant.name][rng.integers(8)]}"
        name = name[: int(rng.integers(22, 26))].rstrip()
        parts = [self._choice(_CARD_LEADS, _CARD_LEAD_P) + name]
        if rng.random() < 0.65:
            city, state = CITIES[int(rng.integers(len(CITIES)))]
            parts.append(f"{city} {state}" if rng.random() < 0.8 else state)
        if rng.random() < 0.25:
            parts.insert(0 if rng.random() < 0.3 else len(parts), f"{day.month:02d}/{day.day:02d}")
        if rng.random() < 0.15:
            parts.append(
                f"CARD {rng.integers(1000, 9999)}" if rng.random() < 0.5 else f"XXXX{rng.integers(1000, 9999)}"
            )
        return self._case(" ".join(parts))

    def _non_card(self, base: str) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.35:
            return f"{base} PPD ID: {rng.integers(10**9, 10**10)}"
        if roll < 0.6:
            return f"{base} REF {rng.integers(10**5, 10**8)}"
        if roll < 0.75:
            return f"{base} {rng.integers(1, 13):02d}/{rng.integers(1, 29):02d}"
        return base

    def _case(self, text: str) -> str:
        roll = self.rng.random()
        if roll < 0.85:
            return text.upper()
        return text.title() if roll < 0.95 else text.lower()

    def _choice(self, options: tuple[str, ...], p: tuple[float, ...]) -> str:
        return options[int(self.rng.choice(len(options), p=p))]
