"""What a worker process builds once and reuses: settings, cache, rules, loaded models.

Nothing here connects at import time; ``runtime()`` builds on first use in each process.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

from db.engine import session_scope
from db.memory import MemoryStore
from db.registry import get_model_version, load_experiment
from pipeline.cache import GuardedCache, make_cache
from pipeline.categorize import Categorizer
from pipeline.model import ArtifactError, CategoryModel, load_model, read_manifest
from pipeline.offline import load_model_dir
from pipeline.rules import RuleSet
from pipeline.settings import Settings, get_settings
from pipeline.variant import Experiment

log = logging.getLogger(__name__)


class Runtime:
    """Per-process state shared by every task run in that process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.database_url = settings.effective_database_url
        self.cache: GuardedCache = make_cache(settings.cache_url, settings.cache_timeout_seconds,
                                              settings.cache_retry_after_seconds)
        self.rules = RuleSet.load(settings.rules_path)
        self.memory = MemoryStore(self.database_url, settings.memory_min_agreement)
        self._categorizers: dict[str | None, Categorizer] = {}
        self._experiment: Experiment | None = None
        self._experiment_read_at = 0.0
        self._lock = threading.Lock()

    def experiment(self) -> Experiment:
        """The A/B split, re-read from the database at most every few seconds."""
        now = time.monotonic()
        if self._experiment is None or now - self._experiment_read_at > self.settings.experiment_refresh_seconds:
            with session_scope(self.database_url) as session:
                self._experiment = load_experiment(session)
            self._experiment_read_at = now
        return self._experiment

    def categorizer(self, version: str | None) -> Categorizer:
        """A categorizer for a model version, loading (and verifying) the model once per process."""
        with self._lock:
            found = self._categorizers.get(version)
            if found is None:
                found = self._categorizers[version] = self._build(version)
            return found

    def loaded_versions(self) -> list[str]:
        """Model versions this process has loaded."""
        with self._lock:
            return sorted(v for v in self._categorizers if v is not None)

    def _build(self, version: str | None) -> Categorizer:
        model: CategoryModel | None = None
        rules = self.rules
        if version is None:
            log.warning("no active model registered: non-rule lines get the fallback label")
        else:
            model, rules = load_registered(self.settings, version, self.rules)
        return Categorizer(rules, model, self.cache, cache_ttl_seconds=self.settings.cache_ttl_seconds,
                           abstain_threshold=self.settings.abstain_threshold,
                           cache_namespace=self.settings.cache_namespace,
                           merchant_cache=self.settings.merchant_cache)

    def warm_up(self) -> None:
        """Load the models the current experiment serves, so the first task does not pay for it."""
        experiment = self.experiment()
        for version in {experiment.active_version, experiment.candidate_version} - {None}:
            self.categorizer(version)


def artifact_dir(settings: Settings, version: str) -> tuple[Path, str]:
    """Where a registered version's artifact lives, and the sha256 it must have."""
    with session_scope(settings.effective_database_url) as session:
        row = get_model_version(session, version)
        if row is None:
            raise ArtifactError(f"model version {version!r} is not in model_versions")
        path, digest = Path(row.artifact_path), row.artifact_sha256
    return (path if path.is_absolute() else settings.effective_model_dir / path), digest


def load_registered(settings: Settings, version: str, default_rules: RuleSet) -> tuple[CategoryModel, RuleSet]:
    """A registered model, verified, with the rules it serves with.

    A model trained on a file (``manna train --data``) brings the rules of its own taxonomy;
    one of ours serves with ``default_rules``.
    """
    path, digest = artifact_dir(settings, version)
    if "rules" in read_manifest(path):
        model, rules = load_model_dir(path, digest)
    else:
        model, rules = load_model(path, digest), default_rules
    log.info("loaded model %s from %s", version, path)
    return model, rules


_runtimes: dict[int, Runtime] = {}
_runtime_lock = threading.Lock()


def runtime() -> Runtime:
    """This process's runtime, built on first use (a forked child builds its own)."""
    pid = os.getpid()
    with _runtime_lock:
        if pid not in _runtimes:
            _runtimes.clear()
            _runtimes[pid] = Runtime(get_settings())
        return _runtimes[pid]


def reset_runtime() -> None:
    """Forget this process's runtime (tests that change settings)."""
    with _runtime_lock:
        _runtimes.clear()
