r"""The proof of (P), the plug-in offset's proposal-side mass up to its sampling error, as data (issue 22;
paper-fidelity §2; the claim ``plugin.sampling_error/two-point/…`` of ``theorems.plug_in_offset``, registered
under T6 because it tests a learner as T6 does). Declared through ``theorems.plug_in_offset.proofs``.

With residuals ``s_i = V(x_i) − V'`` of n training children, ``w_i = e^{κ(s_i − s_max)} ∈ [0, 1]`` and the plug-in
offset ``τ̂ = [log(1/δ) + log mean_i e^{κ s_i}]/κ``:

1. ``M(τ̂)/δ = E_p w / w̄`` (definition of τ̂: the factor ``e^{κ s_max}`` cancels);
2. ``P(|E w − w̄| > ρ) ≤ η`` for the empirical-Bernstein radius ρ at η/2 per side (Maurer & Pontil 2009, Thm 4);
3. on the complement, dividing by ``w̄ > 0``: ``|M(τ̂)/δ − 1| ≤ ρ/w̄``.

Instance: the claim's two-point step (``V ∈ {0, h}``, p(h) = π), where the training outcome is the number k of top
children, k ~ Bin(n, π): every step is evaluated at every k = 0…n exactly, from closed forms
(``theorems.plug_in_offset.closed_form``) and, for step 1's right side, from w directly. The wrong step is the
authors' zero-slack claim ``M(τ̂) ≤ δ`` (a band of half-width 0), false for about half the trainings.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import stats

from tiltproof.proofs import Proof, ProofInstance, Sides, Step, WrongStep

__all__ = ["proofs"]


def _two_point() -> ProofInstance:
    from theorems import plug_in_offset as claim

    return ProofInstance(f"two-point/kappa={claim.KAPPA:g},delta={claim.DELTA:g},n={claim.TRAINING}",
                         {"pi": claim.PI, "h": claim.HEIGHT, "lambda": claim.LAM, "kappa": claim.KAPPA,
                          "delta": claim.DELTA, "eta": claim.ETA, "n": claim.TRAINING})


def _quantities() -> dict:
    """Per k = 0…n: M(τ̂)/δ (closed form), E w/w̄ (from w), ρ/w̄, the event |E w − w̄| ≤ ρ and Bin(n, π) weights."""
    from theorems import plug_in_offset as claim

    n = claim.TRAINING
    k = np.arange(n + 1, dtype=float)
    ratio, half_width = claim.closed_form(k, claim.KAPPA)
    s0, s1 = claim._residual_points()
    w0 = math.exp(claim.KAPPA * (s0 - s1))          # w at the lower atom; w = 1 at the top atom
    population = (1.0 - claim.PI) * w0 + claim.PI
    sample_mean = ((n - k) * w0 + k) / n
    radius = half_width * sample_mean
    inside = np.abs(population - sample_mean) <= radius
    weights = stats.binom.pmf(k.astype(int), n, claim.PI)
    return {"ratio": ratio, "w_ratio": population / sample_mean, "half_width": half_width, "inside": inside,
            "weights": weights, "eta": claim.ETA}


def _mass_ratio(instance: ProofInstance) -> Sides:
    q = _quantities()
    return Sides(q["ratio"], q["w_ratio"], 1e-9)


def _bernstein(instance: ProofInstance) -> Sides:
    q = _quantities()
    return Sides(float(np.sum(q["weights"] * ~q["inside"])), q["eta"], 1e-12)


def _band(instance: ProofInstance) -> Sides:
    q = _quantities()
    return Sides(np.where(q["inside"], np.abs(q["ratio"] - 1.0), 0.0), np.where(q["inside"], q["half_width"], 0.0), 1e-9)


def _zero_slack(instance: ProofInstance) -> Sides:
    q = _quantities()
    return Sides(np.where(q["inside"], q["ratio"] - 1.0, 0.0), np.zeros_like(q["ratio"]), 1e-9)


STEPS = (
    Step("mass-ratio", r"\frac{M(\hat\tau)}{\delta}=\frac{E_p e^{\kappa s}e^{-\kappa\hat\tau}}{\delta}=\frac{E_p w}{\bar w},\quad w=e^{\kappa(s-s_{\max})}",
         "=", "definition", numeric=_mass_ratio),
    Step("bernstein-event", r"P\big(|E_p w-\bar w|>\rho\big)\le\eta",
         "≤", "Bernstein", numeric=_bernstein,
         text=r"Empirical Bernstein (Maurer and Pontil 2009, Thm 4) at $\eta/2$ on each side, for $w_i\in[0,1]$."),
    Step("band", r"|E_p w-\bar w|\le\rho\ \Rightarrow\ \Big|\frac{M(\hat\tau)}{\delta}-1\Big|\le\frac{\rho}{\bar w}",
         "≤", "algebra", numeric=_band),
)


def proofs() -> list[Proof]:
    wrong = WrongStep("zero-slack", "band",
                      Step("band", r"M(\hat\tau)\le\delta", "≤", "algebra", numeric=_zero_slack),
                      "the authors' zero-slack claim M(τ̂) ≤ δ: no sampling-error band")
    return [Proof("plugin.sampling_error", "T6", "The plug-in offset meets δ up to its sampling error",
                  r"P\Big(M(\hat\tau)\in\delta\big[1-\tfrac{\rho}{\bar w},\,1+\tfrac{\rho}{\bar w}\big]\Big)\ge1-\eta",
                  STEPS, lambda: [_two_point()], wrong_steps=(wrong,),
                  hypotheses=(r"$n$ training children $x_i\sim p(\cdot|y)$, residuals bounded by $s_{\max}$",),
                  source="paper-fidelity §2")]
