"""Power by design (issue 11): design functions, T6 exercising learning, the kill matrix command, and the
test suite's own α ledger. The slow sweep runs every wrong variant of the single-step, peer and BoN
modules at many seeds: power is a property of the design, not of seed 0."""
from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from estimators.binomial import (min_num_samples_for_binomial_relative_upper_test,
                                 min_rate_detectable_by_binomial_upper_test)
from estimators.negative_binomial import (min_num_accepts_for_negative_binomial_rate_test,
                                          min_relative_error_of_proposals_detectable_by_negative_binomial,
                                          negative_binomial_rate_power)
from estimators.baselines import (chernoff_baseline, empirical_chernoff_baseline, population_learned_baseline,
                                  zero_radius)
from theorems import best_of_n, peer_guarantees, proposal_complexity, tv_guarantees
from tiltproof.core import mutants as single_step
from tiltproof.core.evidence import lower_bound_evidence, upper_bound_evidence
from tiltproof.core.framework import run_claim
from tiltproof.instances.single_step import INSTANCES, LEARNING_INSTANCES, baseline_below_ess_sup, informative_delta
from tiltproof.core.registry import all_claims
from tiltproof.core.framework import claim_level
from tests.conftest import STAT_ALPHA, stochastic_assertions
from tiltproof import cli

MY_MODULES = ("tv_guarantees", "proposal_complexity", "peer_guarantees", "best_of_n")


# ---------------------------------------------------------------- design functions
@given(rate=st.floats(0.01, 0.95), error=st.floats(0.05, 0.5))
def test_negative_binomial_design_detects_its_gap(rate, error):
    """min_gap(min_n(g)) ≤ g, and the designed size really has the power (exact NB tails)."""
    accepts = min_num_accepts_for_negative_binomial_rate_test(rate, error, alpha=1e-6, beta=1e-3)
    detectable = min_relative_error_of_proposals_detectable_by_negative_binomial(
        accepts, rate, alpha=1e-6, beta=1e-3)
    assert detectable <= error + 1e-3
    assert negative_binomial_rate_power(accepts, rate, rate / (1 + error), alpha=1e-6) >= 1 - 1e-3


@pytest.mark.parametrize("side", ["two-sided", "rate-above", "rate-below"])
def test_negative_binomial_test_has_its_level_at_the_null(side):
    """Exact NB tails: the rejection probability at the claimed rate is at most α."""
    for rate in (0.02, 0.3, 0.8):
        for accepts in (5, 200, 3000):
            assert negative_binomial_rate_power(accepts, rate, rate, alpha=1e-3, side=side) <= 1e-3 + 1e-12


def test_relative_binomial_design_detects_the_stated_violation():
    n = min_num_samples_for_binomial_relative_upper_test(0.1, 0.5, alpha=1e-8, beta=1e-3)
    assert min_rate_detectable_by_binomial_upper_test(n, 0.1, alpha=1e-8, beta=1e-3) <= 0.15 + 1e-9


# ---------------------------------------------------------------- T6 exercises learning
def test_t6_learner_lands_strictly_between_the_chernoff_baseline_and_ess_sup():
    instance = LEARNING_INSTANCES["finite-u11"]
    law, lam = instance.law, instance.lam
    target = chernoff_baseline(law, lam, 0.5).value
    assert target < population_learned_baseline(law, lam, 0.5, 0.05, instance.reward_bounds, 4000) < law.ess_sup
    record = run_claim(next(c for c in tv_guarantees.claims() if c.id.startswith("t6.learned_baseline/")),
                       alpha=STAT_ALPHA)
    assert record.verdict == "pass", record.message
    assert record.details["baselines_below_ess_sup"] == record.n // 4000   # every training clips


def test_t6_on_a_degenerate_instance_is_an_error():
    """gmm-step-d1 at δ = 0.05: b_δ = ess sup r, and n = 500 never clips — both hypotheses are violated."""
    for claim in tv_guarantees.learned_baseline_claims(INSTANCES["gmm-step-d1"], 0.05, 0.05, 500):
        record = run_claim(claim, alpha=STAT_ALPHA)
        assert record.verdict == "error" and "ess" in record.message


def test_learner_without_slack_breaks_its_certificate():
    """The no-slack learner is below b_δ on a constant fraction of trainings; the real one never is."""
    instance = LEARNING_INSTANCES["finite-u11"]
    rng = np.random.default_rng(0)
    target = chernoff_baseline(instance.law, instance.lam, 0.5).value
    below = {"real": 0, "no slack": 0}
    for _ in range(40):
        rewards = rng.choice(np.linspace(0, 1, 11), size=4000)
        below["real"] += empirical_chernoff_baseline(rewards, 0.5, 0.5, 0.05, (0.0, 1.0)).value < target
        below["no slack"] += empirical_chernoff_baseline(rewards, 0.5, 0.5, 0.05, (0.0, 1.0), radius=zero_radius).value < target
    assert below["real"] == 0 and below["no slack"] >= 5


