"""Build ``pipeline/data/brands.json.gz`` from a name-suggestion-index npm package (BSD-3-Clause).

    npm pack name-suggestion-index@8.0.20260918          # once, by hand: this script never downloads
    python -m cli.brand_catalog --package name-suggestion-index-8.0.20260918.tgz

PATH is the tarball or the folder it unpacks to. What is read from it:

- ``dist/json/nsi.json``: every item of the ``brands/*`` tree (operators, transit and flags are
  not shops). Items marked ``fromTemplate`` are dropped: they are copies of a brand into another
  kind of feature (a bank's ATMs, advertising totems, charge points), which would add keys that
  say nothing about the purchase.
- ``dist/js/nsi.iife.js``: the bundled country-coder's feature properties, which turn a
  ``locationSet`` entry into countries: ISO codes, UN M49 regions ("150" Europe; "001" the world
  stays as it is), alpha-3 codes, Wikidata ids and names. A subdivision ("us-ca") or a custom
  area named after one ("us-ny.geojson") counts as its country; areas given as points or unnamed
  custom shapes are not resolved. Exclusions count only for whole countries and regions. An item
  whose include list resolves to nothing is dropped.
- ``dist/json/genericWords.json``: patterns of names that name no brand ("shop", "n/a").
- ``LICENSE.md``, copied to ``pipeline/data/brands.LICENSE``.

Per item the catalog keeps the display name, the OSM keys (``shop/supermarket`` from the item's
tree path, plus the amenity, shop, tourism, leisure, office and cuisine tags, multi-valued
cuisine split on ";"), the countries and the match names. Match names come from the ``name``,
``brand``, ``name:en``, ``brand:en``, ``official_name``, ``alt_name``, ``short_name`` and
``brand:short`` tags and ``matchNames``, without a trailing "(...)". Each is normalized as lines
are, ``pipeline.brands.name_words(feature_text(name))`` (lower case, digits to 0, apostrophes
dropped, accents folded); a name joined by hyphens or spaces also gets its squashed form
("wal-mart" -> "walmart", "taco bell" -> "tacobell"), since card descriptors squash words.

A name is dropped when:
- it is shorter than 3 characters, has no letter, or is not Latin script after folding accents
  (bank lines in our markets are Latin; the other scripts would only grow the file);
- it is one word found in ``pipeline/data/brand_stopwords.txt`` or in scikit-learn's
  ``ENGLISH_STOP_WORDS``: common English words ("next", "boots", "gap", "target", "subway",
  "shell"), banking words (transfer, payment, card, atm, pos, eftpos, ...) and place words that
  card lines carry ("london", "texas"). Such a brand, matched on one word, fires on far too many
  lines. A name of several common words ("new world", "the market") stays: it must match whole.
  The list also holds kinds of shop ("mart", "pharmacy"): such a name says what, not who;
- it matches one of the package's ``genericWords`` patterns.

The file is one gzip-compressed JSON object: ``format``, ``header`` (source and build, below),
``keys`` (every OSM key, sorted) and ``brands``, one row an item: ``[display name, [match names],
[indexes into keys], include ("001" or ISO alpha-2 codes, space-joined), exclude, brand id]``.

The output is reproducible: the same package and word list give the same bytes (the header
records the package's name, version and the tarball's sha256; gzip carries no timestamp).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import re
import sys
import tarfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from pipeline.brands import FORMAT, WORLD, name_words
from pipeline.normalize import feature_text

DATA = Path(__file__).resolve().parents[1] / "pipeline" / "data"
DEFAULT_OUT = DATA / "brands.json.gz"
DEFAULT_STOPWORDS = DATA / "brand_stopwords.txt"
NSI_JSON = "dist/json/nsi.json"
REGIONS_JS = "dist/js/nsi.iife.js"
GENERIC_JSON = "dist/json/genericWords.json"
LICENSE = "LICENSE.md"
NEEDED = ("package.json", NSI_JSON, REGIONS_JS, GENERIC_JSON, LICENSE)
NAME_TAGS = ("name", "brand", "name:en", "brand:en", "official_name", "alt_name", "short_name", "brand:short")
KEY_TAGS = ("amenity", "shop", "tourism", "leisure", "office", "cuisine")
MIN_NAME_CHARS = 3
_PARENTHESIS = re.compile(r"\s*\([^)]*\)\s*$")
_PROPERTIES = re.compile(r"properties: (\{[^{}]*\})")
_JS_KEY = re.compile(r"([{,]\s*)([A-Za-z0-9_]+):")
_OSM_VALUE = re.compile(r"^[a-z0-9_:.-]+$")


class CatalogError(Exception):
    """The package is not where it was said to be, or not what it should be."""


@dataclass(frozen=True)
class Package:
    """The files the builder reads from the package, and where they came from."""

    source: Path
    files: dict[str, bytes]  # path inside the package ("dist/json/nsi.json") -> content
    tarball_sha256: str | None

    def read(self, name: str) -> bytes:
        """One of the package's files the builder needs."""
        return self.files[name]


