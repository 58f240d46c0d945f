"""The proof of T8 (value-error robustness) as data (issue 22; LCB spec T8). Declared through
``theorems.chain_step_bounds.proofs``.

Let ``q ∝ p e^{V/λ}``, ``q̂ ∝ p e^{V̂/λ}`` with ``|V̂ − V| ≤ ε``. The likelihood ratio ``ℓ = dq̂/dq =
e^{(V̂−V)/λ} Z/Ẑ`` takes values in ``[m, κm]`` with ``κ = e^{2ε/λ}`` and ``E_q ℓ = 1``. ``TV(q̂, q) =
E_q(ℓ − 1)_+`` is convex in the law of ℓ, so over laws on ``[m, κm]`` with mean 1 it is largest at a
two-point law; maximising ``a(1−a)(κ−1)/(κa + 1 − a)`` over the mass a at the top gives ``a = 1/(1+√κ)`` and the
value ``(√κ−1)/(√κ+1) = tanh(ε/(2λ))``. The two-point law with that a attains it (tight).

Instances: random finite laws, the attaining two-point laws, and the T8 claims' chains (slow): the masked
reference chain's parent at t = 2 with the claim's ε = 0.5 perturbation, the authors' DDPM step of gmm-ddpm-B5
(t = 10, ε = 0.5, on its quadrature atoms), and every parent of lm-tiny-B5 with the
project's learned V̂ (ε per parent: the largest |V̂ − V| over its children).
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import sympy
import torch

from tiltproof.proofs import LazyPayload, Proof, ProofInstance, Sides, Step, WrongStep

__all__ = ["proofs"]

eps_, lam_, a_, k_ = sympy.Symbol("epsilon", positive=True), sympy.Symbol("lambda", positive=True), \
    sympy.Symbol("a", positive=True), sympy.Symbol("kappa", positive=True)


def _instance(name: str, probs, values, perturbation, epsilon: float, lam: float) -> ProofInstance:
    probs = np.asarray(probs, float) / np.sum(probs)
    return ProofInstance(name, {"epsilon": epsilon, "lambda": lam},
                         (probs, np.asarray(values, float), np.asarray(perturbation, float) * epsilon, epsilon, lam))


def _instances() -> list[ProofInstance]:
    out = []
    for seed, (size, epsilon, lam) in enumerate([(5, 0.5, 1.0), (8, 1.0, 0.5), (3, 2.0, 1.0)]):
        rng = np.random.default_rng(100 + seed)
        out.append(_instance(f"finite-seed{100 + seed}/K={size},eps={epsilon:g},lam={lam:g}", rng.dirichlet(np.ones(size)),
                             rng.normal(0, 1, size), rng.uniform(-1, 1, size), epsilon, lam))
    for epsilon in (0.3, 1.0):      # the two-point law that attains the bound
        top = 1.0 / (1.0 + math.exp(epsilon))          # q-mass of the upper point, κ = e^{2ε} (λ = 1)
        probs = np.array([top, 1 - top]) * np.exp(-np.array([0.0, 0.0]))
        out.append(_instance(f"two-point/eps={epsilon:g}", probs, [0.0, 0.0], [1.0, -1.0], epsilon, 1.0))
    return out + _chain_instances()


# ---------------------------------------------------------------- the T8 claims' chains
@lru_cache(maxsize=None)
def _masked_payload(t: int, epsilon: float) -> tuple:
    """t8.value_error_tv/masked-ref-B5/t=2,eps=0.5: the claim's parent (largest spread of V_t) and its perturbation
    ``V̂_t = V_t + ε·sign(V_t − split)`` at T8's extremal split (``theorems.chain_step_bounds``)."""
    from estimators.exact.chain_laws import kernel_value_laws
    from theorems.chain_step_bounds import _value_error_state, worst_split
    from tiltproof.instances.chain import chain_instance

    instance = chain_instance("masked", 5.0)
    parent = _value_error_state(instance, t)
    laws = kernel_value_laws(instance.chain, t, parent, instance.values)
    split = worst_split(laws, instance.lam, epsilon)
    probs = torch.exp(laws.log_probs[0]).numpy()
    keep = probs > 0
    values = laws.values[0].numpy()[keep]
    return probs[keep], values, epsilon * np.where(values > split, 1.0, -1.0), epsilon, instance.lam


