"""A HARD labeled set: one user's bank export, filed in that user's own taxonomy, as real exports are.

The default generator (``generate.py``) is too kind to judge model changes: a plain baseline
scores 0.97-0.99 on it, against 0.80-0.88 (random split) and 0.48-0.74 (unseen merchants) on real
exports (see MODELING.md). Each file of this one is ONE user of one country:
- a user-made taxonomy of 30-60 classes (``hard_styles``: merges, renames, quirks, splits);
- that country's banks' formats (``hard_banks``), some files lower-cased, some lines cut short;
- national chains (``hard_catalog``; US chains from ``data/merchants.csv``) and many local
  businesses seen once, most with names that say nothing of what they sell;
- brandless lines: transfers to people and own accounts, salaries, fees, interest, ATM, refunds;
- about 1% of rows with a conflicting label (the same description elsewhere in another class).
``merchant`` is the TRUE merchant identity (a chain's stores and descriptors are one merchant; a
person for a transfer; ``salary:<employer>``): the unseen-merchant split must group by it.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from pipeline import hard_catalog as cat
from pipeline.generate import MERCHANTS_PATH
from pipeline.hard_banks import (
    AMOUNT_SCALE,
    ATM_OPERATORS,
    BANK_LINES,
    BANKS,
    CURRENCIES,
    EMPLOYER_WORDS,
    PARTICULARS,
    PROCESSORS,
    Bank,
    government,
)
from pipeline.hard_styles import RENAMES, STYLES, Style
from pipeline.taxonomy import Category, default_taxonomy

COUNTRIES = ("NZ", "AU", "UK", "US")
COLUMNS = ("id", "description", "amount", "currency", "date", "account_id", "category", "merchant")
# Merchant identities of lines that name no brand (people, own accounts, employers, the bank itself).
BRANDLESS = ("person:", "own:", "salary:", "atm:", "bank:", "client:", "landlord:")


@dataclass(frozen=True)
class HardRecipe:
    """Every knob of the hard generator, with its default."""

    rows: int = 2_000  # rows of a file when none is asked for
    months: int = 12  # the span of one export
    start: dt.date = dt.date(2026, 1, 1)
    active_share: float = 0.6  # share of the optional categories of ours a user spends in at all
    weight_sigma: float = 0.8  # how far users differ in how often they spend in a category (log scale)
    chain_share: float = 0.55  # a merchant new to the user is a national chain (else a local business)
    keywordless_share: float = 0.3  # local business names with no word of what they sell
    tail: float = 1.0  # scales every category's rate of new merchants (Pitman-Yor concentration)
    discount: float = 0.5  # Pitman-Yor discount: how heavy the tail of merchants seen once is
    processor_share: float = 0.15  # local businesses paid through SQ *, PAYPAL *, LS ... (per merchant)
    truncate_share: tuple[float, float] = (0.0, 0.4)  # per file: share of lines whose merchant or payee
    truncate_width: tuple[int, int] = (20, 30)  # field is cut to this many characters (as card networks do)
    lower_file_share: float = 0.25  # files printed all in lower case
    quirk_share: float = 0.35  # each of the style's quirks a user adopts
    split_share: float = 0.4  # each of the style's splits a user makes
    split_merchants: float = 0.3  # share of a split category's merchants the split class takes
    rename_share: float = 0.3  # a class the user calls by another name
    label_noise: float = 0.01  # rows given another class than the same description has elsewhere
    classes: tuple[int, int] = (30, 60)  # the rarest classes merge into the style's fallback above the top
    amount_jitter: float = 0.6  # a merchant's amounts vary by this share of its category's sigma
    usual_format: float = 0.6  # share of lines printed the bank's (or the chain's) usual way; the rest vary
    second_bank_share: float = 0.35  # users whose export mixes two banks' formats (a card elsewhere)


HARD_RECIPE = HardRecipe()

_CORE = ("groceries.supermarkets", "income.payroll", "transfers.internal_out", "transfers.internal_in",
         "financial.bank_fees", "transfers.p2p", "food.coffee", "food.restaurants", "food.fast_food",
         "bills.electricity", "bills.mobile_phone", "shopping.online", "health.pharmacy", "income.refunds")
_FREQUENCY = {"groceries.supermarkets": 10, "food.coffee": 6, "food.fast_food": 5, "food.restaurants": 5,
              "transport.fuel": 4, "transfers.p2p": 4, "groceries.convenience": 3, "shopping.online": 3,
              "shopping.general": 3, "transfers.internal_out": 3, "transport.transit": 3, "food.bars": 2,
              "transport.parking": 2, "groceries.liquor": 2, "food.delivery": 2, "food.bakery": 2,
              "shopping.clothing": 2, "transfers.internal_in": 2, "transfers.p2p_received": 2,
              "health.pharmacy": 1.5, "transfers.atm_withdrawal": 1.5, "bills.streaming": 1.5,
              "income.payroll": 1.2, "income.refunds": 1.0, "financial.bank_fees": 1.0}
_LOYAL = ("bills.", "home.rent", "home.mortgage", "home.hoa", "home.insurance", "health.insurance",
          "transport.auto_insurance", "financial.", "education.childcare", "education.tuition",
          "education.student_loans", "health.fitness", "income.", "other.taxes")
_EXPLORER = ("food.restaurants", "food.bars", "food.bakery", "travel.", "shopping.clothing", "shopping.hobbies",
             "shopping.books", "shopping.electronics", "shopping.sporting_goods", "entertainment.", "home.services",
             "home.furniture", "health.doctor", "personal_care.", "other.gifts", "other.charity", "transfers.p2p",
             "education.kids_activities", "other.professional_services", "transport.auto_service")
_KIND = {"transfers.p2p": "pay_out", "transfers.p2p_received": "pay_in", "income.other": "pay_in",
         "income.business": "pay_in", "transfers.internal_out": "own_out", "transfers.internal_in": "own_in",
         "income.payroll": "salary", "transfers.atm_withdrawal": "atm", "income.refunds": "refund",
         "home.rent": "rent", **dict.fromkeys(BANK_LINES, "bank")}
_BILLS = ("bills.", "health.insurance", "home.insurance", "transport.auto_insurance", "financial.life_insurance",
          "financial.loan_payment", "education.student_loans", "home.hoa", "other.taxes", "income.tax_refund",
          "income.government_benefits", "financial.investments")
_FIXED_AMOUNT = ("bill", "salary", "rent")


def kind_of(category: str) -> str:
    """How a category's lines are printed: card, bill, pay_out, pay_in, own_out, own_in, salary, atm, bank, ..."""
    return _KIND.get(category) or ("bill" if category.startswith(_BILLS) else "card")


