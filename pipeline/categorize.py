"""Categorize a chunk: normalize, de-duplicate, merchant memory, cache (one MGET), rules, merchant layer,
model, cache (one SET)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Protocol

import msgspec
import numpy as np

from pipeline.cache import ResultCache
from pipeline.features import amount_bucket
from pipeline.memory import MEMORY_CONFIDENCE, MemoryKey, MemoryLookup
from pipeline.merchant_layer import MERCHANT_MIN_CONFIDENCE, AmountCheck, direction_name, layer_key
from pipeline.model import CategoryModel, confidence_level
from pipeline.normalize import feature_text, merchant_key_of_text
from pipeline.rules import RuleSet
from pipeline.taxonomy import UNCATEGORIZED

RULE_CONFIDENCE = 0.99
STAGES = ("normalize", "cache", "rules", "vectorize", "predict")
# Lines repeat: a worker sees the same feature texts again and again. Bounded: at 200,000 entries
# each, a 2M-line warm run took a pool child to 315 MB (docs/benchmarks.md).
_merchant_key = lru_cache(maxsize=100_000)(merchant_key_of_text)
_layer_key = lru_cache(maxsize=100_000)(layer_key)
_ENCODE, _DECODE = msgspec.json.encode, msgspec.json.decode


class Line(Protocol):
    """What categorizing reads of a transaction: a ``Transaction`` has it, and so does a lighter row."""

    @property
    def description(self) -> str: ...
    @property
    def amount(self) -> Decimal: ...
    @property
    def account_id(self) -> str | None: ...


class Decision(msgspec.Struct, frozen=True, gc=False):
    """A label and where it came from: every label carries its audit fields.

    Built for nearly every row (each cache hit decodes one), so a msgspec Struct: immutable like a
    frozen dataclass, at an eighth of its construction cost (0.17 against 1.34 us), and untracked
    by the garbage collector (its fields are strings, numbers and None, so it can hold no cycle).
    """

    category: str
    confidence: float
    confidence_level: str
    decided_by: str  # memory | rule | model | cache | fallback
    rule_id: str | None
    model_version: str | None
    needs_review: bool
    explanation: str = ""
    cached_from: str | None = None  # for a cache hit: how the cached decision was first made
    correction_id: int | None = None  # for a memory decision: the correction that taught it


@dataclass
class ChunkReport:
    """Decisions and merchant keys aligned with the input, plus counts and per-stage milliseconds."""

    decisions: list[Decision]
    lines: _Lines | None = field(default=None, repr=False)
    unique: int = 0
    memory_hits: int = 0
    cache_hits: int = 0  # every cache hit, exact key or merchant layer
    merchant_cache_hits: int = 0  # of cache_hits, those the merchant layer answered
    rule_hits: int = 0
    model_hits: int = 0
    fallbacks: int = 0
    timings_ms: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))

    @property
    def merchant_keys(self) -> list[str]:
        """Each line's merchant key (``normalize.merchant_key``), aligned with ``decisions``.

        Worked out when asked (``merchant_key`` is cached): the workers store it with each label, ``manna predict``
        never reads it.
        """
        return [] if self.lines is None else [self.lines.merchant(key) for key in self.lines.keys]


class _Stopwatch:
    def __init__(self, timings: dict[str, float]) -> None:
        self.timings = timings
        self.last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.timings[stage] += (now - self.last) * 1000.0
        self.last = now


class Categorizer:
    """Rules first, the model second, behind a result cache; one instance per process and model."""

    def __init__(
        self,
        rules: RuleSet,
        model: CategoryModel | None,
        cache: ResultCache | None = None,
        *,
        cache_ttl_seconds: int = 3600,
        abstain_threshold: float = 0.5,
        cache_namespace: str = "",
        merchant_cache: bool = False,
        hash_keys: bool = True,
    ) -> None:
        """``hash_keys=False`` keeps each cache key as its text, for a cache in this process only: a
        shared store (Redis) wants short keys of one length, and no other process reads these."""
        self.rules = rules
        self.model = model
        self.cache = cache
        self.cache_ttl = cache_ttl_seconds
        self.abstain_threshold = abstain_threshold
        self.merchant_cache = merchant_cache and model is not None  # the layer stands in for the model only
        self._amount_check = AmountCheck(model) if model is not None and self.merchant_cache else None
        model_edges = model.amount_edges if model else ()
        self._edges = np.array(sorted(set(model_edges) | set(rules.amount_edges)))
        # Both layers share this prefix: a new model, rule set or namespace never reads old entries.
        self._key_prefix = f"{cache_namespace}|{model.version if model else 'none'}|{rules.version}|"
        # Without a cache the keys only tell a chunk's lines apart: their text does that unhashed.
        self._hash_keys = hash_keys and cache is not None

    @property
    def model_version(self) -> str | None:
        """The version of the model behind this categorizer, if any."""
        return self.model.version if self.model else None

    def categorize(self, transactions: Sequence[Line], memory: MemoryLookup | None = None) -> ChunkReport:
        """Decide every transaction; identical inputs inside the chunk are decided once.

        ``memory`` (the source's merchant memory) wins over the cache, rules and model. Its
        decisions are never cached, so a correction takes effect on the next chunk.
        """
        timings = dict.fromkeys(STAGES, 0.0)
        watch = _Stopwatch(timings)
        lines = self._prepare(transactions)
        report = ChunkReport(decisions=[], lines=lines, unique=len(lines.first_of), timings_ms=timings)
        watch.lap("normalize")

        decided = self._remembered(memory, lines) if memory else {}
        report.memory_hits = len(decided)
        lookups = [key for key in lines.first_of if key not in decided]
        exact, by_merchant = self._read_cache(lookups, lines)
        decided.update(exact)
        watch.lap("cache")

        fresh, steady = self._decide_misses([k for k in lookups if k not in decided], by_merchant, lines,
                                            report, watch)
        decided.update(fresh)
        report.cache_hits = len(exact) + report.merchant_cache_hits
        self._write_cache(fresh, steady, lines)
        watch.lap("cache")
        report.decisions = [decided[key] for key in lines.keys]
        return report

    def _prepare(self, transactions: Sequence[Line]) -> _Lines:
        texts = [feature_text(t.description) for t in transactions]
        amounts = np.array([float(t.amount) for t in transactions])
        signs = np.sign(amounts).astype(int).tolist()
        keys = self._cache_keys(texts, amounts, signs, transactions)
        first_of: dict[str, int] = {}
        for index, key in enumerate(keys):
            first_of.setdefault(key, index)
        return _Lines(transactions, texts, amounts, signs, keys, first_of)

    def _remembered(self, memory: MemoryLookup, lines: _Lines) -> dict[str, Decision]:
        memory_key: dict[str, MemoryKey] = {key: (lines.merchant(key), lines.sign(key)) for key in lines.first_of}
        found = memory(sorted(set(memory_key.values())))
        decided: dict[str, Decision] = {}
        for key, wanted in memory_key.items():
            hit = found.get(wanted)
            if hit is not None:
                decided[key] = Decision(hit.category, MEMORY_CONFIDENCE, confidence_level(MEMORY_CONFIDENCE), "memory",
                                        None, None, False, f"memory: correction {hit.correction_id} for merchant "
                                        f"{wanted[0]!r}", correction_id=hit.correction_id)
        return decided

    def _read_cache(self, lookups: list[str], lines: _Lines) -> tuple[dict[str, Decision], dict[str, Decision]]:
        """One MGET for every exact key and, with the merchant layer, every merchant key too; exact wins.

        Returns the exact hits and, for the other lines, the merchant layer's decision (one per merchant).
        """
        if self.cache is None or not lookups:
            return {}, {}
        if self.merchant_cache:
            lines.merchant_ids.update(self._merchant_cache_keys(lookups, lines))
        distinct = list(dict.fromkeys(lines.merchant_ids.values()))
        values = self.cache.get_many(lookups + distinct)
        exact = {key: _from_cache(value) for key, value in zip(lookups, values, strict=False) if value is not None}
        found = {mid: value for mid, value in zip(distinct, values[len(lookups):], strict=True) if value is not None}
        by_merchant: dict[str, Decision] = {}
        decoded: dict[str, Decision] = {}  # lines of one merchant share its entry: decode it once
        for key, mid in lines.merchant_ids.items():
            if key in exact or mid not in found:
                continue
            if mid not in decoded:
                decoded[mid] = _from_cache(found[mid], f"merchant cache: merchant {lines.layer_key(key)!r}, "
                                                       f"{direction_name(lines.sign(key))}; first decided as: ")
            by_merchant[key] = decoded[mid]
        return exact, by_merchant

    def _decide_misses(self, misses: list[str], by_merchant: dict[str, Decision], lines: _Lines, report: ChunkReport,
                       watch: _Stopwatch) -> tuple[dict[str, Decision], set[str]]:
        """Rules, then the merchant layer, then the model; also the keys whose model decision is steady."""
        decided: dict[str, Decision] = {}
        reads_key = self.rules.reads_merchant_key  # a property: a Python call, once and not per line
        for key in misses:
            i = lines.first_of[key]
            text = lines.texts[i]
            key_text = _merchant_key(text) if reads_key else ""
            rule = self.rules.first_match(text, key_text, float(lines.amounts[i]), lines.transactions[i].account_id)
            if rule is not None:
                decided[key] = Decision(rule.category, RULE_CONFIDENCE, confidence_level(RULE_CONFIDENCE),
                                        "rule", rule.id, self.model_version, False, rule.explanation)
        report.rule_hits = len(decided)
        # Only lines no rule matched reach the merchant layer: it replaces the model, never a rule.
        for key in misses:
            if key not in decided and key in by_merchant:
                decided[key] = by_merchant[key]
        report.merchant_cache_hits = len(decided) - report.rule_hits
        watch.lap("rules")
        left = [key for key in misses if key not in decided]
        if self.model is None:
            for key in left:
                decided[key] = Decision(UNCATEGORIZED, 0.0, "low", "fallback", None, None, True)
            report.fallbacks = len(left)
            return decided, set()
        if not left:
            return decided, set()
        predicted, steady = self._predict(self.model, left, lines, watch)
        decided.update(predicted)
        report.model_hits = len(left)
        return decided, steady

    def _predict(self, model: CategoryModel, left: list[str], lines: _Lines,
                 watch: _Stopwatch) -> tuple[dict[str, Decision], set[str]]:
        rows = [lines.first_of[key] for key in left]
        texts = [lines.texts[i] for i in rows]
        matrix = model.vectorize(texts, lines.amounts[rows])
        watch.lap("vectorize")
        proba = model.predict_proba_matrix(matrix)
        categories, confidences = model.best_of(proba)
        explanations = model.explain(matrix, texts, categories)
        decided = {key: Decision(category, round(confidence, 4), confidence_level(confidence), "model", None,
                                 model.version, confidence < self.abstain_threshold, why)
                   for key, category, confidence, why in zip(left, categories, confidences.tolist(), explanations,
                                                             strict=True)}
        steady = self._steady(left, proba, confidences, lines.amounts[rows])
        watch.lap("predict")
        return decided, steady

    def _steady(self, keys: list[str], proba: np.ndarray, confidences: np.ndarray, amounts: np.ndarray) -> set[str]:
        """Keys whose model decision may stand for its merchant: confident, and the same at any amount."""
        if self._amount_check is None:
            return set()
        confident = np.flatnonzero(confidences >= max(MERCHANT_MIN_CONFIDENCE, self.abstain_threshold))
        if not len(confident):
            return set()
        same = self._amount_check.steady(proba[confident], amounts[confident])
        return {keys[i] for i in confident[same]}

    def _write_cache(self, fresh: dict[str, Decision], steady: set[str], lines: _Lines) -> None:
        """One SET per chunk: exact entries for new decisions, merchant entries for steady model ones.

        A line the merchant layer answered gets an exact entry too: no rule matched it and none will
        (the exact key holds everything rules read), so the next time it skips the rules as well.
        """
        if self.cache is None:
            return
        encoded: dict[int, str] = {}  # the lines of one merchant layer entry share one Decision: encode it once
        items: dict[str, str] = {}
        for key, decision in fresh.items():
            if decision.decided_by in ("rule", "model", "cache"):
                if id(decision) not in encoded:
                    encoded[id(decision)] = _to_cache(decision)
                items[key] = encoded[id(decision)]
        if self.merchant_cache:
            items.update(self._merchant_entries(fresh, steady, lines))
        if items:
            self.cache.set_many(items, self.cache_ttl)

    def _merchant_entries(self, fresh: dict[str, Decision], steady: set[str], lines: _Lines) -> dict[str, str]:
        # A merchant is stored only when all its model decisions in this chunk are steady and agree:
        # one line in doubt (low confidence, amount-dependent, another category) keeps it out.
        groups: dict[str, list[Decision]] = {}
        doubtful: set[str] = set()
        for key, decision in fresh.items():
            if decision.decided_by == "model":
                mid = lines.merchant_ids[key]  # every fresh line was looked up (_read_cache)
                groups.setdefault(mid, []).append(decision)
                if key not in steady:
                    doubtful.add(mid)
        return {mid: _to_cache(max(decisions, key=lambda d: d.confidence)) for mid, decisions in groups.items()
                if mid not in doubtful and len({d.category for d in decisions}) == 1}

    def _merchant_cache_keys(self, keys: list[str], lines: _Lines) -> dict[str, str]:
        """Exact key -> merchant layer key; one key per merchant and direction (a chunk's lines share them)."""
        made: dict[tuple[int, str], str] = {}
        ids: dict[str, str] = {}
        first_of, signs, texts = lines.first_of, lines.signs, lines.texts  # the hot loop of the layer
        for key in keys:
            i = first_of[key]
            merchant = (signs[i], _layer_key(texts[i]))
            mid = made.get(merchant)
            if mid is None:
                raw = f"{self._key_prefix}merchant|{merchant[0]}|{merchant[1]}"
                mid = made[merchant] = _digest(raw) if self._hash_keys else raw
            ids[key] = mid
        return ids

    def _cache_keys(self, texts: list[str], amounts: np.ndarray, signs: list[int],
                    transactions: Sequence[Line]) -> list[str]:
        # The key holds exactly what a decision reads: feature text, direction, amount bucket
        # (edges of the model and of every rule threshold), the account when rules read it.
        buckets = amount_bucket(amounts, self._edges).tolist() if len(self._edges) else [0] * len(texts)
        with_account = self.rules.uses_accounts
        keys = []
        for text, sign, bucket, txn in zip(texts, signs, buckets, transactions, strict=True):
            account = txn.account_id or "" if with_account else ""
            keys.append(f"{self._key_prefix}{sign}|{bucket}|{account}|{text}")
        return list(map(_digest, keys)) if self._hash_keys else keys


@dataclass(frozen=True, slots=True)
class _Lines:
    """One chunk's inputs, prepared once; ``first_of`` is keyed by exact cache key."""

    transactions: Sequence[Line]
    texts: list[str]
    amounts: np.ndarray
    signs: list[int]
    keys: list[str]
    first_of: dict[str, int]
    merchant_ids: dict[str, str] = field(default_factory=dict)  # exact key -> merchant layer key, once looked up

    def sign(self, key: str) -> int:
        """The direction of the line behind an exact key (-1 out, 1 in, 0 no amount)."""
        return self.signs[self.first_of[key]]

    def merchant(self, key: str) -> str:
        """The merchant key of the line behind an exact key (``normalize.merchant_key``)."""
        return _merchant_key(self.texts[self.first_of[key]])

    def layer_key(self, key: str) -> str:
        """The merchant the merchant layer files the line under (see ``merchant_layer.layer_key``)."""
        return _layer_key(self.texts[self.first_of[key]])


def _digest(raw: str) -> str:
    """A cache key of fixed length for a shared store (0.4 us; a key's text can run to hundreds of characters)."""
    return hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()


def _to_cache(decision: Decision) -> str:
    origin = decision.cached_from or decision.decided_by  # how it was first decided, for a merchant layer answer
    # Compact JSON, as json.dumps wrote it (UTF-8 instead of \\u escapes), at a fraction of the cost.
    return _ENCODE([decision.category, decision.confidence, origin, decision.rule_id, decision.model_version,
                    decision.needs_review, decision.explanation]).decode()


def _from_cache(value: str, why_prefix: str = "") -> Decision:
    category, confidence, origin, rule_id, model_version, needs_review, why = _DECODE(value)
    return Decision(category, confidence, confidence_level(confidence), "cache", rule_id, model_version,
                    needs_review, why_prefix + why, origin)
