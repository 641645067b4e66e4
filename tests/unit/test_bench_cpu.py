"""The benchmark's CPU accounting: a process tree's time includes children that have already exited."""

from __future__ import annotations

import subprocess
import sys
import time

import psutil

from cli.bench.cpu import CpuMeter, tree_seconds

BURN = "x = 0\nfor i in range(4_000_000): x += i"
BURN_THEN_SLEEP = BURN + "\nimport time; time.sleep(60)"


def test_a_tree_counts_a_child_that_has_exited_and_one_still_running():
    parent = subprocess.Popen([sys.executable, "-c", "import subprocess, sys, time\n"
                               f"subprocess.run([sys.executable, '-c', {BURN!r}])\n"
                               f"child = subprocess.Popen([sys.executable, '-c', {BURN_THEN_SLEEP!r}])\n"
                               "time.sleep(60)"])
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # until the second child has burned its loop and sleeps
            children = psutil.Process(parent.pid).children()
            if children and children[0].cpu_times().user > 0.15 and children[0].status() == psutil.STATUS_SLEEPING:
                break
            time.sleep(0.1)
        own = psutil.Process(parent.pid).cpu_times()
        live = psutil.Process(parent.pid).children()[0].cpu_times()
        assert own.children_user > 0.15  # the first child exited and was reaped: its time is the parent's
        assert tree_seconds(parent.pid) >= own.user + own.children_user + live.user
    finally:
        for process in [*psutil.Process(parent.pid).children(), parent]:
            process.kill()
        parent.wait()


def test_a_gone_process_counts_nothing():
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    assert tree_seconds(gone.pid) == 0.0


def test_per_transaction_is_microseconds_per_role_and_in_total():
    before = {"workers": 1.0, "postgres": 2.0, "redis": 0.5, "producer": 0.0}
    after = {"workers": 3.0, "postgres": 2.5, "redis": 0.6, "producer": 0.4}
    figures = CpuMeter.per_transaction(before, after, 10_000)
    assert figures == {"workers": 200.0, "postgres": 50.0, "redis": 10.0, "producer": 40.0, "total": 300.0}