def open_package(path: Path) -> Package:
    """The package at ``path``: an ``npm pack`` tarball, or the folder it unpacks to."""
    if not path.exists():
        raise CatalogError(f"{path}: no such file or folder (make it with `npm pack name-suggestion-index@VERSION`)")
    if path.is_dir():
        root = path / "package" if (path / "package" / "package.json").is_file() else path
        if not (root / "package.json").is_file():
            raise CatalogError(f"{path}: no package.json here or in package/: not an unpacked npm package")
        missing = [name for name in NEEDED if not (root / name).is_file()]
        if missing:
            raise CatalogError(f"{root}: missing {', '.join(missing)}")
        return Package(path, {name: (root / name).read_bytes() for name in NEEDED}, None)
    if not tarfile.is_tarfile(path):
        raise CatalogError(f"{path}: not a tarball (expected the .tgz that `npm pack` writes)")
    data = path.read_bytes()
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        files = {name: _read_member(archive, path, "package/" + name) for name in NEEDED}
    return Package(path, files, hashlib.sha256(data).hexdigest())


def _read_member(archive: tarfile.TarFile, path: Path, name: str) -> bytes:
    try:
        member = archive.extractfile(name)
    except KeyError:
        member = None
    if member is None:
        raise CatalogError(f"{path}: {name} is missing from the tarball")
    return member.read()


def read_stopwords(path: Path) -> frozenset[str]:
    """The curated word list (one word a line, "#" starts a comment) plus scikit-learn's stop words."""
    words = set(ENGLISH_STOP_WORDS)
    for line in path.read_text(encoding="utf-8").splitlines():
        words.update(line.split("#", 1)[0].split())
    return frozenset(" ".join(name_words(w)) for w in words)


def region_table(script: str) -> dict[str, frozenset[str]]:
    """Location code (lower case) -> ISO alpha-2 codes, from the country-coder data in the bundle."""
    members: dict[str, set[str]] = {}
    for match in _PROPERTIES.finditer(script):
        try:
            props = json.loads(_JS_KEY.sub(r'\1"\2":', match.group(1)))
        except json.JSONDecodeError:
            continue
        names = [props.get(k) for k in ("iso1A2", "iso1A3", "iso1N3", "wikidata", "nameEn", "m49")]
        codes = [str(c).lower() for c in [*names, *props.get("aliases", [])] if c]
        own = props.get("iso1A2") or props.get("country")  # an area without a code of its own: its country's
        for code in codes if own else ():
            members.setdefault(code, set()).add(own.upper())
        # A region gets its members from their groups. A country made of parts (England, the
        # contiguous US, Hawaii) joins its parts' regions, but not those of its far-flung small
        # territories (the UK's bases on Cyprus would put the UK in Western Asia).
        if own and (props.get("iso1A2") or props.get("level") != "subterritory"):
            for group in props.get("groups", []):
                members.setdefault(str(group).lower(), set()).add(own.upper())
    return {code: frozenset(countries) for code, countries in members.items() if countries}


def resolve(entry: Any, regions: dict[str, frozenset[str]], whole_only: bool) -> frozenset[str] | None:
    """The countries of one ``locationSet`` entry; None when it cannot be resolved (or is partial)."""
    if not isinstance(entry, str):
        return None  # a point with a radius: a local chain, left out
    code = entry.lower()
    if code in regions:
        return regions[code]
    if whole_only:
        return None
    prefix = re.split(r"[-_.]", code, maxsplit=1)[0]  # "us-ca", "us-ny.geojson" -> "us"
    return regions.get(prefix) if len(prefix) == 2 else None


def countries(location: dict[str, Any], regions: dict[str, frozenset[str]]) -> tuple[str, str] | None:
    """(include, exclude) as space-joined codes, include ``WORLD`` for everywhere; None: nowhere known."""
    raw = location.get("include", [])
    if any(isinstance(c, str) and c == WORLD for c in raw):
        include: set[str] | None = None
    else:
        include = set()
        for entry in raw:
            include.update(resolve(entry, regions, whole_only=False) or ())
        if not include:
            return None
    exclude: set[str] = set()
    for entry in location.get("exclude", []):
        exclude.update(resolve(entry, regions, whole_only=True) or ())
    if include is not None:
        include -= exclude
        if not include:
            return None
        exclude = set()
    return (WORLD if include is None else " ".join(sorted(include))), " ".join(sorted(exclude))


def item_keys(path: str, tags: dict[str, str]) -> list[str]:
    """OSM keys of one item: its tree path ("brands/shop/supermarket") and its kind tags."""
    keys = {path.split("/", 1)[1]}
    for tag in KEY_TAGS:
        for value in tags.get(tag, "").split(";"):
            value = value.strip().lower()
            if value and _OSM_VALUE.match(value):
                keys.add(f"{tag}/{value}")
    return sorted(keys)


