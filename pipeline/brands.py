"""Well-known brands in bank lines, as OpenStreetMap keys (``amenity/cafe``, ``cuisine/burger``).

The catalog (``data/brands.json.gz``, built by ``python -m cli.brand_catalog`` from the
name-suggestion-index package, BSD-3-Clause, see ``data/brands.LICENSE``) lists brands with their
match names, OSM keys and the countries they trade in. The model reads the keys as features, never
as a fixed mapping to a taxonomy: a user's categories need not be ours.

Matching works on feature texts (``normalize.feature_text``) as whole words, longest name first,
greedy left to right, so "whole foods market" beats "whole foods" and "shell" never matches inside
"shellfish". Lines and names are cut into words by one function, ``name_words``, which also drops
apostrophes, because bank lines print "mcdonalds" as often as "mcdonald's". A name shared by
several brands in one country gives the union of their keys rather than nothing: the same chain
is often listed once per kind of shop (Shell as fuel, convenience and car wash), and brands of
one name are mostly of one kind (seven US banks called "First State Bank"), so the union is what
the line says; the model weighs each key. Only a name claimed by more than
``MAX_BRANDS_PER_NAME`` brands that share no key at all is dropped, as a generic word.

    catalog = load_catalog()
    matcher = catalog.matcher("NZ")           # brands valid in New Zealand; None: every brand
    matcher.keys(["countdown akl", "x"])      # [("shop/supermarket",), ()]
    catalog.all_keys()                        # every key, sorted: a fixed column layout
"""

from __future__ import annotations

import gzip
import json
import re
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import msgspec

CATALOG_PATH = Path(__file__).parent / "data" / "brands.json.gz"
FORMAT = 1
WORLD = "001"  # UN M49 code for the whole world, as the name-suggestion-index writes it
MAX_BRANDS_PER_NAME = 3  # more brands than this under one name in one country: a generic word
_APOSTROPHES = str.maketrans("", "", "'\u2019`\u00b4")
_WORD = re.compile(r"[^\W_]+(?:&[^\W_]+)*")  # inner "&" stays: "h&m", "at&t"
_ASCII_WORD = re.compile(r"[a-zA-Z0-9]+(?:&[a-zA-Z0-9]+)*")  # _WORD on ASCII text, where \w is [a-zA-Z0-9_]


def fold_accents(text: str) -> str:
    """``text`` without combining marks ("café" -> "cafe"): bank lines are mostly plain ASCII."""
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))


def name_words(text: str) -> tuple[str, ...]:
    """The words of a feature text or a brand name, as the matcher compares them."""
    if not text.isascii():
        return tuple(_WORD.findall(fold_accents(text).translate(_APOSTROPHES)))
    # Most lines: no apostrophe to drop (the other two are not ASCII), and an ASCII character class,
    # which the regex engine tests faster than a Unicode one (2.9 to 1.4 us a line).
    if "'" in text or "`" in text:
        text = text.translate(_APOSTROPHES)
    return tuple(_ASCII_WORD.findall(text))


class Brand(msgspec.Struct, frozen=True, gc=False):
    """One catalog entry: a brand of one kind of shop (a chain may have several entries).

    A msgspec Struct: a process builds 15,394 of them when it first reads the catalog, in 12.6 ms
    (positionally) against 33.1 for a frozen dataclass (by keyword). Its fields hold only strings,
    so there is no cycle to collect.
    """

    name: str
    names: tuple[str, ...]  # space-joined ``name_words`` of every match name
    keys: tuple[str, ...]
    include: frozenset[str] | None  # upper-case ISO 3166 alpha-2 codes; None: the whole world
    exclude: frozenset[str]
    brand_id: str  # Wikidata id, or the brand tag: what tells two brands of one name apart

    def valid_in(self, country: str | None) -> bool:
        """Whether the brand trades in ``country`` (None: anywhere)."""
        if country is None:
            return True
        if country in self.exclude:
            return False
        return self.include is None or country in self.include


@dataclass(frozen=True, slots=True)
class _Entry:
    keys: tuple[str, ...]
    brands: tuple[str, ...]


