"""Per-step δ in both of its meanings: exact per-state terms and the authors' offset rule (paper-fidelity §2;
LCB spec T2, T3, T7).

At a parent y of step t the step is a single-step problem (``estimators.exact.chain_laws``): base ``p = p_t(·|y)``,
reward ``V = V_t(X)``, soft value ``V' = V_{t+1}(y)`` (``E_p e^{V/λ} = e^{V'/λ}``), baseline ``b = b_t(y)``.

* **Target side** (ours, T3/T7): ``P_q(V > b | y)``, q the tilted kernel; it bounds ``D/Z`` and so the
  step's TV (T2).
* **Proposal side** (the authors'): ``m(y) = E_p[e^{κ(V − b)} | y]`` (their Chernoff form, κ ≥ 1/λ) or the
  proposal tail ``P_p(V > b | y)``.
* **The authors' offset** (rebuilt from §2's maths): ``b_t(y) = log u(y) + τ_t`` with, on pairs (y_i, x_i),
  x_i ~ p_t(·|y_i) and ``s_i = V̂_t(x_i) − log u(y_i)``, ``τ_t = [log(1/δ) + log mean_i e^{κ s_i}]/κ``. Then
  ``mean_i e^{κ(V̂_t(x_i) − b_t(y_i))} = e^{−κτ_t}·mean_i e^{κ s_i} = δ`` on the training pairs: a plug-in
  (zero slack) proposal-side offset. ``log u`` is in the values' units (``λ log u`` at λ ≠ 1 is the
  caller's choice; with λ = 1 they coincide).

The one-sided test of a per-step mean against δ that these terms feed, with its design companions, is
``estimators.bounded_means.assert_step_mean_at_most_by_kl`` (proof there).
"""
from __future__ import annotations

import math

import torch

from primitives._checks import check_positive, check_unit_interval

__all__ = ["log_proposal_chernoff_mass", "proposal_tail", "target_tail", "chernoff_factor_bound",
           "proposal_tail_bound", "proposal_offset", "proposal_offset_from_log_masses",
           "DELTA_SIDES", "per_step_terms", "ProposalOffsetBaseline", "train_proposal_offsets",
           "UNTILTED", "check_kappa"]

DELTA_SIDES = ("target", "proposal")


def _baseline(laws, baseline) -> torch.Tensor:
    b = torch.as_tensor(baseline, dtype=laws.values.dtype, device=laws.values.device).reshape(-1)
    return b.expand(laws.size) if b.shape[0] == 1 else b


def check_kappa(kappa: float, lam: float) -> float:
    """κ must be finite and ≥ 1/λ (the factor inequality needs it); ``ValueError`` naming ``kappa``."""
    kappa = check_positive("kappa", kappa)
    if kappa < 1.0 / lam * (1.0 - 1e-12):
        raise ValueError(f"kappa must be ≥ 1/λ = {1.0 / lam:g} (e^{{V/λ}}1{{V>b}} ≤ e^{{b/λ}}e^{{κ(V−b)}} needs it), "
                         f"got {kappa!r}")
    return kappa


def log_proposal_chernoff_mass(laws, kappa: float, baseline) -> torch.Tensor:
    """``log E_p[e^{κ(V̂_t − b)} | y] = Λ_y(κ) − κ b`` per parent (log space, from the kernel's atoms)."""
    return laws.log_mgf(check_positive("kappa", kappa)) - kappa * _baseline(laws, baseline)


def proposal_tail(laws, baseline) -> torch.Tensor:
    """``P_p(V̂_t > b | y)`` per parent."""
    b = _baseline(laws, baseline)
    live = ~torch.isneginf(laws.log_probs)
    above = live & (torch.nan_to_num(laws.values, nan=-math.inf) > b[:, None])
    scores = torch.where(above, laws.log_probs, torch.full_like(laws.log_probs, -math.inf))
    return torch.exp(torch.logsumexp(scores, -1)).clamp(max=1.0)


def target_tail(laws, lam: float, baseline) -> torch.Tensor:
    """``P_q(V_t > b | y)`` per parent (q the exact tilted kernel; T3's quantity)."""
    return laws.tail_q(lam, _baseline(laws, baseline)).clamp(0.0, 1.0)


