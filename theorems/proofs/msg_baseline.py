"""The proof of the corrected MSG theorem (``theorems.msg_baseline``) as data (issue 22).

Notation: step t of the authors' DDPM chain, parent y, ``X ~ p_t(·|y) = N(μ, β_t)`` on the ridge coordinate
(``μ = μ_{t|t+1}(y)``), ``u = φ_t`` (corrected: with the ``L_r √tr Σ`` term), ``L = L_φ(t)``,
``r_δ = L√(2β_t log 1/δ)``, ``b(y) = u(μ) + r_δ``, ``M = sup V_t``.

1. *h1* (hypothesis, checked): ``V_t ≤ u`` on the ridge grid, every t.
2. *h2* (hypothesis, checked): ``sup |u'| ≤ L`` (finite differences on the grid), every t.
3. *v-below-u* (monotonicity): ``P(V_t(X) > b) ≤ P(u(X) > b)`` by (H1).
4. *lipschitz-centre* (Gaussian concentration): by (H2) ``u(X) − u(μ) ≤ L|X − μ|``, so
   ``P(u(X) > b) ≤ P(|X − μ| > √(2β log 1/δ)) = 2Φ̄(√(2 log 1/δ))``.
5. *mills* (calculus): ``2Φ̄(v) ≤ e^{−v²/2}``, i.e. ``2Φ̄(√(2 log 1/δ)) ≤ δ`` (on a grid of δ ∈ (0, 1)).
6. *soft-value* (definition): ``Z_y = E_{p_t(·|y)} e^{V_t/λ} = e^{V_{t+1}(y)/λ}``.
7. *tv-le-clip* (T2, ``t2.tv_bound``): ``TV(q̂_t(·|y), q_t(·|y)) ≤ D_y/Z_y``.
8. *clip-le-tail* (monotonicity): ``D_y/Z_y ≤ P(V_t > b|y)(e^{(M − V_{t+1}(y))/λ} − e^{(b − V_{t+1}(y))/λ})_+``.
9. *path* (T7, ``t7.path_tv``): ``TV(q̂_0, q_0) ≤ TV(p_T, q_T) + Σ_t E_{y~q̂_{t+1}} min(1, bound_t(y))``.

Every side is computed by quadrature on the ridge grid of ``DdpmExact`` (the per-parent laws q̂_t(·|y),
q_t(·|y) directly from the kernel weights and V_t, not through the module's check), on the two registered
instances ``gmm-ddpm-sigmoid-B{3,5}`` (cached per instance: ~25 s each). Per-parent steps use the parents
whose kernel stays inside the grid (as the claim). Wrong steps: the authors' uncorrected φ (no ``L_r√tr Σ``
term) in (H1), which fails at t = 7…10 for B = 3 (the module says 7…9; t = 10 by 0.015); and the radius halved in step 4.

Search (``Draw``): one step of the hypotheses on a grid — a Lipschitz ``u = c s + a sin(ωs + φ)`` with
``L = |c| + |aω|``, ``V = u − e(1 + sin νs)/2 ≤ u``, three Gaussian parents ``N(μ_i, β)``, λ, δ — on which steps
1–5, 7 and 8 are computed by quadrature on the same grid (*soft-value* and *path* need the chain: not applicable).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from scipy.special import ndtr

from tiltproof.proofs import Proof, ProofInstance, Sides, Step, WrongStep

__all__ = ["proofs", "tables"]

HEIGHTS = (3.0, 5.0)


def _instance_name(height: float) -> str:
    return f"gmm-ddpm-sigmoid-B{height:g}"


def _inside(exact, t: int, s: np.ndarray) -> np.ndarray:
    return np.abs(exact.ridge.mean(t, s)) < exact.coarse[-1] - 8.0 * math.sqrt(exact.ridge.beta(t))


def _states(points: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(np.stack([points, np.zeros_like(points)], 1))


@lru_cache(maxsize=8)
def tables(height: float, mean_correction: bool = True, radius_scale: float = 1.0) -> dict:
    """Every quantity the steps compare, per step t (lists indexed by t), for one instance and baseline."""
    from theorems.msg_baseline import DELTA, LAM, _kernel_weights, _sampler_law, msg_baseline
    from tiltproof.instances.chain import ddpm_exact

    exact = ddpm_exact(height, LAM, "sigmoid")
    baseline = msg_baseline(height, mean_correction=mean_correction, radius_scale=radius_scale)
    s = exact.coarse
    out = {"values": [], "u": [], "slope": [], "lip": [], "clip_v": [], "clip_u": [],
           "tv": [], "dz": [], "tail_bound": [], "z_quad": [], "z_value": []}
    for t in range(exact.ridge.steps):
        values, u = exact.values_at(s, t), baseline.phi(_states(s), t).numpy()
        lip = baseline.lipschitz_constant(t)
        out["values"].append(values)
        out["u"].append(u)
        out["slope"].append(float((np.abs(np.diff(u)) / np.diff(s)).max()))
        out["lip"].append(lip)
        parents = s[_inside(exact, t, s)]
        w = _kernel_weights(exact, t, parents)
        b = baseline(_states(parents), t).numpy()
        out["clip_v"].append((w * (values[None] > b[:, None])).sum(1))
        out["clip_u"].append((w * (u[None] > b[:, None])).sum(1))
        if radius_scale != 1.0 or t >= len(_sampler_law(height, mean_correction, radius_scale).parents):
            continue
        law_parents, _ = _sampler_law(height, mean_correction, radius_scale).parents[t]
        law_parents = law_parents[_inside(exact, t, law_parents)]
        w = _kernel_weights(exact, t, law_parents)
        b = baseline(_states(law_parents), t).numpy()
        tilt = w * np.exp(values / LAM)[None]
        accepted = w * np.minimum(1.0, np.exp((values[None] - b[:, None]) / LAM))
        q, q_hat = tilt / tilt.sum(1, keepdims=True), accepted / accepted.sum(1, keepdims=True)
        z_value = np.exp(exact.values_at(law_parents, t + 1) / LAM)
        clip = (w * np.clip(np.exp(values / LAM)[None] - np.exp(b / LAM)[:, None], 0.0, None)).sum(1)
        tail = (w * (values[None] > b[:, None])).sum(1)
        v_next, top = exact.values_at(law_parents, t + 1), float(values.max())
        out["tv"].append(0.5 * np.abs(q - q_hat).sum(1))
        out["dz"].append(clip / tilt.sum(1))
        out["tail_bound"].append(tail * np.clip(np.exp((top - v_next) / LAM) - np.exp((b - v_next) / LAM), 0.0, None))
        out["z_quad"].append(tilt.sum(1))
        out["z_value"].append(z_value)
    out["interp"] = exact.interpolation_error()
    out["delta"], out["lam"] = DELTA, LAM
    if radius_scale == 1.0:
        law = _sampler_law(height, mean_correction, radius_scale)
        terms = [float(mass @ np.minimum(1.0, bound)) for (_, mass), bound in
                 zip(law.parents, _path_bounds(exact, baseline, law))]
        out["tv_x0"], out["path_bound"] = law.tv_x0, float(sum(terms) + law.step_terms[-1])
        out["quadrature_error"] = law.quadrature_error
    return out


def _path_bounds(exact, baseline, law) -> list[np.ndarray]:
    """Per step, the per-parent bound of step 8 on *all* the sampler's parents (as T7 sums them)."""
    from theorems.msg_baseline import _kernel_weights

    out = []
    s = exact.coarse
    for t, (parents, _) in enumerate(law.parents):
        values = exact.values_at(s, t)
        w = _kernel_weights(exact, t, parents)
        b = baseline(_states(parents), t).numpy()
        v_next = exact.values_at(parents, t + 1)
        tail = (w * (values[None] > b[:, None])).sum(1)
        out.append(tail * np.clip(np.exp((values.max() - v_next) / exact.lam) - np.exp((b - v_next) / exact.lam),
                                  0.0, None))
    return out


