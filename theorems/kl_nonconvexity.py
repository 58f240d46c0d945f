"""L1c: necessity of convexity — planes pay ``e^{−Δ/λ}`` for a non-convex reward (tractability spec, L1c).

For the non-convex ``f(s) = L·||s| − 1|`` the planes reach only ``conv f = L·max(0, |s| − 1)``; a valid cover needs
``ε ≥ Δ = sup(f − conv f) = L`` and the acceptance then obeys ``acc ≤ e^{−Δ/λ}·Z/Z_conv`` (proof in the docstring
of ``check_nonconvex``; the spec states the exponent with its sign flipped). Instance ``w-shape-gauss``:
p = N(0, I_2), L = 2, λ ∈ {1, 0.5}. Test: one-sided negative-binomial lower bound on the acceptance, the number of
accepted samples designed to detect an acceptance 10 % above the ceiling. (Split out of
``theorems.linear_tilt_sufficiency``; claim ids unchanged.)
"""
from __future__ import annotations

import dataclasses
import math
from functools import lru_cache, partial

import numpy as np
import sympy
import torch
from scipy.special import logsumexp

from estimators.exact.ridge_law import RidgeTiltedLaw
from primitives.kl_align import kl_align, plane_log_weights
from primitives.laws import Gaussian
from primitives.planes import PlaneCover
from primitives.prox import LowRankReward
from primitives.tilt_oracle import ExactTiltOracle
from tiltproof.core.tractability_checks import proposal_interval, claim_adder, variant_builder
from tiltproof.api import (CheckContext, Claim, Evidence, Mutant, min_num_accepted_for_relative_mean_test,
                           min_relative_gap_of_means_detectable, upper_bound_evidence)
from theorems.linear_tilt_sufficiency import _generator, default_kl

MODULE = "kl_nonconvexity"

lam = sympy.Symbol("lambda", positive=True)
gap_sym = sympy.Symbol("Delta", nonnegative=True)      # sup(f − conv f)
Z_sym = sympy.Symbol("Z", positive=True)
Z_conv = sympy.Symbol("Z_conv", positive=True)
ACCEPTANCE_CEILING = sympy.exp(-gap_sym / lam) * Z_sym / Z_conv


def _evaluate(expression: sympy.Expr, values: dict) -> float:
    return float(expression.subs(values).evalf())


# ================================================================ L1c: necessity of convexity
NONCONVEX_L = 2.0
NONCONVEX_GAP = 0.1       # relative excess of the acceptance over the ceiling detected w.p. ≥ 1 − β


def _w_shape(z: torch.Tensor) -> torch.Tensor:
    return NONCONVEX_L * torch.abs(torch.abs(z[:, 0]) - 1.0)


@lru_cache(maxsize=None)
def nonconvex_instance():
    base = Gaussian([0.0, 0.0], np.eye(2))
    reward = LowRankReward([[1.0, 0.0]], _w_shape, NONCONVEX_L, name="w-shape")
    envelope = PlaneCover(np.array([[0.0], [NONCONVEX_L], [-NONCONVEX_L]]), np.array([0.0, -NONCONVEX_L, -NONCONVEX_L]),
                          NONCONVEX_L, np.zeros(1))
    return base, reward, envelope


def nonconvex_exact(lam_value: float) -> dict:
    """Z = E e^{f/λ}, Z_conv = E e^{conv f/λ}, ΣW and the exact acceptance for p = N(0, 1) along s."""
    base, reward, envelope = nonconvex_instance()
    f = lambda s: NONCONVEX_L * np.abs(np.abs(s) - 1.0)
    convex = lambda s: NONCONVEX_L * np.maximum(0.0, np.abs(s) - 1.0)
    law = RidgeTiltedLaw(base, [1.0, 0.0], lambda s: f(s) / lam_value, NONCONVEX_L / lam_value,
                         breakpoints=[-1.0, 0.0, 1.0])
    ratio, ratio_error = law.expectation(lambda s: np.exp(-(f(s) - convex(s)) / lam_value))   # Z_conv/Z
    log_w = plane_log_weights(ExactTiltOracle(base), envelope, reward.A, lam_value)
    log_z = law.log_normaliser
    acceptance = math.exp(-envelope.epsilon / lam_value + log_z - logsumexp(log_w))
    return {"log_Z": log_z, "Z_conv_over_Z": ratio, "ratio_error": ratio_error, "acceptance": acceptance,
            "relative_error": law.relative_error}


