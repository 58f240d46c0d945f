"""Best-of-N: the sampler (primitives.best_of_n), the exact law of its output, and the BoN claims.

Exact quantities are checked against independent routes: brute-force enumeration of all N-tuples of
draws (the tie rule applied literally), the Beta(N, 1) law of F(R), and the closed form. The sampler is
checked statistically at ``STAT_ALPHA`` against the exact law on instances not used by the claims.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

from estimators.dkw import dkw_radius, ks_distance
from estimators.multinomial_tv import multinomial_tv_radius
from estimators.exact.tilted_law import reward_law
from estimators.exact.reward_law import DiscreteLaw, NormalMixtureLaw
from primitives import Categorical, Gaussian, LinearReward, TableReward, best_of_n_sample
from primitives.best_of_n import first_argmax
from theorems import best_of_n as bon
from tiltproof.core.framework import run_claim
from tiltproof.core.registry import all_claims, select_claims
from tests.conftest import STAT_ALPHA

N_DRAWS = st.integers(1, 6)


@st.composite
def tied_finite_laws(draw, max_size: int = 5):
    """Finite laws whose rewards take few values, so ties are common."""
    size = draw(st.integers(1, max_size))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    probs = rng.dirichlet(np.ones(size))
    rewards = rng.integers(0, 3, size=size).astype(float)
    return probs, rewards


def _discrete(probs: np.ndarray, rewards: np.ndarray) -> DiscreteLaw:
    law = reward_law(Categorical(probs), TableReward(rewards))
    assert isinstance(law, DiscreteLaw)
    return law


def _enumerated_output_law(probs: np.ndarray, rewards: np.ndarray, N: int) -> np.ndarray:
    """P(output = i) by summing over all K^N tuples of draws, each returning its first argmax."""
    out = np.zeros(probs.size)
    for draws in itertools.product(range(probs.size), repeat=N):
        values = [rewards[i] for i in draws]
        chosen = draws[values.index(max(values))]
        out[chosen] += math.prod(probs[i] for i in draws)
    return out


# ---------------------------------------------------------------- the sampler
def test_first_argmax_takes_the_first_of_tied_maxima():
    rewards = torch.tensor([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0], [0.0, -1.0, 5.0, 5.0]])
    expected = [row.index(max(row)) for row in rewards.tolist()]
    assert first_argmax(rewards).tolist() == expected


@given(st.lists(st.lists(st.integers(-2, 2), min_size=5, max_size=5), min_size=1, max_size=20))
def test_first_argmax_matches_a_python_loop(rows):
    tensor = torch.tensor(rows, dtype=torch.float64)
    assert first_argmax(tensor).tolist() == [row.index(max(row)) for row in rows]


def test_sampler_is_batched_deterministic_and_counts_proposals():
    base, reward = Gaussian([0.0, 1.0], [[1.0, 0.3], [0.3, 2.0]]), LinearReward([1.0, -0.5])
    first = best_of_n_sample(base, reward, 5, 1000, generator=torch.Generator().manual_seed(3), max_batch=64)
    again = best_of_n_sample(base, reward, 5, 1000, generator=torch.Generator().manual_seed(3), max_batch=64)
    assert first.samples.shape == (1000, 2) and first.samples.dtype == torch.float64
    assert first.proposals == 5000 and torch.equal(first.samples, again.samples)
    # the reported rewards are the rewards of the returned samples
    assert torch.allclose(first.rewards, reward(first.samples))
    empty = best_of_n_sample(Categorical([0.5, 0.5]), TableReward([0.0, 1.0]), 3, 0)
    assert empty.samples.shape == (0,) and empty.proposals == 0


@pytest.mark.parametrize("arguments, name", [((0, 10), "N"), ((2.5, 10), "N"), ((3, -1), "n"), ((3, True), "n")])
def test_sampler_rejects_bad_arguments(arguments, name):
    with pytest.raises(ValueError, match=f"^{name} must"):
        best_of_n_sample(Gaussian([0.0], [[1.0]]), LinearReward([1.0]), *arguments)
    with pytest.raises(ValueError, match="^max_batch must"):
        best_of_n_sample(Gaussian([0.0], [[1.0]]), LinearReward([1.0]), 2, 5, max_batch=0)


def test_sampler_output_law_continuous_d3():
    """KS of the selected rewards against F^N (DKW at STAT_ALPHA) on a 3-D Gaussian with a linear reward."""
    base = Gaussian([0.5, -1.0, 2.0], np.diag([1.0, 2.0, 0.5]) + 0.2)
    reward, N, n = LinearReward([1.0, -0.5, 0.25]), 7, 20_000
    law = reward_law(base, reward)
    result = best_of_n_sample(base, reward, N, n, generator=torch.Generator().manual_seed(11), max_batch=10_000)
    rewards = reward(result.samples).numpy()
    distance = ks_distance(rewards, lambda y: np.exp(N * np.asarray(law.log_mass_below(0.0, y))))
    assert distance <= dkw_radius(n, STAT_ALPHA)


def test_sampler_output_law_finite_with_ties():
    """Multinomial TV against the exact π_BoN (ties: p's proportions within a level) at STAT_ALPHA."""
    probs, rewards, N, n = np.array([0.4, 0.1, 0.3, 0.2]), np.array([1.0, 1.0, 0.0, 1.0]), 3, 40_000
    result = best_of_n_sample(Categorical(probs), TableReward(rewards), N, n, generator=torch.Generator().manual_seed(5))
    claimed = np.exp(bon.category_log_probabilities(_discrete(probs, rewards), N))
    empirical = np.bincount(result.samples.numpy(), minlength=probs.size) / n
    assert 0.5 * np.abs(empirical - claimed).sum() <= multinomial_tv_radius(n, STAT_ALPHA, probs=claimed)


# ---------------------------------------------------------------- the exact law and the KL
@given(tied_finite_laws(), st.integers(1, 4))
def test_exact_output_law_matches_enumeration_of_all_draws(law_parts, N):
    probs, rewards = law_parts
    exact = np.exp(bon.category_log_probabilities(_discrete(probs, rewards), N))
    assert np.allclose(exact, _enumerated_output_law(probs, rewards, N), atol=1e-12)


@given(tied_finite_laws(max_size=6), N_DRAWS)
def test_discrete_kl_is_the_kl_of_the_enumerated_law_and_below_the_bound(law_parts, N):
    probs, rewards = law_parts
    enumerated = _enumerated_output_law(probs, rewards, N) if probs.size ** N <= 50_000 else None
    kl = bon.kl_exact_discrete(_discrete(probs, rewards), N)
    if enumerated is not None:
        keep = enumerated > 0
        direct = float(np.sum(enumerated[keep] * np.log(enumerated[keep] / probs[keep])))
        assert kl == pytest.approx(direct, abs=1e-10)
    bound = math.log(N) - (N - 1) / N
    assert kl <= bound + 1e-12
    if N > 1:
        assert kl < bound  # atoms make the bound strict


def test_discrete_kl_approaches_the_continuous_value_as_atoms_vanish():
    """K equiprobable distinct levels: the exact KL climbs to log N − (N−1)/N as K grows."""
    N = 8
    bound = math.log(N) - (N - 1) / N
    gaps = []
    for K in (10, 100, 1000, 10_000):
        law = DiscreteLaw(values=np.arange(K, dtype=float), log_probs=np.full(K, -math.log(K)))
        gaps.append(bound - bon.kl_exact_discrete(law, N))
    assert all(gap > 0 for gap in gaps) and all(b < a for a, b in zip(gaps, gaps[1:])) and gaps[-1] < 1e-2


@st.composite
def normal_mixtures(draw):
    k = draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    return NormalMixtureLaw(np.log(rng.dirichlet(np.ones(k))), rng.normal(scale=3, size=k), rng.uniform(0.3, 2.0, size=k))


@given(normal_mixtures(), st.integers(1, 40))
def test_continuous_kl_by_quadrature_equals_the_closed_form(law, N):
    value, error = bon.kl_by_quadrature(law, N)
    assert value == pytest.approx(math.log(N) - (N - 1) / N, abs=error + 1e-8)


def test_closed_form_is_the_mean_of_the_log_density_ratio_under_beta():
    """Independent route: F(R) ~ Beta(N, 1) under π_BoN, so KL = log N + (N−1) E log U, E log U = −1/N."""
    from scipy import integrate

    for N in (1, 2, 5, 16, 100):
        mean_log, _ = integrate.quad(lambda u: N * u ** (N - 1) * math.log(u) if u > 0 else 0.0, 0, 1)
        assert bon.kl_closed_form(N) == pytest.approx(math.log(N) + (N - 1) * mean_log, abs=1e-9)


def test_binary_kl_lower_bound_is_below_the_true_kl():
    """Data processing: for every event, kl(π(A) ‖ p(A)) ≤ KL(π ‖ p) (exact, on a finite law)."""
    probs, rewards, N = bon._K8_PROBS, bon._K8_REWARDS, 6
    law = _discrete(probs, rewards)
    kl = bon.kl_exact_discrete(law, N)
    output = np.exp(bon.category_log_probabilities(law, N))
    for level in np.unique(rewards):
        event = rewards >= level
        assert bon.binary_kl(float(output[event].sum()), float(probs[event].sum())) <= kl + 1e-12


# ---------------------------------------------------------------- the registered theorem
BON_CLAIMS = select_claims(all_claims(), r"^bon\.")


def test_theorem_is_discovered_by_the_registry_with_its_wrong_variants():
    assert {claim.module for claim in BON_CLAIMS} == {"best_of_n"}
    kinds = {claim.id.split("/")[0] for claim in BON_CLAIMS}
    assert kinds == {"bon.sampler_law", "bon.kl_bound", "bon.kl_exact"}
    assert sum(mutant.theorem == "BoN" for mutant in bon.mutants()) >= 2  # all_mutants() collects these


@pytest.mark.parametrize("claim", BON_CLAIMS, ids=lambda claim: claim.id)
def test_bon_claims_pass(claim):
    record = run_claim(claim, alpha=STAT_ALPHA)
    assert record.verdict == "pass", record.message


def test_kl_bound_claims_have_power_where_the_instance_allows_it():
    """The empirical side can fail wherever some upper set has −log p(A) above the bound + gap."""
    record = run_claim(next(c for c in BON_CLAIMS if c.id == "bon.kl_bound/normal-d1/N=16"), alpha=STAT_ALPHA)
    assert record.details["empirical_side_can_fail"] and record.detectable_gap <= bon.KL_GAP + 1e-9


def test_kl_exact_on_a_discrete_law_is_an_error_not_a_pass():
    import dataclasses
    from functools import partial

    claim = next(c for c in BON_CLAIMS if c.id == "bon.kl_exact/normal-d1/N=4")
    finite = bon.INSTANCES["finite-k8"]
    wrong = dataclasses.replace(claim, id="demo", check=partial(bon.check_kl_exact, finite, 4),
                                hypotheses=(bon.Hypothesis("continuous", lambda: finite.continuous),))
    assert run_claim(wrong, alpha=STAT_ALPHA).verdict == "error"
