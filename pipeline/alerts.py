"""Alert rules (``data/alerts.yaml``) and their evaluation against measured figures.

A rule fires when its figure crosses its threshold. A figure with no data (no traffic in the
window, no corrected labels yet) gives the state ``no_data``, never a firing alert.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ALERTS_PATH = Path(__file__).parent / "data" / "alerts.yaml"
STATES = ("ok", "firing", "no_data")


@dataclass(frozen=True, slots=True)
class AlertRule:
    name: str
    summary: str
    figure: str
    threshold: float
    fires_above: bool  # True: fires when the figure is above the threshold; False: below
    promql: str

    def state(self, value: float | None) -> str:
        """``firing``, ``ok`` or ``no_data`` for a measured value."""
        if value is None:
            return "no_data"
        crossed = value > self.threshold if self.fires_above else value < self.threshold
        return "firing" if crossed else "ok"

    def prometheus_expr(self, window_minutes: int) -> str:
        """The rule as a PromQL condition over the given window."""
        promql = self.promql.replace("{window}", f"{window_minutes}m")
        return f"({promql}) {'>' if self.fires_above else '<'} {self.threshold:g}"


@dataclass(frozen=True, slots=True)
class AlertConfig:
    window_minutes: int
    rules: tuple[AlertRule, ...]


def load_alerts(path: Path = ALERTS_PATH) -> AlertConfig:
    """Read and check the rules file; a rule needs exactly one of ``above`` and ``below``."""
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    rules = []
    for entry in data["rules"]:
        if ("above" in entry) == ("below" in entry):
            raise ValueError(f"alert {entry.get('name')!r}: give exactly one of 'above' and 'below'")
        above = "above" in entry
        rules.append(AlertRule(entry["name"], entry["summary"], entry["figure"],
                               float(entry["above" if above else "below"]), above, " ".join(entry["promql"].split())))
    if len({r.name for r in rules}) != len(rules):
        raise ValueError("alert names must be unique")
    return AlertConfig(int(data["window_minutes"]), tuple(rules))


def prometheus_rules(config: AlertConfig) -> dict[str, Any]:
    """The same rules as a Prometheus alerting-rules document."""
    return {"groups": [{"name": "manna", "rules": [
        {"alert": rule.name, "expr": rule.prometheus_expr(config.window_minutes), "for": "1m",
         "labels": {"severity": "page"}, "annotations": {"summary": rule.summary}} for rule in config.rules]}]}
