"""Real Redis, real Postgres, a real worker process: one of each per test session.

The machine's shared servers are used, never stopped: a fresh Postgres database and two Redis
database numbers of our own, flushed at the start.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis
from sqlalchemy import create_engine, text

from celeryconfig import QUEUES
from cli.bench.stack import free_port
from db.engine import dispose_engines, session_scope
from db.jobs import job_summary
from db.migrate import upgrade
from pipeline.settings import Settings, use_settings
from services.runtime import reset_runtime

ROOT = Path(__file__).resolve().parents[2]
PG_ADMIN_URL = Settings(
    database_url=os.environ.get("MANNA_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
).effective_database_url
REDIS_URL = os.environ.get("MANNA_TEST_REDIS_URL", "redis://127.0.0.1:6379")
# Two suites can run side by side on distinct pairs, e.g. MANNA_TEST_REDIS_DBS=8,9.
BROKER_DB, CACHE_DB = (int(n) for n in os.environ.get("MANNA_TEST_REDIS_DBS", "14,15").split(","))
HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test of this folder ``integration`` (a conftest's ``pytestmark`` would mark none)."""
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.integration)


def _admin_execute(sql: str) -> None:
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(sql))
    engine.dispose()


@pytest.fixture(scope="session")
def pg_url():
    """A fresh database on the local server, migrated, dropped afterwards."""
    name = f"manna_test_{uuid.uuid4().hex[:10]}"
    _admin_execute(f"CREATE DATABASE {name}")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    yield url
    dispose_engines()
    _admin_execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def redis_urls():
    """Broker and cache URLs on database numbers of our own, emptied first."""
    broker, cache = f"{REDIS_URL}/{BROKER_DB}", f"{REDIS_URL}/{CACHE_DB}"
    for url in (broker, cache):
        redis.Redis.from_url(url).flushdb()
    return broker, cache


@pytest.fixture(scope="session")
def stack_settings(pg_url, redis_urls, tmp_path_factory):
    """Settings for the real stack; also installed as this process's settings."""
    data_dir = tmp_path_factory.mktemp("manna")
    settings = Settings(broker_url=redis_urls[0], cache_url=redis_urls[1], database_url=pg_url,
                        data_dir=data_dir, task_max_retries=3, experiment_refresh_seconds=0)
    use_settings(settings)
    reset_runtime()
    yield settings
    use_settings(None)
    reset_runtime()


@pytest.fixture(scope="session")
def trained_model(stack_settings):
    """A small default model, registered and active."""
    from services.training import train_default_model

    return train_default_model(stack_settings, rows=6_000, seed=1, activate=True)


@pytest.fixture(scope="session")
def candidate_model(stack_settings, trained_model):
    """A second model as good as the active one (other rows), registered, not serving; a test that breaks its
    candidate trains its own (the workers keep a model they loaded)."""
    from services.training import train_default_model

    return train_default_model(stack_settings, rows=6_000, seed=3, activate=False)