@lru_cache(maxsize=None)
def _learned_level(t: int) -> list[tuple]:
    """t8.value_error_tv/lm-tiny-B5/learned: at every parent of level t + 1 the kernel's atoms, the exact V_t and
    the project's learned V̂_t there, ε = max |V̂_t − V_t| over the parent's children."""
    from theorems.masked_lm_chains import LAM, learned_values, tiny_chain, tiny_values

    chain, values, learned = tiny_chain(), tiny_values(), learned_values()
    parents = chain.level_states(t + 1)[0]
    atoms = chain.kernel_atoms(t, parents)
    flat = atoms.atoms.reshape(-1, chain.length)
    exact = torch.nan_to_num(values(flat, t).reshape(atoms.log_probs.shape)).double().numpy()
    fitted = learned(flat, t).reshape(atoms.log_probs.shape).double().detach().numpy()
    probs = torch.exp(atoms.log_probs).double().numpy()
    out = []
    for row in range(probs.shape[0]):
        keep = probs[row] > 0
        error = fitted[row][keep] - exact[row][keep]
        out.append((probs[row][keep], exact[row][keep], error, float(np.abs(error).max()), LAM))
    return out


@lru_cache(maxsize=None)
def _ddpm_payload() -> tuple:
    """t8.value_error_tv/gmm-ddpm-B5/t=10,eps=0.5: the claim's DDPM step (``theorems.ddpm_value_error``) on the
    kernel's quadrature atoms (spacing 0.05), its ridge-line parent of largest V_t spread and T8's extremal split;
    T8 holds for every law, the atoms' law included."""
    from estimators.exact.chain_laws import kernel_value_laws
    from theorems.chain_step_bounds import worst_split
    from theorems.ddpm_value_error import EPSILON, SPACING, STEP, spread_parent
    from tiltproof.instances.chain import chain_instance

    instance = chain_instance("ddpm", 5.0)
    parent = spread_parent(instance, STEP)
    laws = kernel_value_laws(instance.chain, STEP, parent, instance.values, spacing=SPACING)
    split = worst_split(laws, instance.lam, EPSILON)
    probs = torch.exp(laws.log_probs[0]).double().numpy()
    values = torch.nan_to_num(laws.values[0]).double().numpy()
    keep = probs > 0
    values = values[keep]
    return probs[keep], values, EPSILON * np.where(values > split, 1.0, -1.0), EPSILON, instance.lam


LM_LEVELS = (108, 54, 12)
"""Parents of levels t + 1 = 1, 2, 3 of lm-tiny-B5 (its level 4 is the all-mask prior: no value error there)."""


def _chain_instances() -> list[ProofInstance]:
    out = [ProofInstance("masked-ref-B5/t=2,eps=0.5", {"epsilon": 0.5, "lambda": 1.0},
                         LazyPayload(lambda: _masked_payload(2, 0.5)), slow=True),
           ProofInstance("gmm-ddpm-B5/t=10,eps=0.5", {"epsilon": 0.5, "lambda": 1.0}, LazyPayload(_ddpm_payload),
                         slow=True)]
    for t, count in enumerate(LM_LEVELS):
        for row in range(count):
            out.append(ProofInstance(f"lm-tiny-B5/learned,t={t},#{row}", {"lambda": 1.0},
                                     LazyPayload(lambda t=t, row=row: _learned_level(t)[row]), slow=True))
    return out


def _strategy():
    from hypothesis import strategies as st

    @st.composite
    def draws(draw) -> ProofInstance:
        size = draw(st.integers(1, 6))
        probs = draw(st.lists(st.floats(0.05, 1.0), min_size=size, max_size=size))
        values = draw(st.lists(st.floats(-2.0, 2.0), min_size=size, max_size=size))
        signs = draw(st.lists(st.floats(-1.0, 1.0), min_size=size, max_size=size))
        epsilon, lam = draw(st.floats(0.01, 3.0)), draw(st.sampled_from([0.25, 0.5, 1.0, 2.0]))
        return _instance(f"p={np.round(probs, 3).tolist()}, V={np.round(values, 3).tolist()}, "
                         f"u={np.round(signs, 3).tolist()}, ε={epsilon:.4g}, λ={lam}", probs, values, signs, epsilon, lam)

    return draws()


def _laws(instance: ProofInstance):
    probs, values, perturbation, epsilon, lam = instance.payload
    q = probs * np.exp(values / lam)
    q_hat = probs * np.exp((values + perturbation) / lam)
    q, q_hat = q / q.sum(), q_hat / q_hat.sum()
    return q, q_hat, epsilon, lam


def _ratio(instance: ProofInstance) -> Sides:
    q, q_hat, epsilon, lam = _laws(instance)
    ratio = q_hat / q
    return Sides(float(ratio.max() / ratio.min()), math.exp(2 * epsilon / lam), 1e-12)


