"""Retraining from reviews (nightly on beat, or ``manna retrain --now``): one run at a time, judged first.

The candidate learns the active model's training data (rebuilt from its recipe) plus every
reviewed line, each review weighing ``MANNA_RETRAIN_FEEDBACK_WEIGHT`` times a training row. It
is registered as a candidate only when it is not worse than the active model on reviews it never
saw and on the standard evaluation set; every run, registered or not, is kept in ``retrain_runs``
with its figures.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from db.engine import session_scope
from db.feedback import newest_correction_id, reviewed_lines
from db.locks import acquire, release
from db.registry import get_model_version, load_experiment, register_model
from db.retraining import fail_interrupted, finish_run, last_decided, start_run
from pipeline.categorize import Categorizer
from pipeline.features import FeatureConfig
from pipeline.generate import GENERATED_COUNTRY, Generator
from pipeline.model import CategoryModel, read_manifest, save_model, train_model
from pipeline.normalize import feature_text, merchant_key
from pipeline.offline import RULES_NAME, TRAINING_DATA_NAME, read_labeled
from pipeline.retraining import Examples, accuracy, held_out, judge
from pipeline.rules import RuleSet
from pipeline.settings import Settings
from services.runtime import artifact_dir, load_registered
from services.training import recipe_of

log = logging.getLogger(__name__)
LEASE = "retrain"
STANDARD_EVAL_SEED, STANDARD_EVAL_ROWS = 10_007, 5_000  # generated lines no model of ours trains on


@dataclass
class RetrainResult:
    """A run's decision: registered | rejected | skipped | failed, with the figures behind it."""

    status: str
    reason: str
    run_id: int | None = None
    base_version: str | None = None
    candidate_version: str | None = None
    figures: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The JSON of ``manna retrain --now --json`` and of the task's result."""
        return {"run_id": self.run_id, "status": self.status, "reason": self.reason,
                "base_version": self.base_version, "candidate_version": self.candidate_version,
                "figures": self.figures}


def retrain(settings: Settings, *, trigger: str, progress: Callable[[str], None] = lambda _: None) -> RetrainResult:
    """Retrain once, under the retraining lease; a second caller meanwhile is told so and does nothing."""
    url = settings.effective_database_url
    holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    if not acquire(url, LEASE, holder, settings.retrain_time_limit):
        return RetrainResult("skipped", "another retrain is running")
    try:
        return _retrain(settings, trigger, progress)
    finally:
        release(url, LEASE, holder)


def _retrain(settings: Settings, trigger: str, progress: Callable[[str], None]) -> RetrainResult:
    url = settings.effective_database_url
    with session_scope(url) as session:
        if fail_interrupted(session):
            log.warning("an earlier retrain was interrupted; it is recorded as failed")
        base = load_experiment(session).active_version
        base_row = get_model_version(session, base) if base else None
        recipe = (recipe_of(base_row.training_summary) if base_row else None) or {}
        newest = newest_correction_id(session)
        previous = last_decided(session)
        lines = reviewed_lines(session, newest)
        run_id = start_run(session, trigger=trigger, base_version=base)
    result = RetrainResult("skipped", "", run_id, base)
    if base is None:
        result.reason = "no active model to retrain: train one with `manna train`"
    elif not lines:
        result.reason = "no reviews yet: nothing new to learn"
    elif previous and previous.base_version == base and (previous.last_correction_id or 0) >= newest:
        result.reason = f"no review since run {previous.id} judged this model"
    elif recipe.get("kind") not in ("generated", "file"):
        result.reason = f"model {base} kept no training data to retrain from: register one trained by this version"
    else:
        try:
            _train_and_judge(settings, result, recipe, lines, newest, progress)
        except Exception as err:
            result.status, result.reason = "failed", f"{type(err).__name__}: {err}"
            _finish(url, result, None)
            raise
    _finish(url, result, newest if result.status in ("registered", "rejected") else None)
    log.info("retrain run %s: %s (%s)", run_id, result.status, result.reason)
    return result


