"""MSG baseline (``primitives.msg_baseline``) against its formulas written out for the isotropic mixture, the
corrected theorem's ingredients (``theorems.msg_baseline``), the sigmoid reward, and bad input."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from scipy.special import expit, logsumexp, ndtr

from primitives.ddpm_chain import authors_ddpm_chain
from primitives.msg_baseline import MSGBaseline
from primitives.rewards import SigmoidReward, StepReward
from theorems.msg_baseline import DELTA, level, step_reward_finding

pytestmark = pytest.mark.usefixtures("one_torch_thread")

REWARD = SigmoidReward(3.0, [1.0, 0.0], -8.0, 2.0)


@settings(max_examples=15, deadline=None)
@given(st.floats(-9, 9), st.floats(-3, 3), st.integers(0, 18), st.booleans())
def test_phi_and_baseline_match_the_isotropic_formulas(x0, x1, t, corrected):
    """Σ_k = I: A = √ᾱ I, μ_{0|t}^k = μ_k + √ᾱ(x − √ᾱ μ_k), Σ_{0|t} = (1 − ᾱ) I, γ ∝ π_k N(x; √ᾱ μ_k, I)."""
    chain = authors_ddpm_chain()
    msg = MSGBaseline(chain, REWARD, 1.0, DELTA, mean_correction=corrected)
    a = float(np.cumprod(chain.alphas_np)[t])
    x = np.array([x0, x1])
    means = np.array([[5.0, 0.0], [-5.0, 0.0]])
    log_gamma = np.log([0.95, 0.05]) - 0.5 * ((x - math.sqrt(a) * means) ** 2).sum(1)
    posterior = means + math.sqrt(a) * (x - math.sqrt(a) * means)
    reward = 3.0 * expit(-2.0 * (posterior[:, 0] + 8.0))
    lr = 1.5
    extra = lr**2 * (1 - a) / 2 + (lr * math.sqrt(2 * (1 - a)) if corrected else 0.0)
    phi = logsumexp(log_gamma + reward + extra) - logsumexp(log_gamma)
    got = float(msg.phi(torch.as_tensor(x[None]), t)[0])
    assert got == pytest.approx(phi, abs=1e-9)
    alpha = chain.alphas_np[t]
    radius = lr * math.sqrt(a) * math.sqrt(2 * (1 - alpha) / alpha * math.log(1 / DELTA))
    mean = chain.kernel_mean(t, torch.as_tensor(x[None]))
    assert float(msg(torch.as_tensor(x[None]), t)[0]) == pytest.approx(float(msg.phi(mean, t)[0]) + radius, abs=1e-9)
    assert float(MSGBaseline(chain, REWARD, 1.0, DELTA, radius_scale=0.5).radius(t)) == pytest.approx(radius / 2)


def test_prior_is_untilted_and_level_is_below_delta():
    msg = MSGBaseline(authors_ddpm_chain(), REWARD, 1.0, DELTA)
    assert float(msg(None, 19)) == -math.inf
    assert level(DELTA) == pytest.approx(2 * ndtr(-math.sqrt(2 * math.log(100))))
    assert level(DELTA) <= DELTA


def test_sigmoid_reward_lipschitz_constant_is_attained_not_exceeded():
    reward = SigmoidReward(5.0, [1.0, 0.0], -8.0, 2.0)
    s = torch.linspace(-20, 5, 20001, dtype=torch.float64)
    r = reward(torch.stack([s, torch.zeros_like(s)], 1))
    slope = float((r.diff().abs() / s.diff()).max())
    assert slope <= reward.lipschitz and slope == pytest.approx(reward.lipschitz, rel=1e-4)


def test_step_reward_clip_exceeds_delta():
    """Where the guarantee does not apply: the step reward's exact per-parent clip passes δ by far."""
    finding = step_reward_finding(3.0)
    assert finding["max_clip"] > 10 * DELTA and finding["steps_above_delta"]


def test_bad_input():
    chain = authors_ddpm_chain()
    with pytest.raises(ValueError, match="lipschitz_reward"):
        MSGBaseline(chain, StepReward(1.0, [1.0, 0.0], -7.0), 1.0, DELTA)
    with pytest.raises(ValueError, match="delta"):
        MSGBaseline(chain, REWARD, 1.0, 1.5)
    with pytest.raises(ValueError, match="norm"):
        MSGBaseline(chain, REWARD, 1.0, DELTA, norm="frobenius")
    with pytest.raises(ValueError, match="chain"):
        MSGBaseline(object(), REWARD, 1.0, DELTA)
    with pytest.raises(ValueError, match="lipschitz"):
        MSGBaseline(chain, REWARD, 1.0, DELTA, lipschitz=[1.0])