def check_nonconvex(lam_value: float, context: CheckContext, sampler=None, expression=ACCEPTANCE_CEILING) -> Evidence:
    """L1c. For planes ``ℓ_i ≤ f`` and a valid ε (``max ℓ ≥ f − ε``), the acceptance is
    ``e^{−ε/λ}Z/ΣW_i`` with ``ΣW_i = E_p Σ e^{ℓ_i/λ} ≥ E_p e^{max ℓ/λ}``. For the envelope family
    (``max ℓ = conv f``) this is ``≥ Z_conv``, and ``ε ≥ Δ = sup(f − conv f)`` because no minorant
    exceeds conv f; hence ``acc ≤ e^{−Δ/λ} Z/Z_conv = 1/E_q[e^{(Δ − (f − conv f))/λ}]``: the
    acceptance decays like ``e^{−Δ/λ}`` wherever q sits where f meets its envelope. (The spec's
    ``exp(−(conv f − f)/λ)`` has the sign reversed: ``conv f − f ≤ 0``.)"""
    base, reward, envelope = nonconvex_instance()
    exact = nonconvex_exact(lam_value)
    bound = _evaluate(expression, {gap_sym: NONCONVEX_L, lam: lam_value, Z_sym: 1.0,
                                   Z_conv: exact["Z_conv_over_Z"] * (1 - exact["ratio_error"])})
    draw = sampler(base.to(context.device), reward, lam_value) if sampler else default_kl(base.to(context.device), reward, lam_value, cover=envelope)
    # Designed to detect an acceptance 10 % above the ceiling (one side of the two-sided 2α NB interval).
    accepted = min_num_accepted_for_relative_mean_test(1.0 / bound, NONCONVEX_GAP, alpha=2 * context.alpha,
                                                       beta=context.beta)
    result = draw(accepted, _generator(context))
    _, _, calls_high = proposal_interval(result.accepted, result.oracle_calls, 2 * context.alpha)
    rate_low = 1.0 / calls_high   # one side of a two-sided 2α interval: level α
    return upper_bound_evidence(
        statistic="one-sided negative-binomial lower bound on the acceptance (level α)", bound=bound,
        exact=exact["acceptance"], empirical=result.accepted / result.oracle_calls, lower_confidence=rate_low,
        n=result.oracle_calls,
        detectable_gap=bound * min_relative_gap_of_means_detectable(accepted, 1.0 / bound, alpha=2 * context.alpha,
                                                                    beta=context.beta),
        details={"Delta": NONCONVEX_L, "accepted": accepted, **exact})


# ================================================================ registration
#: claim group → (units of its detectable gap, whether the check is deterministic)
_UNITS = {
    "l1c.acceptance_decay": ("acceptance probability (absolute)", False),
}



def claims() -> list[Claim]:
    out: list[Claim] = []
    add = claim_adder(out, _UNITS, MODULE)
    for lam_value in (1.0, 0.5):
        add(f"l1c.acceptance_decay/w-shape-gauss/lam={lam_value:g}", "L1c", "non-convexity costs e^{-Δ/λ}",
            r"\ell_i\le f,\ \max_i\ell_i \ge f-\varepsilon \Rightarrow \mathrm{acc} \le e^{-\Delta/\lambda}\,Z/Z_{\mathrm{conv}},\ \Delta=\sup(f-\operatorname{conv} f)",
            ACCEPTANCE_CEILING, rf"$p=\mathcal N(0,I_2)$, $f(s)=2\,||s|-1|$, $\lambda={lam_value:g}$",
            partial(check_nonconvex, lam_value), {"lambda": lam_value, "Delta": NONCONVEX_L})
    return out


# ================================================================ wrong variants
_variant = variant_builder(lambda: claims())


def _epsilon_zero_sampler(base, reward, lam_value):
    envelope = dataclasses.replace(nonconvex_instance()[2], epsilon=0.0)
    return lambda n, generator: kl_align(base, reward, lam_value, n, generator, cover=envelope, strict=False)


def mutants() -> list[Mutant]:
    wrong_ceiling = sympy.exp(-2 * gap_sym / lam) * Z_sym / Z_conv
    return [
        Mutant("nonconvex-epsilon-zero", "L1c", "planes of conv f with ε = 0 (clipped, inexact) claim the bound",
               _variant("l1c.acceptance_decay/w-shape-gauss/lam=1", partial(check_nonconvex, 1.0, sampler=_epsilon_zero_sampler),
                        "epsilon-zero")),
        Mutant("nonconvex-doubled-gap", "L1c", "the ceiling e^{−2Δ/λ}Z/Z_conv",
               _variant("l1c.acceptance_decay/w-shape-gauss/lam=0.5", partial(check_nonconvex, 0.5, expression=wrong_ceiling),
                        "doubled-gap", wrong_ceiling)),
    ]


def proofs():
    """L1c's proof as data (``theorems/proofs/kl_nonconvexity.py``; imported lazily: it imports this module)."""
    from theorems.proofs.kl_nonconvexity import proofs as declared

    return declared()
