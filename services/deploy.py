"""``manna deploy``: the seed's deployment pipeline, each step checked, a failed step undone.

1 prerequisites  2 baseline (a canary job on the running stack)  3 migrations  4 activate a model
(optional)  5 restart the stack (warm shutdown)  6 validate (a canary job whose labels are checked,
its speed against the baseline, health)  7 start a rollout (optional). A failure from step 4 on
puts the previous model back, restarts the processes and says why. Migrations are not undone:
they only ever add (db/README.md), so the previous code runs on the new schema.

Celery stays out of this layer: the CLI hands in the functions that reach the broker.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text

from db.engine import session_scope
from db.jobs import job_summary
from db.migrate import upgrade
from db.registry import get_model_version, load_experiment
from db.review import source_labels
from pipeline.generate import Generator
from pipeline.settings import Settings
from services.models import activate
from services.rollout import start as start_rollout

CANARY_SOURCE = "deploy-canary"
MIN_FREE_BYTES = 1 << 30
Submit = Callable[[list[dict[str, Any]], str], None]  # rows, job id -> sent through manna.submit_batch


class DeployFailed(RuntimeError):
    """A step failed; the message says which and why."""


@dataclass
class DeployOptions:
    activate: str | None = None
    force: bool = False  # activate even a model clearly worse than the active one
    rollout: str | None = None
    policy: str = "seed"
    canary_rows: int = 2_000
    min_canary_accuracy: float = 0.0
    max_accuracy_drop: float = 0.05  # canary accuracy against the baseline's
    max_slowdown: float = 0.5  # canary throughput may be this much below the baseline's (a shared machine is noisy)


@dataclass
class DeployResult:
    ok: bool
    steps: list[dict[str, Any]] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    error: str | None = None


def plan(options: DeployOptions) -> list[str]:
    """What ``manna deploy`` will do, in order (``--dry-run`` prints this)."""
    steps = ["prerequisites: broker, database and cache reachable, settings and secrets, 1 GiB free, a model",
             f"baseline: a canary job of {options.canary_rows:,} generated lines on the running stack (if any)",
             "migrations: manna db upgrade"]
    if options.activate:
        steps.append(f"activate {options.activate} (refused if clearly worse than the active model)")
    steps += ["restart: deploy/stack.sh down (warm shutdown), then up",
              f"validate: a canary job, every line labeled, accuracy >= {options.min_canary_accuracy:g} and within "
              f"{options.max_accuracy_drop:g} of the baseline, throughput within {options.max_slowdown:.0%} of it, "
              "health"]
    if options.rollout:
        steps.append(f"rollout start --candidate {options.rollout} --policy {options.policy}")
    steps.append("on a failure from the activation on: the previous model active again, the stack restarted")
    return steps


def deploy(settings: Settings, options: DeployOptions, *, submit: Submit, broker_ok: Callable[[], bool],
           stack: Callable[[str], None], stack_running: Callable[[], bool],
           progress: Callable[[str], None] = lambda _: None) -> DeployResult:
    """Run every step; returns what happened (``ok`` False after a failed and undone deployment)."""
    result = DeployResult(ok=False)
    current = ["deploy"]

    def step(name: str, action: Callable[[], Any]) -> Any:
        current[0] = name
        progress(f"{name} ...")
        started = time.perf_counter()
        outcome = action()
        result.steps.append({"step": name, "seconds": round(time.perf_counter() - started, 1), "outcome": outcome})
        progress(f"{name}: {outcome}")
        return outcome

    try:
        step("prerequisites", lambda: _prerequisites(settings, options, broker_ok))
    except DeployFailed as err:
        result.error = f"prerequisites: {err}"
        return result
    was_running = stack_running()
    baseline = step("baseline", lambda: _canary(settings, options, submit) if was_running else "no stack running")
    step("migrations", lambda: _migrate(settings))
    with session_scope(settings.effective_database_url) as session:
        previous = load_experiment(session).active_version
    try:
        if options.activate:
            step("activate", lambda: _activate(settings, str(options.activate), options.force))
        step("restart", lambda: _restart(stack, was_running))
        step("validate", lambda: _validate(settings, options, submit, baseline))
        if options.rollout:
            step("rollout", lambda: start_rollout(settings, candidate=str(options.rollout), actor="deploy",
                                                  policy=options.policy)["state"])
    except Exception as err:
        result.error = f"{current[0]} failed: {err}"
        progress(result.error)
        result.restored = _restore(settings, previous, stack, progress)
        return result
    result.ok = True
    _save(settings, result, baseline)
    return result


def _prerequisites(settings: Settings, options: DeployOptions, broker_ok: Callable[[], bool]) -> str:
    problems = []
    for name, secret in (("MANNA_FLOWER_PASSWORD", settings.flower_password), ("MANNA_ADMIN_TOKEN",
                                                                                settings.admin_token)):
        if secret is None or not secret.get_secret_value():
            problems.append(f"{name} is not set (the stack runs Flower and the admin API)")
    if settings.embedded:
        problems.append("MANNA_BROKER_URL is not set: a deployment runs the real stack")
    elif not _quietly(broker_ok):
        problems.append("the broker does not answer")
    if not _quietly(lambda: _database_ok(settings)):
        problems.append("the database does not answer (is it created? createdb, then manna db upgrade)")
    if settings.cache_url and not _quietly(lambda: _cache_ok(str(settings.cache_url))):
        problems.append("the cache Redis does not answer")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if shutil.disk_usage(settings.data_dir).free < MIN_FREE_BYTES:
        problems.append(f"less than 1 GiB free under {settings.data_dir}")
    wanted = options.activate or options.rollout
    with session_scope(settings.effective_database_url) as session:
        if load_experiment(session).active_version is None and not options.activate:
            problems.append("no active model: manna train, or manna models register DIR --activate")
        if wanted and get_model_version(session, wanted) is None:
            problems.append(f"model {wanted} is not registered")
    if problems:
        raise DeployFailed("; ".join(problems))
    return "ok"


def _migrate(settings: Settings) -> str:
    upgrade(settings.effective_database_url)
    return "schema at head"


def _activate(settings: Settings, version: str, force: bool) -> str:
    activate(settings, version, actor="deploy", force=force)
    return f"{version} active"


def _canary(settings: Settings, options: DeployOptions, submit: Submit) -> dict[str, Any]:
    """Send generated lines with known categories; measure how fast and how right the stack labels them."""
    job_id = f"canary-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    rows = Generator(4_242).rows(options.canary_rows, id_prefix=f"{job_id}-")
    started = time.perf_counter()
    submit(rows, job_id)
    deadline = time.monotonic() + 120
    job = None
    while time.monotonic() < deadline:
        with session_scope(settings.effective_database_url) as session:
            job = job_summary(session, job_id)
        if job and job["status"] == "finished" and job["received"] >= len(rows):
            break
        time.sleep(0.2)
    else:
        raise DeployFailed(f"canary job {job_id} did not finish in 120 s: {job}")
    seconds = time.perf_counter() - started
    with session_scope(settings.effective_database_url) as session:
        labels = {tid: category for tid, category in source_labels(session, CANARY_SOURCE).items()
                  if tid.startswith(job_id)}
    right = sum(labels.get(row["id"]) == row["category"] for row in rows)
    return {"job_id": job_id, "rows": len(rows), "labeled": len(labels), "accuracy": round(right / len(rows), 4),
            "seconds": round(seconds, 2), "tps": round(len(rows) / seconds, 1)}


def _validate(settings: Settings, options: DeployOptions, submit: Submit, baseline: Any) -> dict[str, Any]:
    canary = _canary(settings, options, submit)
    problems = []
    if canary["labeled"] != canary["rows"]:
        problems.append(f"{canary['labeled']:,} of {canary['rows']:,} canary lines labeled")
    if canary["accuracy"] < options.min_canary_accuracy:
        problems.append(f"canary accuracy {canary['accuracy']:.3f} below {options.min_canary_accuracy:g}")
    if isinstance(baseline, dict):
        if canary["accuracy"] < baseline["accuracy"] - options.max_accuracy_drop:
            problems.append(f"canary accuracy {canary['accuracy']:.3f} against {baseline['accuracy']:.3f} before")
        if canary["tps"] < baseline["tps"] * (1 - options.max_slowdown):
            problems.append(f"canary {canary['tps']:,.0f} tx/s against {baseline['tps']:,.0f} before")
    if problems:
        raise DeployFailed("; ".join(problems))
    return canary


def _restart(stack: Callable[[str], None], was_running: bool) -> str:
    if was_running:
        stack("down")
    stack("up")
    return "restarted" if was_running else "started"


def _restore(settings: Settings, previous: str | None, stack: Callable[[str], None],
             progress: Callable[[str], None]) -> list[str]:
    restored = []
    with session_scope(settings.effective_database_url) as session:
        current = load_experiment(session).active_version
    if previous and current != previous:
        activate(settings, previous, actor="deploy", force=True)
        restored.append(f"model {previous} active again")
    try:
        stack("down")
        stack("up")
        restored.append("stack restarted")
    except Exception as err:  # say so: the operator must look
        restored.append(f"stack restart failed: {err}")
    for line in restored:
        progress(f"restore: {line}")
    return restored


def _save(settings: Settings, result: DeployResult, baseline: Any) -> None:
    directory = settings.data_dir / "deploy"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}.json").write_text(
        json.dumps({"baseline": baseline, "steps": result.steps}, indent=2, default=str))


def _quietly(probe: Callable[[], bool]) -> bool:
    try:
        return probe()
    except Exception:
        return False


def _database_ok(settings: Settings) -> bool:
    with session_scope(settings.effective_database_url) as session:
        return session.execute(text("SELECT 1")).scalar() == 1


def _cache_ok(url: str) -> bool:
    import redis

    return bool(redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1).ping())


def run_stack(script: Path, action: str) -> None:
    """deploy/stack.sh ACTION; a failure carries the script's last words."""
    done = subprocess.run([str(script), action], capture_output=True, text=True, timeout=240)
    if done.returncode != 0:
        raise DeployFailed(f"stack.sh {action}: {(done.stderr or done.stdout).strip()[-600:]}")


def stack_is_running(script: Path) -> bool:
    """True when stack.sh reports a running worker."""
    done = subprocess.run([str(script), "status"], capture_output=True, text=True, timeout=60)
    return any(line.startswith("worker-") and " running " in line for line in done.stdout.splitlines())
