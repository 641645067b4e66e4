"""Train and predict on files, with no broker and no database: the same code the workers run.

Files are read by ``pipeline.readers.read_rows`` (CSV or JSON Lines, as ``manna submit`` reads
them) and amounts and descriptions checked by ``pipeline.schema`` (as the API and the workers
check them): what trains also serves. ``train_file`` learns the taxonomy from the file's
categories; a row that cannot be used is skipped and counted by its reason code.
``predict_file`` streams any number of rows and writes one CSV row per input row, in order:

- ``id``: the row's ``transaction_id``, else its ``id``, else its 1-based row number in the file;
- ``category``, ``confidence``, ``confidence_level``, ``decided_by``, ``rule_id``: the decision;
- ``reason``: empty, or for a row that cannot be used (``decided_by`` ``rejected``) its reason
  code (``amount:invalid``, ``row:extra_fields``, ...);
- ``explanation``: why that category, or what is wrong with a rejected row (with its line number
  when the file's line could not be read).
"""

from __future__ import annotations

import gc
import hashlib
import shutil
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Any

import msgspec

from pipeline.cache import MemoryCache
from pipeline.categorize import Categorizer
from pipeline.currencies import country_of
from pipeline.features import FeatureConfig
from pipeline.model import CALIBRATION_FOLDS, CategoryModel, load_model, read_manifest, save_model, train_model
from pipeline.normalize import feature_text, merchant_key
from pipeline.readers import InputFormatError, csv_header, duplicated_columns, header_hint, read_rows
from pipeline.rules import DEFAULT_RULES_PATH, RuleSet
from pipeline.schema import RowError, as_object, parse_amount, parse_description
from pipeline.settings import Settings, get_settings
from pipeline.taxonomy import taxonomy_of

REQUIRED = ("description", "amount", "category")
# Every column train, predict and evaluate read; others are ignored, twice or not.
READ_COLUMNS = ("id", "transaction_id", "description", "amount", "category", "account_id", "currency", "merchant")
PREDICTION_COLUMNS = ("id", "category", "confidence", "confidence_level", "decided_by", "rule_id", "reason",
                      "explanation")
RULES_NAME = "rules.yaml"
TRAINING_DATA_NAME = "training.csv"


class DataFileError(ValueError):
    """A data file that cannot be used, with what is wrong."""


@dataclass(frozen=True)
class LabeledData:
    """Training rows that passed the checks, and how many were dropped (by reason code in ``reasons``)."""

    texts: list[str]
    amounts: list[float]
    labels: list[str]
    groups: list[str]
    dropped: int
    descriptions: list[str]
    reasons: Counter[str] = field(default_factory=Counter)
    merchants: list[str] = field(default_factory=list)  # the file's ``merchant`` column, when it has one
    country: str | None = None  # of most rows' currency (NZD: NZ): whose brands the lines name

    @property
    def split_groups(self) -> list[str]:
        """What an unseen-merchant split keeps apart: the true merchant when the file names it.

        A chain prints many descriptors ("countdown papanui", "cd riccarton"); grouping by the
        text key alone would let one merchant reach both sides of a split.
        """
        return self.merchants or self.groups


def read_labeled(path: Path, settings: Settings | None = None) -> LabeledData:
    """Rows of a labeled CSV or JSON Lines file with description, amount and category; unusable rows are counted."""
    limits = settings or get_settings()
    descriptions: list[str] = []
    amounts: list[float] = []
    labels: list[str] = []
    merchants: list[str] = []
    currencies: list[str | None] = []
    reasons: Counter[str] = Counter()
    for raw in _rows(path, REQUIRED):
        try:
            row = as_object(raw)
            description = parse_description(row.get("description"), limits.max_description_length)
            amount = parse_amount(row.get("amount"), limits.max_abs_amount)
            label = _category(row.get("category"))
        except RowError as err:
            reasons[err.reason] += 1
            continue
        descriptions.append(description)
        amounts.append(float(amount))
        labels.append(label)
        merchant = row.get("merchant")
        merchants.append(merchant.strip().lower() if isinstance(merchant, str) and merchant.strip() else "")
        currency = row.get("currency")
        currencies.append(currency.strip().upper() if isinstance(currency, str) else None)
    texts = [feature_text(d) for d in descriptions]
    keys = [merchant_key(d) for d in descriptions]
    named = [m or k for m, k in zip(merchants, keys, strict=True)] if any(merchants) else []
    return LabeledData(texts, amounts, labels, keys, reasons.total(), descriptions, reasons, named,
                       country_of(currencies))