@dataclass
class _Merchant:
    id: str
    category: str
    descriptors: tuple[str, ...]
    towns: tuple[str, ...]
    numbers: tuple[int, ...]
    median: float
    split_draw: float
    processor: str = ""
    rows: int = 0


@dataclass
class _User:
    style: Style
    mapping: dict[str, str]
    splits: dict[str, str]
    renames: dict[str, str]
    weights: dict[str, float]
    banks: tuple[Bank, ...]
    accounts: tuple[str, ...]
    towns: tuple[str, ...]
    card: str
    lower: bool
    truncate: float
    pools: dict[str, list[_Merchant]] = field(default_factory=lambda: defaultdict(list))
    names: set[str] = field(default_factory=set)


class HardGenerator:
    """One user's labeled export; the same seed and country always give the same rows."""

    def __init__(self, seed: int, country: str = "NZ", rows: int | None = None, *,
                 recipe: HardRecipe = HARD_RECIPE) -> None:
        if country not in COUNTRIES:
            raise ValueError(f"country must be one of {', '.join(COUNTRIES)}")
        if rows is not None and rows < 1:
            raise ValueError("rows must be at least 1")
        self.seed, self.country, self.recipe = seed, country, recipe
        self.count = rows if rows is not None else recipe.rows
        self.rng = np.random.default_rng([seed, COUNTRIES.index(country)])
        self.taxonomy = default_taxonomy()
        self.chains = _chains_by_category(country)
        self.user = self._draw_user()
        self.our_categories: list[str] = []  # behind each row of rows(): the category of ours it was drawn from
        self._rows: list[dict[str, Any]] | None = None

    def rows(self) -> list[dict[str, Any]]:
        """The file's rows in ``COLUMNS`` order, oldest first (the same rows on every call)."""
        if self._rows is None:
            self._rows = self._generate()
        return [dict(row) for row in self._rows]

    def _generate(self) -> list[dict[str, Any]]:
        rng, user = self.rng, self.user
        names = list(user.weights)
        p = np.array([user.weights[c] for c in names])
        picks = rng.choice(len(names), size=self.count, p=p / p.sum())
        days = np.sort(rng.integers(0, self.recipe.months * 30, size=self.count))
        drawn = [(names[i], self._merchant(names[i])) for i in picks]
        labels = self._labels(drawn)
        rows = []
        for n, ((category, merchant), day) in enumerate(zip(drawn, days, strict=True)):
            date = self.recipe.start + dt.timedelta(days=int(day))
            text, account = self._describe(category, merchant, date)
            rows.append({"id": f"h{self.country.lower()}{self.seed}-{n:05d}", "description": text,
                         "amount": self._amount(category, merchant), "currency": CURRENCIES[self.country],
                         "date": date.isoformat(), "account_id": account, "category": labels[n],
                         "merchant": merchant.id})
        self._add_noise(rows)
        self.our_categories = [c for c, _ in drawn]
        return rows

    # -- the user -------------------------------------------------------------------------------
    def _draw_user(self) -> _User:
        rng, recipe, country = self.rng, self.recipe, self.country
        style = STYLES[country]
        mapping = {c: _base_class(style, c) for c in self.taxonomy.categories}
        for category, label in style.quirks:
            if rng.random() < recipe.quirk_share:
                mapping[category] = label
        splits = {c: label for c, label in style.splits if rng.random() < recipe.split_share}
        renames = {old: str(rng.choice(new)) for old, new in RENAMES.items() if rng.random() < recipe.rename_share}
        weights = {}
        for category in self.taxonomy.categories:
            if not self._available(category) or (category not in _CORE and rng.random() > recipe.active_share):
                continue
            weights[category] = _FREQUENCY.get(category, 0.6) * float(np.exp(rng.normal(0, recipe.weight_sigma)))
        banks = BANKS[country]
        first = int(rng.integers(len(banks)))
        chosen = (banks[first],) + ((banks[(first + 1) % len(banks)],) if rng.random() < recipe.second_bank_share
                                    else ())
        towns = tuple(rng.choice(cat.TOWNS[country], size=8, replace=False))
        accounts = tuple(_account(rng, country) for _ in range(int(rng.integers(3, 7))))  # cheque, savings, pots
        low, high = recipe.truncate_share
        return _User(style, mapping, splits, renames, weights, chosen, accounts, towns,
                     card=f"{rng.integers(1000, 9999)}", lower=bool(rng.random() < recipe.lower_file_share),
                     truncate=float(rng.uniform(low, high)))

    def _available(self, category: str) -> bool:
        kind = kind_of(category)
        if kind in ("card", "bill"):
            return bool(self.chains.get(category)) or bool(self._words(category))
        return True

    def _words(self, category: str) -> tuple[str, ...]:
        ours = tuple(k.upper() for k in self.taxonomy.categories[category].keywords)
        return cat.LOCAL_WORDS.get(category, {}).get(self.country, ()) + ours

    # -- merchants ------------------------------------------------------------------------------
    def _merchant(self, category: str) -> _Merchant:
        """A Pitman-Yor draw: a merchant the user has paid before, or a new one (often seen once)."""
        rng, pool = self.rng, self.user.pools[category]
        theta, discount = self._concentration(category)
        total = sum(m.rows for m in pool)
        if not pool or rng.random() < (theta + discount * len(pool)) / (total + theta):
            merchant = self._new_merchant(category)
            if merchant.id not in {m.id for m in pool}:
                pool.append(merchant)
            else:
                merchant = next(m for m in pool if m.id == merchant.id)
        else:
            weights = np.array([m.rows - discount for m in pool])
            merchant = pool[int(rng.choice(len(pool), p=weights / weights.sum()))]
        merchant.rows += 1
        return merchant

    def _concentration(self, category: str) -> tuple[float, float]:
        d = self.recipe.discount
        if category.startswith(_LOYAL):
            return 0.5 * self.recipe.tail, d * 0.2
        if category.startswith(_EXPLORER):
            return 6.0 * self.recipe.tail, min(d * 1.2, 0.9)
        return 2.0 * self.recipe.tail, d * 0.8

    def _new_merchant(self, category: str) -> _Merchant:
        rng, kind = self.rng, kind_of(category)
        info = self.taxonomy.categories[category]
        if kind == "refund":
            return self._refund_merchant()
        if kind in ("card", "bill"):
            words = self._words(category)
            chains = [c for c in self.chains.get(category, ()) if c.id not in self.user.names]
            chains = chains or ([] if words else list(self.chains.get(category, ())))
            if chains and (not words or rng.random() < self.recipe.chain_share):
                chain = chains[int(rng.choice(len(chains), p=_rank_weights(len(chains))))]
                self.user.names.add(chain.id)
                return self._make(chain.id, category, chain.descriptors, info, stores=int(rng.integers(1, 4)))
            name = self._local_name(words, keywordless=kind == "card")
            merchant = self._make(f"local:{name.lower()}", category, (name,), info, stores=1)
            if rng.random() < self.recipe.processor_share:
                merchant.processor = str(rng.choice(PROCESSORS[self.country]))
            return merchant
        ident, descriptors = self._brandless(category, kind)
        return self._make(ident, category, descriptors, info, stores=1)

    def _make(self, ident: str, category: str, descriptors: tuple[str, ...], info: Category, stores: int
              ) -> _Merchant:
        rng = self.rng
        towns = tuple(rng.choice(self.user.towns, size=stores, replace=False))
        median = info.amount_median * AMOUNT_SCALE[self.country] * float(
            np.exp(rng.normal(0, info.amount_sigma * self.recipe.amount_jitter)))
        numbers = tuple(int(n) for n in rng.integers(10, 999, size=stores))
        return _Merchant(ident, category, descriptors, towns, numbers, median, float(rng.random()))

    def _refund_merchant(self) -> _Merchant:
        shops = [m for c, pool in self.user.pools.items() if kind_of(c) == "card" for m in pool]
        if not shops:
            return self._new_merchant("shopping.general")
        weights = np.array([m.rows + 1.0 for m in shops])
        shop = shops[int(self.rng.choice(len(shops), p=weights / weights.sum()))]
        refund = self.taxonomy.categories["income.refunds"]
        return _Merchant(shop.id, "income.refunds", shop.descriptors, shop.towns, shop.numbers,
                         refund.amount_median * AMOUNT_SCALE[self.country], shop.split_draw, shop.processor)

    def _brandless(self, category: str, kind: str) -> tuple[str, tuple[str, ...]]:
        rng, country = self.rng, self.country
        if kind in ("pay_out", "pay_in") and (category == "income.business" or rng.random() < 0.1):
            name = self._company()
            return f"client:{name.lower()}", (name,)
        if kind in ("pay_out", "pay_in"):
            first, last = str(rng.choice(cat.FIRST_NAMES)), str(rng.choice(cat.SURNAMES[country]))
            return f"person:{first} {last}".lower(), (f"{first} {last}", f"{first[0]} {last}", f"{last} {first[0]}")
        if kind in ("own_out", "own_in"):
            account = str(rng.choice(self.user.accounts[1:]))
            return f"own:{account}", (account,)
        if kind == "salary":
            name = self._company()
            return f"salary:{name.lower()}", (name,)
        if kind == "rent":
            if rng.random() < 0.5:
                first, last = str(rng.choice(cat.FIRST_NAMES)), str(rng.choice(cat.SURNAMES[country]))
                return f"landlord:{first} {last}".lower(), (f"{first[0]} {last}",)
            agency = f"{rng.choice(self.user.towns)} {rng.choice(('PROPERTY MANAGEMENT', 'REALTY', 'RENTALS'))}"
            return f"landlord:{agency.lower()}", (agency,)
        if kind == "atm":
            operator = str(rng.choice(ATM_OPERATORS[country]))
            return f"atm:{operator.lower()}", (operator,)
        lines = BANK_LINES[category]
        suffix, descriptors = lines[int(rng.integers(len(lines)))]
        return f"bank:{self.user.banks[0].id}:{suffix}", descriptors

    def _company(self) -> str:
        rng = self.rng
        head = str(rng.choice(cat.SURNAMES[self.country] + cat.MADE_UP + cat.STEMS[self.country]))
        suffix = str(rng.choice(cat.COMPANY_SUFFIXES[self.country]))
        return " ".join(w for w in (head, str(rng.choice(EMPLOYER_WORDS)), suffix) if w)

    def _local_name(self, words: tuple[str, ...], keywordless: bool = True) -> str:
        """A local business name, unique for the user; most name nothing of what they sell."""
        rng, country = self.rng, self.country
        for _ in range(50):
            stem, town = str(rng.choice(cat.STEMS[country])), _place(str(rng.choice(self.user.towns)))
            first, last = str(rng.choice(cat.FIRST_NAMES)), str(rng.choice(cat.SURNAMES[country]))
            adj, noun, made = str(rng.choice(cat.ADJECTIVES)), str(rng.choice(cat.NOUNS)), str(rng.choice(cat.MADE_UP))
            options: tuple[str, ...]
            if words and (not keywordless or rng.random() >= self.recipe.keywordless_share):
                word = words[int(rng.choice(len(words), p=_rank_weights(len(words), 1.0)))]  # common words first
                options = (f"{stem} {word}", f"{town} {word}", f"{first}'S {word}", f"{word} {stem}",
                           f"{last} {word}", f"{made} {word}")
            else:
                options = (f"THE {adj} {noun}", made, f"{stem} {noun}", f"{first}'S", f"{last} & CO",
                           f"{made} {rng.choice(cat.COMPANY_SUFFIXES[country])}".strip(), f"{adj} {noun}",
                           f"{last} {first[0]}", f"{made} {stem}")
            name = str(rng.choice(options))
            if name not in self.user.names:
                self.user.names.add(name)
                return name
        raise RuntimeError("no new local business name")  # pragma: no cover - thousands of combinations

    # -- lines ----------------------------------------------------------------------------------
    def _describe(self, category: str, merchant: _Merchant, date: dt.date) -> tuple[str, str]:
        rng, user = self.rng, self.user
        kind = kind_of(category)
        bank = user.banks[1] if len(user.banks) > 1 and kind == "card" and rng.random() < 0.4 else user.banks[0]
        account = user.accounts[0] if bank is user.banks[0] else f"card-{user.card}"
        store = int(rng.integers(len(merchant.towns)))
        descriptor = self._usual(merchant.descriptors)
        has_town = "{town}" in descriptor
        name = descriptor.replace("{town}", merchant.towns[store]).replace("{n}", str(merchant.numbers[store]))
        if kind in ("card", "refund"):
            name = merchant.processor + name
            if not has_town and rng.random() < 0.5:
                name = f"{name} {merchant.towns[store]}"
            if bank.mixed_case:
                name = " ".join(word.capitalize() for word in name.split())
        if kind != "bank" and rng.random() < user.truncate:  # the merchant field as the card network or the bank cut it
            low, high = self.recipe.truncate_width
            name = name[: int(rng.integers(low, high + 1))].rstrip()
        fields = self._fields(bank, date, name, merchant.towns[store], has_town)
        template = {"card": bank.card, "refund": bank.refund, "pay_out": bank.pay_out, "pay_in": bank.pay_in,
                    "own_out": bank.own_out, "own_in": bank.own_in, "salary": bank.salary, "atm": bank.atm,
                    "rent": bank.pay_out}.get(kind)
        if kind == "bill":
            template = bank.credit if self.taxonomy.categories[category].direction == "in" else bank.bill
        if kind == "rent":
            fields["part"] = str(rng.choice(("RENT", "RENT", "BOND", f"RENT {fields['ref']}")))
        if kind == "atm":
            fields["operator"] = name
        if kind in ("own_out", "own_in"):
            fields["acct"] = name
        text = name.format(**fields) if template is None else self._usual(template).format(**fields)
        text = " ".join(text.split())
        return (text.lower() if user.lower else text), account

    def _usual(self, options: tuple[str, ...]) -> str:
        """Mostly the first way of printing a line (a bank is consistent), now and then another."""
        share = self.recipe.usual_format
        if len(options) == 1 or self.rng.random() < share:
            return options[0]
        return options[1 + int(self.rng.integers(len(options) - 1))]

    def _fields(self, bank: Bank, date: dt.date, name: str, town: str, has_town: bool) -> dict[str, str]:
        rng, user = self.rng, self.user
        part = str(rng.choice(PARTICULARS))
        return {"m": name, "payee": name, "part": part, "code": str(rng.choice(("", "", part[:4], "INV"))),
                "ref": str(rng.choice(("", f"{rng.integers(100, 99999)}", part, f"REF{rng.integers(1000, 9999)}"))),
                "date": date.strftime(bank.date).upper(), "time": f"{rng.integers(6, 23):02d}:{rng.integers(60):02d}",
                "card": user.card, "mask": f"4835-****-****-{user.card}", "seq": f"{rng.integers(10**5, 10**10)}",
                "acct": str(rng.choice(user.accounts[1:])), "town": "" if has_town else town,
                "operator": str(rng.choice(ATM_OPERATORS[self.country]))}

    def _amount(self, category: str, merchant: _Merchant) -> str:
        info = self.taxonomy.categories[category]
        sigma = 0.03 if kind_of(category) in _FIXED_AMOUNT else info.amount_sigma * self.recipe.amount_jitter
        value = max(merchant.median * float(np.exp(self.rng.normal(0, sigma))), 0.5)
        return f"{value if info.direction == 'in' else -value:.2f}"

    # -- labels ---------------------------------------------------------------------------------
    def _labels(self, drawn: list[tuple[str, _Merchant]]) -> list[str]:
        user = self.user
        labels = []
        for category, merchant in drawn:
            label = user.mapping[category]
            if category in user.splits and merchant.split_draw < self.recipe.split_merchants:
                label = user.splits[category]
            labels.append(user.renames.get(label, label))
        counts = Counter(labels)
        fallback = user.renames.get(user.style.fallback, user.style.fallback)
        too_many = len(counts) - self.recipe.classes[1]
        rarest = [label for label, _ in sorted(counts.items(), key=lambda kv: (kv[1], kv[0])) if label != fallback]
        merged = set(rarest[: too_many + (fallback not in counts)]) if too_many > 0 else set()
        return [fallback if label in merged else label for label in labels]

    def _add_noise(self, rows: list[dict[str, Any]]) -> None:
        """About ``label_noise`` of the rows repeat an earlier line of their merchant under another class."""
        rng = self.rng
        classes = sorted({r["category"] for r in rows})
        earlier: dict[str, int] = {}
        candidates = []
        for n, row in enumerate(rows):
            if row["merchant"] in earlier:
                candidates.append((n, earlier[row["merchant"]]))
            earlier[row["merchant"]] = n
        if len(classes) < 2:
            return
        wanted = min(round(len(rows) * self.recipe.label_noise), len(candidates))
        wanted = max(wanted - round(describe(rows)["conflicting_labels"] * len(rows)), 0)  # some arise anyway
        for i in rng.choice(len(candidates), size=wanted, replace=False):
            n, source = candidates[int(i)]
            rows[n]["description"] = rows[source]["description"]
            others = [c for c in classes if c != rows[source]["category"]]
            rows[n]["category"] = str(rng.choice(others))


