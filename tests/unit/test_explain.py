"""Explanations name words of the line, amount buckets and word groups, with the model's own numbers.

The fold from feature columns back to words is vectorized; a plain-Python fold, written from the
definition (each n-gram's contribution shared among the words holding it), holds it to its numbers.
"""

import dataclasses
import re
import string
from collections import Counter

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from pipeline.features import CHAR_PARAMS, WORD_PARAMS, Attribution, amount_labels
from pipeline.generate import Generator
from pipeline.normalize import feature_text

ITEM = re.compile(r'^(?:(?:merchant|place) "[^"]+"|amount \S+ (?:in|out)|(?:word group|brand kind) "[^"]+")'
                  r' \([+-]\d+\.\d\)$')
CHAR_ANALYZER = TfidfVectorizer(**CHAR_PARAMS).build_analyzer()
TOKEN = re.compile(WORD_PARAMS["token_pattern"])


def explain(model, descriptions, amounts, top=3):
    texts = [feature_text(d) for d in descriptions]
    matrix = model.vectorize(texts, amounts)
    categories, _ = model.predict_matrix(matrix)
    return model.explain(matrix, texts, categories, top=top), texts, matrix, categories


def items(explanation):
    """(label, value) per item of one explanation."""
    found = []
    for item in explanation.split(", ") if explanation else []:
        assert ITEM.match(item), item
        label, value = item.rsplit(" (", 1)
        found.append((label, float(value[:-1])))
    return found


def reference_fold(model, text, row, category):
    """Contributions per word position of the line (numbers left out), the words as shown, and the
    contribution per amount or word-group label."""
    features = model.features
    coef = model.classifier.coef_[list(model.classes).index(category)]
    contribution = dict(zip(row.indices.tolist(), (row.data * coef[row.indices]).tolist(), strict=True))
    words = text.lower().split()
    char_column = {term: i for i, term in enumerate(features.char.names)}
    word_start = len(features.char.names)
    holders = {}  # column -> Counter of the words holding it
    for i, word in enumerate(words):
        for term, count in Counter(CHAR_ANALYZER(word)).items():
            if term in char_column:
                holders.setdefault(char_column[term], Counter())[i] += count
        for token in TOKEN.findall(word):
            if token in features.word.vocabulary:
                holders.setdefault(word_start + features.word.vocabulary[token], Counter())[i] += 1
    per_word = Counter()
    for column, value in contribution.items():
        if word_start <= column < features.text_columns:  # a word n-gram: to its tokens (numbers as a last resort)
            tokens = features.word.names[column - word_start].split(" ")
            named = [t for t in tokens if not t.isdigit()] or tokens
            targets = [(word_start + features.word.vocabulary[t], value / len(named)) for t in named]
        else:
            targets = [(column, value)]
        for target, share in targets:
            for i, count in holders.get(target, {}).items():
                per_word[i] += share * count / sum(holders[target].values())
    labels = features.labels()
    others = {labels[c - features.text_columns]: v for c, v in contribution.items() if c >= features.text_columns}
    named = {i: v for i, v in per_word.items() if not all(t.isdigit() for t in TOKEN.findall(words[i]))}
    return named, {i: w.strip(string.punctuation) for i, w in enumerate(words)}, others


def test_a_known_merchant_is_named_in_quotes_beside_its_amount_bucket(small_model):
    (line,), _, _, _ = explain(small_model, ["SQ *JOE'S JAVA OAKLAND CA"], [-12.50])
    assert 'merchant "joe\'s java' in line and "amount 5-20 out (+" in line
    assert not any(fragment in line for fragment in ("c:'", "w:", "lex:", "amount:"))
    assert 1 <= len(items(line)) <= 3


def test_a_well_known_brand_is_explained_by_its_kind(small_model):
    (line,), _, _, _ = explain(small_model, ["STARBUCKS STORE #1234 SEATTLE WA"], [-12.50])
    assert 'brand kind "cafe" (+' in line or 'brand kind "coffee shop" (+' in line


def test_every_item_is_readable_and_quotes_only_words_of_its_line(small_model):
    rows = Generator(11).rows(300)
    lines, texts, _, _ = explain(small_model, [r["description"] for r in rows], [float(r["amount"]) for r in rows])
    for line, text in zip(lines, texts, strict=True):
        found = items(line)
        assert len(found) <= 3 and [v for _, v in found] == sorted((v for _, v in found), reverse=True)
        for label, value in found:
            assert value > 0
            for quoted in re.findall(r'^(?:merchant|place) "([^"]+)"$', label):  # "sq *blue" shows as "blue"
                assert quoted in " ".join(w.strip(string.punctuation) for w in text.split())
                assert not quoted.replace(" ", "").isdigit()


