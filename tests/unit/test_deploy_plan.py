"""manna deploy without servers: the plan it prints, and prerequisites that say every problem at once."""

from __future__ import annotations

from services.deploy import DeployOptions, deploy, plan


def test_the_plan_lists_the_seeds_steps_and_the_optional_ones():
    steps = plan(DeployOptions(activate="m-new", rollout="m-cand", policy="retrain"))
    assert [s.split(":")[0].split(" ")[0] for s in steps] == [
        "prerequisites", "baseline", "migrations", "activate", "restart", "validate", "rollout", "on"]
    assert len(plan(DeployOptions())) == 6


def test_missing_prerequisites_are_named_together_and_nothing_runs(sqlite_settings):
    calls: list[str] = []
    result = deploy(sqlite_settings, DeployOptions(activate="m-nope"), submit=lambda rows, job: calls.append("submit"),
                    broker_ok=lambda: True, stack=calls.append, stack_running=lambda: calls.append("ask") or False)
    assert not result.ok and calls == []
    for words in ("MANNA_FLOWER_PASSWORD is not set", "MANNA_ADMIN_TOKEN is not set", "MANNA_BROKER_URL is not set",
                  "model m-nope is not registered"):
        assert words in result.error, result.error
