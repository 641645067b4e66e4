"""The merchant layer's two judgements: which merchant a line names, and whether the amount matters."""

from itertools import pairwise

import numpy as np
import pytest

from pipeline.features import FeatureConfig, amount_bucket
from pipeline.generate import GENERATED_COUNTRY, Generator
from pipeline.merchant_layer import AmountCheck, layer_key
from pipeline.model import train_model
from pipeline.normalize import feature_text, merchant_key
from pipeline.settings import Settings


@pytest.mark.parametrize(("description", "key"), [
    ("STARBUCKS STORE #1234 SEATTLE WA", "starbucks"),
    ("STARBUCKS #998 SEATTLE WA 10/23", "starbucks"),
    ("POS PURCHASE 7-ELEVEN STORE #7576", "0-eleven"),
    ("DEBIT CARD PURCHASE SQ *GOLDEN MEATS PORTLAND OR", "sq *golden meats"),
    # Different merchants that normalize.merchant_key files together stay apart here.
    ("TAKE 5 OIL #123 SAN FRANCISCO CA", "take 0 oil"),
    ("TAKE 5 CAR WASH #7551 10/03", "take 0 car wash"),
    ("DEBIT CARD PURCHASE SQ *GOLDEN ORAL", "sq *golden oral"),
])
def test_layer_key_drops_lead_words_store_numbers_and_place_only(description, key):
    assert layer_key(feature_text(description)) == key


def _two_category_model():
    """Coffee against supermarkets, where the amount decides some lines (scikit-learn keeps one coefficient row)."""
    rows = [r for r in Generator(3).rows(4_000) if r["category"] in ("food.coffee", "groceries.supermarkets")]
    return train_model([feature_text(r["description"]) for r in rows], [float(r["amount"]) for r in rows],
                       [r["category"] for r in rows], [merchant_key(r["description"]) for r in rows],
                       config=FeatureConfig(country=GENERATED_COUNTRY))


@pytest.mark.parametrize("two_categories", [False, True])
def test_the_amount_check_agrees_with_predicting_the_line_in_every_bucket_of_its_direction(small_model,
                                                                                           two_categories):
    model = _two_category_model() if two_categories else small_model
    rows = Generator(5).rows(300)
    texts = [feature_text(r["description"]) for r in rows]
    amounts = np.array([float(r["amount"]) for r in rows])
    proba = model.predict_proba_matrix(model.vectorize(texts, amounts))
    steady = AmountCheck(model).steady(proba, amounts)
    edges = model.amount_edges
    # One amount inside every bucket, with the line's own sign: the brute-force answer.
    inside = [edges[0] / 2, *[(lo + hi) / 2 for lo, hi in pairwise(edges)], edges[-1] * 2]
    assert amount_bucket(np.array(inside), edges).tolist() == list(range(len(edges) + 1))
    best = [model.predict(texts, np.sign(amounts) * value)[0] for value in inside]
    brute = np.array([len({b[i] for b in best}) == 1 for i in range(len(rows))])
    assert steady.tolist() == brute.tolist()
    assert brute.any() and not brute.all()  # both cases occur, so the test tells them apart


def test_the_layer_has_an_off_switch_in_the_environment(monkeypatch):
    assert Settings().merchant_cache is True
    monkeypatch.setenv("MANNA_MERCHANT_CACHE", "false")
    assert Settings().merchant_cache is False
