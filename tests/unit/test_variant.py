"""A/B assignment: deterministic per task id, close to the configured split, forced variant wins."""

import pytest

from pipeline.variant import Experiment, assign_variant, parse_forced_variant, version_for

SPLIT = Experiment(active_version="m-a", candidate_version="m-b", candidate_percent=10)


def test_assignment_is_deterministic_and_follows_the_split():
    ids = [f"task-{i}" for i in range(20_000)]
    first = [assign_variant(i, SPLIT) for i in ids]
    assert first == [assign_variant(i, SPLIT) for i in ids]
    assert 0.08 < first.count("B") / len(ids) < 0.12


def test_no_candidate_means_everyone_gets_a():
    assert {assign_variant(f"t{i}", Experiment("m-a", None, 50)) for i in range(500)} == {"A"}
    assert {assign_variant(f"t{i}", Experiment("m-a", "m-b", 50, enabled=False)) for i in range(500)} == {"A"}


def test_forced_variant_wins_and_names_are_checked():
    assert assign_variant("t", SPLIT, parse_forced_variant("candidate")) == "B"
    assert assign_variant("t", Experiment("m-a", "m-b", 100), parse_forced_variant("A")) == "A"
    with pytest.raises(ValueError, match="force_variant"):
        parse_forced_variant("C")


def test_version_for_variant():
    assert version_for("B", SPLIT) == "m-b"
    assert version_for("B", Experiment("m-a")) == "m-a"
