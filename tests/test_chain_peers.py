"""SVDD and reward-gradient guidance (``primitives.peers.chain_peers``), FK steering with one particle, and the
authors' last-step sampler: exact laws by an independent route (enumeration of the M-tuples on a finite
chain; the closed-form tilt of a Gaussian random walk with a linear reward), reproducibility, bad input."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from scipy.stats import kstest, norm

from estimators.multinomial_tv import multinomial_tv_radius
from estimators.exact.peer_laws import reward_tv
from primitives.chain_samplers import last_step_rejection_sample, unaligned_sample
from primitives.peers.chain_peers import gradient_guidance_sample, svdd_sample
from primitives.peers.smc import fk_steering_sample
from primitives.rewards import TableReward
from tests.conftest import STAT_ALPHA
from tests.test_smc import REWARDS, FiniteChain

LAM = 0.7


class TableValues:
    """Exact ``V_t`` of the finite chain as a lookup (``V_0 = r``), with ``.lam`` and the envelope."""

    def __init__(self, chain: FiniteChain, lam: float = LAM) -> None:
        self.lam, self.table = lam, chain.soft_values(REWARDS, lam)

    def __call__(self, states, t):
        return torch.as_tensor(self.table[t], dtype=torch.float64)[states]


def _select_law(probs: np.ndarray, values: np.ndarray, m: int, selection: str, lam: float) -> np.ndarray:
    """Law of the kept child when m children are drawn from ``probs``: every m-tuple enumerated."""
    law = np.zeros(probs.size)
    for tuple_ in itertools.product(range(probs.size), repeat=m):
        weight = float(np.prod(probs[list(tuple_)]))
        scores = values[list(tuple_)]
        if selection == "argmax":
            law[tuple_[int(np.argmax(scores))]] += weight
        else:
            chosen = np.exp((scores - scores.max()) / lam)
            for j, x in enumerate(tuple_):
                law[x] += weight * chosen[j] / chosen.sum()
    return law


def svdd_x0_law(chain: FiniteChain, values: TableValues, m: int, selection: str) -> np.ndarray:
    law = _select_law(chain.prior, values.table[chain.steps], m, selection, values.lam)
    for t in reversed(range(chain.steps)):
        kernel = np.stack([_select_law(chain.kernels[t][y], values.table[t], m, selection, values.lam)
                           for y in range(chain.prior.size)])
        law = law @ kernel
    return law


@pytest.mark.parametrize("selection, m", [("argmax", 3), ("softmax", 3)])
def test_svdd_has_its_enumerated_law(selection, m):
    chain = FiniteChain()
    values = TableValues(chain)
    n = 20_000
    result = svdd_sample(chain, values, n, proposals=m, selection=selection, generator=torch.Generator().manual_seed(4))
    assert result.queries == n * m * (chain.steps + 1) == result.kernel_draws
    observed = np.bincount(result.samples.numpy(), minlength=REWARDS.size) / n
    claimed = svdd_x0_law(chain, values, m, selection)
    assert reward_tv(observed, claimed) <= multinomial_tv_radius(n, STAT_ALPHA, probs=claimed)
    # The check can fail: the enumerated law differs from the base law by more than the radius.
    assert reward_tv(chain.marginal_x0(), claimed) > 2 * multinomial_tv_radius(n, STAT_ALPHA, probs=claimed)


@pytest.mark.parametrize("selection", ["argmax", "softmax"])
def test_svdd_with_one_proposal_is_the_base_chain(selection):
    chain = FiniteChain()
    svdd = svdd_sample(chain, TableValues(chain), 500, proposals=1, selection=selection,
                       generator=torch.Generator().manual_seed(5))
    if selection == "argmax":   # the same kernel calls in the same order: the same draws
        base = unaligned_sample(chain, 500, generator=torch.Generator().manual_seed(5))
        assert torch.equal(svdd.samples, base.samples)
    assert torch.allclose(torch.as_tensor(svdd_x0_law(chain, TableValues(chain), 1, selection)),
                          torch.as_tensor(chain.marginal_x0()), atol=1e-12)


def test_fk_steering_with_one_particle_has_the_base_law():
    chain = FiniteChain()
    n = 20_000
    result = fk_steering_sample(chain, TableValues(chain), TableReward(REWARDS), LAM, 1, n,
                                generator=torch.Generator().manual_seed(6), ess_threshold=1.0)
    observed = np.bincount(result.samples.numpy(), minlength=REWARDS.size) / n
    base = chain.marginal_x0()
    assert reward_tv(observed, base) <= multinomial_tv_radius(n, STAT_ALPHA, probs=base)


class RandomWalk:
    """``x_T ~ N(0, σ_T²)``, ``x_t = x_{t+1} + σ ξ`` in d = 1, state shape (1,)."""

    steps, state_shape, device = 4, (1,), torch.device("cpu")
    sigma, prior_sigma = 0.5, 1.2

    def sample_prior(self, n, generator=None):
        return self.prior_sigma * torch.randn(n, 1, generator=generator, dtype=torch.float64)

    def sample_children(self, parents, t, n_children, generator=None):
        noise = torch.randn(parents.shape[0], n_children, 1, generator=generator, dtype=torch.float64)
        return parents[:, None, :] + self.sigma * noise


class LinearValues:
    """``r(x) = a x``: ``V_t(y) = a y + t a²σ²/(2λ)``, linear, so q_t(·|y) = N(y + σ² a/λ, σ²) exactly."""

    def __init__(self, a: float, lam: float) -> None:
        self.a, self.lam = a, lam

    def __call__(self, states, t):
        return self.a * states[:, 0] + t * self.a**2 * RandomWalk.sigma**2 / (2 * self.lam)


def test_gradient_guidance_is_exact_for_a_linear_value_with_the_kernel_variance():
    """q_0 ∝ N(0, v) e^{a x/λ} = N(v a/λ, v), v = σ_T² + Tσ²: guidance with s_t = the kernel variance is
    exact here; half the step would miss the mean by v a/(2λ)."""
    walk, a, lam, n = RandomWalk(), 0.8, 0.5, 4000
    values = LinearValues(a, lam)
    sizes = [walk.sigma**2] * walk.steps + [walk.prior_sigma**2]
    variance = walk.prior_sigma**2 + walk.steps * walk.sigma**2
    target = norm(loc=variance * a / lam, scale=math.sqrt(variance))
    result = gradient_guidance_sample(walk, values, n, step_sizes=sizes, generator=torch.Generator().manual_seed(7))
    assert result.queries == n * (walk.steps + 1) and result.details["steps_without_gradient"] == []
    assert kstest(result.samples[:, 0].numpy(), target.cdf).pvalue > STAT_ALPHA
    halved = gradient_guidance_sample(walk, values, n, step_sizes=[s / 2 for s in sizes],
                                      generator=torch.Generator().manual_seed(7))
    assert kstest(halved.samples[:, 0].numpy(), target.cdf).pvalue < STAT_ALPHA


def test_gradient_guidance_with_step_zero_is_the_base_kernel():
    walk = RandomWalk()
    guided = gradient_guidance_sample(walk, LinearValues(0.8, 0.5), 300, step_sizes=0.0,
                                      generator=torch.Generator().manual_seed(8))
    base = unaligned_sample(walk, 300, generator=torch.Generator().manual_seed(8))
    assert torch.equal(guided.samples, base.samples)


class EmptyableChain(FiniteChain):
    """The finite chain, also answering ``sample_prior(0)`` (per-step rejection asks for an empty template)."""

    def sample_prior(self, n, generator=None):
        return torch.zeros(0, dtype=torch.long) if n == 0 else super().sample_prior(n, generator)


def test_last_step_sampler_has_the_aligned_law():
    chain = EmptyableChain()
    values = TableValues(chain)
    n = 20_000
    target = chain.marginal_x0() * np.exp(REWARDS / LAM)
    target /= target.sum()
    result = last_step_rejection_sample(chain, values, n, envelope=float(REWARDS.max()),
                                        generator=torch.Generator().manual_seed(9))
    observed = np.bincount(result.samples.numpy(), minlength=REWARDS.size) / n
    assert reward_tv(observed, target) <= multinomial_tv_radius(n, STAT_ALPHA, probs=target)
    assert result.queries <= result.kernel_draws and result.queries >= n * (chain.steps + 1)


@pytest.mark.parametrize("sampler", ["svdd", "guidance"])
def test_generator_makes_the_draws_reproducible(sampler):
    walk = RandomWalk()
    values = LinearValues(0.8, 0.5)

    def run(seed):
        generator = torch.Generator().manual_seed(seed)
        if sampler == "svdd":
            return svdd_sample(walk, values, 50, proposals=3, selection="softmax", generator=generator).samples
        return gradient_guidance_sample(walk, values, 50, step_sizes=0.25, generator=generator).samples

    first, again, other = run(1), run(1), run(2)
    assert first.shape == (50, 1) and torch.equal(first, again) and not torch.equal(first, other)


@pytest.mark.parametrize("kwargs, name", [
    ({"proposals": 0}, "proposals"), ({"selection": "max"}, "selection"), ({"n": -1}, "n"),
    ({"kernel": object()}, "kernel"), ({"values": None}, "values"), ({"device": "tpu"}, "device"),
])
def test_svdd_bad_input(kwargs, name):
    walk = RandomWalk()
    arguments = {"kernel": walk, "values": LinearValues(0.8, 0.5), "n": 3, "proposals": 2, **kwargs}
    with pytest.raises(ValueError, match=name):
        svdd_sample(arguments.pop("kernel"), arguments.pop("values"), arguments.pop("n"), **arguments)


@pytest.mark.parametrize("step_sizes, name", [([0.1, 0.2], "step_sizes"), (-1.0, "step_sizes"),
                                              (float("nan"), "step_sizes"), ("big", "step_sizes")])
def test_gradient_guidance_bad_input(step_sizes, name):
    with pytest.raises(ValueError, match=name):
        gradient_guidance_sample(RandomWalk(), LinearValues(0.8, 0.5), 3, step_sizes=step_sizes)


def test_gradient_guidance_refuses_values_without_a_gradient():
    class Frozen(LinearValues):
        def __call__(self, states, t):
            return super().__call__(states, t).detach()

    with pytest.raises(ValueError, match="values"):
        gradient_guidance_sample(RandomWalk(), Frozen(0.8, 0.5), 3, step_sizes=0.1)


def test_svdd_wrong_temperature_is_rejected(monkeypatch):
    """A wrong variant that perturbs the code (softmax at 2λ) is refuted by the exact-law test above."""
    import primitives.peers.chain_peers as module

    select = module._select
    monkeypatch.setattr(module, "_select", lambda children, scores, selection, lam, generator:
                        select(children, scores, selection, 2 * lam, generator))
    chain = FiniteChain()
    values = TableValues(chain)
    n = 20_000
    result = module.svdd_sample(chain, values, n, proposals=3, selection="softmax",
                                generator=torch.Generator().manual_seed(4))
    observed = np.bincount(result.samples.numpy(), minlength=REWARDS.size) / n
    claimed = svdd_x0_law(chain, values, 3, "softmax")
    assert reward_tv(observed, claimed) > multinomial_tv_radius(n, STAT_ALPHA, probs=claimed)
