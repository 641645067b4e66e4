"""The generator is deterministic and realistic enough to learn from; files stream in and out."""

import json

import pytest

from pipeline.generate import Generator, load_catalog
from pipeline.readers import InputFormatError, read_rows, write_rows
from pipeline.schema import UNREADABLE, validate_batch
from pipeline.settings import Settings
from pipeline.taxonomy import default_taxonomy


def test_same_seed_same_lines_other_seed_other_lines():
    assert Generator(5).rows(300) == Generator(5).rows(300)
    assert Generator(5).rows(300) != Generator(6).rows(300)


def test_catalog_covers_the_taxonomy_and_lines_pass_the_contract():
    taxonomy = default_taxonomy()
    assert len(taxonomy.groups) >= 15 and 80 <= len(taxonomy.categories) <= 120
    catalog = load_catalog()
    assert len(catalog) >= 400 and {m.category for m in catalog} <= set(taxonomy.categories)
    rows = Generator(1).rows(2_000)
    assert validate_batch(rows, Settings(max_message_transactions=len(rows))).rejected == []
    descriptions = [r["description"] for r in rows]
    assert any(d.upper().startswith(("SQ *", "TST*")) for d in descriptions)
    assert any("#" in d for d in descriptions) and any(d != d.upper() for d in descriptions)
    assert len({r["account_id"] for r in rows}) > 1 and len({r["category"] for r in rows}) > 50


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_write_then_read_round_trip(tmp_path, suffix):
    rows = [{"id": "a", "description": "X, \"quoted\"", "amount": "-1.50"}, {"id": "b", "description": "Y",
                                                                         "amount": "2"}]
    path = tmp_path / f"rows{suffix}"
    write_rows(path, rows)
    assert list(read_rows(path)) == rows


def test_unparseable_lines_and_bad_bytes_are_passed_on_not_dropped(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_bytes(json.dumps({"id": "a"}).encode() + b"\n\n{not json\n" + b'{"id": "\xff"}\n[1]\n')
    rows = list(read_rows(path))
    assert rows[0] == {"id": "a"} and rows[2:] == [{"id": "\ufffd"}, [1]]
    assert rows[1][UNREADABLE]["raw"] == "{not json"
    rejected = validate_batch(rows, Settings()).rejected
    assert [(r.row_index, r.reason) for r in rejected] == [
        (0, "description:missing"), (1, "row:invalid_json"), (2, "description:missing"), (3, "row:not_an_object")]
    assert rejected[1].detail.startswith("line 3: not JSON")
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbfid,description,amount\nx,COFFEE,-3\n")
    assert list(read_rows(bom)) == [{"id": "x", "description": "COFFEE", "amount": "-3"}]
    with pytest.raises(InputFormatError):
        read_rows(tmp_path / "rows.txt")
