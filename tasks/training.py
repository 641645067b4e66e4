"""Train the default model on generated data and register it (``manna train``, later nightly)."""

from __future__ import annotations

from collections.abc import Callable

from db.engine import session_scope
from db.registry import activate_model, load_experiment, register_model
from pipeline.generate import Generator
from pipeline.model import save_model, train_model
from pipeline.normalize import feature_text, merchant_key
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
    )
    version, digest, _path = save_model(model, settings.effective_model_dir)
    progress(f"saved model {version} ({model.summary['train_seconds']} s, {model.summary['features']:,} features)")
    with session_scope(settings.effective_database_url) as session:
        register_model(session, version=version, sha256=digest, artifact_path=version,
                       training_summary={**model.summary, "data": f"generated seed={seed}"})
        if activate or (activate is None and load_experiment(session).active_version is None):
            activate_model(session, version)
            progress(f"model {version} is now active")
    return version
