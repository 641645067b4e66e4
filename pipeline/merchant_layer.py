"""The merchant layer of the result cache: one model decision per merchant key and direction.

The exact key holds everything a decision reads. This layer drops the amount bucket, the account
and the rest of the feature text (city, store words) so that one merchant's lines share an entry.
It stands in for the model only: rules still run on every line the exact key missed, so a rule
(with or without amount, direction or account conditions) decides exactly as without the layer.
A model decision is stored here only when it is confident and would be the same in every amount
bucket of its direction; memory, rule and fallback decisions never are. docs/benchmarks.md has
the accuracy measured with and without it.
"""

from __future__ import annotations

import re

import numpy as np

from pipeline.features import BLOCK_WEIGHTS, amount_bucket
from pipeline.model import CategoryModel
from pipeline.normalize import US_STATES, without_city

# Lowest calibrated confidence of a model decision kept for its merchant ("high").
MERCHANT_MIN_CONFIDENCE = 0.85


# Card-network lead words ("pos debit", "debit card purchase") say nothing about the merchant.
_CARD_LEAD = re.compile(r"^(?:(?:pos|debit|card|purchase|checkcard)\s+)+")
# What reads as ``(?:\bstore\s*)?#\s*0\b|\bstore\s+0\b``, with each alternative opening on a
# literal character ("#", "s"; the word boundary is checked behind the "s"): the regex engine then
# jumps from one such character to the next in C instead of trying the pattern at every position
# (1.2 to 0.4 us a line; a test holds the two to the same result).
_STORE_NUMBER = re.compile(r"#\s*0\b|s(?<=\bs)tore(?:\s*#\s*|\s+)0\b")


def layer_key(text: str) -> str:
    """The merchant a feature text names, for this layer: lead words, store number and place dropped.

    Stricter than ``normalize.merchant_key`` on purpose: that key keeps four words and cuts at the
    first number, which groups "take 5 oil" with "take 5 car wash", and "pos purchase 7-eleven"
    with every other "pos purchase" line; fine for grouping a reviewer's corrections, not for
    reusing a model decision unseen. Here every word of the name stays.
    """
    words = _STORE_NUMBER.sub(" ", _CARD_LEAD.sub("", text)).split()
    while len(words) > 1 and words[-1] in US_STATES:
        words.pop()
    return " ".join(without_city(words))


class AmountCheck:
    """Which of one model's decisions would be the same in every amount bucket of their direction.

    The model is linear and the amount block is the same for every amount of a bucket, so moving a
    row from its bucket to another adds that bucket's block less its own, times the block's
    coefficients, to its logits: no second vectorize or predict is needed. A category overtakes
    the best one in some bucket exactly when their log-probability gap is below the most it can
    gain on the best one by the move. Those gains depend on the model only: they are worked out
    once, per (direction, own bucket, best category, category), and each row is then a lookup.
    """

    def __init__(self, model: CategoryModel) -> None:
        self.edges = model.features.amount.edges
        self.gains = self._gains(model, model.coefficients()[0])

    def steady(self, proba: np.ndarray, amounts: np.ndarray) -> np.ndarray:
        """Per row: True when its best category stays best in every amount bucket of its direction.

        ``proba`` are the rows' calibrated probabilities.
        """
        n_rows, n_classes = proba.shape
        best = proba.argmax(axis=1)
        log_proba = np.log(np.maximum(proba, 1e-300))
        gap = log_proba[np.arange(n_rows), best][:, None] - log_proba
        gain = self.gains[(amounts > 0).astype(int), amount_bucket(amounts, self.edges), best]
        # On a tie the lower category index wins, as argmax picks it.
        holds = (gap > gain) | ((gap == gain) & (np.arange(n_classes) > best[:, None]))
        return np.asarray(holds.all(axis=1))

    @staticmethod
    def _gains(model: CategoryModel, coef: np.ndarray) -> np.ndarray:
        """[direction, own bucket, best, other]: the most the other category's logit gains on the best
        one's when a row moves to another bucket of its direction (minus infinity against itself)."""
        block = model.features.amount
        start = model.features.text_columns  # the amount block follows the text columns (FeatureSet)
        weights = coef[:, start : start + block.width] * (BLOCK_WEIGHTS["amount"] / model.temperature)
        buckets = np.arange(len(block.edges) + 1)
        n_classes = len(coef)
        gains = np.empty((2, len(buckets), n_classes, n_classes))
        for money_in in (0, 1):
            shift = (block.rows(buckets, np.full(len(buckets), bool(money_in))) @ weights.T).T  # classes x buckets
            for own in buckets:
                moved = shift - shift[:, own : own + 1]  # each logit's change, from the own bucket to each
                gains[money_in, own] = (moved[None, :, :] - moved[:, None, :]).max(axis=2)
        gains[:, :, np.arange(n_classes), np.arange(n_classes)] = -np.inf
        return gains


def direction_name(sign: int) -> str:
    """How an explanation names a line's direction."""
    return "money in" if sign > 0 else "money out" if sign < 0 else "no amount"
