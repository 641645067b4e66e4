"""Backfill (``manna recategorize``): re-decide stored labels with the active model and the merchant memory.

Overrides and reviewed labels are never touched. A changed label keeps its old value in
``label_history``; ``dry_run`` only counts what would change, per (old, new) category pair.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from db.backfill import labels_to_redecide, replace_label
from db.engine import session_scope
from pipeline.settings import Settings
from services.runtime import runtime

PAGE = 2_000


@dataclass
class BackfillResult:
    """How many labels were looked at and changed, and which categories moved where."""

    run: str
    dry_run: bool
    examined: int = 0
    changed: int = 0
    pairs: Counter[tuple[str, str]] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        """The JSON of ``manna recategorize --json``."""
        return {"run": self.run, "dry_run": self.dry_run, "examined": self.examined, "changed": self.changed,
                "pairs": [{"from": old, "to": new, "labels": n} for (old, new), n in self.pairs.most_common()]}


def recategorize(settings: Settings, *, source: str, job_id: str | None = None, since: dt.datetime | None = None,
                 dry_run: bool = False, progress: Callable[[int, int], None] = lambda _e, _c: None
                 ) -> BackfillResult:
    """Re-decide the source's labels (optionally one job's, or those made since a time), page by page."""
    rt = runtime()
    active = rt.experiment().active_version
    categorizer = rt.categorizer(active)
    memory = rt.memory.lookup(source)
    result = BackfillResult(run=f"recategorize:{uuid.uuid4().hex[:12]}", dry_run=dry_run)
    after = ""
    while True:
        with session_scope(rt.database_url) as session:
            page = labels_to_redecide(session, source=source, job_id=job_id, since=since, after=after, limit=PAGE)
            if not page:
                return result
            report = categorizer.categorize([stored.transaction for stored in page], memory)
            for stored, decision, key in zip(page, report.decisions, report.merchant_keys, strict=True):
                old = stored.label
                if decision.category == old.category:
                    continue
                new = {"category": decision.category, "confidence": decision.confidence,
                       "confidence_level": decision.confidence_level, "decided_by": decision.decided_by,
                       "rule_id": decision.rule_id, "model_version": decision.model_version, "variant": "A",
                       "needs_review": decision.needs_review, "explanation": decision.explanation,
                       "merchant_key": key, "correction_id": decision.correction_id, "task_id": result.run}
                if dry_run or replace_label(session, old, new, result.run):
                    result.pairs[(old.category, decision.category)] += 1
                    result.changed += 1
        result.examined += len(page)
        after = page[-1].transaction.id
        progress(result.examined, result.changed)