def _base_class(style: Style, category: str) -> str:
    for key in (category, category.split(".")[0]):  # the category named on its own wins over its group
        for label, members in style.classes.items():
            if key in members:
                return label
    return style.fallback


def _place(town: str) -> str:
    """A town without its state (``PENRITH NSW`` -> ``PENRITH``), as a business name uses it."""
    head, _, state = town.rpartition(" ")
    return head if head and len(state) <= 3 and state.isupper() and state not in ("MT", "ST") else town


def _rank_weights(n: int, exponent: float = 0.5) -> np.ndarray:
    weights = 1.0 / np.arange(1, n + 1) ** exponent
    return np.asarray(weights / weights.sum())


def _account(rng: np.random.Generator, country: str) -> str:
    if country == "NZ":
        return f"{rng.integers(1, 39):02d}-{rng.integers(1000, 9999)}-{rng.integers(10**6, 10**7)}-0{rng.integers(10)}"
    if country == "AU":
        return f"{rng.integers(10, 99)}{rng.integers(1000, 9999)} {rng.integers(10**7, 10**8)}"
    if country == "UK":
        return f"{rng.integers(10, 99)}-{rng.integers(10, 99)}-{rng.integers(10, 99)} {rng.integers(10**7, 10**8)}"
    return f"XXXXXX{rng.integers(1000, 9999)}"