def chernoff_factor_bound(laws, lam: float, kappa: float, baseline, parent_values) -> torch.Tensor:
    """``e^{(b − V_{t+1}(y))/λ}·E_p[e^{κ(V_t − b)} | y]``: for κ ≥ 1/λ an upper bound on ``P_q(V_t > b | y)``
    and so on ``TV_t(y)`` (``theorems.per_step_delta``, statement (A))."""
    kappa = check_kappa(kappa, lam)
    b = _baseline(laws, baseline)
    parent = torch.as_tensor(parent_values, dtype=b.dtype, device=b.device).reshape(-1)
    return torch.exp((b - parent) / lam + log_proposal_chernoff_mass(laws, kappa, b))


def proposal_tail_bound(lam: float, tail, envelope: float, baseline, parent_values) -> torch.Tensor:
    """``P_p(V_t > b | y)·(e^{(M − V_{t+1}(y))/λ} − e^{(b − V_{t+1}(y))/λ})_+`` with ``M ≥ ess sup V_t``:
    an upper bound on ``D/Z ≥ TV_t(y)`` (statement (C) of ``theorems.per_step_delta``)."""
    tail = torch.as_tensor(tail, dtype=torch.float64)
    b = torch.as_tensor(baseline, dtype=torch.float64, device=tail.device).reshape(-1)
    parent = torch.as_tensor(parent_values, dtype=torch.float64, device=tail.device).reshape(-1)
    width = torch.exp((envelope - parent) / lam) - torch.exp((b - parent) / lam)
    return tail * torch.clamp(width, min=0.0)


def proposal_offset(s, kappa: float, delta: float) -> float:
    """The authors' offset ``τ = [log(1/δ) + log mean_i e^{κ s_i}]/κ`` (log space), so that
    ``mean_i e^{κ(s_i − τ)} = δ`` exactly. ``s``: finite residuals ``V̂_t(x_i) − log u(y_i)``, one proposal
    per training parent (``proposal_offset_from_log_masses`` takes each parent's exact conditional mass)."""
    kappa = check_positive("kappa", kappa)
    delta = check_unit_interval("delta", delta)
    s = torch.as_tensor(s, dtype=torch.float64).reshape(-1)
    if s.numel() < 1 or not torch.isfinite(s).all():
        raise ValueError("s must hold at least one finite residual")
    log_mean = float(torch.logsumexp(kappa * s, 0)) - math.log(s.numel())
    return (math.log(1.0 / delta) + log_mean) / kappa


def proposal_offset_from_log_masses(log_masses, kappa: float, delta: float) -> float:
    """The same offset with each parent's exact conditional mass: ``log_masses[i] = log E_p[e^{κ s} | y_i]``
    (``log_proposal_chernoff_mass`` at b = log u), so ``mean_i E_p[e^{κ(V_t − b_t(y_i))} | y_i] = δ``."""
    kappa = check_positive("kappa", kappa)
    delta = check_unit_interval("delta", delta)
    logs = torch.as_tensor(log_masses, dtype=torch.float64).reshape(-1)
    if logs.numel() < 1 or not torch.isfinite(logs).all():
        raise ValueError("log_masses must hold at least one finite value")
    return (math.log(1.0 / delta) + float(torch.logsumexp(logs, 0)) - math.log(logs.numel())) / kappa


# -- the one-sided test of a per-step mean against δ ------------------------------------------------------


# -- the authors' offset rule as a baseline, trained backward on-policy -----------------------------------

UNTILTED = -1e30
"""The prior-step baseline of an untilted prior: every prior draw is accepted (x_T ~ p_T)."""


class ProposalOffsetBaseline:
    """``b_t(y) = log u(y, t) + τ_t`` (values' units), the prior step untilted (``b_T`` = ``UNTILTED``).

    ``log_u(parents, t)``: default the exact ``V_{t+1}(y)`` of ``values`` (the offset rule isolated from any
    error in u). ``offsets[t] = τ_t`` once trained (``train_proposal_offsets``); an untrained step is +∞-like
    (no clipping), so the on-policy parents of a step come from the chain with its upper steps fixed."""

    def __init__(self, values, *, kappa: float = 15.0, delta: float = 1e-3, log_u=None) -> None:
        self.values, self.lam = values, values.lam
        self.kappa = check_kappa(kappa, values.lam)
        self.delta = check_unit_interval("delta", delta)
        self.log_u = log_u if log_u is not None else (lambda parents, t: values(parents, t + 1))
        self.offsets: dict[int, float] = {}

    def __call__(self, parents, t: int) -> torch.Tensor:
        if parents is None:
            return torch.tensor(UNTILTED, dtype=torch.float64)
        return self.log_u(parents, t) + self.offsets.get(t, 1e30)