def _tv_two_point(instance: ProofInstance) -> Sides:
    q, q_hat, epsilon, lam = _laws(instance)
    kappa = math.exp(2 * epsilon / lam)
    return Sides(0.5 * float(np.abs(q_hat - q).sum()), (math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1), 1e-12)


def _attained(instance: ProofInstance) -> Sides | None:
    if not instance.name.startswith("two-point"):
        return None
    q, q_hat, epsilon, lam = _laws(instance)
    return Sides(0.5 * float(np.abs(q_hat - q).sum()), math.tanh(epsilon / (2 * lam)), 1e-12)


KAPPA = sympy.exp(2 * eps_ / lam_)
STEPS = (
    Step("ratio-range", r"\ell=\frac{d\hat q}{dq}=e^{(\hat V-V)/\lambda}\frac{Z}{\hat Z},\quad \frac{\max\ell}{\min\ell}\le\kappa=e^{2\varepsilon/\lambda}",
         "≤", "definition", numeric=_ratio),
    Step("two-point-extreme", r"\mathrm{TV}(\hat q,q) = E_q(\ell-1)_+ \le \max_{a}\frac{a(1-a)(\kappa-1)}{\kappa a+1-a} = \frac{\sqrt\kappa-1}{\sqrt\kappa+1}",
         "≤", "convexity", numeric=_tv_two_point,
         text=r"$E_q(\ell-1)_+$ is convex in the law of $\ell$: its maximum over laws on $[m,\kappa m]$ with mean 1 is at a two-point law."),
    Step("two-point-optimum", r"\frac{a(1-a)(\kappa-1)}{\kappa a+1-a}\Big|_{a=1/(1+\sqrt\kappa)} = \frac{\sqrt\kappa-1}{\sqrt\kappa+1}",
         "=", "calculus", lhs=(a_ * (1 - a_) * (k_ - 1) / (k_ * a_ + 1 - a_)).subs(a_, 1 / (1 + sympy.sqrt(k_))),
         rhs=(sympy.sqrt(k_) - 1) / (sympy.sqrt(k_) + 1)),
    Step("tanh", r"\frac{\sqrt\kappa-1}{\sqrt\kappa+1} = \tanh\frac{\varepsilon}{2\lambda},\quad\kappa=e^{2\varepsilon/\lambda}",
         "=", "algebra", lhs=(sympy.sqrt(KAPPA) - 1) / (sympy.sqrt(KAPPA) + 1), rhs=sympy.tanh(eps_ / (2 * lam_))),
    Step("attained", r"\text{two-point law, } q(\text{top})=\frac1{1+e^{\varepsilon/\lambda}}:\ \mathrm{TV}(\hat q,q) \ge \tanh\frac{\varepsilon}{2\lambda}",
         "≥", "definition", numeric=_attained),
)


def proofs() -> list[Proof]:
    wrong = WrongStep("tanh-without-half", "tanh",
                      Step("tanh", r"\frac{\sqrt\kappa-1}{\sqrt\kappa+1} = \tanh\frac{\varepsilon}{\lambda}", "=", "algebra",
                           lhs=(sympy.sqrt(KAPPA) - 1) / (sympy.sqrt(KAPPA) + 1), rhs=sympy.tanh(eps_ / lam_)),
                      "tanh(ε/λ) for tanh(ε/(2λ)) (a dropped factor ½)")
    dropped = WrongStep("optimum-dropped-factor", "two-point-optimum",
                        Step("two-point-optimum", r"\frac{a(\kappa-1)}{\kappa a+1-a}\Big|_{a=1/(1+\sqrt\kappa)} = \frac{\sqrt\kappa-1}{\sqrt\kappa+1}",
                             "=", "calculus", lhs=(a_ * (k_ - 1) / (k_ * a_ + 1 - a_)).subs(a_, 1 / (1 + sympy.sqrt(k_))),
                             rhs=(sympy.sqrt(k_) - 1) / (sympy.sqrt(k_) + 1)),
                        "the factor (1 − a) dropped from the two-point TV")
    return [Proof("t8.value_error_tv", "T8", "Value-error robustness of the tilted kernel",
                  r"|\hat V_t-V_t|\le\varepsilon\ \Rightarrow\ \mathrm{TV}\big(p_t(\cdot|y)e^{\hat V_t/\lambda}/\hat Z,\ q_t(\cdot|y)\big)\le\tanh\frac{\varepsilon}{2\lambda}\ \text{(tight)}",
                  STEPS, _instances, strategy=_strategy, wrong_steps=(wrong, dropped),
                  hypotheses=(r"$|\hat V_t-V_t|\le\varepsilon$ everywhere",), source="LCB spec T8")]
