"""L1c's proof as data (issue 22): planes pay ``e^{−Δ/λ}`` for a non-convex reward (``theorems.kl_nonconvexity``).

Setting: p's projection ``s = ⟨a, x⟩ ~ N(m, σ²)``, ``f(s) = L·||s| − 1|``, its envelope planes ``0, ±Ls − L``
(``max ℓ = conv f = L·max(0, |s| − 1)``), tolerance ε = L (the cover's validity), temperature λ. With
``W_i = E_p e^{ℓ_i/λ}``, ``Z = E_p e^{f/λ}``, ``Z_conv = E_p e^{conv f/λ}``, ``Δ = sup(f − conv f) = L``:

1. ``acceptance_identity`` — ``acc = E_p min(S, e^{(f−ε)/λ})/ΣW_i = e^{−ε/λ}Z/ΣW_i`` (the cover is valid everywhere);
2. ``cover_valid`` — ``ε ≥ sup(f − max ℓ)`` (hypothesis, on a grid);
3. ``envelope_gap`` — ``sup(f − max ℓ) ≥ Δ`` (no convex minorant exceeds conv f);
4. ``weights_floor`` — ``ΣW_i ≥ E_p e^{max ℓ/λ} = Z_conv``;
5. ``ceiling`` — ``acc ≤ 1/E_q[e^{(Δ − (f − conv f))/λ}]`` (from 1–4);
6. ``ceiling_closed`` — ``1/E_q[e^{(Δ − (f − conv f))/λ}] = e^{−Δ/λ}Z/Z_conv`` (definition of q);
7. ``decay`` — ``e^{−Δ/λ}Z/Z_conv ≤ e^{−Δ/λ}/q(f = conv f)``: the acceptance decays like ``e^{−Δ/λ}`` wherever q
   sits where f meets its envelope.

Exact sides: on the registered ``w-shape-gauss/lam=1`` and ``lam=0.5`` (m = 0, σ = 1, L = 2) the module's own
``nonconvex_exact`` (ridge quadrature) and ``plane_log_weights`` (exact tilts) where they apply, and otherwise
adaptive quadrature (scipy ``quad`` on the pieces between the kinks ±1, 0) with the Gaussian MGF for the W_i;
the search draws (m, σ, L, λ).

Wrong steps: the spec's sign (``exp(−(conv f − f)/λ)``, corrected in 0b42454's ``check_nonconvex`` docstring) put
into ``ceiling`` — killed on both registered instances; and ``e^{−2Δ/λ}`` in ``ceiling_closed``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import integrate
from scipy.special import logsumexp

from tiltproof.proofs.model import Proof, ProofInstance, Sides, Step, WrongStep

__all__ = ["proofs", "WShape", "w_shape_quantities"]

_RELATIVE_QUADRATURE = 1e-9


@dataclass(frozen=True)
class WShape:
    mean: float
    sd: float
    height: float     # L
    lam: float


def _integral(log_function, inst: WShape) -> tuple[float, float]:
    """∫ φ_{m,σ}(s)·e^{log_function(s)} ds over ℝ by quad on the pieces between the kinks −1, 0, 1 (value, error);
    the integrand is formed in log space (no overflow in the tails)."""
    log_density = lambda s: -0.5 * ((s - inst.mean) / inst.sd) ** 2 - math.log(inst.sd * math.sqrt(2 * math.pi))
    total, error = 0.0, 0.0
    for low, high in ((-math.inf, -1.0), (-1.0, 0.0), (0.0, 1.0), (1.0, math.inf)):
        value, err = integrate.quad(lambda s: math.exp(log_density(s) + log_function(s)), low, high, epsabs=0,
                                    epsrel=1e-12, limit=200)
        total, error = total + value, error + err
    return total, error + _RELATIVE_QUADRATURE * abs(total)


@lru_cache(maxsize=256)
def w_shape_quantities(inst: WShape) -> dict:
    """Z, Z_conv, ΣW_i, the accepted mass J, E_q e^{(Δ−(f−conv f))/λ} (and the spec-sign version), q(f = conv f)."""
    L, lam = inst.height, inst.lam
    f = lambda s: L * abs(abs(s) - 1.0)
    conv = lambda s: L * max(0.0, abs(s) - 1.0)
    Z, z_err = _integral(lambda s: f(s) / lam, inst)
    Z_conv, c_err = _integral(lambda s: conv(s) / lam, inst)
    # planes 0 and ±Ls − L: W = 1 + e^{−L/λ}(E e^{Ls/λ} + E e^{−Ls/λ}) by the Gaussian MGF
    mgf = lambda t: math.exp(t * inst.mean + 0.5 * (t * inst.sd) ** 2)
    total_w = 1.0 + math.exp(-L / lam) * (mgf(L / lam) + mgf(-L / lam))
    epsilon = L
    log_planes = lambda s: float(logsumexp([0.0, (L * s - L) / lam, (-L * s - L) / lam]))
    J, j_err = _integral(lambda s: min(log_planes(s), (f(s) - epsilon) / lam), inst)
    gap = L
    ceiling_mean, m_err = _integral(lambda s: f(s) / lam + (gap - (f(s) - conv(s))) / lam, inst)
    flipped_mean, x_err = _integral(lambda s: f(s) / lam + (gap - (conv(s) - f(s))) / lam, inst)
    touching, t_err = _integral(lambda s: f(s) / lam if abs(s) >= 1.0 else -math.inf, inst)
    grid = np.linspace(-6, 6, 120_001)
    f_grid = L * np.abs(np.abs(grid) - 1)
    planes_grid = np.max(np.stack([np.zeros_like(grid), L * grid - L, -L * grid - L]), 0)
    conv_grid = L * np.maximum(0, np.abs(grid) - 1)
    rel = (z_err / Z + c_err / Z_conv + j_err / J + m_err / ceiling_mean + t_err / touching)
    return {"Z": Z, "Z_conv": Z_conv, "total_w": total_w, "J": J, "epsilon": epsilon, "Delta": gap,
            "E_q_ceiling": ceiling_mean / Z, "E_q_flipped": flipped_mean / Z, "q_touch": touching / Z,
            "sup_f_minus_planes": float((f_grid - planes_grid).max()),
            "sup_f_minus_conv": float((f_grid - conv_grid).max()), "relative_error": rel}


def _registered(lam_value: float) -> dict:
    """The registered instance's sides from the module's own exact functions where they apply."""
    from primitives.kl_align import plane_log_weights
    from primitives.tilt_oracle import ExactTiltOracle
    from theorems.kl_nonconvexity import NONCONVEX_L, nonconvex_exact, nonconvex_instance

    base, reward, envelope = nonconvex_instance()
    exact = nonconvex_exact(lam_value)
    values = dict(w_shape_quantities(WShape(0.0, 1.0, NONCONVEX_L, lam_value)))
    values["acceptance"] = exact["acceptance"]
    values["total_w"] = math.exp(logsumexp(plane_log_weights(ExactTiltOracle(base), envelope, reward.A, lam_value)))
    values["Z_conv_over_Z"] = exact["Z_conv_over_Z"]
    values["relative_error"] += exact["relative_error"] + exact["ratio_error"]
    return values


def _values(instance: ProofInstance) -> tuple[dict, float]:
    kind, payload = instance.payload
    values = _registered(payload.lam) if kind == "registered" else w_shape_quantities(payload)
    return values, payload.lam


def _acc(values: dict, lam: float) -> float:
    return values.get("acceptance", values["J"] / values["total_w"])


def _acceptance_identity(instance):
    v, lam = _values(instance)
    rhs = math.exp(-v["epsilon"] / lam) * v["Z"] / v["total_w"]
    return Sides(v["J"] / v["total_w"], rhs, v["relative_error"] * rhs)


def _cover_valid(instance):
    v, _ = _values(instance)
    return Sides(v["epsilon"], v["sup_f_minus_planes"], 1e-9)


def _envelope_gap(instance):
    v, _ = _values(instance)
    return Sides(v["sup_f_minus_planes"], v["Delta"], 1e-9)


def _weights_floor(instance):
    v, _ = _values(instance)
    return Sides(v["total_w"], v["Z_conv"], v["relative_error"] * v["Z_conv"])


def _ceiling(instance, flipped: bool = False):
    v, lam = _values(instance)
    rhs = 1.0 / (v["E_q_flipped"] if flipped else v["E_q_ceiling"])
    return Sides(_acc(v, lam), rhs, v["relative_error"] * rhs)


def _ceiling_closed(instance, gap_factor: float = 1.0):
    v, lam = _values(instance)
    ratio = v.get("Z_conv_over_Z", v["Z_conv"] / v["Z"])
    rhs = math.exp(-gap_factor * v["Delta"] / lam) / ratio
    return Sides(1.0 / v["E_q_ceiling"], rhs, v["relative_error"] * rhs)


def _decay(instance):
    v, lam = _values(instance)
    ratio = v.get("Z_conv_over_Z", v["Z_conv"] / v["Z"])
    return Sides(math.exp(-v["Delta"] / lam) / ratio, math.exp(-v["Delta"] / lam) / v["q_touch"],
                 v["relative_error"] * math.exp(-v["Delta"] / lam) / v["q_touch"])


def _steps(ceiling=_ceiling, ceiling_closed=_ceiling_closed) -> tuple[Step, ...]:
    return (
        Step("acceptance_identity", r"\mathrm{acc} = \frac{\mathbb E_p\min(S, e^{(f-\varepsilon)/\lambda})}{\sum_iW_i} = \frac{e^{-\varepsilon/\lambda}Z}{\sum_i W_i}",
             "=", "definition", numeric=_acceptance_identity,
             text="A valid cover makes $S\\ge e^{(f-\\varepsilon)/\\lambda}$ everywhere, so the minimum is its second term."),
        Step("cover_valid", r"\varepsilon \ge \sup(f-\max_i\ell_i)", "≥", "hypothesis", numeric=_cover_valid),
        Step("envelope_gap", r"\sup(f-\max_i\ell_i) \ge \Delta = \sup(f-\operatorname{conv} f)", "≥", "convexity",
             numeric=_envelope_gap, text="A maximum of planes below $f$ is a convex minorant, hence below $\\operatorname{conv} f$."),
        Step("weights_floor", r"\sum_i W_i = \mathbb E_p\sum_i e^{\ell_i/\lambda} \ge \mathbb E_p e^{\max_i\ell_i/\lambda} = Z_{\mathrm{conv}}",
             "≥", "monotonicity", numeric=_weights_floor),
        Step("ceiling", r"\mathrm{acc} \le \frac{1}{\mathbb E_q e^{(\Delta-(f-\operatorname{conv} f))/\lambda}}", "≤",
             "monotonicity", numeric=ceiling, text="Steps 1–4: $e^{-\\varepsilon/\\lambda}\\le e^{-\\Delta/\\lambda}$ and $\\sum_iW_i\\ge Z_{\\mathrm{conv}}$."),
        Step("ceiling_closed", r"\frac{1}{\mathbb E_q e^{(\Delta-(f-\operatorname{conv} f))/\lambda}} = e^{-\Delta/\lambda}\frac{Z}{Z_{\mathrm{conv}}}",
             "=", "definition", numeric=ceiling_closed),
        Step("decay", r"e^{-\Delta/\lambda}\frac{Z}{Z_{\mathrm{conv}}} \le \frac{e^{-\Delta/\lambda}}{q(f=\operatorname{conv} f)}", "≤",
             "monotonicity", numeric=_decay,
             text="$Z_{\\mathrm{conv}}/Z=\\mathbb E_q e^{-(f-\\operatorname{conv} f)/\\lambda}\\ge q(f=\\operatorname{conv} f)$."),
    )


def _instances() -> list[ProofInstance]:
    from theorems.kl_nonconvexity import NONCONVEX_L

    return [ProofInstance(f"w-shape-gauss/lam={lam:g}", {"lambda": lam, "Delta": NONCONVEX_L},
                          ("registered", WShape(0.0, 1.0, NONCONVEX_L, lam))) for lam in (1.0, 0.5)]


def _strategy():
    from hypothesis import strategies as st

    def build(mean, sd, height, lam):
        inst = WShape(mean, sd, height, lam)
        return ProofInstance(f"w-shape/m={mean:.3g},sd={sd:.3g},L={height:.3g},lam={lam:.3g}",
                             {"lambda": lam, "Delta": height}, ("drawn", inst))
    return st.builds(build, st.floats(-1.0, 1.0), st.floats(0.5, 1.5), st.floats(0.3, 3.0), st.floats(0.4, 2.0))


def proofs() -> list[Proof]:
    steps = _steps()
    flipped = _steps(ceiling=lambda inst: _ceiling(inst, flipped=True))[4]
    doubled = _steps(ceiling_closed=lambda inst: _ceiling_closed(inst, gap_factor=2.0))[5]
    history = ("tractability.md L1c: 'the acceptance falls like exp(−(conv f − f)/λ)'; the sign corrected in "
               "0b42454 (check_nonconvex docstring, now theorems/kl_nonconvexity.py)")
    return [Proof(
        id="l1c.acceptance_decay", theorem="L1c", title="non-convexity costs e^{−Δ/λ}",
        statement=r"\ell_i\le f,\ \max_i\ell_i \ge f-\varepsilon \Rightarrow \mathrm{acc} \le e^{-\Delta/\lambda}\,Z/Z_{\mathrm{conv}},\ \Delta=\sup(f-\operatorname{conv} f)",
        steps=steps, instances=_instances, strategy=_strategy,
        hypotheses=(r"planes $\ell_i\le f$ valid to $\varepsilon$ everywhere", r"$f(s)=L\,||s|-1|$, $s\sim\mathcal N(m,\sigma^2)$"),
        source="theorems/kl_nonconvexity.py (check_nonconvex docstring)",
        wrong_steps=(
            WrongStep("spec-sign", "ceiling", flipped, "the spec's exponent −(conv f − f)/λ for −(f − conv f)/λ",
                      instance="w-shape-gauss/lam=1", history=history),
            WrongStep("doubled-gap", "ceiling_closed", doubled, "e^{−2Δ/λ} for e^{−Δ/λ}", instance="w-shape-gauss/lam=0.5"),
        ))]