def skipped_summary(reasons: Counter[str]) -> str:
    """E.g. ``1,234 rows skipped: amount:invalid 1,200, row:extra_fields 34`` (empty when none was)."""
    if not reasons:
        return ""
    counts = ", ".join(f"{reason} {n:,}" for reason, n in reasons.most_common())
    return f"{reasons.total():,} row{'s' if reasons.total() != 1 else ''} skipped: {counts}"


def _category(value: Any) -> str:
    if not isinstance(value, str) and value is not None:
        raise RowError("category:wrong_type", f"category must be a string, got {type(value).__name__}")
    if value is None or not value.strip():
        raise RowError("category:missing", "category is required to train")
    return value.strip()


def _rows(path: Path, columns: Sequence[str]) -> Iterator[Any]:
    """The file's rows as ``manna submit`` reads them, after checking a CSV header names ``columns``."""
    check_columns(path, columns)
    try:
        return read_rows(path)
    except InputFormatError as err:
        raise DataFileError(str(err)) from None


def check_columns(path: Path, columns: Sequence[str]) -> None:
    """Refuse a file whose kind is unknown, or a CSV whose header misses ``columns`` or names a read column twice."""
    try:
        header = csv_header(path)
    except InputFormatError as err:
        raise DataFileError(str(err)) from None
    missing = [c for c in columns if header is not None and c not in header]
    if missing:
        raise DataFileError(f"{path.name}: missing column(s) {', '.join(missing)}{header_hint(header or [], missing)}")
    if twice := duplicated_columns(header or [], READ_COLUMNS):
        raise DataFileError(f"{path.name}: the header has {', '.join(twice)} more than once; keep one of each")


def rules_for(categories: set[str], rules_path: Path | None) -> RuleSet:
    """Given rules (checked against the taxonomy), else the default rules if the taxonomy is ours."""
    taxonomy = taxonomy_of(categories)
    if rules_path is not None:
        return RuleSet.load(rules_path, taxonomy)
    if taxonomy is not categories:
        return RuleSet.load(DEFAULT_RULES_PATH)
    return RuleSet.empty()


def train_file(data: Path, out: Path, *, rules_path: Path | None = None, c: float = 20.0,
               country: str | None = None, progress: Callable[[str], None] = lambda _: None) -> CategoryModel:
    """Fit on a labeled file and write the model (and its rules) to ``out``.

    ``country`` (ISO alpha-2) chooses whose brands the model knows; by default the country of the
    file's currency column, else every country's.
    """
    if data.suffix.lower() != ".csv":  # the model keeps a copy as training.csv to be retrained from
        raise DataFileError(f"{data.name}: train reads a CSV file")
    with new_folder(out):  # a folder that cannot be written fails now, not after the fit
        return _train_into(data, out, rules_path=rules_path, c=c, country=country, progress=progress)


@contextmanager
def new_folder(path: Path) -> Iterator[None]:
    """Make ``path`` (and its parents) now; if what follows fails, remove it again when it is still empty and new."""
    created = not path.exists()
    path.mkdir(parents=True, exist_ok=True)
    try:
        yield
    except BaseException:
        if created and not any(path.iterdir()):
            path.rmdir()
        raise


