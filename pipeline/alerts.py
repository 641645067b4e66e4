"""Alert rules (``data/alerts.yaml``) and their evaluation against measured figures.

A rule fires when its figure crosses its threshold. A figure with no data (no traffic in the
window, no corrected labels yet), or measured over fewer than the rule's ``min_sample`` chunks,
task runs or reviews, gives the state ``no_data``, never a firing alert: three chunks of a fresh
install, all cache misses, are not a cache problem.

Two evaluators read these rules: the beat task (``db/alerts.py``), which computes every figure
with ``pipeline.performance`` (P95 is the weighted nearest-rank percentile, as everywhere in the
project), and Prometheus (``prometheus_rules``). Prometheus only has the bucket counts of
``manna_transaction_latency_seconds``, so its ``histogram_quantile`` interpolates linearly inside
the bucket that holds the 95th percentile transaction: its *value* can differ from ours by up to
that bucket's width. Its *decision* is the same as ours when the threshold is a bucket bound
(300 ms is one; a test holds it): both say "above" exactly when more than 5% of the window's
transactions took longer than the threshold. The windows differ only at their edges (Prometheus
extrapolates ``rate`` over its scrapes; the beat task reads rows committed since a time).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.yamlio import load_yaml

ALERTS_PATH = Path(__file__).parent / "data" / "alerts.yaml"
STATES = ("ok", "firing", "no_data")
# What a rule's ``min_sample`` counts, and the same count in PromQL (None: Prometheus has no counter
# of it, so such a rule may only ask for 0). A failed run of a refused message never ran: not counted.
SAMPLES: dict[str, str | None] = {
    "chunks": "sum(increase(manna_tasks_total[{window}]))",
    "task_runs": "(sum(increase(manna_tasks_total[{window}])) or vector(0))"
                 " + (sum(increase(manna_failed_tasks_total{task!~\"refused:.*\"}[{window}])) or vector(0))",
    # Live accuracy is null (and its gauge absent) below MANNA_ACCURACY_MIN_REVIEWS reviews already.
    "reviews": None,
}


@dataclass(frozen=True, slots=True)
class AlertRule:
    name: str
    summary: str
    figure: str
    threshold: float
    fires_above: bool  # True: fires when the figure is above the threshold; False: below
    promql: str
    sample: str = "chunks"  # what min_sample counts: a key of SAMPLES
    min_sample: int = 0

    def state(self, value: float | None, sample: float | None = None) -> str:
        """``firing``, ``ok`` or ``no_data`` for a value measured over ``sample`` chunks, runs or reviews."""
        if value is None or (self.min_sample > 0 and (sample or 0) < self.min_sample):
            return "no_data"
        crossed = value > self.threshold if self.fires_above else value < self.threshold
        return "firing" if crossed else "ok"

    def prometheus_expr(self, window_minutes: int) -> str:
        """The rule as a PromQL condition over the given window, with its minimum sample."""
        window = f"{window_minutes}m"
        condition = f"({self.promql.replace('{window}', window)}) {'>' if self.fires_above else '<'} {self.threshold:g}"
        counted = SAMPLES[self.sample]
        if self.min_sample <= 0 or counted is None:
            return condition
        return f"{condition} and ({counted.replace('{window}', window)}) >= {self.min_sample}"


@dataclass(frozen=True, slots=True)
class AlertConfig:
    window_minutes: int
    rules: tuple[AlertRule, ...]


def load_alerts(path: Path = ALERTS_PATH) -> AlertConfig:
    """Read and check the rules file; a rule needs exactly one of ``above`` and ``below``, and a ``min_sample``."""
    data: dict[str, Any] = load_yaml(path.read_text(encoding="utf-8"))
    rules = []
    for entry in data["rules"]:
        name = entry.get("name")
        if ("above" in entry) == ("below" in entry):
            raise ValueError(f"alert {name!r}: give exactly one of 'above' and 'below'")
        if "min_sample" not in entry or "sample" not in entry:
            raise ValueError(f"alert {name!r}: give 'sample' ({', '.join(SAMPLES)}) and 'min_sample'")
        if entry["sample"] not in SAMPLES:
            raise ValueError(f"alert {name!r}: sample must be one of {', '.join(SAMPLES)}")
        min_sample = int(entry["min_sample"])
        if min_sample < 0 or (min_sample > 0 and SAMPLES[entry["sample"]] is None):
            raise ValueError(f"alert {name!r}: min_sample of {entry['sample']} must be 0 (Prometheus cannot count "
                             "it)" if min_sample > 0 else f"alert {name!r}: min_sample must not be negative")
        above = "above" in entry
        rules.append(AlertRule(name, entry["summary"], entry["figure"], float(entry["above" if above else "below"]),
                               above, " ".join(entry["promql"].split()), entry["sample"], min_sample))
    if len({r.name for r in rules}) != len(rules):
        raise ValueError("alert names must be unique")
    return AlertConfig(int(data["window_minutes"]), tuple(rules))


def prometheus_rules(config: AlertConfig) -> dict[str, Any]:
    """The same rules as a Prometheus alerting-rules document."""
    return {"groups": [{"name": "manna", "rules": [
        {"alert": rule.name, "expr": rule.prometheus_expr(config.window_minutes), "for": "1m",
         "labels": {"severity": "page"}, "annotations": {"summary": rule.summary}} for rule in config.rules]}]}
