"""The rule engine: compiled regexes plus amount, direction and account conditions, by priority."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import re2

from pipeline.yamlio import load_yaml

DEFAULT_RULES_PATH = Path(__file__).parent / "data" / "rules.yaml"
_FIELDS = ("text", "merchant_key")


class RuleError(ValueError):
    """A rule file that cannot be used, with the rule and the problem named."""


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule; ``matches`` reads the normalized feature text and merchant key."""

    id: str
    category: str
    pattern: re.Pattern[str]
    priority: int
    field: str = "text"
    direction: str | None = None
    amount_min: float | None = None
    amount_max: float | None = None
    accounts: frozenset[str] | None = None

    @property
    def explanation(self) -> str:
        """What a label decided by this rule says about why."""
        return f"rule {self.id}: /{self.pattern.pattern}/"

    def matches(self, text: str, key: str, amount: float, account_id: str | None) -> bool:
        """True when every condition of the rule holds for this transaction."""
        if (self.direction == "out" and amount >= 0) or (self.direction == "in" and amount <= 0):
            return False
        if self.amount_min is not None and abs(amount) < self.amount_min:
            return False
        if self.amount_max is not None and abs(amount) >= self.amount_max:
            return False
        if self.accounts is not None and account_id not in self.accounts:
            return False
        return self.pattern.search(key if self.field == "merchant_key" else text) is not None


@dataclass(frozen=True)
class RuleSet:
    """Rules in priority order, with a version that changes whenever the file does."""

    rules: tuple[Rule, ...]
    version: str

    @classmethod
    def load(cls, path: Path | None = None, categories: Iterable[str] | None = None) -> RuleSet:
        """Read a YAML rule file; with ``categories``, rules for other categories are an error."""
        source = (path or DEFAULT_RULES_PATH).read_bytes()
        document = load_yaml(source) or {}
        known = set(categories) if categories is not None else None
        rules = [_parse_rule(raw, known) for raw in document.get("rules") or []]
        ids = [rule.id for rule in rules]
        if len(ids) != len(set(ids)):
            raise RuleError("rule ids must be unique")
        rules.sort(key=lambda rule: (rule.priority, rule.id))
        return cls(tuple(rules), "r-" + hashlib.sha256(source).hexdigest()[:12])

    @classmethod
    def empty(cls) -> RuleSet:
        """No rules at all (a taxonomy the default rules do not belong to)."""
        return cls((), "r-none")

    @property
    def amount_edges(self) -> tuple[float, ...]:
        """Every amount threshold a rule tests: decisions are constant between two edges."""
        edges = {e for r in self.rules for e in (r.amount_min, r.amount_max) if e is not None}
        return tuple(sorted(edges))

    @property
    def uses_accounts(self) -> bool:
        """True when some rule reads the account id (the cache key must then hold it)."""
        return any(rule.accounts is not None for rule in self.rules)

    @property
    def reads_merchant_key(self) -> bool:
        """True when some rule matches the merchant key rather than the text."""
        return bool(self._key_rules)

    @cached_property
    def _key_rules(self) -> tuple[Rule, ...]:
        return tuple(rule for rule in self.rules if rule.field == "merchant_key")

    @cached_property
    def _screen(self) -> _Screen:
        return _Screen([rule.pattern.pattern if rule.field == "text" else None for rule in self.rules])

    def first_match(self, text: str, key: str, amount: float, account_id: str | None) -> Rule | None:
        """The first rule in priority order that matches, or None."""
        for index in self._screen.candidates(text):
            rule = self.rules[index]
            if rule.matches(text, key, amount, account_id):
                return rule
        return None


