"""``batch_key``: equal content gives an equal key, in any process; different content a different one."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import pytest

from pipeline.chunks import batch_key

ROWS = [{"id": "t1", "description": "CAFÉ \u202e #12", "amount": "-4.50", "currency": "USD", "date": None,
         "mcc": 5814, "extra": {"b": [1, 2.5, True], "a": None}}]


def test_the_key_follows_content_not_key_order_nor_object_identity():
    reordered = [dict(reversed(list(ROWS[0].items())))]
    assert batch_key("s", ROWS) == batch_key("s", json.loads(json.dumps(reordered)))
    assert len(batch_key("s", ROWS)) == 32 and int(batch_key("s", ROWS), 16) >= 0


@pytest.mark.parametrize("change", [
    {"amount": "-4.5"}, {"amount": -4.5}, {"mcc": "5814"}, {"mcc": 5814.0}, {"date": float("nan")},
    {"date": float("inf")}, {"date": float("-inf")}, {"date": ""}, {"date": False}, {"extra": {"a": None}},
])
def test_different_content_gets_a_different_key(change):
    assert batch_key("s", [{**ROWS[0], **change}]) != batch_key("s", ROWS)
    assert batch_key("s", ROWS) != batch_key("t", ROWS)


@pytest.mark.parametrize("odd", [10**30, -(2**64), "a\ud800", {1: "x"}, b"bytes"])
def test_content_msgpack_cannot_encode_takes_the_former_json_key(odd):
    rows = [{**ROWS[0], "extra": odd}]
    assert batch_key("s", rows) == batch_key("s", [dict(rows[0])])
    if not isinstance(odd, bytes):  # bytes MessagePack does encode
        canonical = json.dumps(["s", rows], sort_keys=True, default=str, ensure_ascii=True).encode()
        assert batch_key("s", rows) == hashlib.sha256(canonical).hexdigest()[:32]


def test_the_key_is_the_same_in_another_process_with_another_hash_seed():
    code = "import json, sys; from pipeline.chunks import batch_key; print(batch_key('s', json.load(sys.stdin)))"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], input=json.dumps(ROWS), capture_output=True, text=True,
                         env=env, check=True).stdout.strip()
    assert out == batch_key("s", ROWS)
