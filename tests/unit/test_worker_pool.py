"""The workers' prefork pool gives each child a task pipe that takes a whole task in one write.

A task written in parts can be cut off by a warm shutdown, which then hangs (workers/pool.py).
"""

from __future__ import annotations

import os

from celery.concurrency import get_implementation

import celeryconfig
from pipeline.settings import get_settings
from workers.pool import TaskPool, WidePipeAsynPool

TASK_BYTES = 403_828  # the task (1,000 rows of one submit_batch) that hung a warm shutdown


def test_a_childs_task_pipe_takes_a_1000_row_task_in_one_non_blocking_write():
    pool = object.__new__(WidePipeAsynPool)  # only the queue factory is under test: no children
    pool.synack = False
    inq, _, _ = pool.create_process_queues()
    try:
        assert os.write(inq._writer.fileno(), b"x" * TASK_BYTES) == TASK_BYTES
    finally:
        inq.close()


def test_a_default_pipe_takes_only_part_of_it():
    reader, writer = os.pipe()  # what every child had before
    os.set_blocking(writer, False)
    try:
        assert os.write(writer, b"x" * TASK_BYTES) < TASK_BYTES
    finally:
        os.close(reader)
        os.close(writer)


def test_the_workers_are_configured_with_this_pool():
    pool = get_implementation(celeryconfig.build(get_settings())["worker_pool"])
    assert pool is TaskPool and pool.Pool is WidePipeAsynPool
