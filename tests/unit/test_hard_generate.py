"""The hard generator: one user's export per file, deterministic, readable, and as untidy as real ones."""

from __future__ import annotations

import re
from collections import defaultdict

import pytest
from click.testing import CliRunner

from cli.bench.hard_sets import SUITE
from cli.main import main
from pipeline.hard_generate import COLUMNS, HARD_RECIPE, HardGenerator, describe
from pipeline.offline import read_labeled
from pipeline.readers import write_rows
from pipeline.taxonomy import default_taxonomy

# Words only that country's banks print (case-insensitive).
MARKERS = {
    "NZ": r"POS W/D|EFTPOS|\bDf\b|D/D|A/P|AP#|\bMB TRANSFER|;",
    "AU": r"AUS Card|OSKO|BPAY|NetBank|VISA DEBIT PURCHASE|EFTPOS DEBIT",
    "UK": r"\bFPS\b|\bBGC\b|\bDD\b|\bSO\b|CARD PAYMENT TO|\)\)\)|GBR",
    "US": r"PURCHASE AUTHORIZED ON|CHECKCARD|ZELLE|\bPPD\b|DES:",
}
ONLY = {"US": r"PURCHASE AUTHORIZED ON|ZELLE", "AU": r"AUS Card|OSKO", "UK": r"\bBGC\b|CARD PAYMENT TO",
        "NZ": "POS W/D"}


@pytest.fixture(scope="module")
def suite() -> dict[tuple[str, int], tuple[HardGenerator, list[dict[str, str]]]]:
    files = {}
    for country, seed, rows in SUITE:
        generator = HardGenerator(seed, country, rows)
        files[country, seed] = (generator, generator.rows())
    return files


def test_same_seed_same_rows_other_seed_other_rows():
    generator = HardGenerator(3, "UK", 500)
    assert generator.rows() == generator.rows() == HardGenerator(3, "UK", 500).rows()
    assert HardGenerator(3, "UK", 500).rows() != HardGenerator(4, "UK", 500).rows()
    assert HardGenerator(3, "UK", 500).rows() != HardGenerator(3, "AU", 500).rows()


def test_row_counts_and_columns(suite):
    assert len(HardGenerator(5).rows()) == HARD_RECIPE.rows and 1_000 <= HARD_RECIPE.rows <= 3_000
    for _, rows in suite.values():
        assert 1_000 <= len(rows) <= 3_000
        assert all(tuple(r) == COLUMNS for r in rows)
        assert len({r["id"] for r in rows}) == len(rows)
    with pytest.raises(ValueError):
        HardGenerator(1, "FR")
    with pytest.raises(ValueError):
        HardGenerator(1, rows=0)


def test_user_taxonomies_have_30_to_60_classes_unlike_ours(suite):
    ours = set(default_taxonomy().categories)
    for _, rows in suite.values():
        classes = {r["category"] for r in rows}
        assert 30 <= len(classes) <= 60 and not classes & ours
    tree = {r["category"] for r in suite["AU", 1][1]}
    assert any(c.startswith("Expense::Food::") for c in tree) and "Income::Salary" in tree


def test_every_row_is_read_by_the_labeled_reader(suite, tmp_path):
    for (country, seed), (_, rows) in suite.items():
        path = tmp_path / f"{country}-{seed}.csv"
        write_rows(path, rows)
        labeled = read_labeled(path)
        assert labeled.dropped == 0 and len(labeled.labels) == len(rows)


def test_noise_long_tail_and_brandless_lines(suite):
    for _, rows in suite.values():
        stats = describe(rows)
        assert 0.005 <= stats["conflicting_labels"] <= 0.02
        assert stats["merchants_seen_once"] >= 0.45
        assert 0.1 <= stats["brandless_rows"] <= 0.5


def test_country_formats_appear(suite):
    for (country, _), (_, rows) in suite.items():
        text = "\n".join(r["description"] for r in rows)
        assert re.search(MARKERS[country], text, re.IGNORECASE), country
        for other, marker in ONLY.items():
            assert other == country or not re.search(marker, text, re.IGNORECASE), (country, marker)


def test_a_chain_is_one_merchant_across_its_descriptors(suite):
    descriptions = defaultdict(set)
    for _, rows in suite.values():
        for r in rows:
            descriptions[r["merchant"]].add(r["description"].upper())
    assert any(len(d) >= 5 for m, d in descriptions.items() if not m.startswith("local:"))
    assert any(m.startswith("person:") for m in descriptions) and any(m.startswith("salary:") for m in descriptions)


def test_amount_signs_follow_the_direction_of_the_category(suite):
    taxonomy = default_taxonomy()
    for generator, rows in suite.values():
        assert len(generator.our_categories) == len(rows)
        for row, category in zip(rows, generator.our_categories, strict=True):
            inbound = taxonomy.categories[category].direction == "in"
            assert (float(row["amount"]) > 0) == inbound, (row, category)


def test_cli_writes_a_hard_file_and_keeps_the_default_recipe(tmp_path):
    runner = CliRunner()
    hard = tmp_path / "hard.csv"
    result = runner.invoke(main, ["generate", "--recipe", "hard", "--country", "US", "-n", "1000", "--seed", "2",
                                  "--labels", str(hard)])
    assert result.exit_code == 0, result.output
    assert len(read_labeled(hard).labels) == 1_000
    plain = tmp_path / "plain.csv"
    assert runner.invoke(main, ["generate", "-n", "20", str(plain)]).exit_code == 0
    assert plain.read_text().splitlines()[0].startswith("id,description,amount")
    assert runner.invoke(main, ["generate", "--country", "UK", str(plain)]).exit_code != 0