def test_shown_numbers_are_the_models_contributions_folded_into_words(small_model):
    rows = [*Generator(12).rows(60), {"description": "SQ *BLUE BOTTLE COFFEE 0341 SF CA", "amount": "-6.50"},
            {"description": "VACASA 0 0 RENTAL", "amount": "-900"}]
    lines, texts, matrix, categories = explain(small_model, [r["description"] for r in rows],
                                               [float(r["amount"]) for r in rows], top=50)
    for line, text, row, category in zip(lines, texts, matrix, categories, strict=True):
        per_word, words, others = reference_fold(small_model, text, row, category)
        shown = items(line)
        expected = [v for v in [*per_word.values(), *others.values()] if v >= 0.05]
        if expected:  # the first item is at least as strong as any single word, amount or word group
            assert shown[0][1] >= max(expected) - 0.05
        for label, value in shown:
            if label.startswith(("merchant", "place")):
                phrase = label.split('"')[1].split(" ")
                start = next(i for i in range(len(words)) if [words.get(i + k) for k in range(len(phrase))] == phrase)
                assert value == pytest.approx(sum(per_word[start + k] for k in range(len(phrase))), abs=0.051)
            else:
                assert value == pytest.approx(others[label], abs=0.051)


def test_neighbouring_strong_words_read_as_one_phrase(small_model):
    (line,), _, _, _ = explain(small_model, ["ROSS STORES #0 OR"], [-87.44])
    assert line.startswith('merchant "ross stores" (+')


def test_amount_buckets_read_as_ranges_and_directions():
    assert amount_labels((5.0, 20.0)) == ["amount 0-5 out", "amount 5-20 out", "amount 20+ out",
                                          "amount 0-5 in", "amount 5-20 in", "amount 20+ in"]


def test_a_line_of_numbers_is_explained_by_its_amount_alone(small_model):
    (line, empty), _, _, _ = explain(small_model, ["#1234 5678 90", ""], [-3.0, -3.0])
    assert all(label.startswith("amount 0-5 out") for label, _ in items(line) + items(empty))


def test_no_rows_and_mismatched_texts(small_model):
    matrix = small_model.vectorize([], np.zeros(0))
    assert small_model.explain(matrix, [], []) == []
    with pytest.raises(ValueError, match="texts"):
        small_model.explain(small_model.vectorize(["a"], [1.0]), [], ["food.coffee"])


def test_every_folded_word_is_the_reference_fold_to_float_precision(small_model):
    rows = [*Generator(13).rows(200), {"description": "E EE EEE EE E", "amount": "-4"},
            {"description": "VACASA 0 0 RENTAL", "amount": "-900"}, {"description": "#1234 5678 90", "amount": "-3"}]
    texts = [feature_text(r["description"]) for r in rows]
    matrix = small_model.vectorize(texts, [float(r["amount"]) for r in rows])
    categories, _ = small_model.predict_matrix(matrix)
    coef = small_model.classifier.coef_[[list(small_model.classes).index(c) for c in categories]]
    contributions = matrix.data * coef[np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr)), matrix.indices]
    folded = Attribution(small_model.features).fold(matrix, contributions, texts)
    for i, (text, category) in enumerate(zip(texts, categories, strict=True)):
        per_word, words, others = reference_fold(small_model, text, matrix[i], category)
        mine = np.flatnonzero(folded.rows == i)
        in_text = [j for j in mine if folded.positions[j] >= 0]
        found = {int(folded.positions[j]): float(folded.values[j]) for j in in_text}
        assert found.keys() == per_word.keys()
        assert all(found[p] == pytest.approx(v, rel=1e-5, abs=1e-6) for p, v in per_word.items())
        assert all(folded.labels[folded.names[j]] == words[folded.positions[j]] for j in in_text)
        labelled = {folded.labels[folded.names[j]]: float(folded.values[j]) for j in mine if folded.positions[j] < 0}
        assert labelled == pytest.approx(others, rel=1e-5)


def test_explanations_do_not_depend_on_the_words_an_attribution_has_seen(small_model, monkeypatch):
    batches = [Generator(seed).rows(150) for seed in (14, 15, 14)]
    args = [([r["description"] for r in rows], [float(r["amount"]) for r in rows]) for rows in batches]
    fresh = [explain(dataclasses.replace(small_model), *a)[0] for a in args]  # no words known yet
    monkeypatch.setattr("pipeline.features._KNOWN_WORDS", 40)  # the table starts afresh at every batch
    model = dataclasses.replace(small_model)
    assert [explain(model, *a)[0] for a in args] == fresh