def stack_env(settings: Settings) -> dict[str, str]:
    """Environment for a worker process with the same settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MANNA_")}
    env.update({
        "MANNA_BROKER_URL": settings.effective_broker_url,
        "MANNA_DATABASE_URL": settings.effective_database_url,
        "MANNA_CACHE_URL": settings.cache_url or "",
        "MANNA_DATA_DIR": str(settings.data_dir),
        "MANNA_MODEL_DIR": str(settings.effective_model_dir),
        "MANNA_TASK_MAX_RETRIES": str(settings.task_max_retries),
        "MANNA_EXPERIMENT_REFRESH_SECONDS": str(settings.experiment_refresh_seconds),
        "MANNA_TASK_SOFT_TIME_LIMIT": str(settings.task_soft_time_limit),
        "MANNA_TASK_TIME_LIMIT": str(settings.task_time_limit),
        "MANNA_RETRY_BACKOFF_MAX": str(settings.retry_backoff_max),
        "MANNA_VISIBILITY_MARGIN_SECONDS": str(settings.visibility_margin_seconds),
        "MANNA_WORKER_MAX_MEMORY_PER_CHILD_KB": str(settings.worker_max_memory_per_child_kb),
        "PYTHONPATH": str(ROOT),
    })
    if settings.stall_seconds is not None:
        env["MANNA_STALL_SECONDS"] = str(settings.stall_seconds)
    return env


class WorkerProcess:
    """``celery -A workers.app worker`` as a child process, with its log in a file."""

    def __init__(self, settings: Settings, log_path: Path, concurrency: int = 2, *, queues: str = "ingest,categorize",
                 extra_args: tuple[str, ...] = (), extra_env: dict[str, str] | None = None) -> None:
        self.log_path = log_path
        self.log = log_path.open("wb")
        command = [sys.executable, "-m", "celery", "-A", "workers.app", "worker", "-Q", queues,
                   "-c", str(concurrency), "--loglevel", "INFO",
                   "-n", f"test-{uuid.uuid4().hex[:6]}@%h", "--without-mingle", "--without-gossip", *extra_args]
        self.process = subprocess.Popen(command, cwd=ROOT, env={**stack_env(settings), **(extra_env or {})},
                                        stdout=self.log, stderr=subprocess.STDOUT)
        self._wait_ready()

    def _wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if b"ready." in self.log_path.read_bytes():
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        raise RuntimeError(f"worker did not start:\n{self.log_path.read_text(errors='replace')[-4000:]}")

    def children(self) -> list[int]:
        """Pids of the pool's live child processes (a child killed by a time limit is a zombie until reaped)."""
        import psutil

        live = []
        for child in psutil.Process(self.process.pid).children():
            with contextlib.suppress(psutil.NoSuchProcess):
                if child.status() != psutil.STATUS_ZOMBIE:
                    live.append(child.pid)
        return live

    def stop(self) -> None:
        """Warm shutdown, then kill if it hangs."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


@pytest.fixture(scope="session")
def worker(stack_settings, trained_model, tmp_path_factory):
    """One real worker process (prefork, two children) serving both queues."""
    process = WorkerProcess(stack_settings, tmp_path_factory.mktemp("logs") / "worker.log")
    yield process
    process.stop()


@pytest.fixture(scope="session")
def producer(stack_settings):
    """A Celery app of ours for sending and inspecting (tests only; the contract test uses bare celery)."""
    from workers.app import create_app

    return create_app(stack_settings)


def wait_for_job(database_url: str, job_id: str, *, expected_received: int, timeout: float = 120.0,
                 broker_url: str | None = None) -> dict | None:
    """Poll until the job has received every row and finished; fail with the job's state if not.

    With ``broker_url``: None as soon as the broker holds nothing more for the unfinished job. A
    message a killed worker or a dying broker had just handed out (BRPOP), before it was recorded
    as unacknowledged, is gone from Redis: the producer must send the job again. The broker is read
    before the job, so a message acknowledged in between has already committed its labels.
    """
    client = redis.Redis.from_url(broker_url) if broker_url else None
    deadline = time.monotonic() + timeout
    job, empty_reads = None, 0
    while time.monotonic() < deadline:
        held = client.hlen("unacked") + sum(client.llen(queue) for queue in QUEUES) if client else None
        with session_scope(database_url) as session:
            job = job_summary(session, job_id)
        if job and job["received"] >= expected_received and job["status"] == "finished":
            return job
        empty_reads = empty_reads + 1 if held == 0 else 0
        if empty_reads >= 3:
            return None
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s: {job}")


def label_counts(database_url: str, job_id: str) -> tuple[int, int]:
    """(labels, distinct transaction ids) written for a job: equal when nothing was duplicated."""
    with session_scope(database_url) as session:
        total, distinct = session.execute(text(
            "SELECT count(*), count(DISTINCT transaction_id) FROM labels WHERE job_id = :j"), {"j": job_id}).one()
    return int(total), int(distinct)


def wait_until_idle(app, broker_url: str, timeout: float = 60.0) -> None:
    """Wait until both queues are empty and no worker holds a task, twice in a row."""
    client = redis.Redis.from_url(broker_url)
    deadline = time.monotonic() + timeout
    quiet = 0
    while time.monotonic() < deadline:
        queued = client.llen("ingest") + client.llen("categorize")
        inspector = app.control.inspect(timeout=1.0)
        busy = sum(len(v) for v in (inspector.active() or {}).values())
        busy += sum(len(v) for v in (inspector.reserved() or {}).values())
        unacked = client.hlen("unacked")
        quiet = quiet + 1 if queued == 0 and busy == 0 and unacked == 0 else 0
        if quiet >= 2:
            return
        time.sleep(0.3)
    raise AssertionError("the pipeline did not become idle")


class ThrowawayRedis:
    """A redis-server of the test's own on a free port, which the test may stop, restart or stall."""

    def __init__(self, directory: Path, password: str | None = None, persistent: bool = False) -> None:
        self.port = free_port()
        self.directory = directory
        self.url = f"redis://{f':{password}@' if password else ''}127.0.0.1:{self.port}/0"
        self.auth = ["--requirepass", password] if password else []
        # A broker must survive its own restart: every write reaches the append-only file first.
        self.persistence = ["--appendonly", "yes", "--appendfsync", "always"] if persistent else ["--appendonly", "no"]
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start (again) on the same port; returns once it answers PING."""
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", *self.persistence,
             "--dir", str(self.directory), "--enable-debug-command", "yes", *self.auth],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if redis.Redis.from_url(self.url, socket_timeout=0.5).ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server on port {self.port} did not start")

    def stop(self) -> None:
        """Kill it (SIGKILL: an outage, not a shutdown)."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


@pytest.fixture
def throwaway_redis(tmp_path):
    """A private Redis, started; stopped at the end whatever the test did to it."""
    server = ThrowawayRedis(tmp_path)
    server.start()
    yield server
    server.stop()


class ThrowawayPostgres:
    """A PostgreSQL server of the test's own (initdb, a free port), which the test may crash and restart.

    As root, the server runs as the ``postgres`` user (PostgreSQL refuses to run as root).
    """

    BIN = Path(sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1]) if Path("/usr/lib/postgresql").is_dir() else None

    def __init__(self) -> None:
        import pwd
        import tempfile

        if self.BIN is None:
            raise RuntimeError("PostgreSQL server binaries not found under /usr/lib/postgresql")
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="manna-pg-"))
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(self.directory, entry.pw_uid, entry.pw_gid)
        self.data = self.directory / "data"
        subprocess.run([str(self.BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                        "--no-sync"], check=True, capture_output=True, user=self.user)
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start (again) on the same port; returns once it accepts connections."""
        self.process = subprocess.Popen(
            [str(self.BIN / "postgres"), "-D", str(self.data), "-p", str(self.port), "-k", str(self.directory),
             "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=60"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, user=self.user)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            ready = subprocess.run([str(self.BIN / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-q"])
            if ready.returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError(f"postgres on port {self.port} did not start")

    def crash(self) -> None:
        """Immediate shutdown (SIGQUIT): connections drop, the next start runs crash recovery."""
        if self.process is not None:
            self.process.send_signal(signal.SIGQUIT)
            self.process.wait(timeout=30)
            self.process = None

    def destroy(self) -> None:
        import shutil

        self.crash()
        shutil.rmtree(self.directory, ignore_errors=True)