def train_proposal_offsets(kernel, values, *, kappa: float = 15.0, delta: float = 1e-3, parents: int = 2000,
                           rule: str = "one-proposal", log_u=None, generator: torch.Generator | None = None,
                           laws=None, residuals: dict | None = None) -> tuple[ProposalOffsetBaseline, dict]:
    """The authors' offset rule trained from the top step down on the sampler's own parents.

    At step t (steps above fixed): ``parents`` fresh runs to x_{t+1}; ``rule="one-proposal"`` (theirs): one
    child per parent, ``s_i = V̂_t(x_i) − log u(y_i)``, ``τ_t = proposal_offset(s, κ, δ)``;
    ``rule="exact-mass"``: each parent's exact ``E_p[e^{κ s} | y_i]`` from ``laws(t, parents)`` (a
    ``StateLaws`` factory, e.g. ``kernel_value_laws``), ``τ_t = proposal_offset_from_log_masses``.
    ``rule="target-side"`` is the wrong side (a deliberate bug for wrong variants): the same formula on one
    child of the *tilted* kernel per parent (envelope rejection), which controls ``E_q`` instead of ``E_p``.
    Returns the baseline and the training parents per step (for the plug-in identity). ``residuals`` (a dict,
    filled for the one-proposal and target-side rules): ``residuals[t]`` = the step's ``s_i`` (for the learner's
    sampling error, ``theorems.plug_in_offset``)."""
    from primitives.chain_samplers import per_step_rejection_sample, step_rejection_sample

    if rule not in ("one-proposal", "exact-mass", "target-side"):
        raise ValueError(f"rule must be 'one-proposal', 'exact-mass' or 'target-side', got {rule!r}")
    if isinstance(parents, bool) or not isinstance(parents, int) or parents < 2:
        raise ValueError(f"parents must be an integer ≥ 2, got {parents!r}")
    if rule == "exact-mass" and laws is None:
        raise ValueError("laws is required for rule='exact-mass'")
    baseline = ProposalOffsetBaseline(values, kappa=kappa, delta=delta, log_u=log_u)
    kappa = baseline.kappa
    training = {}
    for t in reversed(range(kernel.steps)):
        y = per_step_rejection_sample(kernel, values, baseline, parents, generator=generator, stop_at=t + 1).samples
        base = baseline.log_u(y, t)
        if rule == "exact-mass":
            log_masses = log_proposal_chernoff_mass(laws(t, y), kappa, base)
            baseline.offsets[t] = proposal_offset_from_log_masses(log_masses, kappa, delta)
        else:
            if rule == "one-proposal":
                x = kernel.sample_children(y, t, 1, generator)[:, 0]
            else:
                envelope = torch.tensor([values.envelope(t)], dtype=torch.float64, device=y.device)
                x, _ = step_rejection_sample(kernel, y, t, values, envelope, generator=generator)
            s = values(x, t) - base
            baseline.offsets[t] = proposal_offset(s, kappa, delta)
            if residuals is not None:
                residuals[t] = s
        training[t] = y
    return baseline, training


def per_step_terms(laws, lam: float, baseline, side: str, kappa: float) -> torch.Tensor:
    """The per-step δ term of each parent on ``side``: ``"target"`` ``P_q(V_t > b | y)``, ``"proposal"``
    ``E_p[e^{κ(V̂_t − b)} | y]`` (unclipped; the test clips at 1)."""
    if side == "target":
        return target_tail(laws, lam, baseline)
    if side == "proposal":
        return torch.exp(log_proposal_chernoff_mass(laws, kappa, baseline))
    raise ValueError(f"delta_side must be one of {DELTA_SIDES}, got {side!r}")


