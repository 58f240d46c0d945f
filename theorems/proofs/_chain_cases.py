"""Single-step cases of the registered diffusion chains, for the proofs whose claims run on a chain (issue 22).

LCB spec T7: at step t a parent y poses a single-step problem — base ``p_t(·|y)``, reward ``V_t``, soft value
``V_{t+1}(y)`` with ``E_{p_t(·|y)} e^{V_t/λ} = e^{V_{t+1}(y)/λ}``. So T1–T6 and T8 apply *per parent*, and a claim
registered on a chain (``t1.trajectory_exact/gmm-ref-B3``, ``t4.step_proposals_upper/gmm-ref-B5/t=10,…``) is
covered when the single-step proof's steps are evaluated on that chain's per-parent laws.

``step_law(chain, t)`` gives, for a handful of parents of step t, the law of ``V_t(X)``, ``X ~ p_t(·|y)``, as a
finite law per parent (atoms ``p`` and values ``V``, float64 arrays ``(m, A)``), the chain's own soft value
``V_{t+1}(y)`` and the envelope ``B_t ≥ ess sup V_t``. The atoms come from ``kernel_value_laws``: exact for the
masked chains (enumerated support) and for the step reward at t = 0 (two atoms, normal CDFs); for t > 0 on the
Gaussian-mixture chains a quadrature rule along the ridge (spacing h = 0.05). Every step of a single-step proof
is an identity or inequality of *finite laws*, so its sides are exact for the quadrature law; how far that law is
from the kernel's is measured by the soft-value identity, ``quadrature_error`` (``|λ log Σ p e^{V/λ} − V_{t+1}(y)|``
against the same sum at h/2, plus twice the interpolation error of the DDPM chain's tabulated V_t; reported by
T7's *soft-values* step).

Parents: on the ridge chains (``gmm-ref-B*``, ``gmm-ddpm-B*``: means on the x₁ axis, reward ``B·1{x₁ < −7}``)
the points ``(s, 0)`` for ``s`` in ``RIDGE_POSITIONS``; on the masked chains evenly spaced states of level t + 1
(all of them when ``every_parent``). ``t = T`` is the prior step (one "parent").

Payloads are built lazily (``LazyPayload``): listing a proof's instances builds no chain.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from estimators.exact.reward_law import DiscreteLaw
from theorems.proofs._lcb_common import TiltCase, case_instance
from tiltproof.proofs import ProofInstance
from tiltproof.proofs.model import LazyPayload

__all__ = ["RIDGE_POSITIONS", "CHAINS", "StepLaw", "chain_steps", "step_law", "parent_labels", "tilt_case",
           "parent_instances", "quadrature_error", "soft_value_sums"]

RIDGE_POSITIONS = (-9.0, -7.0, -5.0, -2.0, 0.0, 3.0, 5.0)
"""x₁ of the ridge parents (x₂ = 0): the rare mode (−5), the reward's edge (−7), the bulk (+5) and between."""
LEVEL_PARENTS = 5
"""States per level on the masked chains when not every parent is taken (evenly spaced indices)."""

CHAINS = {"gmm-ref-B2": ("gmm", 2.0), "gmm-ref-B3": ("gmm", 3.0), "gmm-ref-B5": ("gmm", 5.0),
          "gmm-ref-B7": ("gmm", 7.0), "gmm-ddpm-B3": ("ddpm", 3.0), "gmm-ddpm-B5": ("ddpm", 5.0),
          "masked-ref-B5": ("masked", 5.0), "lm-tiny-B5": ("lm", 5.0)}
"""The registered chain instances a single-step proof may be evaluated on (name → kind, reward height B)."""

STEPS = {"gmm": 20, "ddpm": 19, "masked": 6, "lm": 4}
"""Transitions T of each kind (checked against the chain when it is built)."""