class BrandMatcher:
    """Finds catalog brands in feature texts: dict look-ups per word, no regex per brand."""

    def __init__(self, brands: Iterable[Brand]) -> None:
        owners: dict[str, dict[str, set[str]]] = {}  # name -> brand id -> keys
        shown: dict[str, dict[str, None]] = {}  # name -> display names, in catalog order
        for brand in brands:
            for name in brand.names:
                owners.setdefault(name, {}).setdefault(brand.brand_id, set()).update(brand.keys)
                shown.setdefault(name, {})[brand.name] = None
        self._entries: dict[str, _Entry] = {}
        self._longest: dict[str, int] = {}  # first word -> words in the longest name it starts
        for name, by_id in owners.items():
            if len(by_id) > MAX_BRANDS_PER_NAME and not set.intersection(*by_id.values()):
                continue
            self._entries[name] = _Entry(tuple(sorted(set().union(*by_id.values()))), tuple(shown[name]))
            words = name.split(" ")
            self._longest[words[0]] = max(self._longest.get(words[0], 0), len(words))
        self.brand_count = len({b for entry in self._entries.values() for b in entry.brands})

    @property
    def name_count(self) -> int:
        """How many match names the matcher knows."""
        return len(self._entries)

    def keys(self, texts: Sequence[str]) -> list[tuple[str, ...]]:
        """Per feature text, the sorted OSM keys of the brands found in it (empty: none)."""
        result: list[tuple[str, ...]] = []
        for text in texts:
            found = self._find(text)
            if not found:
                result.append(())
            elif len(found) == 1:
                result.append(found[0].keys)
            else:
                result.append(tuple(sorted({key for entry in found for key in entry.keys})))
        return result

    def brands(self, texts: Sequence[str]) -> list[tuple[str, ...]]:
        """Per feature text, the names of the brands found in it, in line order."""
        return [tuple(dict.fromkeys(b for entry in self._find(text) for b in entry.brands)) for text in texts]

    def _find(self, text: str) -> list[_Entry]:
        # The hot path: most lines share no word with any name, which isdisjoint settles in C.
        words = name_words(text)
        longest = self._longest
        if longest.keys().isdisjoint(words):
            return []
        entries, found = self._entries, []
        i, n = 0, len(words)
        while i < n:
            span = longest.get(words[i], 0)
            for length in range(min(span, n - i), 0, -1):
                entry = entries.get(words[i] if length == 1 else " ".join(words[i : i + length]))
                if entry is not None:
                    found.append(entry)
                    i += length
                    break
            else:
                i += 1
        return found


class BrandCatalog:
    """The brands of one catalog file, and a matcher per country built on first use."""

    def __init__(self, header: dict[str, Any], brands: Sequence[Brand]) -> None:
        self.header = header
        self.brands = tuple(brands)
        self._matchers: dict[str | None, BrandMatcher] = {}
        self._lock = threading.Lock()

    def all_keys(self) -> list[str]:
        """Every OSM key in the catalog, sorted: a column layout that does not depend on the country."""
        return sorted({key for brand in self.brands for key in brand.keys})

    def matcher(self, country: str | None) -> BrandMatcher:
        """A matcher over the brands valid in ``country`` (ISO alpha-2, any case; None: all brands)."""
        code = country.upper() if country else None
        with self._lock:
            if code not in self._matchers:
                self._matchers[code] = BrandMatcher(b for b in self.brands if b.valid_in(code))
            return self._matchers[code]


def parse_catalog(document: dict[str, Any]) -> BrandCatalog:
    """A catalog from the decoded JSON document that ``cli.brand_catalog`` writes."""
    if document.get("format") != FORMAT:
        raise ValueError(f"brand catalog format {document.get('format')!r}, expected {FORMAT}")
    keys: list[str] = document["keys"]
    brands = [  # name, names, keys, include, exclude, brand_id
        Brand(name, tuple(names), tuple([keys[i] for i in key_ids]),
              None if include == WORLD else frozenset(include.split()), frozenset(exclude.split()), brand_id)
        for name, names, key_ids, include, exclude, brand_id in document["brands"]
    ]
    return BrandCatalog(document["header"], brands)


def read_catalog(path: Path) -> BrandCatalog:
    """The catalog stored at ``path`` (gzip-compressed JSON)."""
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return parse_catalog(json.load(handle))


@lru_cache(maxsize=4)
def load_catalog(path: Path = CATALOG_PATH) -> BrandCatalog:
    """The shipped catalog (or the one at ``path``), read once per process."""
    return read_catalog(Path(path))


def brand_matcher(country: str | None) -> BrandMatcher:
    """The shipped catalog's matcher for ``country`` (built once per process)."""
    return load_catalog().matcher(country)


def catalog_id() -> str:
    """Which shipped catalog this is: its source package version and the hash of its word list."""
    header = load_catalog().header
    return f"{header.get('version')}/{str(header.get('stopwords_sha256', ''))[:12]}"