def _train_into(data: Path, out: Path, *, rules_path: Path | None, c: float, country: str | None,
                progress: Callable[[str], None]) -> CategoryModel:
    labeled = read_labeled(data)
    if len(set(labeled.labels)) < 2:
        raise DataFileError(f"{data.name}: need at least two categories to learn from"
                            + (f" ({skipped_summary(labeled.reasons)})" if labeled.reasons else ""))
    skipped = skipped_summary(labeled.reasons)
    progress(f"{len(labeled.labels):,} rows, {len(set(labeled.labels))} categories{f'; {skipped}' if skipped else ''}")
    rules = rules_for(set(labeled.labels), rules_path)
    config = FeatureConfig(country=(country or labeled.country or "").upper() or None)
    progress(f"brands of {config.country or 'every country'}")
    model = train_model(labeled.texts, labeled.amounts, labeled.labels, labeled.groups, c=c, config=config)
    rules_file = rules_path or (DEFAULT_RULES_PATH if rules.rules else None)
    rules_info = None
    if rules_file is not None:
        _copy(rules_file, out / RULES_NAME)
        rules_info = {"file": RULES_NAME, "sha256": hashlib.sha256(rules_file.read_bytes()).hexdigest(),
                      "rules": len(rules.rules)}
    _copy(data, out / TRAINING_DATA_NAME)  # kept so that the model can be retrained from it
    training_data = {"file": TRAINING_DATA_NAME, "sha256": hashlib.sha256(data.read_bytes()).hexdigest()}
    save_model(model, out, versioned=False, extra={"rules": rules_info, "source_data": data.name,
                                                   "training_data": training_data})
    progress(f"model {model.version}: {model.summary['features']:,} features, "
             f"{model.summary['train_seconds']} s, {len(rules.rules)} rules")
    progress(held_out_summary(model))
    return model


