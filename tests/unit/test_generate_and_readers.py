"""The generator is deterministic and realistic enough to learn from; files stream in and out."""

import json

import pytest

from pipeline.generate import Generator, load_catalog
from pipeline.readers import InputFormatError, read_rows, utf8_problem, write_rows
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


def test_a_file_that_is_not_utf8_is_found_with_its_line(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_bytes("id,description,amount\n1,CAFÉ,-4\n".encode() + b"2,M\xdcLLER,-3\n")
    assert utf8_problem(path) == "line 3 holds the byte 0xDC"
    assert [row["description"] for row in read_rows(path)] == ["CAFÉ", "M\ufffdLLER"]  # read on, not dropped
    # A character across the 1 MiB read boundary is whole; a bad byte after it is on its own line.
    head = b"id,description,amount\n" + b"1,x,-1\n" * ((1 << 20) // 7)
    path.write_bytes(head[: (1 << 20) - 1] + "É".encode() + b"\n2,y,-2\n")
    assert utf8_problem(path) == ""
    path.write_bytes(path.read_bytes() + b"3,\xff,-3\n")
    last_line = path.read_bytes().count(b"\n")
    assert last_line > 149_000 and utf8_problem(path) == f"line {last_line} holds the byte 0xFF"
    path.write_bytes(b"id,description,amount\n1,x,-1\n\xc3")
    assert utf8_problem(path) == "it ends inside a character"


def test_a_utf16_file_with_its_bom_is_read(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("id,description,amount\n1,CAFÉ DU MONDE,-4.50\n", encoding="utf-16")
    assert utf8_problem(path) == ""
    assert list(read_rows(path)) == [{"id": "1", "description": "CAFÉ DU MONDE", "amount": "-4.50"}]