def match_names(item: dict[str, Any], stopwords: frozenset[str], generic: re.Pattern[str]) -> list[str]:
    """The usable, normalized match names of one item (see the module docstring for the rules)."""
    tags = item.get("tags", {})
    raw = [v for tag in NAME_TAGS for v in tags.get(tag, "").split(";")] + list(item.get("matchNames", []))
    names: dict[str, None] = {}
    for text in raw:
        if generic.search(text.strip().lower()):
            continue
        words = name_words(feature_text(_PARENTHESIS.sub("", text)))
        forms = [" ".join(words)]
        if len(words) > 1 and all(w.isalpha() for w in words):
            forms.append("".join(words))
        for form in forms:
            if usable(form, stopwords):
                names[form] = None
    return list(names)


def usable(name: str, stopwords: frozenset[str]) -> bool:
    """Whether a normalized name may be matched: long enough, Latin, and not a common single word."""
    if len(name) < MIN_NAME_CHARS or not name.isascii() or not any(ch.isalpha() for ch in name):
        return False
    return " " in name or name not in stopwords


def build(package: Package, stopwords: frozenset[str], log: Callable[[str], None]) -> dict[str, Any]:
    """The catalog document for ``package``."""
    meta = json.loads(package.read("package.json"))
    log(f"package {meta.get('name')}@{meta.get('version')} from {package.source}")
    regions = region_table(package.read(REGIONS_JS).decode("utf-8"))
    if "us" not in regions or "150" not in regions:
        raise CatalogError(f"{REGIONS_JS}: no country-coder data found (the package layout has changed)")
    log(f"regions: {len(regions)} location codes resolve to countries")
    generic = re.compile("|".join(json.loads(package.read(GENERIC_JSON))["genericWords"]))
    nsi = json.loads(package.read(NSI_JSON))
    rows, keys, dropped = _rows(nsi["nsi"], regions, stopwords, generic)
    log(f"brands: {len(rows)} kept; dropped {dropped}")
    key_list = sorted(keys)
    key_index = {key: i for i, key in enumerate(key_list)}
    for row in rows:
        row[2] = [key_index[k] for k in row[2]]
    header = {
        "package": meta.get("name"), "version": meta.get("version"),
        "tarball": package.source.name if package.tarball_sha256 else None,
        "tarball_sha256": package.tarball_sha256,
        "nsi_json_sha256": hashlib.sha256(package.read(NSI_JSON)).hexdigest(),
        "nsi_generated": nsi.get("_meta", {}).get("generated"),
        "license": meta.get("license"), "license_file": f"package/{LICENSE} (shipped as brands.LICENSE)",
        "read": [f"package/{NSI_JSON} (brands/* items)", f"package/{REGIONS_JS} (country-coder regions)",
                 f"package/{GENERIC_JSON} (names that are no brand)"],
        "stopwords_sha256": hashlib.sha256("\n".join(sorted(stopwords)).encode()).hexdigest(),
        "built_by": "python -m cli.brand_catalog --package " + package.source.name,
    }
    return {"format": FORMAT, "header": header, "keys": key_list, "brands": rows}


def _rows(trees: dict[str, Any], regions: dict[str, frozenset[str]], stopwords: frozenset[str],
          generic: re.Pattern[str]) -> tuple[list[list[Any]], set[str], dict[str, int]]:
    rows: list[list[Any]] = []
    keys: set[str] = set()
    dropped = {"template": 0, "no known country": 0, "no usable name": 0}
    for path in sorted(trees):
        if not path.startswith("brands/"):
            continue
        for item in trees[path]["items"]:
            if item.get("fromTemplate"):
                dropped["template"] += 1
                continue
            where = countries(item.get("locationSet", {}), regions)
            if where is None:
                dropped["no known country"] += 1
                continue
            names = match_names(item, stopwords, generic)
            if not names:
                dropped["no usable name"] += 1
                continue
            tags = item.get("tags", {})
            item_key = item_keys(path, tags)
            keys.update(item_key)
            brand_id = tags.get("brand:wikidata") or tags.get("brand") or item.get("displayName", "")
            shown = _PARENTHESIS.sub("", item.get("displayName", "")) or names[0]  # "McDonald's (France)"
            rows.append([shown, names, item_key, where[0], where[1], brand_id])
    return rows, keys, dropped


def write(document: dict[str, Any], out: Path) -> int:
    """Write the catalog as gzip-compressed compact JSON with no timestamp; returns its size."""
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":"), sort_keys=False).encode("utf-8")
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
        gz.write(body)
    return out.stat().st_size


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", type=Path, required=True, help="npm pack tarball (.tgz) or its unpacked folder")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="catalog to write (default: %(default)s)")
    parser.add_argument("--stopwords", type=Path, default=DEFAULT_STOPWORDS, help="curated word list")
    args = parser.parse_args(list(argv) if argv is not None else None)
    try:
        package = open_package(args.package)
        document = build(package, read_stopwords(args.stopwords), print)
        size = write(document, args.out)
        licence = args.out.with_name(args.out.name.split(".")[0] + ".LICENSE")
        licence.write_bytes(package.read(LICENSE))
    except CatalogError as error:
        print(f"brand_catalog: {error}", file=sys.stderr)
        return 2
    print(f"wrote {args.out} ({size:,} bytes, {len(document['brands']):,} brands, "
          f"{len(document['keys'])} keys) and {licence}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