@dataclass(frozen=True, eq=False)
class Draw:
    """A drawn instance of MSG's hypotheses on one step (the search): on the grid ``s``, ``u(s) = c s + a sin(ωs + φ)``
    with ``L = |c| + |aω| ≥ sup|u'|`` (H2), ``V = u − e(1 + sin νs)/2 ≤ u`` (H1), parents ``N(μ_i, β)``, λ, δ."""

    slope: float
    amplitude: float
    omega: float
    phase: float
    gap: float
    nu: float
    centres: tuple[float, ...]
    beta: float
    lam: float
    delta: float


GRID = np.linspace(-12.0, 12.0, 4801)


@lru_cache(maxsize=1024)
def _draw_table(draw: Draw) -> dict:
    """The keys of ``tables`` for one drawn step (no path law: the *path* step does not apply to a draw)."""
    s = GRID
    u = draw.slope * s + draw.amplitude * np.sin(draw.omega * s + draw.phase)
    values = u - draw.gap * (1 + np.sin(draw.nu * s)) / 2
    lip = abs(draw.slope) + abs(draw.amplitude * draw.omega)
    mu = np.array(draw.centres)
    w = np.exp(-0.5 * (s[None] - mu[:, None]) ** 2 / draw.beta)
    w /= w.sum(1, keepdims=True)
    u_mu = draw.slope * mu + draw.amplitude * np.sin(draw.omega * mu + draw.phase)
    b = u_mu + lip * math.sqrt(2 * draw.beta * math.log(1 / draw.delta))
    lam = draw.lam
    tilt = w * np.exp(values / lam)[None]
    accepted = w * np.minimum(1.0, np.exp((values[None] - b[:, None]) / lam))
    q, q_hat = tilt / tilt.sum(1, keepdims=True), accepted / accepted.sum(1, keepdims=True)
    v_next, top = lam * np.log(tilt.sum(1)), float(values.max())
    tail = (w * (values[None] > b[:, None])).sum(1)
    clip = (w * np.clip(np.exp(values / lam)[None] - np.exp(b / lam)[:, None], 0.0, None)).sum(1)
    return {"values": [values], "u": [u], "slope": [float((np.abs(np.diff(u)) / np.diff(s)).max())], "lip": [lip],
            "clip_v": [tail], "clip_u": [(w * (u[None] > b[:, None])).sum(1)], "tv": [0.5 * np.abs(q - q_hat).sum(1)],
            "dz": [clip / tilt.sum(1)], "interp": 0.0, "delta": draw.delta, "lam": lam,
            "tail_bound": [tail * np.clip(np.exp((top - v_next) / lam) - np.exp((b - v_next) / lam), 0.0, None)]}