def test_degenerate_deltas_are_replaced_per_instance():
    for instance in INSTANCES.values():
        assert baseline_below_ess_sup(instance, informative_delta(instance))
        assert len(proposal_complexity.tradeoff_deltas(instance)) >= 3


# ---------------------------------------------------------------- margins and units
def test_an_exact_value_on_the_bound_has_margin_zero_not_negative():
    upper = upper_bound_evidence(statistic="s", bound=1.0, exact=1.0 + 1e-15, empirical=None, lower_confidence=None,
                                 n=0, detectable_gap=None)
    lower = lower_bound_evidence(statistic="s", bound=1.0, exact=1.0 - 1e-15, empirical=None, upper_confidence=None,
                                 n=0, detectable_gap=None)
    # the margin is the distance to where the check would reject: the bound widened by its numerical
    # tolerance, so an exact value on the bound shows that small tolerance, never a negative margin
    assert upper.holds and 0.0 <= upper.margin <= 1e-8 and lower.holds and 0.0 <= lower.margin <= 1e-8


# ---------------------------------------------------------------- tiltproof mutants
def test_mutants_command_writes_the_kill_matrix(monkeypatch, tmp_path):
    import tiltproof.core.registry as registry

    monkeypatch.setattr(registry, "all_mutants", single_step.mutants)  # the single-step ones: cheap to build
    output = tmp_path / "mutants.json"
    assert cli.main(["mutants", "--only", r"#(undercount|no-slack)$", "--json", str(output)]) == 0
    payload = json.loads(output.read_text())
    assert payload["meta"]["survived"] == 0 and payload["mutants"]
    for row in payload["mutants"]:
        assert {"id", "claim", "theorem", "what_is_wrong", "verdict", "killed", "statistic", "empirical",
                "confidence_bound", "bound", "margin", "message"} <= set(row)
        assert row["id"].startswith(row["claim"] + "#") and row["killed"] and row["verdict"] == "fail"


def test_mutants_command_exits_one_when_a_variant_survives(monkeypatch, tmp_path):
    """A 'variant' that is the correct claim survives its check: the command must say so and exit 1."""
    import tiltproof.core.registry as registry
    from tiltproof.core.framework import Mutant

    import dataclasses

    label = f"{INSTANCES['finite-k10'].soft_value:.4g}"
    correct = next(c for c in tv_guarantees.claims() if c.id == f"t2.tv_exact/finite-k10/b={label}")
    survivor = Mutant("not-wrong", "T2", "nothing is wrong", dataclasses.replace(correct, id=correct.id + "#same"))
    monkeypatch.setattr(registry, "all_mutants", lambda: [survivor])
    output = tmp_path / "m.json"
    assert cli.main(["mutants", "--json", str(output)]) == 1
    row = json.loads(output.read_text())["mutants"][0]
    assert row["verdict"] == "pass" and row["killed"] is False
    assert cli.main(["mutants", "--only", "no-such-variant"]) == 2


# ---------------------------------------------------------------- the tests' own α ledger
def test_alpha_ledger_counts_stat_alpha_uses_and_hypothesis_examples():
    def plain():
        assert STAT_ALPHA > 0 and STAT_ALPHA < 1

    @given(st.integers())
    def drawn(value):
        assert value * STAT_ALPHA == value * STAT_ALPHA

    assert stochastic_assertions(plain) == 2
    assert stochastic_assertions(drawn) == 2 * drawn._hypothesis_internal_use_settings.max_examples


# ---------------------------------------------------------------- power beyond seed 0 (slow)
SWEEP_SEEDS = tuple(range(1, 25))
MY_MUTANTS = [*single_step.mutants(), *peer_guarantees.mutants(), *best_of_n.mutants()]


@pytest.mark.slow
@pytest.mark.parametrize("mutant", MY_MUTANTS, ids=lambda mutant: mutant.claim.id)
def test_every_single_step_variant_is_rejected_at_every_seed(mutant):
    """At the level its claim runs at in `tiltproof check` and 24 seeds, each variant fails every time:
    its check was sized for power ≥ 1 − β = 0.999 at a violation smaller than the variant's."""
    share = claim_level(mutant.claim)
    verdicts = [run_claim(mutant.claim, alpha=share, seed=seed).verdict for seed in SWEEP_SEEDS]
    assert verdicts == ["fail"] * len(SWEEP_SEEDS), verdicts
