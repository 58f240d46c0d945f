"""L1d's proof as data (issue 22): partition errors ``Ẑ_i/Z_i ∈ [1 − η, 1 + η]`` cost at most
``tanh(artanh(η)/2) ≤ η`` in TV, and the sharp value is attained (proof in ``theorems.kl_partition_error``).

Steps, each checked on the registered instances (the ridge instance ``abs-linear-gauss-d3/eta=0.3`` by
quadrature, the attaining ``two-point/eta=0.3`` by enumeration) and on finite laws drawn by the search:

1. ``output_density`` — the planes route with weights ``f_iW_i`` outputs ``q̂ = qρ/E_qρ``: the proposal
   mixture times the acceptance, enumerated, against ``qρ/E_qρ``;
2. ``ratio_range`` — ``ρ`` is a convex combination of the ``f_i``, so ``max ρ / min ρ ≤ κ = (1+η)/(1−η)``;
3. ``tv_event`` — ``TV = q̂(A) − q(A)`` for ``A = {q̂ > q}`` (definition);
4. ``event_bound`` — ``q̂(A) ≤ κp/(κp + 1 − p)``, ``p = q(A)`` (ρ = κm on A, m off A is extreme);
5. ``concave_max`` — ``κp/(κp+1−p) − p ≤ (√κ−1)/(√κ+1)`` for all p ∈ [0, 1] (symbolic: with ``√κ = 1 + u`` the
   difference factors as ``u(p(u+2) − 1)²/((u+2)(1 + p u(u+2))) ≥ 0``);
6. ``kappa_exponential`` and ``half_angle`` — ``κ = e^{2 artanh η}`` and ``(e^a − 1)/(e^a + 1) = tanh(a/2)``
   (symbolic), so the constant is ``tanh(artanh(η)/2)``;
7. ``below_eta`` — ``tanh(artanh(η)/2) ≤ η`` (symbolic over η ∈ [0, 0.99]);
8. ``attained`` — on the two-point instance the enumerated TV equals ``tanh(artanh(η)/2)``.

Wrong steps: the historical constant (``κ`` taken as ``((1+η)/(1−η))²`` in ``primitives.kl_align``'s first
docstring, af8c7fd; corrected in cdd8888), which makes the attained value η — killed on ``two-point/eta=0.3``
(0.3 against the enumerated 0.1535); and a halved constant in ``concave_max``, killed symbolically.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import sympy

from tiltproof.proofs.model import Proof, ProofInstance, Sides, Step, WrongStep

__all__ = ["proofs", "FiniteL1d", "finite_l1d_quantities"]

eta = sympy.Symbol("eta", positive=True)
p_sym = sympy.Symbol("p", nonnegative=True)
u_sym = sympy.Symbol("u", nonnegative=True)      # √κ − 1
a_sym = sympy.Symbol("a", positive=True)         # artanh η
_s = 1 + u_sym
_kappa_u = _s**2


@dataclass(frozen=True)
class FiniteL1d:
    """A finite base law on points ``s`` with planes ``ℓ_i(s) = G_i s + c_i`` (f = max ℓ, ε = 0), temperature
    λ and partition factors ``f_i = Ẑ_i/Z_i`` within ``[1 − η, 1 + η]``."""

    points: tuple[float, ...]
    probs: tuple[float, ...]
    slopes: tuple[float, ...]
    intercepts: tuple[float, ...]
    lam: float
    factors: tuple[float, ...]
    eta: float


def finite_l1d_quantities(inst: FiniteL1d) -> dict:
    """Everything the steps need on a finite instance, by enumeration in log space."""
    s = np.asarray(inst.points, float)
    logits = (s[:, None] * np.asarray(inst.slopes) + np.asarray(inst.intercepts)) / inst.lam   # ℓ_i/λ
    f = logits.max(1)
    log_q = np.log(np.asarray(inst.probs)) + f
    q = np.exp(log_q - log_q.max())
    q /= q.sum()
    soft = np.exp(logits - logits.max(1, keepdims=True))
    rho = (soft * np.asarray(inst.factors)).sum(1) / soft.sum(1)
    q_hat = q * rho / float((q * rho).sum())
    # The sampler's law by its own route: proposal ∝ Σ_i f_iW_i p_{θ_i} = p·Σ_i f_i e^{ℓ_i/λ} (up to a constant),
    # acceptance e^{f/λ}/Σ_i e^{ℓ_i/λ} (ε = 0, the planes cover f exactly).
    log_prop = np.log(np.asarray(inst.probs)) + np.log((np.exp(logits - f[:, None]) * np.asarray(inst.factors)).sum(1)) + f
    log_acc = f - (np.log(np.exp(logits - f[:, None]).sum(1)) + f)
    log_out = log_prop + log_acc
    sampler = np.exp(log_out - log_out.max())
    sampler /= sampler.sum()
    event = q_hat > q
    return {"q": q, "rho": rho, "q_hat": q_hat, "sampler": sampler, "p": float(q[event].sum()),
            "q_hat_A": float(q_hat[event].sum()), "tv": 0.5 * float(np.abs(q_hat - q).sum())}


def _kappa(eta_value: float) -> float:
    return (1 + eta_value) / (1 - eta_value)


def _sharp(eta_value: float) -> float:
    return math.tanh(math.atanh(eta_value) / 2)


# ---------------------------------------------------------------- instances
@lru_cache(maxsize=None)
def _ridge_quantities() -> dict:
    from theorems.kl_partition_error import PARTITION_ETA, _factors, partition_exact_tv, partition_instance
    from theorems.linear_tilt_sufficiency import ridge_law_of

    base, reward, lam_value = partition_instance()
    factors = np.asarray(_factors(PARTITION_ETA))
    law = ridge_law_of(base, reward, lam_value)
    G, c = reward.G[:, 0], reward.c

    def rho(s):
        logits = (np.asarray(s)[..., None] * G + c) / lam_value
        weights = np.exp(logits - logits.max(-1, keepdims=True))
        return (weights * factors).sum(-1) / weights.sum(-1)

    mean_rho, mean_error = law.expectation(rho, bound=float(factors.max()))
    event = lambda s: (rho(s) > mean_rho).astype(float)
    p, p_error = law.expectation(event)
    hat_a, hat_error = law.expectation(lambda s: rho(s) * event(s) / mean_rho, bound=_kappa(PARTITION_ETA))
    tv, tv_error = partition_exact_tv(base, reward, lam_value, factors)
    grid = np.linspace(-40, 40, 200_001)
    values = rho(grid)
    return {"p": p, "q_hat_A": hat_a, "tv": tv, "error": p_error + hat_error + tv_error + mean_error,
            "rho_ratio": float(values.max() / values.min()), "eta": PARTITION_ETA}


@lru_cache(maxsize=None)
def _two_point() -> FiniteL1d:
    from theorems.kl_partition_error import PARTITION_ETA, _factors, two_point_instance

    base, reward, lam_value = two_point_instance(PARTITION_ETA)
    return FiniteL1d((0.0, 1.0), tuple(base.probs.tolist()), tuple(reward.G[:, 0].tolist()), tuple(reward.c.tolist()),
                     lam_value, _factors(PARTITION_ETA), PARTITION_ETA)


def _instances() -> list[ProofInstance]:
    two = _two_point()
    return [ProofInstance("abs-linear-gauss-d3/eta=0.3", {"eta": 0.3, "lambda": 0.4}, ("ridge", None)),
            ProofInstance("two-point/eta=0.3", {"eta": two.eta, "lambda": two.lam}, ("finite", two))]


def _quantities(instance: ProofInstance) -> tuple[dict, float, float]:
    """(quantities, η, error) for either kind of instance."""
    kind, payload = instance.payload
    if kind == "ridge":
        values = _ridge_quantities()
        return values, values["eta"], values["error"]
    return finite_l1d_quantities(payload), payload.eta, 1e-12


# ---------------------------------------------------------------- steps
def _output_density(instance):
    kind, payload = instance.payload
    if kind != "finite":
        return None
    values = finite_l1d_quantities(payload)
    return Sides(values["sampler"], values["q_hat"], 1e-12)


def _ratio_range(instance):
    values, eta_value, _ = _quantities(instance)
    ratio = values["rho_ratio"] if "rho_ratio" in values else float(values["rho"].max() / values["rho"].min())
    return Sides(ratio, _kappa(eta_value), 1e-12)


def _tv_event(instance):
    values, _, error = _quantities(instance)
    return Sides(values["tv"], values["q_hat_A"] - values["p"], error)


def _event_bound(instance):
    values, eta_value, error = _quantities(instance)
    k, p = _kappa(eta_value), values["p"]
    return Sides(values["q_hat_A"], k * p / (k * p + 1 - p), error)


def _concave_max(instance, halve: bool = False):
    values, eta_value, error = _quantities(instance)
    k, p = _kappa(eta_value), values["p"]
    constant = (math.sqrt(k) - 1) / (math.sqrt(k) + 1) / (2 if halve else 1)
    return Sides(k * p / (k * p + 1 - p) - p, constant, error)


def _attained(instance, squared: bool = False):
    kind, payload = instance.payload
    if kind != "finite" or not _is_attaining(payload):
        return None
    k = _kappa(payload.eta) ** (2 if squared else 1)
    return Sides(finite_l1d_quantities(payload)["tv"], (math.sqrt(k) - 1) / (math.sqrt(k) + 1), 1e-12)


def _is_attaining(inst: FiniteL1d) -> bool:
    """Two points, p(1) = 1/(√κ + 1), f = M|2x − 1| with M/λ ≥ 20 and factors (1 + η, 1 − η): the ρ of the
    proof is two-level up to e^{−2M/λ}, so TV is the sharp value up to that."""
    k = _kappa(inst.eta)
    return (inst.points == (0.0, 1.0) and abs(inst.probs[1] - 1 / (math.sqrt(k) + 1)) < 1e-12 and len(inst.slopes) == 2
            and inst.factors == (1 + inst.eta, 1 - inst.eta) and abs(inst.intercepts[0]) / inst.lam >= 20)


_HALF_CONSTANT = sympy.Rational(1, 2) * u_sym / (u_sym + 2)


def _steps(concave_rhs=u_sym / (u_sym + 2), attained=_attained, concave_numeric=_concave_max) -> tuple[Step, ...]:
    kappa_p = _kappa_u * p_sym
    return (
        Step("output_density", r"\hat q(x) \propto p(x)\sum_i f_iW_i\tfrac{p_{\theta_i}(x)}{p(x)W_i}\cdot\frac{e^{f/\lambda}}{\sum_i e^{\ell_i/\lambda}} = \frac{q\rho}{\mathbb E_q\rho}",
             "=", "identity", numeric=_output_density,
             text="The proposal with weights $f_iW_i$ times the acceptance is $q\\rho/\\mathbb E_q\\rho$."),
        Step("ratio_range", r"\max\rho/\min\rho \le \kappa = \tfrac{1+\eta}{1-\eta}", "≤", "convexity",
             numeric=_ratio_range, text="$\\rho$ is a convex combination of the $f_i\\in[1-\\eta,1+\\eta]$."),
        Step("tv_event", r"\mathrm{TV}(\hat q,q) = \hat q(A)-q(A),\ A=\{\hat q>q\}", "=", "definition", numeric=_tv_event),
        Step("event_bound", r"\hat q(A) \le \frac{\kappa p}{\kappa p+1-p},\ p=q(A)", "≤", "monotonicity",
             numeric=_event_bound,
             text="$\\hat q(A)=\\mathbb E_q[\\rho 1_A]/\\mathbb E_q\\rho$ grows with $\\rho$ on $A$ and falls with it off $A$."),
        Step("concave_max", r"\frac{\kappa p}{\kappa p+1-p}-p \le \frac{\sqrt\kappa-1}{\sqrt\kappa+1}", "≤", "calculus",
             lhs=kappa_p / (kappa_p + 1 - p_sym) - p_sym, rhs=concave_rhs,
             domain={"u": (0.0, 20.0), "p": (0.0, 1.0)}, numeric=concave_numeric,
             text="With $\\sqrt\\kappa=1+u$ the difference is $u(p(u+2)-1)^2/((u+2)(1+pu(u+2)))\\ge0$."),
        Step("kappa_exponential", r"\kappa = \tfrac{1+\eta}{1-\eta} = e^{2\operatorname{artanh}\eta}", "=", "identity",
             lhs=(1 + eta) / (1 - eta), rhs=sympy.exp(2 * sympy.atanh(eta)).rewrite(sympy.log),
             domain={"eta": (0.001, 0.99)}),
        Step("half_angle", r"\frac{e^{a}-1}{e^{a}+1} = \tanh(a/2),\ a=\operatorname{artanh}\eta", "=", "identity",
             lhs=(sympy.exp(a_sym) - 1) / (sympy.exp(a_sym) + 1), rhs=sympy.tanh(a_sym / 2).rewrite(sympy.exp),
             domain={"a": (0.001, 3.0)}),
        Step("below_eta", r"\tanh(\operatorname{artanh}(\eta)/2) \le \eta", "≤", "monotonicity",
             lhs=(sympy.sqrt((1 + eta) / (1 - eta)) - 1) / (sympy.sqrt((1 + eta) / (1 - eta)) + 1), rhs=eta,
             domain={"eta": (0.0, 0.99)}),
        Step("attained", r"\mathrm{TV}(\hat q,q)\big|_{\text{two-point}} = \frac{\sqrt\kappa-1}{\sqrt\kappa+1}", "=",
             "definition", numeric=attained,
             text="On two points with $p(1)=1/(\\sqrt\\kappa+1)$ and $\\rho\\in\\{1\\pm\\eta\\}$ the bound is an equality."),
    )


def _strategy():
    from hypothesis import strategies as st

    finite = st.builds(
        lambda m, probs, planes, lam, eta_value, signs: _finite(m, probs, planes, lam, eta_value, signs),
        st.integers(2, 6), st.lists(st.floats(0.05, 1.0), min_size=6, max_size=6),
        st.lists(st.tuples(st.floats(-2.0, 2.0), st.floats(-1.0, 1.0)), min_size=2, max_size=3),
        st.floats(0.1, 2.0), st.floats(0.01, 0.9), st.lists(st.floats(-1.0, 1.0), min_size=3, max_size=3))
    attaining = st.builds(_attaining, st.floats(0.01, 0.9), st.floats(20.0, 40.0))
    return st.one_of(finite, attaining)


def _finite(m, probs, planes, lam, eta_value, signs) -> ProofInstance:
    weights = np.asarray(probs[:m]) / sum(probs[:m])
    factors = tuple(1 + eta_value * s for s in signs[:len(planes)])
    inst = FiniteL1d(tuple(float(v) for v in range(m)), tuple(weights.tolist()), tuple(g for g, _ in planes),
                     tuple(c for _, c in planes), lam, factors, eta_value)
    return ProofInstance(f"finite-m{m}/eta={eta_value:.3g}", {"eta": eta_value, "lambda": lam}, ("finite", inst))


def _attaining(eta_value, height_over_lam) -> ProofInstance:
    k = _kappa(eta_value)
    high = 1 / (math.sqrt(k) + 1)
    lam = 1.0 / height_over_lam
    inst = FiniteL1d((0.0, 1.0), (1 - high, high), (2.0, -2.0), (-1.0, 1.0), lam, (1 + eta_value, 1 - eta_value),
                     eta_value)
    return ProofInstance(f"two-point/eta={eta_value:.3g}", {"eta": eta_value, "lambda": lam}, ("finite", inst))


def proofs() -> list[Proof]:
    history = ("primitives/kl_align.py docstring at af8c7fd: 'the extreme two-point ratio law gives (√κ − 1)/(√κ + 1) = η "
               "for κ = ((1+η)/(1−η))²'; corrected in cdd8888 (theorems/kl_partition_error.py)")
    return [Proof(
        id="l1d.partition_error", theorem="L1d", title="partition error: TV ≤ tanh(artanh(η)/2) ≤ η, attained",
        statement=r"\hat Z_i/Z_i\in[1-\eta,1+\eta] \Rightarrow \mathrm{TV}(\hat q, q_{KL}) \le \tanh(\operatorname{artanh}(\eta)/2) \le \eta",
        steps=_steps(), instances=_instances, strategy=_strategy,
        hypotheses=(r"every $\hat Z_i/Z_i\in[1-\eta,1+\eta]$, $0<\eta<1$", r"planes $\ell_i\le f$ with $\varepsilon=0$"),
        source="theorems/kl_partition_error.py (module docstring)",
        wrong_steps=(
            WrongStep("kappa-squared", "attained",
                      _steps(attained=lambda inst: _attained(inst, squared=True))[-1],
                      "κ taken as ((1+η)/(1−η))², so the attained value would be η", instance="two-point/eta=0.3",
                      history=history),
            WrongStep("halved-constant", "concave_max",
                      _steps(concave_rhs=_HALF_CONSTANT, concave_numeric=lambda inst: _concave_max(inst, halve=True))[4],
                      "the sharp constant halved", instance="two-point/eta=0.3"),
        ))]