@lru_cache(maxsize=len(COUNTRIES))
def _chains_by_category(country: str) -> dict[str, tuple[cat.Chain, ...]]:
    """The country's chains and government payees by category of ours (US ones from merchants.csv)."""
    with MERCHANTS_PATH.open(newline="", encoding="utf-8") as handle:
        shipped = [cat.Chain(row["name"].lower(), row["category"],
                             tuple(d.strip() for d in row["descriptors"].split("|") if d.strip()))
                   for row in csv.DictReader(handle) if kind_of(row["category"]) in ("card", "bill")]
    local = {"NZ": cat.NZ_CHAINS, "AU": cat.AU_CHAINS, "UK": cat.UK_CHAINS, "US": ()}[country]
    global_ids = {name.lower() for name in cat.GLOBAL_BRANDS}
    chains = list(local) + list(government(country)) + [
        c for c in shipped if country == "US" or c.id in global_ids]
    by_category: dict[str, list[cat.Chain]] = defaultdict(list)
    for chain in chains:
        by_category[chain.category].append(chain)
    return {category: tuple(found) for category, found in by_category.items()}


def describe(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Rows, classes, distinct merchants, and the shares of merchants seen once, brandless rows, conflicting labels."""
    merchants = Counter(r["merchant"] for r in rows)
    by_text: dict[str, Counter[str]] = defaultdict(Counter)
    for r in rows:
        by_text[r["description"]][r["category"]] += 1
    conflicting = sum(c.total() - max(c.values()) for c in by_text.values())
    n = max(len(rows), 1)
    return {"rows": len(rows), "classes": len({r["category"] for r in rows}), "merchants": len(merchants),
            "merchants_seen_once": sum(1 for v in merchants.values() if v == 1) / max(len(merchants), 1),
            "brandless_rows": sum(1 for r in rows if r["merchant"].startswith(BRANDLESS)) / n,
            "conflicting_labels": conflicting / n}
