"""Processes that never fit a model start without sklearn (about 2 s of CPU each): beat and Flower import
the task modules, the API its routes, the CLI its commands. A worker imports it once, before its pool forks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

HEAVY = ("sklearn", "pandas", "scipy.optimize", "scipy.stats")


def test_serving_and_listing_code_imports_no_model_fitting_library():
    statements = ("from workers.app import app; app.loader.import_default_modules()",  # what beat and Flower do
                  "import api.app", "import cli.main, services.jobs, services.rollout, services.feedback, db.jobs")
    check = (f"import sys; {'; '.join(statements)}; "
             f"print(sorted({{h for h in {HEAVY} for m in sys.modules if m == h or m.startswith(h + '.')}}))")
    done = subprocess.run([sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", f"imported {done.stdout.strip()}; python -X importtime -c '...' tells by whom"


def test_a_worker_imports_the_model_classes_before_forking():
    check = ("import sys; from celery import signals; import workers.app; signals.worker_init.send(sender=None); "
             "print('sklearn.linear_model' in sys.modules, 'sklearn.feature_extraction.text' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["True", "True"], done.stderr