def _strategy():
    """MSG's hypotheses on one step: a Lipschitz u with its constant, V ≤ u, Gaussian kernels, λ, δ."""
    from hypothesis import strategies as st

    def build(*args) -> ProofInstance:
        draw = Draw(*args)
        return ProofInstance(f"u=c·s+a·sin(ωs+φ) (c,a,ω)=({draw.slope:.3g},{draw.amplitude:.3g},{draw.omega:.3g}), "
                             f"V=u−{draw.gap:.3g}(1+sin {draw.nu:.3g}s)/2, μ={[round(c, 3) for c in draw.centres]}, "
                             f"β={draw.beta:.3g}, λ={draw.lam:.3g}, δ={draw.delta:.3g}",
                             {"lambda": draw.lam, "delta": draw.delta}, draw)

    centre = st.floats(-4.0, 4.0)
    return st.builds(build, st.floats(-1.0, 1.0), st.floats(0.0, 2.0), st.floats(0.1, 3.0), st.floats(0.0, 6.3),
                     st.floats(0.0, 2.0), st.floats(0.1, 3.0), st.tuples(centre, centre, centre), st.floats(0.01, 1.0),
                     st.floats(0.3, 3.0), st.floats(1e-3, 0.5))


def _table(instance: ProofInstance, **kw) -> dict:
    if isinstance(instance.payload, Draw):
        return _draw_table(instance.payload)
    return tables(instance.parameters["B"], **kw)


def _cat(arrays) -> np.ndarray:
    return np.concatenate([np.atleast_1d(a) for a in arrays]) if len(arrays) else np.zeros(0)


def _h1(instance: ProofInstance, mean_correction: bool = True) -> Sides:
    if mean_correction:
        T = _table(instance)
        return Sides(_cat(T["values"]), _cat(T["u"]), T["interp"])
    T, U = _table(instance), _authors_phi(instance.parameters["B"])
    return Sides(_cat(T["values"]), _cat(U), T["interp"])