def _train_and_judge(settings: Settings, result: RetrainResult, recipe: dict[str, Any], lines: list[Any],
                     newest: int, progress: Callable[[str], None]) -> None:
    assert result.base_version is not None
    base_path, _ = artifact_dir(settings, result.base_version)
    base = base_examples(recipe, base_path)
    reviews = Examples([r.description for r in lines], [float(r.amount) for r in lines], [r.category for r in lines])
    judged_split = held_out([r.merchant_key for r in lines], settings.retrain_holdout_share, str(result.run_id))
    held = reviews.subset(judged_split)
    if len(held) < settings.accuracy_min_reviews:  # too few to judge: teach every review instead
        held, taught = Examples([], [], []), reviews
    else:
        taught = reviews.subset([not h for h in judged_split])
    progress(f"training on {len(base):,} rows of {result.base_version}'s data and {len(taught):,} reviews "
             f"(weight {settings.retrain_feedback_weight:g}); {len(held):,} reviews held out to judge")
    active_model, rules = load_registered(settings, result.base_version, RuleSet.load(settings.rules_path))
    country = active_model.features.config.country or (GENERATED_COUNTRY if recipe["kind"] == "generated" else None)
    candidate = _fit(base, taught, settings.retrain_feedback_weight, FeatureConfig(country=country))
    standard = standard_set(recipe, base)
    judged = {name: _compare(active_model, candidate, rules, examples, settings.accuracy_min_reviews)
              for name, examples in (("held_out_reviews", held), ("standard", standard))}
    ok, reason = judge(judged, settings.retrain_tolerance)
    result.figures = {"reviews": len(reviews), "taught": len(taught), "held_out": len(held),
                      "base_rows": len(base), "feedback_weight": settings.retrain_feedback_weight,
                      "tolerance": settings.retrain_tolerance, "train_seconds": candidate.summary["train_seconds"],
                      **judged}
    result.status, result.reason = ("registered" if ok else "rejected"), reason
    if ok:
        result.candidate_version = _register(settings, candidate, base_path, recipe, result, newest)
        progress(f"registered candidate {result.candidate_version}")


def base_examples(recipe: dict[str, Any], base_path: Any) -> Examples:
    """A registered model's training data, rebuilt from its recipe."""
    if recipe["kind"] == "generated":
        rows = Generator(int(recipe["seed"])).rows(int(recipe["rows"]))
        return Examples([r["description"] for r in rows], [float(r["amount"]) for r in rows],
                        [r["category"] for r in rows])
    data = read_labeled(base_path / recipe["file"])
    return Examples(data.descriptions, data.amounts, data.labels)


def standard_set(recipe: dict[str, Any], base: Examples) -> Examples:
    """Generated lines of a seed no model trains on; for a model of a file, that file (a regression check)."""
    if recipe["kind"] == "generated":
        rows = Generator(STANDARD_EVAL_SEED).rows(STANDARD_EVAL_ROWS)
        return Examples([r["description"] for r in rows], [float(r["amount"]) for r in rows],
                        [r["category"] for r in rows])
    return base


def _fit(base: Examples, taught: Examples, weight: float, config: FeatureConfig) -> CategoryModel:
    """The base data and the reviews, with this release's features and the base model's country."""
    descriptions = base.descriptions + taught.descriptions
    return train_model([feature_text(d) for d in descriptions], base.amounts + taught.amounts,
                       base.labels + taught.labels, [merchant_key(d) for d in descriptions],
                       weights=[1.0] * len(base) + [weight] * len(taught), config=config)


def _compare(active: CategoryModel, candidate: CategoryModel, rules: RuleSet, examples: Examples,
             min_rows: int) -> dict[str, Any]:
    return {"rows": len(examples), "judged": len(examples) >= min_rows,
            "active": accuracy(Categorizer(rules, active), examples),
            "candidate": accuracy(Categorizer(rules, candidate), examples)}


def _register(settings: Settings, model: CategoryModel, base_path: Any, recipe: dict[str, Any],
              result: RetrainResult, newest: int) -> str:
    manifest = read_manifest(base_path)
    extra = {key: manifest[key] for key in ("rules", "training_data", "source_data") if manifest.get(key)}
    version, digest, target = save_model(model, settings.effective_model_dir, extra=extra)
    for kept in (RULES_NAME, TRAINING_DATA_NAME):  # a model of a file keeps its rules and its data
        if extra and (base_path / kept).is_file():
            shutil.copyfile(base_path / kept, target / kept)
    with session_scope(settings.effective_database_url) as session:
        register_model(session, version=version, sha256=digest, artifact_path=version,
                       training_summary={**model.summary, "recipe": recipe, "retrained_from": result.base_version,
                                         "reviews_up_to": newest,
                                         "data": f"{result.base_version}'s data + {result.figures['taught']} reviews"},
                       metrics={**model.metrics, "retrain": result.figures})
    return version


def _finish(url: str, result: RetrainResult, last_correction_id: int | None) -> None:
    assert result.run_id is not None
    with session_scope(url) as session:
        finish_run(session, result.run_id, status=result.status, reason=result.reason, figures=result.figures,
                   candidate_version=result.candidate_version, last_correction_id=last_correction_id)


def standard_accuracy(settings: Settings, versions: list[str]) -> dict[str, float | None]:
    """Each model's accuracy (with its rules) on the standard evaluation set of the first one's training data."""
    with session_scope(settings.effective_database_url) as session:
        row = get_model_version(session, versions[0])
        recipe = recipe_of(row.training_summary) if row else None
    if not recipe:
        return dict.fromkeys(versions)
    path, _ = artifact_dir(settings, versions[0])
    examples = standard_set(recipe, base_examples(recipe, path))
    default_rules = RuleSet.load(settings.rules_path)
    figures: dict[str, float | None] = {}
    for version in versions:
        model, rules = load_registered(settings, version, default_rules)
        figures[version] = accuracy(Categorizer(rules, model), examples)
    return figures
