"""Feynman–Kac steering SMC on a small enumerable chain: weights carry over, and without resampling it
is exactly SIR over trajectories (enumerated law)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from estimators.multinomial_tv import multinomial_tv_radius
from estimators.exact.peer_laws import reward_tv, sir_reward_probabilities
from estimators.exact.reward_law import DiscreteLaw
from primitives import TableReward
from primitives.peers import fk_steering_sample
from tests.conftest import STAT_ALPHA


class FiniteChain:
    """A T-step Markov chain on {0, …, S−1}: prior p_T and kernels P_t[y, x] = p_t(x | y)."""

    def __init__(self, seed: int = 0, states: int = 5, steps: int = 3):
        rng = np.random.default_rng(seed)
        self.steps, self.state_shape, self.device = steps, (), torch.device("cpu")
        self.prior = rng.dirichlet(np.ones(states))
        self.kernels = [rng.dirichlet(np.ones(states) * 0.7, size=states) for _ in range(steps)]

    def sample_prior(self, n, generator=None):
        return torch.multinomial(torch.as_tensor(self.prior), n, replacement=True, generator=generator)

    def sample_children(self, parents, t, n_children, generator=None):
        rows = torch.as_tensor(self.kernels[t])[parents]
        return torch.multinomial(rows, n_children, replacement=True, generator=generator)

    def marginal_x0(self) -> np.ndarray:
        law = self.prior
        for t in range(self.steps - 1, -1, -1):
            law = law @ self.kernels[t]
        return law

    def soft_values(self, rewards: np.ndarray, lam: float) -> list[np.ndarray]:
        """V_0 = r, e^{V_{t+1}(y)/λ} = Σ_x P_t[y, x] e^{V_t(x)/λ} (exact, in log space)."""
        values = [rewards]
        for t in range(self.steps):
            values.append(lam * np.log(self.kernels[t] @ np.exp(values[-1] / lam)))
        return values


REWARDS = np.array([0.0, 2.0, -1.0, 3.0, 0.5])


def _setup(lam=0.7):
    chain = FiniteChain()
    exact = chain.soft_values(REWARDS, lam)
    values = lambda states, t: torch.as_tensor(exact[t])[states]
    return chain, values, TableReward(REWARDS)


def test_weights_carry_over_and_telescope_to_the_reward():
    """Never resampled, a particle's log-weight is V_T/λ + Σ_t (V_t − V_{t+1})/λ = r(x_0)/λ exactly."""
    chain, values, reward = _setup()
    result = fk_steering_sample(chain, values, reward, 0.7, 16, 200, generator=torch.Generator().manual_seed(0),
                                ess_threshold=0.0)
    assert result.resamplings == 0 and result.queries == 200 * 16 * 4
    expected = reward(result.final_states.reshape(-1)).reshape(200, 16) / 0.7
    torch.testing.assert_close(result.final_log_weights, expected, rtol=0, atol=1e-12)


def test_without_resampling_it_is_trajectory_sir():
    chain, values, reward = _setup()
    lam, particles, n = 0.7, 6, 40_000
    law = DiscreteLaw(REWARDS, np.log(chain.marginal_x0()))
    _, claimed = sir_reward_probabilities(law, lam, particles)
    result = fk_steering_sample(chain, values, reward, lam, particles, n, generator=torch.Generator().manual_seed(1),
                                ess_threshold=0.0)
    observed = np.bincount(result.samples.numpy(), minlength=REWARDS.size) / n
    order = np.argsort(REWARDS)  # the enumeration lists atoms by increasing reward
    assert reward_tv(observed[order], claimed) <= multinomial_tv_radius(n, STAT_ALPHA, probs=claimed)


def test_after_resampling_weights_restart_and_keep_accumulating():
    """With threshold 1 a system resamples whenever its weights are unequal, after which the weights no
    longer telescope to r(x_0)/λ (they restart at 0)."""
    chain, values, reward = _setup()
    result = fk_steering_sample(chain, values, reward, 0.7, 8, 50, generator=torch.Generator().manual_seed(2),
                                ess_threshold=1.0)
    assert 0 < result.resamplings <= 50 * chain.steps
    final = result.final_log_weights
    assert torch.isfinite(final).all() and not torch.allclose(final, reward(result.final_states.reshape(-1)).reshape(50, 8) / 0.7)


def test_resampling_happens_and_moves_towards_the_target():
    chain, values, reward = _setup()
    lam, n = 0.7, 20_000
    p0 = chain.marginal_x0()
    target = p0 * np.exp(REWARDS / lam)
    target /= target.sum()
    result = fk_steering_sample(chain, values, reward, lam, 32, n, generator=torch.Generator().manual_seed(3),
                                ess_threshold=1.0)
    observed = np.bincount(result.samples.numpy(), minlength=REWARDS.size) / n
    assert result.resamplings > 0
    # The upper confidence bound on its TV to q is well below the base law's TV to q.
    upper = reward_tv(observed, target) + multinomial_tv_radius(n, STAT_ALPHA, support_size=REWARDS.size)
    assert upper < reward_tv(p0, target)


@pytest.mark.parametrize("kwargs, name", [({"particles": 0}, "particles"), ({"lam": 0.0}, "lam"),
                                          ({"ess_threshold": 2.0}, "ess_threshold")])
def test_bad_input(kwargs, name):
    chain, values, reward = _setup()
    arguments = {"particles": 4, "lam": 1.0, **kwargs}
    with pytest.raises(ValueError, match=name):
        fk_steering_sample(chain, values, reward, arguments["lam"], arguments["particles"], 3,
                           ess_threshold=kwargs.get("ess_threshold", 0.5))