@lru_cache(maxsize=None)
def _chain(name: str):
    """(chain, exact soft values, λ) of a registered chain instance."""
    kind, height = CHAINS[name]
    if kind == "lm":
        from theorems.masked_lm_chains import LAM, tiny_chain, tiny_values

        chain, values, lam = tiny_chain(), tiny_values(), LAM
    else:
        from tiltproof.instances.chain import chain_instance

        instance = chain_instance(kind, height)
        chain, values, lam = instance.chain, instance.values, instance.lam
    if chain.steps != STEPS[kind]:
        raise RuntimeError(f"chain {name} has {chain.steps} steps, expected {STEPS[kind]}")
    return chain, values, lam


def chain_steps(name: str) -> int:
    """T of the registered chain ``name`` (without building it)."""
    if name not in CHAINS:
        raise ValueError(f"chain must be one of {sorted(CHAINS)}, got {name!r}")
    return STEPS[CHAINS[name][0]]


def _ridge(name: str) -> bool:
    return CHAINS[name][0] in ("gmm", "ddpm")


def parent_labels(name: str, t: int, every_parent: bool = False) -> tuple[str, ...]:
    """Readable labels of the parents ``step_law(name, t)`` uses (cheap: no chain is built for the ridge)."""
    if t == chain_steps(name):
        return ("prior",)
    if _ridge(name):
        return tuple(f"x1={s:g}" for s in RIDGE_POSITIONS)
    return tuple(f"#{i}" for i in _level_indices(name, t, every_parent))


@lru_cache(maxsize=None)
def _level_indices(name: str, t: int, every_parent: bool) -> tuple[int, ...]:
    count = int(_chain(name)[0].level_states(t + 1)[0].shape[0])
    if every_parent or count <= LEVEL_PARENTS:
        return tuple(range(count))
    return tuple(sorted({int(round(i)) for i in np.linspace(0, count - 1, LEVEL_PARENTS)}))


def _parents(name: str, t: int, every_parent: bool) -> torch.Tensor | None:
    chain = _chain(name)[0]
    if t == chain.steps:
        return None
    if _ridge(name):
        return torch.tensor([[s, 0.0] for s in RIDGE_POSITIONS], dtype=torch.float64, device=chain.device)
    states = chain.level_states(t + 1)[0]
    return states[list(_level_indices(name, t, every_parent))]


@dataclass(frozen=True, eq=False)
class StepLaw:
    """Step t of a chain at m parents: atoms ``p``, ``V`` (m, A) (zero-probability atoms have ``p = 0``, ``V = 0``),
    the chain's soft values ``v_next`` (m,), the envelope ``B_t``, λ, whether the atoms are exact, and the parents'
    labels."""

    name: str
    t: int
    p: np.ndarray
    V: np.ndarray
    v_next: np.ndarray
    envelope: float
    lam: float
    exact: bool
    labels: tuple[str, ...]


def _atoms(name: str, t: int, parents, spacing: float) -> tuple[np.ndarray, np.ndarray, bool]:
    from estimators.exact.chain_laws import kernel_value_laws

    chain, values, _ = _chain(name)
    laws = kernel_value_laws(chain, t, parents, values, spacing=spacing)
    p = torch.exp(laws.log_probs).double().cpu().numpy()
    V = np.where(p > 0, torch.nan_to_num(laws.values).double().cpu().numpy(), 0.0)
    return p, V, bool(laws.exact)


@lru_cache(maxsize=256)
def step_law(name: str, t: int, every_parent: bool = False) -> StepLaw:
    """The per-parent finite laws of step t of chain ``name`` (module docstring)."""
    chain, values, lam = _chain(name)
    parents = _parents(name, t, every_parent)
    p, V, exact = _atoms(name, t, parents, 0.05)
    if parents is None:
        v_next = np.array([float(values.root())])
    else:
        v_next = values(parents, t + 1).reshape(-1).double().cpu().numpy()
    return StepLaw(name, t, p, V, v_next, float(values.envelope(t)), lam, exact,
                   parent_labels(name, t, every_parent))