class _Screen:
    """Which rules could match a line, from one pass of RE2 over it (Python's ``re`` tries each).

    RE2 matches all text patterns at once in linear time; the rule's own Python pattern then
    confirms, so RE2 only has to never miss. It agrees with ``re`` on printable ASCII; other
    lines skip the screen. RE2 has no lookarounds: a pattern is screened without them (an
    assertion only ever rules a match out), and one RE2 still cannot compile (a backreference)
    is always tried.
    """

    def __init__(self, patterns: list[str | None]) -> None:
        options = re2.Options()
        options.case_sensitive = False
        options.log_errors = False
        self._set = re2.Set.SearchSet(options)
        self._rule_of_entry: list[int] = []
        always: list[int] = []
        for index, pattern in enumerate(patterns):
            if pattern is None:  # a merchant-key rule: not screened
                always.append(index)
                continue
            try:
                self._set.Add(without_lookarounds(pattern))
            except re2.error:
                always.append(index)
            else:
                self._rule_of_entry.append(index)
        self._set.Compile()
        self._always = always
        self._everything = list(range(len(patterns)))

    def candidates(self, text: str) -> list[int]:
        """Rule indices to try for ``text``, in priority order."""
        if not (text.isascii() and text.isprintable()):
            return self._everything
        hits = self._set.Match(text)
        if not hits:
            return self._always
        return sorted([self._rule_of_entry[i] for i in hits] + self._always)


_LOOKAROUND_OPENERS = ("(?=", "(?!", "(?<=", "(?<!")


def without_lookarounds(pattern: str) -> str:
    """``pattern`` with every lookahead and lookbehind group removed: it matches wherever ``pattern`` does.

    Escapes and character classes are skipped over, so a bracket or parenthesis inside them
    neither opens nor closes a group. A quantified assertion leaves a dangling quantifier, which
    RE2 rejects: that rule is then tried on every line, as before. A verbose pattern is returned
    unchanged: its comments may hold parentheses.
    """
    if re.compile(pattern).flags & re.VERBOSE:
        return pattern
    out: list[str] = []
    depth = 0  # > 0 inside a group being removed
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            end = i + 2
        elif char == "[":
            end = _class_end(pattern, i)
        else:
            end = i + 1
            if char == "(" and (depth or pattern.startswith(_LOOKAROUND_OPENERS, i)):
                depth += 1
            elif char == ")" and depth:
                depth -= 1
                i = end
                continue  # the removed group's own closing parenthesis
        if not depth:
            out.append(pattern[i:end])
        i = end
    return "".join(out)


def _class_end(pattern: str, start: int) -> int:
    """The index just past the character class opening at ``start`` ("[]a]" and "[^]a]" hold a literal "]")."""
    i = start + 1
    if pattern.startswith("^", i):
        i += 1
    if pattern.startswith("]", i):
        i += 1
    while i < len(pattern) and pattern[i] != "]":
        i += 2 if pattern[i] == "\\" else 1
    return i + 1


def _parse_rule(raw: Any, known: set[str] | None) -> Rule:
    if not isinstance(raw, dict) or not {"id", "category", "pattern"} <= raw.keys():
        raise RuleError(f"each rule needs id, category and pattern: {raw!r}")
    rule_id = str(raw["id"])
    if known is not None and raw["category"] not in known:
        raise RuleError(f"rule {rule_id}: category {raw['category']!r} is not in the taxonomy")
    if raw.get("direction") not in (None, "in", "out"):
        raise RuleError(f"rule {rule_id}: direction must be 'in' or 'out'")
    if raw.get("field", "text") not in _FIELDS:
        raise RuleError(f"rule {rule_id}: field must be one of {_FIELDS}")
    try:
        pattern = re.compile(str(raw["pattern"]), re.IGNORECASE)
    except re.error as err:
        raise RuleError(f"rule {rule_id}: bad pattern: {err}") from None
    accounts = raw.get("accounts")
    return Rule(
        id=rule_id,
        category=str(raw["category"]),
        pattern=pattern,
        priority=int(raw.get("priority", 1000)),
        field=str(raw.get("field", "text")),
        direction=raw.get("direction"),
        amount_min=_optional_float(raw.get("amount_min")),
        amount_max=_optional_float(raw.get("amount_max")),
        accounts=frozenset(map(str, accounts)) if accounts else None,
    )


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)
