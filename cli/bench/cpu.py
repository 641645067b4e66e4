"""CPU seconds spent by every process a run involves, from the kernel's accounting (/proc, via psutil).

On a shared 2-core machine throughput moves with the neighbours' load; CPU time per transaction
moves far less, so it is the figure to compare runs by. A role's time is its processes' own time,
their live descendants' time, and the time of the children they have already reaped (the kernel
adds an exited child's time to its parent's ``children_*`` when the parent waits for it), so a
Postgres backend or a pool child that exits during the run still counts. The producer reports its
own CPU time, from the start signal to its last message (cli/bench/producer.py), so loading its
rows and its imports are not counted as sending.
"""

from __future__ import annotations

from collections.abc import Callable

import psutil

Snapshot = dict[str, float]


def tree_seconds(pid: int) -> float:
    """CPU seconds (user + system) of a process, its live descendants and their reaped children."""
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:  # exited between the listing and now: its parent has its time
            continue
        total += times.user + times.system + times.children_user + times.children_system
    return total


def server_pids(name: str) -> list[int]:
    """Top-level processes of a server by name (postgres, redis-server): those whose parent is not one."""
    found = {p.pid: p for p in psutil.process_iter(["name", "ppid"]) if p.info["name"] == name}
    return [pid for pid, p in found.items() if p.info["ppid"] not in found]


class CpuMeter:
    """Snapshots of each role's CPU seconds; ``per_transaction`` turns two of them into microseconds."""

    def __init__(self, worker_pid: Callable[[], int | None]) -> None:
        self.worker_pid = worker_pid
        self.postgres = server_pids("postgres")
        self.redis = server_pids("redis-server")

    def snapshot(self) -> Snapshot:
        pid = self.worker_pid()
        return {
            "workers": tree_seconds(pid) if pid else 0.0,
            "postgres": sum(tree_seconds(p) for p in self.postgres),
            "redis": sum(tree_seconds(p) for p in self.redis),
        }

    @staticmethod
    def per_transaction(before: Snapshot, after: Snapshot, transactions: int) -> dict[str, float]:
        """Microseconds of CPU per transaction, per role and in total."""
        used = {role: max(after[role] - before[role], 0.0) for role in before}
        scale = 1e6 / max(transactions, 1)
        return {**{role: round(seconds * scale, 1) for role, seconds in used.items()},
                "total": round(sum(used.values()) * scale, 1)}
