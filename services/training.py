"""Train the default model on generated data and register it; register models trained on files.

Each registered model records its training data as a recipe (``training_summary["recipe"]``), so
the nightly retrain can rebuild it: ``{"kind": "generated", "seed", "rows"}`` or
``{"kind": "file", "file", "sha256"}`` for a file kept in the model's directory.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from db.engine import session_scope
from db.registry import activate_model, load_experiment, register_model
from pipeline.features import FeatureConfig
from pipeline.generate import GENERATED_COUNTRY, Generator
from pipeline.model import read_manifest, save_model, train_model
from pipeline.normalize import feature_text, merchant_key
from pipeline.offline import load_model_dir
from pipeline.settings import Settings


def train_default_model(settings: Settings, *, rows: int = 20_000, seed: int = 0, activate: bool | None = None,
                        progress: Callable[[str], None] = lambda _: None) -> str:
    """Generate ``rows`` labeled lines, fit, save, register; activate if asked or if nothing is active."""
    progress(f"generating {rows:,} labeled transactions (seed {seed})")
    data = Generator(seed).rows(rows)
    progress("fitting features and classifier")
    model = train_model(
        [feature_text(r["description"]) for r in data],
        [float(r["amount"]) for r in data],
        [r["category"] for r in data],
        [merchant_key(r["description"]) for r in data],
        random_state=seed,
        config=FeatureConfig(country=GENERATED_COUNTRY),
    )
    version, digest, _path = save_model(model, settings.effective_model_dir)
    progress(f"saved model {version} ({model.summary['train_seconds']} s, {model.summary['features']:,} features)")
    with session_scope(settings.effective_database_url) as session:
        register_model(session, version=version, sha256=digest, artifact_path=version,
                       training_summary={**model.summary, "data": f"generated seed={seed}",
                                         "recipe": {"kind": "generated", "seed": seed, "rows": rows}},
                       metrics=model.metrics)
        if activate or (activate is None and load_experiment(session).active_version is None):
            activate_model(session, version)
            progress(f"model {version} is now active")
    return version


def register_model_dir(settings: Settings, source: Path, *, activate: bool = False) -> tuple[str, bool]:
    """Verify a model directory from ``manna train --data --out``, copy it beside the others, register it.

    Returns the version and whether it was new to the registry.
    """
    manifest = read_manifest(source)
    load_model_dir(source)  # refuses an artifact or rules file that does not match the manifest
    version = manifest["version"]
    target = settings.effective_model_dir / version
    if not target.exists():
        shutil.copytree(source, target)
    with session_scope(settings.effective_database_url) as session:
        added = register_model(session, version=version, sha256=manifest["sha256"], artifact_path=version,
                               training_summary={**manifest["summary"], "data": manifest.get("source_data"),
                                                 "recipe": _file_recipe(manifest)},
                               metrics=manifest.get("metrics", {}))
        if activate:
            activate_model(session, version)
    return version, added


def _file_recipe(manifest: dict[str, Any]) -> dict[str, Any] | None:
    kept = manifest.get("training_data")
    return {"kind": "file", **kept} if kept else None


def recipe_of(training_summary: dict[str, Any]) -> dict[str, Any] | None:
    """How to rebuild a registered model's training data; models registered before recipes: from their summary."""
    recipe = training_summary.get("recipe")
    if recipe:
        return dict(recipe)
    data = str(training_summary.get("data") or "")
    if data.startswith("generated seed=") and training_summary.get("rows"):
        return {"kind": "generated", "seed": int(data.removeprefix("generated seed=")),
                "rows": int(training_summary["rows"])}
    return None