def _copy(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target``, unless it is ``target`` already (retraining a model folder from its own files)."""
    if not (target.exists() and target.samefile(source)):
        shutil.copyfile(source, target)


def held_out_summary(model: CategoryModel) -> str:
    """What the model measured on merchants held out of its first fits, or why it could not."""
    found = model.metrics
    if not found:
        return (f"confidence not calibrated (temperature 1): under {CALIBRATION_FOLDS} merchant names, too few "
                "to hold any out; expect lower accuracy on new merchants than the confidences say")
    return (f"held-out merchants ({found['held_out_merchant_rows']:,} rows, each decided by a fit that never saw "
            f"its merchant): accuracy {found['held_out_merchant_accuracy']:.3f}, ECE "
            f"{found['held_out_merchant_ece']:.3f}, temperature {model.temperature:.2f}; expect about this on new "
            "merchants, better on known ones")


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


def refuse_overwriting(out: Path, data: Path) -> None:
    """Refuse an output that is the data file itself, by any name: opening it to write would empty it."""
    if out.exists() and out.samefile(data):
        raise DataFileError(f"{out} is the data file itself: writing it would overwrite the rows it comes from; "
                            "write to another file")


def predict_file(model_dir: Path, data: Path, out: Path, *, batch_size: int = 20_000, cache_items: int = 500_000,
                 jobs: int = 1, progress: Callable[[int], None] = lambda _: None) -> int:
    """Write one prediction per input row, in order (columns in the module docstring); returns the number of rows.

    ``jobs`` > 1 decides batches in that many processes (``pipeline.predict_processes``).
    """
    refuse_overwriting(out, data)
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}")
    rows = _rows(data, ("description", "amount"))
    # Rows alone, not (number, row) pairs: 20,000 live tuples keep the garbage collector busy (2x the read time).
    batches = iter(lambda: list(islice(rows, batch_size)), [])
    if jobs > 1:
        from pipeline.predict_processes import decided_in_processes

        load_model_dir(model_dir)  # a bad model is one clear error, before any process starts
        decided = decided_in_processes(model_dir, batches, jobs, cache_items)
    else:
        decided = _decided_here(BatchPredictor(model_dir, cache_items), batches)
    written = 0
    with out.open("w", newline="", encoding="utf-8") as handle:
        handle.write(csv_text([PREDICTION_COLUMNS]))
        for predictions in decided:
            handle.write(csv_text(predictions))
            written += len(predictions)
            progress(written)
    return written


def csv_text(rows: Sequence[Sequence[Any]]) -> str:
    """Rows of the prediction columns as ``csv.writer`` writes them, byte for byte, at about half its cost.

    csv.writer looks every character up in the line terminator and writes row by row; here a row is
    one f-string, and only a row whose first seven fields hold a comma, a quote or a line end takes
    the field-by-field path. The explanation, last, nearly always needs quotes (it quotes names).
    """
    lines = []
    for key, category, confidence, level, decided_by, rule_id, reason, explanation in rows:
        number = (type(confidence) is float and _NUMBER_TEXT.get(confidence)) or _number_text(confidence)
        head = f"{key},{category},{number},{level},{decided_by},{rule_id},{reason}"
        if head.count(",") != 6 or '"' in head or "\n" in head or "\r" in head:
            head = ",".join([_csv_field(str(value)) for value in
                             (key, category, confidence, level, decided_by, rule_id, reason)])
        lines.append(f"{head},{_csv_field(str(explanation))}\r\n")
    return "".join(lines)


# Confidences have at most four decimals, so a run prints a few thousand distinct ones: each is
# formatted once (formatting a float finds its shortest repr, about half a microsecond). Only
# floats look it up (an int 1 would find the text of 1.0), and only positive ones are kept (-0.0
# would find that of 0.0).
_NUMBER_TEXT: dict[float, str] = {}


def _number_text(value: Any) -> str:
    text = f"{value}"
    if type(value) is float and value > 0 and len(_NUMBER_TEXT) < 100_000:
        _NUMBER_TEXT[value] = text
    return text


def _csv_field(value: str) -> str:
    # What makes csv.writer quote a field (QUOTE_MINIMAL, "\r\n" line ends). Four searches for one
    # character each run at memchr speed: a third less than one regex character class.
    needs_quotes = '"' in value or "," in value or "\n" in value or "\r" in value
    return f'"{value.replace(chr(34), chr(34) * 2)}"' if needs_quotes else value


class BatchPredictor:
    """The rows of one batch after another, decided by one model and one cache for the whole run."""

    def __init__(self, model_dir: Path, cache_items: int) -> None:
        model, rules = load_model_dir(model_dir)
        self.limits = get_settings()
        gc.freeze()  # the model's objects live for the whole run: keep the collector from rescanning them
        # Lines repeat across a file: decide each distinct input once for the whole run.
        # The merchant layer too (MANNA_MERCHANT_CACHE, as the workers): a merchant decided confidently
        # in one batch is not run through the model again in the next.
        self.categorizer = Categorizer(rules, model, cache=MemoryCache(max_items=cache_items),
                                       merchant_cache=self.limits.merchant_cache, hash_keys=False)

    def __call__(self, batch: list[Any], first: int) -> list[tuple[Any, ...]]:
        """One output row per input row of ``batch``, whose first row is row number ``first`` of the file."""
        predictions = _predict_batch(self.categorizer, batch, first, self.limits)
        gc.freeze()  # and so do the decisions the cache keeps: full collections would scan them, batch by batch
        return predictions


def _decided_here(predictor: BatchPredictor, batches: Iterator[list[Any]]) -> Iterator[list[tuple[Any, ...]]]:
    """Each batch's predictions, in this process."""
    first = 1
    for batch in batches:
        yield predictor(batch, first)
        first += len(batch)


def _predict_batch(categorizer: Categorizer, batch: list[Any], first: int, limits: Settings) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    valid: list[_Row] = []
    positions: list[int] = []
    for number, raw in enumerate(batch, start=first):
        key = _row_id(raw, number)
        try:
            row = as_object(raw)
            description = parse_description(row.get("description"), limits.max_description_length)
            amount = parse_amount(row.get("amount"), limits.max_abs_amount)
        except RowError as err:
            rows.append((key, "", 0.0, "low", "rejected", "", err.reason, err.detail))
            continue
        account = row.get("account_id")
        valid.append(_Row(key, description, amount, account if isinstance(account, str) else None))
        positions.append(len(rows))
        rows.append(())
    report = categorizer.categorize(valid)
    for i, txn, d in zip(positions, valid, report.decisions, strict=True):
        # A repeat of a line decided earlier in the file reports how that line was decided.
        rows[i] = (txn.id, d.category, d.confidence, d.confidence_level, d.cached_from or d.decided_by,
                   d.rule_id or "", "", d.explanation)
    return rows


class _Row(msgspec.Struct, frozen=True, gc=False):
    """An accepted row, as categorizing reads it (``categorize.Line``): 0.1 us to build, against 0.45 for a
    NamedTuple and 1.5 for a ``Transaction``."""

    id: str
    description: str
    amount: Decimal
    account_id: str | None


def _row_id(raw: Any, number: int) -> str:
    """The row's ``transaction_id``, else its ``id``, else its row number."""
    if not isinstance(raw, dict):
        return str(number)
    value = raw.get("transaction_id")
    if value is None or value == "":
        value = raw.get("id")
    if type(value) is str and value.isascii() and value:  # the common case
        return value
    if value is None or value == "" or isinstance(value, dict | list):
        return str(number)
    return str(value).encode("utf-8", "replace").decode("utf-8")  # no lone surrogate in the output file
