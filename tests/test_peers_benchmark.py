"""The diffusion half of ``benchmarks/peers.py`` (``benchmarks/peers_diffusion.py``) at tiny sizes: the row
schema, the query accounting of trajectory-level peers, and the reward-only TV bounds against the exact
hit probabilities from an independent route (closed-form normal CDFs of the data mixture)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.special import ndtr

from benchmarks import peers_diffusion as pd
from estimators.binomial import clopper_pearson_lower
from estimators.exact.peer_laws import rso_reward_probabilities, sir_reward_probabilities
from estimators.exact.reward_law import DiscreteLaw
from tests.conftest import STAT_ALPHA

METHODS = {"lcb", "ideal_rejection", "quasi_rejection", "best_of_n", "smc", "rso", "sir", "oracle"}
TINY = pd.DiffusionSettings(peer_samples=400, sizes=(64,), qrs_baselines=(6.0,), qrs_rates=(), pilot=0,
                            smc_samples=200, smc_particles=(8,), chain_samples=0, lcb_samples=0, lcb_budgets=(),
                            oracle=False, ideal=False, sir=True)


@pytest.fixture(scope="module")
def rows():
    torch.set_num_threads(1)
    return pd.diffusion_rows(TINY, alpha=STAT_ALPHA, generator=torch.Generator().manual_seed(5))


def _closed_form_hits() -> tuple[float, float]:
    """p_0(A) and q_0(A) for A = {x_1 < −7} under 0.95·N((5,0), I) + 0.05·N((−5,0), I), B = 7, λ = 1."""
    p_hit = 0.95 * ndtr(-7.0 - 5.0) + 0.05 * ndtr(-7.0 + 5.0)
    weight = p_hit * math.exp(7.0)
    return float(p_hit), float(weight / (weight + 1.0 - p_hit))


def _exact_hit(method: str, budget: str) -> float:
    p_hit, _ = _closed_form_hits()
    size = float(budget.split("=")[1].replace("e^", ""))
    if method == "best_of_n":
        return 1.0 - (1.0 - p_hit) ** size
    if method == "quasi_rejection":           # accept misses with e^{−b}, hits surely (b ≤ 7)
        return p_hit / (p_hit + (1.0 - p_hit) * math.exp(-size))
    law = DiscreteLaw(np.array([0.0, 7.0]), np.log([1.0 - p_hit, p_hit]))
    if method == "rso":
        return float(rso_reward_probabilities(law, 1.0, int(size))[1][1])
    return float(sir_reward_probabilities(law, 1.0, int(size))[1][1])


def test_row_schema(rows):
    assert {row["method"] for row in rows} == {"quasi_rejection", "best_of_n", "rso", "sir", "smc"}
    for row in rows:
        assert {"method", "instance", "budget", "queries_per_sample", "tv", "n", "tv_lower"} <= set(row)
        assert row["method"] in METHODS and row["instance"] == pd.INSTANCE
        assert isinstance(row["budget"], str) and row["n"] > 0 and row["queries_per_sample"] > 0
        assert 0.0 <= row["tv_lower"] <= row["tv"] <= 1.0 and row["tv_statistic"]
        assert row["alpha"] <= STAT_ALPHA


def test_trajectory_peers_are_charged_a_whole_chain_per_proposal(rows):
    """Best-of-N, RSO and SIR use exactly N chain runs of T + 1 = 21 kernel queries per output."""
    for row in rows:
        if row["method"] in ("best_of_n", "rso", "sir"):
            size = int(row["budget"].split("=")[1])
            assert row["queries_per_sample"] == 21 * size == row["kernel_draws_per_sample"]
        if row["method"] == "smc":
            assert row["queries_per_sample"] == 21 * int(row["budget"].split("=")[1])


def test_reward_only_tv_bounds_contain_the_exact_values(rows):
    """The sampled hit rate's Clopper–Pearson interval holds the exact hit probability, and the row's
    [tv_lower, tv] holds the exact TV |π(A) − q_0(A)| (each at ≤ STAT_ALPHA)."""
    _, q_hit = _closed_form_hits()
    checked = 0
    for row in rows:
        if row["method"] not in pd.REWARD_ONLY:
            continue
        exact = _exact_hit(row["method"], row["budget"])
        assert row["tv_exact"] == pytest.approx(abs(exact - q_hit), abs=1e-9)
        hits, n = row["hits"], row["n"]
        low = clopper_pearson_lower(hits, n, STAT_ALPHA / 2)
        high = 1.0 - clopper_pearson_lower(n - hits, n, STAT_ALPHA / 2)
        assert low <= exact <= high
        assert row["tv_lower"] <= abs(exact - q_hit) <= row["tv"]
        checked += 1
    assert checked == 4


def test_summary_picks_the_cheapest_row_under_the_target(rows):
    target = max(row["tv"] for row in rows)  # every row qualifies: the cheapest overall must be chosen
    summary = pd.instance_summary(rows, tv_target=target)
    cheapest = min(rows, key=lambda row: row["queries_per_sample"])
    assert summary["cheapest_queries_per_sample"] == cheapest["queries_per_sample"]
    assert summary["biased_peer_tv_floors"]["best_of_n"]["smallest_on_grid"] == min(
        row["tv_exact"] for row in rows if row["method"] == "best_of_n")
    assert pd.instance_summary(rows, tv_target=-1.0)["cheapest_method_reaching_target"] is None


def test_an_lcb_budget_too_small_for_the_calibration_set_is_refused():
    """Path budget 0.02 needs ≈ 6 350 held-out pairs at η = 0.05/21; 4 000 would give infinite offsets."""
    settings = pd.DiffusionSettings(**{**TINY.__dict__, "lcb_budgets": (0.02,), "lcb_samples": 10,
                                       "training": {**pd.QUICK.training, "calibration_pairs": 4000}})
    with pytest.raises(ValueError, match="lcb_budgets"):
        pd.diffusion_rows(settings, generator=torch.Generator().manual_seed(0))
