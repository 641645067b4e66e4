"""The brand catalog: the builder on a hand-made package, the matcher's rules, the shipped file."""

from __future__ import annotations

import io
import itertools
import json
import tarfile

import pytest

from cli.brand_catalog import CatalogError, main, open_package
from pipeline.brands import _WORD, CATALOG_PATH, Brand, BrandMatcher, load_catalog, name_words, read_catalog
from pipeline.normalize import feature_text

# The country-coder properties the real package bundles in dist/js/nsi.iife.js, cut to a few places.
PLACES = [
    'm49: "001", nameEn: "World", level: "world"',
    'm49: "150", wikidata: "Q46", nameEn: "Europe", level: "region"',
    'iso1A2: "FR", iso1A3: "FRA", wikidata: "Q142", nameEn: "France", groups: ["155", "150", "UN"]',
    'iso1A2: "GB", iso1A3: "GBR", wikidata: "Q145", nameEn: "United Kingdom", aliases: ["UK"]',
    'wikidata: "Q21", nameEn: "England", aliases: ["GB-ENG"], country: "GB", groups: ["154", "150", "UN"]',
    'wikidata: "Q9143535", nameEn: "Akrotiri", country: "GB", groups: ["145", "142"], level: "subterritory"',
    'iso1A2: "NZ", iso1A3: "NZL", wikidata: "Q664", nameEn: "New Zealand", groups: ["053", "009", "UN"]',
    'iso1A2: "US", iso1A3: "USA", wikidata: "Q30", nameEn: "United States of America"',
    'wikidata: "Q578170", nameEn: "Contiguous United States", country: "US", groups: ["021", "003", "019"]',
    'iso1A2: "JP", iso1A3: "JPN", wikidata: "Q17", nameEn: "Japan", groups: ["030", "142", "UN"]',
]
REGIONS_JS = "var borders = { features: [\n" + ",\n".join(
    f'  {{ type: "Feature", properties: {{ {place} }}, geometry: null }}' for place in PLACES) + "\n] };\n"


def _item(name, include, tags, exclude=(), **extra):
    location = {"include": list(include)} | ({"exclude": list(exclude)} if exclude else {})
    tags = {"brand": name, "name": name, **tags}
    return {"displayName": name, "id": name.lower(), "locationSet": location, "tags": tags, **extra}


NSI = {"_meta": {"version": "0.0.1"}, "nsi": {
    "brands/amenity/cafe": {"items": [
        _item("Zephyr Coffee", ["001"], {"amenity": "cafe", "cuisine": "coffee_shop;donut"}, exclude=["gb"]),
        _item("BP", ["001"], {"amenity": "cafe"}),  # two characters: dropped with its only name
    ]},
    "brands/shop/supermarket": {"items": [
        _item("Kiwi Grocer", ["nz"], {"shop": "supermarket"}, matchNames=["kiwi grocer ltd"]),
        _item("Whole Foods Market", ["us", "uk"], {"shop": "supermarket"}),
        _item("Target", ["us"], {"shop": "department_store"}),  # a common word: dropped
        _item("Euromart", ["150"], {"shop": "supermarket"}),
    ]},
    "brands/shop/health_food": {"items": [_item("Whole Foods", ["us-ca"], {"shop": "health_food"})]},
    "brands/amenity/fast_food": {"items": [
        _item("Maccy's (Fake)", ["001"], {"amenity": "fast_food", "cuisine": "burger"}),
        _item("Pointy", [[-87.8, 41.85]], {"amenity": "fast_food"}),  # a point: no known country
    ]},
    "brands/advertising/totem": {"items": [
        _item("Zephyr Coffee", ["001"], {"advertising": "totem"}, fromTemplate=True),  # a copy: dropped
    ]},
    "operators/amenity/parking": {"items": [_item("Parky", ["nz"], {"amenity": "parking"})]},
}}


@pytest.fixture
def package(tmp_path):
    """A tarball laid out as `npm pack name-suggestion-index` lays it out."""
    files = {
        "package/package.json": json.dumps({"name": "name-suggestion-index", "version": "0.0.1",
                                            "license": "BSD-3-Clause"}),
        "package/LICENSE.md": "## BSD 3-Clause\n\nCopyright test\n",
        "package/dist/json/nsi.json": json.dumps(NSI),
        "package/dist/json/genericWords.json": json.dumps({"genericWords": ["^(shops?|stores?)$"]}),
        "package/dist/js/nsi.iife.js": REGIONS_JS,
    }
    path = tmp_path / "name-suggestion-index-0.0.1.tgz"
    with tarfile.open(path, "w:gz") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def built(package, tmp_path):
    out = tmp_path / "out" / "brands.json.gz"
    assert main(["--package", str(package), "--out", str(out)]) == 0
    return read_catalog(out), out