def _soft(p: np.ndarray, V: np.ndarray, lam: float) -> np.ndarray:
    """λ log Σ p e^{V/λ} per row (log-sum-exp over the atoms with p > 0)."""
    with np.errstate(divide="ignore"):
        logs = np.where(p > 0, np.log(np.where(p > 0, p, 1.0)) + V / lam, -np.inf)
    top = logs.max(1, keepdims=True)
    return lam * (top[:, 0] + np.log(np.exp(logs - top).sum(1)))


@lru_cache(maxsize=256)
def quadrature_error(name: str, t: int, every_parent: bool = False) -> np.ndarray:
    """Per parent: the error of the soft-value identity from the quadrature rule, ``2|S_h − S_{h/2}| + 1e-9`` with
    ``S_h = λ log Σ p e^{V/λ}`` at spacing h (0 for exact atoms, plus float64 rounding)."""
    law = step_law(name, t, every_parent)
    rounding = 1e-10 * np.maximum(1.0, np.abs(law.v_next)) + _table_error(name)
    if law.exact:
        return rounding
    p, V, _ = _atoms(name, t, _parents(name, t, every_parent), 0.025)
    return 2.0 * np.abs(_soft(law.p, law.V, law.lam) - _soft(p, V, law.lam)) + 1e-9 + rounding


def _table_error(name: str) -> float:
    """The DDPM chain's V_t are read from a table by linear interpolation (``estimators.exact.ddpm_law``), off by at
    most ε = its ``interpolation_error()`` at the atoms and at the parent: 2ε on the soft-value identity."""
    exact_law = getattr(_chain(name)[1], "exact_law", None)
    return 2.0 * exact_law.interpolation_error() if exact_law is not None else 0.0


def soft_value_sums(law: StepLaw) -> np.ndarray:
    """``λ log Σ_i p_i e^{V_i/λ}`` per parent (the left side of the soft-value identity)."""
    return _soft(law.p, law.V, law.lam)


def tilt_case(name: str, t: int, row: int, baseline: str | float, delta: float | None = None) -> TiltCase:
    """Parent ``row`` of step t as a single-step case: the finite law of ``V_t`` under ``p_t(·|y)``, λ, and the
    baseline ``"envelope"`` (B_t), ``"oracle"`` (the per-parent Chernoff baseline ``b_δ`` with its s) or a number
    c (``b = V_{t+1}(y) + c``)."""
    from estimators.baselines import chernoff_baseline

    law = step_law(name, t)
    keep = law.p[row] > 0
    reward_law = DiscreteLaw(law.V[row][keep], np.log(law.p[row][keep]))
    s = None
    if baseline == "envelope":
        b = max(law.envelope, float(law.V[row][keep].max()))
    elif baseline == "oracle":
        if delta is None:
            raise ValueError("an oracle baseline needs delta")
        found = chernoff_baseline(reward_law, law.lam, delta)
        b, s = found.value, found.s
    else:
        b = float(law.v_next[row]) + float(baseline)
    return TiltCase(reward_law, law.lam, b, delta=delta, s=s, envelope=max(law.envelope, float(law.V[row][keep].max())))


def parent_instances(name: str, steps, baseline: str | float, delta: float | None = None,
                     suffix: str = "") -> list[ProofInstance]:
    """One lazy ``ProofInstance`` per (step t in ``steps``, parent), named ``{chain}/t={t},{label}{suffix}``, marked
    slow (building a step's laws takes up to a second; ``steps=None``: every step, the prior's included)."""
    steps = range(chain_steps(name) + 1) if steps is None else steps
    out = []
    for t in steps:
        for row, label in enumerate(parent_labels(name, t)):
            params = {"step": t, "B": CHAINS[name][1]} | ({"delta": delta} if delta is not None else {})
            out.append(ProofInstance(f"{name}/t={t},{label}{suffix}", params,
                                     LazyPayload(_case_builder(name, t, row, baseline, delta)), slow=True))
    return out


def _case_builder(name: str, t: int, row: int, baseline, delta):
    return lambda: case_instance("", tilt_case(name, t, row, baseline, delta)).payload
