"""Fixtures shared by both rooms: settings pointed at throw-away places, a migrated SQLite file."""

from __future__ import annotations

import pytest

from db.engine import dispose_engines
from db.migrate import upgrade
from pipeline.settings import Settings, use_settings
from services.runtime import reset_runtime


@pytest.fixture
def sqlite_settings(tmp_path):
    """Embedded settings whose SQLite file and model directory live in ``tmp_path``, schema applied."""
    settings = Settings(broker_url=None, database_url=None, cache_url=None, data_dir=tmp_path)
    upgrade(settings.effective_database_url)
    use_settings(settings)
    reset_runtime()
    yield settings
    use_settings(None)
    reset_runtime()
    dispose_engines()


@pytest.fixture(scope="session")
def small_model():
    """A model fitted on a few thousand generated lines (seconds), shared by the unit tests."""
    from pipeline.features import FeatureConfig
    from pipeline.generate import GENERATED_COUNTRY, Generator
    from pipeline.model import train_model
    from pipeline.normalize import feature_text, merchant_key

    rows = Generator(3).rows(4_000)
    model = train_model([feature_text(r["description"]) for r in rows], [float(r["amount"]) for r in rows],
                        [r["category"] for r in rows], [merchant_key(r["description"]) for r in rows],
                        config=FeatureConfig(country=GENERATED_COUNTRY))
    model.version = "m-test"
    return model