def test_builder_keeps_names_keys_and_countries(built):
    catalog, out = built
    by_name = {b.name: b for b in catalog.brands}
    assert set(by_name) == {"Zephyr Coffee", "Kiwi Grocer", "Whole Foods Market", "Whole Foods", "Euromart", "Maccy's"}
    zephyr = by_name["Zephyr Coffee"]
    assert zephyr.keys == ("amenity/cafe", "cuisine/coffee_shop", "cuisine/donut")  # template copy dropped
    assert zephyr.include is None and zephyr.exclude == {"GB"}
    assert by_name["Kiwi Grocer"].names == ("kiwi grocer", "kiwigrocer", "kiwi grocer ltd", "kiwigrocerltd")
    assert by_name["Whole Foods Market"].include == {"US", "GB"}  # "uk" is an alias of GB
    assert by_name["Whole Foods"].include == {"US"}  # a subdivision counts as its country
    assert by_name["Euromart"].include == {"FR", "GB"}  # a region, from its members' groups
    assert by_name["Maccy's"].names == ("maccys",)
    assert catalog.all_keys() == sorted(catalog.all_keys())
    assert catalog.header["tarball_sha256"] and len(catalog.header["tarball_sha256"]) == 64
    assert catalog.header["version"] == "0.0.1"
    assert "BSD" in out.with_name("brands.LICENSE").read_text()


def test_builder_output_is_reproducible(package, tmp_path, built):
    _, first = built
    second = tmp_path / "again.json.gz"
    assert main(["--package", str(package), "--out", str(second)]) == 0
    assert first.read_bytes() == second.read_bytes()


def test_builder_reads_an_unpacked_folder(package, tmp_path):
    with tarfile.open(package) as archive:
        archive.extractall(tmp_path / "unpacked", filter="data")
    assert open_package(tmp_path / "unpacked").read("package.json").startswith(b"{")


def test_builder_says_what_is_wrong_with_the_path(tmp_path, capsys):
    with pytest.raises(CatalogError, match="no such file"):
        open_package(tmp_path / "missing.tgz")
    (tmp_path / "notes.txt").write_text("hello")
    assert main(["--package", str(tmp_path / "notes.txt"), "--out", str(tmp_path / "x.json.gz")]) == 2
    assert "not a tarball" in capsys.readouterr().err


def test_matcher_filters_by_country(built):
    catalog, _ = built
    lines = [feature_text(t) for t in ("KIWI GROCER 123 AKL", "ZEPHYR COFFEE #4", "EUROMART PARIS")]
    assert catalog.matcher("NZ").keys(lines) == [("shop/supermarket",), ("amenity/cafe", "cuisine/coffee_shop",
                                                                           "cuisine/donut"), ()]
    assert catalog.matcher("us").keys(lines) == [(), ("amenity/cafe", "cuisine/coffee_shop", "cuisine/donut"), ()]
    assert catalog.matcher("GB").brands(lines) == [(), (), ("Euromart",)]  # Zephyr excludes GB
    assert catalog.matcher(None).brands(lines) == [("Kiwi Grocer",), ("Zephyr Coffee",), ("Euromart",)]


def test_longest_name_wins_and_dropped_names_never_match(built):
    matcher = built[0].matcher("US")
    lines = [feature_text(t) for t in ("WHOLE FOODS MARKET #10", "WHOLE FOODS SF", "TARGET 00012", "BP 1234")]
    assert matcher.keys(lines) == [("shop/supermarket",), ("shop/health_food",), (), ()]


def test_apostrophes_are_optional(built):
    matcher = built[0].matcher("US")
    lines = [feature_text(t) for t in ("MACCY'S F1234", "MACCYS 12", "SQ *MACCY\u2019S")]
    assert matcher.brands(lines) == [("Maccy's",)] * 3


