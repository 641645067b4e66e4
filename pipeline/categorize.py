"""Categorize a chunk: normalize, de-duplicate, merchant memory, cache (one MGET), rules, model, cache (one SET)."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from pipeline.cache import ResultCache
from pipeline.features import amount_bucket
from pipeline.memory import MEMORY_CONFIDENCE, MemoryKey, MemoryLookup
from pipeline.model import CategoryModel, confidence_level
from pipeline.normalize import feature_text, merchant_key_of_text
from pipeline.rules import RuleSet
from pipeline.schema import Transaction
from pipeline.taxonomy import UNCATEGORIZED

RULE_CONFIDENCE = 0.99
STAGES = ("normalize", "cache", "rules", "vectorize", "predict")
# Lines repeat: a worker sees the same feature texts again and again.
_merchant_key = lru_cache(maxsize=200_000)(merchant_key_of_text)


@dataclass(frozen=True, slots=True)
class Decision:
    """A label and where it came from: every label carries its audit fields."""

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
    merchant_keys: list[str] = field(default_factory=list)
    unique: int = 0
    memory_hits: int = 0
    cache_hits: int = 0
    rule_hits: int = 0
    model_hits: int = 0
    fallbacks: int = 0
    timings_ms: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))


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
    ) -> None:
        self.rules = rules
        self.model = model
        self.cache = cache
        self.cache_ttl = cache_ttl_seconds
        self.abstain_threshold = abstain_threshold
        model_edges = model.amount_edges if model else ()
        self._edges = np.array(sorted(set(model_edges) | set(rules.amount_edges)))
        self._key_prefix = f"{cache_namespace}|{model.version if model else 'none'}|{rules.version}|"

    @property
    def model_version(self) -> str | None:
        """The version of the model behind this categorizer, if any."""
        return self.model.version if self.model else None

    def categorize(self, transactions: Sequence[Transaction], memory: MemoryLookup | None = None) -> ChunkReport:
        """Decide every transaction; identical inputs inside the chunk are decided once.

        ``memory`` (the source's merchant memory) wins over the cache, rules and model. Its
        decisions are never cached, so a correction takes effect on the next chunk.
        """
        report = ChunkReport(decisions=[])
        watch = _Stopwatch(report.timings_ms)
        texts = [feature_text(t.description) for t in transactions]
        amounts = np.array([float(t.amount) for t in transactions])
        signs = np.sign(amounts).astype(int).tolist()
        keys = self._cache_keys(texts, amounts, signs, transactions)
        first_of: dict[str, int] = {}
        for index, key in enumerate(keys):
            first_of.setdefault(key, index)
        unique_keys = list(first_of)
        report.unique = len(unique_keys)
        merchant_of = {key: _merchant_key(texts[i]) for key, i in first_of.items()}
        report.merchant_keys = [merchant_of[key] for key in keys]
        watch.lap("normalize")

        decided = self._remembered(memory, unique_keys, merchant_of, first_of, signs) if memory else {}
        report.memory_hits = len(decided)
        lookups = [key for key in unique_keys if key not in decided]
        cached = self.cache.get_many(lookups) if self.cache else [None] * len(lookups)
        for key, value in zip(lookups, cached, strict=True):
            if value is not None:
                decided[key] = _from_cache(value)
        report.cache_hits = len(decided) - report.memory_hits
        watch.lap("cache")

        fresh = self._decide_misses([k for k in lookups if k not in decided], first_of,
                                    texts, amounts, transactions, report, watch)
        decided.update(fresh)
        cacheable = {k: _to_cache(d) for k, d in fresh.items() if d.decided_by != "fallback"}
        if self.cache and cacheable:
            self.cache.set_many(cacheable, self.cache_ttl)
        watch.lap("cache")
        report.decisions = [decided[key] for key in keys]
        return report

    def _remembered(self, memory: MemoryLookup, unique_keys: list[str], merchant_of: dict[str, str],
                    first_of: dict[str, int], signs: list[int]) -> dict[str, Decision]:
        memory_key: dict[str, MemoryKey] = {key: (merchant_of[key], signs[first_of[key]]) for key in unique_keys}
        found = memory(sorted(set(memory_key.values())))
        decided: dict[str, Decision] = {}
        for key, wanted in memory_key.items():
            hit = found.get(wanted)
            if hit is not None:
                decided[key] = Decision(hit.category, MEMORY_CONFIDENCE, confidence_level(MEMORY_CONFIDENCE), "memory",
                                        None, None, False, f"memory: correction {hit.correction_id} for merchant "
                                        f"{wanted[0]!r}", correction_id=hit.correction_id)
        return decided

    def _decide_misses(
        self,
        misses: list[str],
        first_of: dict[str, int],
        texts: list[str],
        amounts: np.ndarray,
        transactions: Sequence[Transaction],
        report: ChunkReport,
        watch: _Stopwatch,
    ) -> dict[str, Decision]:
        decided: dict[str, Decision] = {}
        for key in misses:
            i = first_of[key]
            txn = transactions[i]
            key_text = _merchant_key(texts[i]) if self.rules.reads_merchant_key else ""
            rule = self.rules.first_match(texts[i], key_text, float(amounts[i]), txn.account_id)
            if rule is not None:
                decided[key] = Decision(rule.category, RULE_CONFIDENCE, confidence_level(RULE_CONFIDENCE),
                                        "rule", rule.id, self.model_version, False, rule.explanation)
        report.rule_hits = len(decided)
        watch.lap("rules")
        left = [key for key in misses if key not in decided]
        if self.model is None:
            for key in left:
                decided[key] = Decision(UNCATEGORIZED, 0.0, "low", "fallback", None, None, True)
            report.fallbacks = len(left)
            return decided
        if not left:
            return decided
        rows = [first_of[key] for key in left]
        matrix = self.model.vectorize([texts[i] for i in rows], amounts[rows])
        watch.lap("vectorize")
        categories, confidences = self.model.predict_matrix(matrix)
        explanations = self.model.explain(matrix, [texts[i] for i in rows], categories)
        for key, category, confidence, why in zip(left, categories, confidences.tolist(), explanations, strict=True):
            decided[key] = Decision(category, round(confidence, 4), confidence_level(confidence), "model",
                                    None, self.model_version, confidence < self.abstain_threshold, why)
        report.model_hits = len(left)
        watch.lap("predict")
        return decided

    def _cache_keys(self, texts: list[str], amounts: np.ndarray, signs: list[int],
                    transactions: Sequence[Transaction]) -> list[str]:
        # The key holds exactly what a decision reads: feature text, direction, amount bucket
        # (edges of the model and of every rule threshold), the account when rules read it.
        buckets = amount_bucket(amounts, self._edges).tolist() if len(self._edges) else [0] * len(texts)
        with_account = self.rules.uses_accounts
        keys = []
        for text, sign, bucket, txn in zip(texts, signs, buckets, transactions, strict=True):
            account = txn.account_id or "" if with_account else ""
            raw = f"{self._key_prefix}{sign}|{bucket}|{account}|{text}"
            keys.append(hashlib.blake2b(raw.encode(), digest_size=16).hexdigest())
        return keys


def _to_cache(decision: Decision) -> str:
    return json.dumps([decision.category, decision.confidence, decision.decided_by, decision.rule_id,
                       decision.model_version, decision.needs_review, decision.explanation], separators=(",", ":"))


def _from_cache(value: str) -> Decision:
    category, confidence, origin, rule_id, model_version, needs_review, why = json.loads(value)
    return Decision(category, confidence, confidence_level(confidence), "cache", rule_id, model_version,
                    needs_review, why, origin)
