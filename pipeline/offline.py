"""Train and predict on files, with no broker and no database: the same code the workers run.

``train_file`` learns the taxonomy from the file's categories; ``predict_file`` streams any
number of rows and writes one prediction per input row, in order.
"""

from __future__ import annotations

import csv
import gc
import hashlib
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.cache import MemoryCache
from pipeline.categorize import Categorizer
from pipeline.model import CategoryModel, load_model, read_manifest, save_model, train_model
from pipeline.normalize import feature_text, merchant_key
from pipeline.rules import DEFAULT_RULES_PATH, RuleSet
from pipeline.schema import Transaction
from pipeline.taxonomy import default_taxonomy

REQUIRED = ("description", "amount", "category")
PREDICTION_COLUMNS = ("category", "confidence", "confidence_level", "decided_by", "rule_id", "explanation")
RULES_NAME = "rules.yaml"
TRAINING_DATA_NAME = "training.csv"


class DataFileError(ValueError):
    """A data file that cannot be used, with what is wrong."""


@dataclass(frozen=True)
class LabeledData:
    """Training rows that passed the checks, and how many were dropped."""

    texts: list[str]
    amounts: list[float]
    labels: list[str]
    groups: list[str]
    dropped: int
    descriptions: list[str]


def read_labeled(path: Path) -> LabeledData:
    """Rows of a labeled CSV with description, amount and category; unusable rows are counted."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding_errors="replace")
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise DataFileError(f"{path.name}: missing column(s) {', '.join(missing)}")
    amounts = pd.to_numeric(frame["amount"].str.replace(",", "", regex=False), errors="coerce")
    usable = (frame["description"].str.strip() != "") & (frame["category"].str.strip() != "") & amounts.notna()
    descriptions = frame.loc[usable, "description"].tolist()
    texts = [feature_text(d) for d in descriptions]
    return LabeledData(texts, amounts[usable].astype(float).tolist(), frame.loc[usable, "category"].str.strip()
                       .tolist(), [merchant_key(d) for d in descriptions], int((~usable).sum()), descriptions)


def taxonomy_of(categories: set[str]) -> set[str]:
    """The taxonomy a set of categories belongs to: ours when they all are ours, else just themselves."""
    ours = set(default_taxonomy().categories)
    return ours if categories <= ours else categories


def rules_for(categories: set[str], rules_path: Path | None) -> RuleSet:
    """Given rules (checked against the taxonomy), else the default rules if the taxonomy is ours."""
    taxonomy = taxonomy_of(categories)
    if rules_path is not None:
        return RuleSet.load(rules_path, taxonomy)
    if taxonomy is not categories:
        return RuleSet.load(DEFAULT_RULES_PATH)
    return RuleSet.empty()


def train_file(data: Path, out: Path, *, rules_path: Path | None = None, c: float = 20.0,
               progress: Callable[[str], None] = lambda _: None) -> CategoryModel:
    """Fit on a labeled file and write the model (and its rules) to ``out``."""
    labeled = read_labeled(data)
    if len(set(labeled.labels)) < 2:
        raise DataFileError(f"{data.name}: need at least two categories to learn from")
    progress(f"{len(labeled.labels):,} rows, {len(set(labeled.labels))} categories"
             f"{f', {labeled.dropped:,} unusable rows skipped' if labeled.dropped else ''}")
    rules = rules_for(set(labeled.labels), rules_path)
    model = train_model(labeled.texts, labeled.amounts, labeled.labels, labeled.groups, c=c)
    rules_file = rules_path or (DEFAULT_RULES_PATH if rules.rules else None)
    rules_info = None
    if rules_file is not None:
        out.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(rules_file, out / RULES_NAME)
        rules_info = {"file": RULES_NAME, "sha256": hashlib.sha256(rules_file.read_bytes()).hexdigest(),
                      "rules": len(rules.rules)}
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(data, out / TRAINING_DATA_NAME)  # kept so that the model can be retrained from it
    training_data = {"file": TRAINING_DATA_NAME, "sha256": hashlib.sha256(data.read_bytes()).hexdigest()}
    save_model(model, out, versioned=False, extra={"rules": rules_info, "source_data": data.name,
                                                   "training_data": training_data})
    progress(f"model {model.version}: {model.summary['features']:,} features, "
             f"{model.summary['train_seconds']} s, {len(rules.rules)} rules")
    return model


def load_model_dir(directory: Path, expected_sha256: str | None = None) -> tuple[CategoryModel, RuleSet]:
    """A model directory written by ``train_file``, verified against its manifest (or a pinned hash)."""
    manifest = read_manifest(directory)
    model = load_model(directory, expected_sha256 or manifest["sha256"])
    rules_info = manifest.get("rules")
    if not rules_info:
        return model, RuleSet.empty()
    rules_path = directory / rules_info["file"]
    if hashlib.sha256(rules_path.read_bytes()).hexdigest() != rules_info["sha256"]:
        raise DataFileError(f"refusing {rules_path}: it changed since the model was trained")
    return model, RuleSet.load(rules_path, categories=taxonomy_of({str(c) for c in model.classes}))


def predict_file(model_dir: Path, data: Path, out: Path, *, batch_size: int = 20_000, cache_items: int = 500_000,
                 progress: Callable[[int], None] = lambda _: None) -> int:
    """Write one prediction per input row, in order; returns the number of rows."""
    model, rules = load_model_dir(model_dir)
    gc.freeze()  # the model's objects live for the whole run: keep the collector from rescanning them
    # Lines repeat across a file: decide each distinct input once for the whole run.
    categorizer = Categorizer(rules, model, cache=MemoryCache(max_items=cache_items))
    written = 0
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(PREDICTION_COLUMNS)
        for batch in _batches(data, batch_size):
            writer.writerows(_predict_batch(categorizer, batch))
            written += len(batch)
            progress(written)
    return written


def _batches(path: Path, size: int) -> Iterator[pd.DataFrame]:
    reader = pd.read_csv(path, dtype=str, keep_default_na=False, chunksize=size, encoding_errors="replace")
    for frame in reader:
        if "description" not in frame.columns or "amount" not in frame.columns:
            raise DataFileError(f"{path.name}: needs description and amount columns")
        yield frame


def _predict_batch(categorizer: Categorizer, frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...] | None] = [None] * len(frame)
    valid: list[Transaction] = []
    positions: list[int] = []
    accounts = frame["account_id"].tolist() if "account_id" in frame.columns else [None] * len(frame)
    for i, (description, amount, account) in enumerate(zip(frame["description"].tolist(), frame["amount"].tolist(),
                                                          accounts, strict=True)):
        parsed = _amount(amount)
        if not description.strip() or parsed is None:
            rows[i] = ("", 0.0, "low", "rejected", "", "description or amount missing or not a number")
            continue
        valid.append(Transaction(str(i), description, parsed, "XXX", account_id=account or None))
        positions.append(i)
    report = categorizer.categorize(valid)
    for i, d in zip(positions, report.decisions, strict=True):
        # A repeat of a line decided earlier in the file reports how that line was decided.
        rows[i] = (d.category, d.confidence, d.confidence_level, d.cached_from or d.decided_by, d.rule_id or "",
                   d.explanation)
    return [row for row in rows if row is not None]


def _amount(text: str) -> Decimal | None:
    try:
        value = Decimal(text.replace(",", "").strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None