def _brand(name, names, keys, brand_id=None):
    return Brand(name, tuple(names), tuple(keys), None, frozenset(), brand_id or name)


def test_matcher_needs_whole_words_and_scans_left_to_right():
    matcher = BrandMatcher([_brand("Shell", ["shell"], ["amenity/fuel"]),
                            _brand("Zephyr", ["zephyr", "zephyr coffee house"], ["amenity/cafe"])])
    texts = ["shellfish shack", "shell oil 0", "sq *shell", "zephyr coffee zephyr coffee house", "zephyr-shell"]
    assert matcher.brands(texts) == [(), ("Shell",), ("Shell",), ("Zephyr",), ("Zephyr", "Shell")]
    assert matcher.keys(texts)[-1] == ("amenity/cafe", "amenity/fuel")


def test_a_name_shared_by_brands_unites_their_keys_until_it_is_generic():
    shared = [_brand("Shell", ["shell"], ["amenity/fuel"]), _brand("Shell", ["shell"], ["amenity/car_wash"])]
    assert BrandMatcher(shared).keys(["shell 0"]) == [("amenity/car_wash", "amenity/fuel")]
    many = [_brand(f"Star {i}", ["star"], [f"shop/k{i}"], brand_id=f"Q{i}") for i in range(4)]
    assert BrandMatcher(many).keys(["star"]) == [()]
    banks = [_brand(f"Star {i}", ["star"], ["amenity/bank", f"office/k{i}"], brand_id=f"Q{i}") for i in range(4)]
    assert BrandMatcher(banks).keys(["star"]) == [("amenity/bank", "office/k0", "office/k1", "office/k2", "office/k3")]


def test_name_words_split_like_lines():
    assert name_words("sq *mcdonald's f0") == ("sq", "mcdonalds", "f0")
    assert name_words("Toys`R`Us a_b c__&d 0&&1 &x y&") == ("ToysRUs", "a", "b", "c", "d", "0", "1", "x", "y")
    assert name_words("h&m at&t marks & spencer 0-eleven") == ("h&m", "at&t", "marks", "spencer", "0", "eleven")
    assert name_words("café") == ("cafe",)


@pytest.fixture(scope="module")
def shipped():
    return load_catalog()


@pytest.mark.parametrize(
    ("country", "line", "key"),
    [
        ("US", "STARBUCKS STORE 10/23 XXXX1234", "amenity/cafe"),
        ("US", "MCDONALD'S F12345 SAN FRANCISCO CA", "amenity/fast_food"),
        ("GB", "MCDONALDS 1234", "cuisine/burger"),
        ("US", "WHOLE FOODS MARKET #10231", "shop/supermarket"),
        ("NZ", "COUNTDOWN AUCKLAND", "shop/supermarket"),
        ("NZ", "NEW WORLD THORNDON WELLINGTON", "shop/supermarket"),
        ("AU", "7-ELEVEN 2041 SYDNEY", "shop/convenience"),
    ],
)
def test_shipped_catalog_knows_well_known_brands(shipped, country, line, key):
    assert key in shipped.matcher(country).keys([feature_text(line)])[0]


def test_shipped_catalog_drops_common_words_and_other_countries(shipped):
    lines = [feature_text(t) for t in ("TARGET 00012", "TRANSFER TO PAUL", "COUNTDOWN AUCKLAND", "SHELLFISH CO")]
    assert shipped.matcher("US").keys(lines) == [(), (), (), ()]


def test_shipped_catalog_names_its_source_and_licence(shipped):
    header = shipped.header
    assert (header["package"], header["version"]) == ("name-suggestion-index", "8.0.20260918")
    assert len(header["tarball_sha256"]) == 64
    assert "BSD" in CATALOG_PATH.with_name("brands.LICENSE").read_text(encoding="utf-8")
    assert {"amenity/cafe", "amenity/fast_food", "shop/supermarket", "cuisine/burger"} <= set(shipped.all_keys())


def test_name_words_of_ascii_text_split_as_the_unicode_word_class_does():
    """The ASCII fast path must cut every ASCII text as the general path's Unicode ``_WORD`` does."""
    characters = "aZ0_&'` -#*.\t"
    for length in (1, 2, 3, 4):
        for chars in itertools.product(characters, repeat=length):
            text = "".join(chars)
            assert name_words(text) == tuple(_WORD.findall(text.replace("'", "").replace("`", ""))), text
