"""The rollout policy: the seed's criteria and triggers as files, and the decision each phase takes."""

from __future__ import annotations

import pytest

from pipeline.rollout import POLICIES, Figures, decide, load_policy

SEED = load_policy("seed")
GOOD_A = Figures(predictions=5_000, error_rate=0.001, p95_ms=100.0, accuracy=0.90)
GOOD_B = Figures(predictions=1_200, error_rate=0.002, p95_ms=85.0, accuracy=0.91)


def test_the_seed_policy_has_the_seed_documents_numbers():
    assert SEED.phases == (10, 25, 50, 75, 100)
    assert (SEED.min_predictions, SEED.max_error_rate_difference, SEED.min_p95_improvement) == (1000, 0.02, 0.10)
    assert (SEED.rollback["p95_ms"].above, SEED.rollback["p95_ms"].for_minutes) == (400, 5)
    assert (SEED.rollback["error_rate"].above, SEED.rollback["error_rate"].for_minutes) == (0.10, 2)
    assert SEED.rollback["accuracy_drop"].above == 0.05
    assert load_policy("retrain").min_p95_improvement == -0.10


def test_a_good_candidate_advances_and_the_last_phase_completes():
    assert decide(SEED, 0, GOOD_A, GOOD_B, {}).action == "advance"
    # At 100% the active model serves nothing: the candidate is judged alone.
    assert decide(SEED, 4, Figures(accuracy=0.90), GOOD_B, {}).action == "complete"
    assert decide(SEED, 4, Figures(accuracy=0.90), Figures(predictions=10, accuracy=0.9), {}).action == "hold"


def test_each_unmet_criterion_holds_the_phase_and_is_named():
    cases = {"predictions per variant": Figures(predictions=999, error_rate=0.002, p95_ms=85.0, accuracy=0.91),
             "error rates differ": Figures(predictions=1_200, error_rate=0.05, p95_ms=85.0, accuracy=0.91),
             "needs +10%": Figures(predictions=1_200, error_rate=0.002, p95_ms=95.0, accuracy=0.91),
             "accuracy 0.880 below": Figures(predictions=1_200, error_rate=0.002, p95_ms=85.0, accuracy=0.88)}
    for words, candidate in cases.items():
        verdict = decide(SEED, 1, GOOD_A, candidate, {})
        assert verdict.action == "hold" and words in verdict.reason, (words, verdict)
    # The retrain policy lets a model of the same design be up to 10% slower.
    assert decide(load_policy("retrain"), 1, GOOD_A, cases["needs +10%"], {}).action == "advance"


def test_any_trigger_rolls_back_whatever_the_criteria_say():
    slow = {"p95_ms": Figures(p95_ms=450.0)}
    failing = {"error_rate": Figures(error_rate=0.2)}
    broken_cache = {"cache_errors": Figures(cache_error_share=0.9)}
    for windows in (slow, failing, broken_cache):
        assert decide(SEED, 0, GOOD_A, GOOD_B, windows).action == "rollback"
    worse = decide(SEED, 0, GOOD_A, Figures(predictions=10, accuracy=0.80), {})
    assert worse.action == "rollback" and "more than 5% below" in worse.reason


def test_a_policy_file_is_checked(tmp_path):
    bad = tmp_path / "p.yaml"
    seed_text = (POLICIES / "seed.yaml").read_text()
    bad.write_text(seed_text.replace("phases: [10, 25, 50, 75, 100]", "phases: [10, 50, 25]"))
    with pytest.raises(ValueError, match="rise to 100"):
        load_policy(bad)
    bad.write_text(seed_text.replace("min_reviews: 20", "min_reviews: 20\n  min_revews: 3"))
    with pytest.raises(ValueError, match=r"unknown setting.*min_revews"):
        load_policy(bad)
    with pytest.raises(ValueError, match="no rollout policy"):
        load_policy(tmp_path / "missing.yaml")
