"""Normalization: per-purchase noise goes, signal stays; the merchant key groups a merchant's lines."""

import itertools
import re

import pytest

from pipeline import merchant_layer, normalize
from pipeline.normalize import US_CITIES, clean_text, feature_text, merchant_key, merchant_key_of_text, merchant_word


def test_clean_text_removes_invisible_and_control_characters():
    assert clean_text("Blue\u200bBottle\u202e\tCoffee\x07") == "bluebottle coffee"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("SQ *BLUE BOTTLE #12 SF CA", "sq *blue bottle #0 sf ca"),
        ("STARBUCKS STORE 10/23 XXXX1234", "starbucks store"),
        ("UBER *TRIP 11/02 09:41 CARD 4821", "uber *trip"),
    ],
)
def test_feature_text_drops_dates_times_masks_and_numbers(line, expected):
    assert feature_text(line) == expected


def test_merchant_key_is_the_same_across_stores_and_prefixes():
    assert merchant_key("SQ *BLUE BOTTLE #12 SAN FRANCISCO CA") == merchant_key("BLUE BOTTLE #7 CA")
    assert merchant_key("TST* JOE'S PIZZA 10/02") == merchant_key("Joe's Pizza")


@pytest.mark.parametrize("city", US_CITIES)
def test_a_city_ending_a_line_leaves_the_merchant_key(city):
    assert merchant_key_of_text(f"blue bottle {city}") == "blue bottle"
    assert merchant_key_of_text(f"blue bottle {city} ca") == "blue bottle"
    assert merchant_key_of_text(f"{city} bagels") == f"{city} bagels"  # a city leading the line stays


@pytest.mark.parametrize(
    ("line", "word"),
    [
        ("EFTPOS COUNTDOWN PAPANUI", "countdown"),
        ("POS W/D THE WAREHOUSE 0412 ALBANY", "warehouse"),
        ("PURCHASE AUTHORIZED ON 01/02 SQ *BLUE BOTTLE SF CA CARD 1234", "blue"),
        ("VISA DEBIT PURCHASE CARD 1234 TESCO STORES", "tesco"),
        ("TFR 4412 0091 AB", "tfr 0 0 ab"),  # no word can name a merchant: the start of the text
    ],
)
def test_merchant_word_skips_bank_wording(line, word):
    assert merchant_word(feature_text(line)) == word


def test_store_number_patterns_match_as_their_plain_forms_do():
    """The two store-number patterns open each alternative on a literal for speed; they must cut as the plain ones."""
    plain_layer = re.compile(r"(?:\bstore\s*)?#\s*0\b|\bstore\s+0\b")
    plain_key = re.compile(r"(?:#\s*0|\bstore 0|\b0)\b")
    pieces = ("store", "re", "s", "tore", "#", "0", "00", " ", "\t", "x", "_")
    for length in (1, 2, 3, 4):
        for parts in itertools.product(pieces, repeat=length):
            text = "".join(parts)
            assert merchant_layer._STORE_NUMBER.sub(" ", text) == plain_layer.sub(" ", text), text
            assert normalize._STORE_NUMBER.split(text, maxsplit=1) == plain_key.split(text, maxsplit=1), text


def test_card_mask_pattern_matches_as_its_plain_form_does():
    plain = re.compile(r"(?:[x*#]{2,}[-\s]?)+\d{2,4}\b|\bcard\s*\d{4}\b")
    pieces = ("x", "*", "#", "c", "card", "ard", "0", "1234", "12", " ", "-", "_", "a")
    for length in (1, 2, 3, 4):
        for parts in itertools.product(pieces, repeat=length):
            text = "".join(parts)
            assert normalize._CARD_MASK.sub(" ", text) == plain.sub(" ", text), text


def test_date_and_time_patterns_match_as_their_plain_forms_do():
    plain_date = re.compile(r"\b\d{1,4}[/.-]\d{1,2}(?:[/.-]\d{1,4})?\b")
    plain_time = re.compile(r"\b\d{1,2}:\d{2}(?::\d{2})?\b")
    pieces = ("1", "12", "123", "12345", "\u0663", "/", ".", "-", ":", " ", "a", "_")
    for length in (1, 2, 3, 4, 5):
        for parts in itertools.product(pieces, repeat=length):
            text = "".join(parts)
            assert normalize._DATE.sub(" ", text) == plain_date.sub(" ", text), text
            assert normalize._TIME.sub(" ", text) == plain_time.sub(" ", text), text
