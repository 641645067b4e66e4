"""``manna predict --jobs N``: batches decided in N processes, written back in input order.

Batch k goes to process k mod N, so a run is repeatable: each process sees the same batches in
the same order every time. Each process keeps its own cache, so a line the merchant layer would
have answered from another process's batch is decided by the model instead; with ``--jobs 1``
or without the merchant layer, the output is the same byte for byte.

Processes are spawned, not forked: each loads the model itself (about 2 s of imports and
loading), and no thread or lock of this process is copied half-held. Batches travel through
``multiprocessing`` queues between this process and its own children, never over a network.
"""

from __future__ import annotations

import multiprocessing
import queue
import traceback
from collections import deque
from collections.abc import Iterator, Sequence
from multiprocessing.process import BaseProcess
from multiprocessing.queues import Queue
from pathlib import Path
from typing import Any

IN_FLIGHT_PER_PROCESS = 2  # one batch being decided, one waiting: memory stays bounded
_POLL_SECONDS = 1.0


class PredictProcessError(RuntimeError):
    """A predict process that failed or died, with what it said."""


def decided_in_processes(model_dir: Path, batches: Iterator[list[Any]], jobs: int,
                         cache_items: int) -> Iterator[list[tuple[Any, ...]]]:
    """Each batch's predictions, in input order, decided by ``jobs`` spawned processes."""
    context = multiprocessing.get_context("spawn")
    inboxes: list[Queue[Any]] = []
    outboxes: list[Queue[Any]] = []
    processes: list[BaseProcess] = []  # started as batches come: a file of one batch starts one
    pending: deque[int] = deque()  # the process of each batch sent and not yet written, oldest first
    try:
        first = 1
        for number, batch in enumerate(batches):
            if number < jobs:
                inboxes.append(context.Queue())
                outboxes.append(context.Queue())
                process = context.Process(target=_serve, name=f"manna-predict-{number}", daemon=True,
                                          args=(model_dir, cache_items, inboxes[number], outboxes[number]))
                process.start()
                processes.append(process)  # started only: stopping joins each one
            if len(pending) >= IN_FLIGHT_PER_PROCESS * jobs:
                yield _result(pending.popleft(), outboxes, processes)
            inboxes[number % jobs].put((first, batch))  # a queue's put never blocks: no deadlock with a full pipe
            pending.append(number % jobs)
            first += len(batch)
        while pending:
            yield _result(pending.popleft(), outboxes, processes)
    finally:
        _stop(processes, inboxes)


def _result(index: int, outboxes: list[Queue[Any]], processes: Sequence[BaseProcess]) -> list[tuple[Any, ...]]:
    """The next predictions of process ``index``; raises if it failed or died instead."""
    while True:
        try:
            status, payload = outboxes[index].get(timeout=_POLL_SECONDS)
        except queue.Empty:
            if not processes[index].is_alive():
                raise PredictProcessError(f"predict process {index} died (exit code {processes[index].exitcode})"
                                          ) from None
            continue
        if status == "error":
            raise PredictProcessError(f"predict process {index} failed:\n{payload}")
        return payload  # type: ignore[no-any-return]


def _stop(processes: Sequence[BaseProcess], inboxes: list[Queue[Any]]) -> None:
    for inbox in inboxes:
        inbox.put(None)
        # At exit this process would wait for every batch put to reach its process: forever, for a
        # process that died with its pipe full. Batches still queued by then are never needed.
        inbox.cancel_join_thread()
    for process in processes:
        process.join(timeout=5)
        if process.is_alive():  # stuck or still busy after a failure elsewhere
            process.terminate()
            process.join()


def _serve(model_dir: Path, cache_items: int, inbox: Queue[Any], outbox: Queue[Any]) -> None:
    """A spawned process: decide each batch it is sent until it is sent None."""
    try:
        from pipeline.offline import BatchPredictor

        predictor = BatchPredictor(model_dir, cache_items)
        while (job := inbox.get()) is not None:
            first, batch = job
            outbox.put(("ok", predictor(batch, first)))
    except Exception:  # the parent raises it, with this traceback, when it reaches this process's batch
        outbox.put(("error", traceback.format_exc()))