@lru_cache(maxsize=4)
def _authors_phi(height: float) -> tuple:
    """The authors' φ_t (no L_r√tr Σ term) on the grid, every t (cheap: no sampler law)."""
    from theorems.msg_baseline import msg_baseline
    from tiltproof.instances.chain import ddpm_exact

    exact = ddpm_exact(height, 1.0, "sigmoid")
    baseline = msg_baseline(height, mean_correction=False)
    return tuple(baseline.phi(_states(exact.coarse), t).numpy() for t in range(exact.ridge.steps))


def _h2(instance: ProofInstance) -> Sides:
    T = _table(instance)
    return Sides(np.array(T["slope"]), np.array(T["lip"]), 1e-9)


def _v_below_u(instance: ProofInstance) -> Sides:
    T = _table(instance)
    return Sides(_cat(T["clip_v"]), _cat(T["clip_u"]), 1e-12)


def _level(delta: float) -> float:
    return float(2.0 * ndtr(-math.sqrt(2.0 * math.log(1.0 / delta))))


def _lipschitz_centre(instance: ProofInstance, radius_scale: float = 1.0) -> Sides:
    T = _table(instance, radius_scale=radius_scale) if radius_scale != 1.0 else _table(instance)
    lhs = _cat(T["clip_u"])
    return Sides(lhs, np.full(lhs.shape, _level(T["delta"])), 1e-12)   # as the claim: no tolerance (margin ×10)


def _mills(instance: ProofInstance) -> Sides:
    deltas = np.geomspace(1e-12, 0.999, 200)
    return Sides(np.array([_level(d) for d in deltas]), deltas, 0.0)


def _soft_value(instance: ProofInstance) -> Sides | None:
    if isinstance(instance.payload, Draw):     # a draw's V_{t+1} is its own quadrature: no second route
        return None
    T = _table(instance)
    rhs = _cat(T["z_value"])
    return Sides(_cat(T["z_quad"]), rhs, float(np.abs(rhs).max()) * (T["interp"] + 1e-6))


def _tv_le_clip(instance: ProofInstance) -> Sides:
    T = _table(instance)
    return Sides(_cat(T["tv"]), _cat(T["dz"]), 1e-12)


def _clip_le_tail(instance: ProofInstance) -> Sides:
    T = _table(instance)
    return Sides(_cat(T["dz"]), _cat(T["tail_bound"]), 1e-12)


def _path(instance: ProofInstance) -> Sides | None:
    if isinstance(instance.payload, Draw):     # one drawn step has no chain
        return None
    T = _table(instance)
    return Sides(T["tv_x0"], T["path_bound"], 2.0 * T["quadrature_error"] + 1e-9)


H1 = Step("h1", r"V_t(x) \le u(x) = \varphi_t(x)\quad\text{for all } x,\ t", "≤", "hypothesis", numeric=_h1,
          text=r"(H1), with $\varphi_t$ carrying the $L_r\sqrt{\mathrm{tr}\,\Sigma_{0|t}}$ term; checked on the ridge grid.")
LIPSCHITZ_CENTRE = Step(
    "lipschitz-centre", r"P\big(u(X) > u(\mu)+r_\delta\big) \le P\big(|X-\mu| > \sqrt{2\beta_t\log(1/\delta)}\big) = 2\bar\Phi\big(\sqrt{2\log(1/\delta)}\big)",
    "≤", "Gaussian concentration", numeric=_lipschitz_centre,
    text=r"By (H2) $u(X)-u(\mu)\le L|X-\mu|$; the tail is centred at $u(\mu)$ by the Lipschitz bound itself.")

