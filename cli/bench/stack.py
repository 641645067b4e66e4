"""The worker processes a benchmark runs against, and their memory, sampled while they work."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType

import psutil
import redis
from celery import Celery

from tasks.bench import NOOP_COUNTER

QUEUES = "ingest,categorize,bench"


class BenchError(RuntimeError):
    """The benchmark cannot run or could not finish, with what to do about it."""


class WorkerPool:
    """``celery worker -c N`` (prefork, as deployed) in its own process group, its RSS sampled."""

    def __init__(self, processes: int, namespace: str, log_path: Path, interval: float = 0.25, *,
                 queues: str = QUEUES, node: str | None = None) -> None:
        self.processes = processes
        self.namespace = namespace  # the cache namespace: pools of one run share their cache
        self.queues = queues
        self.node = node or namespace
        self.log_path = log_path
        self.interval = interval
        self.peak_rss: dict[int, int] = {}  # pool child pid -> bytes
        self.timeline: list[tuple[float, int]] = []  # (time, total RSS of the pool children)
        self._stop = threading.Event()
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> WorkerPool:
        env = {**os.environ, "MANNA_CACHE_NAMESPACE": self.namespace}
        command = [sys.executable, "-m", "celery", "-A", "workers.app", "worker", "-Q", self.queues,
                   "-c", str(self.processes), "-n", f"{self.node}@%h", "--without-gossip", "--without-mingle",
                   "--without-heartbeat", "-l", "WARNING"]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                                             start_new_session=True)
        threading.Thread(target=self._sample, daemon=True).start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._stop.set()
        if self._process is None:
            return
        self._process.send_signal(signal.SIGTERM)
        try:
            self._process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()

    @property
    def pid(self) -> int | None:
        """The Celery parent's pid (its pool children are its descendants)."""
        return None if self._process is None else self._process.pid

    def wait_ready(self, app: Celery, client: redis.Redis, timeout: float = 90.0) -> None:
        """Until every pool process has started and one empty task went through."""
        if "bench" not in self.queues.split(","):
            return self._wait_for_ping(app, timeout)
        counter = NOOP_COUNTER.format(run=self.namespace + "-ready")
        app.send_task("manna.bench.noop", kwargs={"run": self.namespace + "-ready"}, queue="bench")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise BenchError(f"the worker exited with {self._process.returncode}; see {self.log_path}")
            if int(client.get(counter) or 0) >= 1:
                return
            time.sleep(0.1)
        raise BenchError(f"no worker answered within {timeout:.0f} s; see {self.log_path}")

    def _wait_for_ping(self, app: Celery, timeout: float) -> None:
        """Until the worker answers a ping: a pool that takes no ``bench`` queue cannot run the empty task."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise BenchError(f"the worker exited with {self._process.returncode}; see {self.log_path}")
            if any(self.node in name for reply in app.control.ping(timeout=0.5) for name in reply):
                return
        raise BenchError(f"no worker answered within {timeout:.0f} s; see {self.log_path}")

    def children_rss(self) -> list[int]:
        """RSS in bytes of each pool process now."""
        if self._process is None:
            return []
        try:
            children = psutil.Process(self._process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []
        sizes = []
        for child in children:
            try:
                rss = child.memory_info().rss
            except psutil.NoSuchProcess:
                continue
            sizes.append(rss)
            self.peak_rss[child.pid] = max(rss, self.peak_rss.get(child.pid, 0))
        return sizes

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.timeline.append((time.time(), sum(self.children_rss())))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now, and that no outgoing connection will take.

    Drawn below the kernel's ephemeral range: a port from inside it (``bind(0)``) can become the
    local end of any client connection (to Redis, to Postgres) in the seconds before a slow server
    binds it, and that server then fails with "address already in use".
    """
    import random
    import socket

    low = _ephemeral_range_start()
    for _ in range(100):
        port = random.randrange(max(1024, low - 12_000), low)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise BenchError(f"no free TCP port below {low} on 127.0.0.1 after 100 tries")


def _ephemeral_range_start() -> int:
    """Where the kernel's ports for outgoing connections begin (Linux's default when it cannot be read)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768
