"""Faults injected into a real worker: ``celery worker -I tests.integration.faults``.

A test drops token files into ``$MANNA_TEST_FAULTS_DIR``; each chunk that claims one (by deleting
it, so each token is used once across all pool children) suffers its fault before categorizing:
- ``stall.N``: sleeps in Python, as slow code does; the soft time limit interrupts it;
- ``hang.N``: ignores the soft time limit, as native code stuck in a call does; the hard limit kills it;
- ``bloat.N``: keeps 300 MB alive in the child; the memory cap replaces the child after the task.
A child that claims a fault first writes its pid to ``$MANNA_TEST_FAULTS_DIR/pids/<fault>``, so a
test can find the process that is busy with it.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from celery.exceptions import SoftTimeLimitExceeded

from pipeline.categorize import Categorizer

FAULTS_DIR = Path(os.environ.get("MANNA_TEST_FAULTS_DIR", "/nonexistent"))
_ballast: list[bytearray] = []
_categorize = Categorizer.categorize


def _claim() -> str | None:
    for token in sorted(FAULTS_DIR.glob("*.*")) if FAULTS_DIR.is_dir() else []:  # tokens: <fault>.<n>
        try:
            token.unlink()
        except FileNotFoundError:  # another child took it
            continue
        return token.name.split(".", 1)[0]
    return None


def _hang() -> None:
    while True:
        try:
            time.sleep(3600)
        except SoftTimeLimitExceeded:
            continue


def _with_faults(self, transactions, memory=None):
    fault = _claim()
    if fault:
        (FAULTS_DIR / "pids").mkdir(exist_ok=True)
        (FAULTS_DIR / "pids" / fault).write_text(str(os.getpid()))
    if fault == "stall":
        time.sleep(3600)
    elif fault == "hang":
        _hang()
    elif fault == "bloat":
        _ballast.append(bytearray(os.urandom(1024)) * (300 * 1024))
    return _categorize(self, transactions, memory)


Categorizer.categorize = _with_faults