STEPS = (
    H1,
    Step("h2", r"\sup_x |u'(x)| \le L_\varphi(t)", "≤", "hypothesis", numeric=_h2,
         text=r"(H2): $u$ depends on the ridge coordinate only and is $L_\varphi$-Lipschitz along it."),
    Step("v-below-u", r"P_{p_t(\cdot|y)}(V_t > b) \le P_{p_t(\cdot|y)}(u > b)", "≤", "monotonicity", numeric=_v_below_u,
         text=r"$\{V_t > b\}\subseteq\{u > b\}$ by (H1)."),
    LIPSCHITZ_CENTRE,
    Step("mills", r"2\bar\Phi\big(\sqrt{2\log(1/\delta)}\big) \le \delta", "≤", "Chernoff", numeric=_mills,
         text=r"$2\bar\Phi(v)\le e^{-v^2/2}$ for $v\ge 0$, evaluated on 200 levels $\delta\in[10^{-12}, 0.999]$."),
    Step("soft-value", r"Z_y = E_{p_t(\cdot|y)}\,e^{V_t/\lambda} = e^{V_{t+1}(y)/\lambda}", "=", "definition",
         numeric=_soft_value),
    Step("tv-le-clip", r"\mathrm{TV}\big(\hat q_t(\cdot|y), q_t(\cdot|y)\big) \le D_y/Z_y", "≤", "lemma",
         cites="t2.tv_bound", numeric=_tv_le_clip,
         text=r"Single-step rejection from $p_t(\cdot|y)$ with reward $V_t$ and baseline $b(y)$ (T2)."),
    Step("clip-le-tail", r"\frac{D_y}{Z_y} \le P(V_t>b\,|\,y)\,\big(e^{(M-V_{t+1}(y))/\lambda}-e^{(b-V_{t+1}(y))/\lambda}\big)_+",
         "≤", "monotonicity", numeric=_clip_le_tail,
         text=r"$(e^{V_t/\lambda}-e^{b/\lambda})_+ \le 1\{V_t>b\}(e^{M/\lambda}-e^{b/\lambda})$, $M=\sup V_t$."),
    Step("path", r"\mathrm{TV}(\hat q_0,q_0) \le \mathrm{TV}(p_T,q_T) + \sum_t E_{y\sim\hat q_{t+1}}\min\big(1, \text{bound}_t(y)\big)",
         "≤", "lemma", cites="t7.path_tv", numeric=_path,
         text="T7 sums the per-parent bounds over the sampler's own parents; MSG does not tilt $x_T$."),
)


def _instances() -> list[ProofInstance]:
    return [ProofInstance(_instance_name(height), {"B": height, "lambda": 1.0, "delta": 0.01}) for height in HEIGHTS]


def _wrong_steps() -> tuple[WrongStep, ...]:
    authors = Step("h1", r"V_t(x) \le \varphi_t^{\mathrm{authors}}(x)\quad(E\,r(X)\le r(\mu))", "≤", "hypothesis",
                   numeric=lambda instance: _h1(instance, mean_correction=False))
    half = Step("lipschitz-centre", LIPSCHITZ_CENTRE.latex.replace("r_\\delta", "r_\\delta/2"), "≤",
                "Gaussian concentration", numeric=lambda instance: _lipschitz_centre(instance, radius_scale=0.5))
    return (
        WrongStep("authors-value-bound", "h1", authors,
                  "the authors' step (i): φ_t ≥ V_t from E r(X) ≤ r(μ), without the L_r√tr Σ term (fails at t = 7…10)",
                  instance=_instance_name(3.0), history="theorems/msg_baseline.py docstring; paper-fidelity §3"),
        WrongStep("half-radius", "lipschitz-centre", half, "the radius L_φ√(2β log 1/δ) halved",
                  instance=_instance_name(3.0)),
    )


def proofs() -> list[Proof]:
    from theorems.msg_baseline import STATEMENT

    return [Proof(
        id="msg.proposal_clip", theorem="MSG", title="MSG baseline: per-parent proposal-side clip ≤ δ and its TV (corrected)",
        statement=STATEMENT,
        hypotheses=(r"$X\sim p_t(\cdot|y)=N(\mu_{t|t+1}(y),\beta_t)$ on the ridge; $r$ is $L_r$-Lipschitz (sigmoid surrogate)",
                    r"(H1) $V_t\le u$; (H2) $u$ is $L_\varphi$-Lipschitz along the ridge; $\lambda>0$, $\delta\in(0,1)$"),
        steps=STEPS, instances=_instances, strategy=_strategy, wrong_steps=_wrong_steps(),
        source="LCB authors' MSG (paper-fidelity §3), corrected", reference=_instance_name(3.0))]
