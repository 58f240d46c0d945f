"""T7's path bound on diffusion chains (LCB spec, "Diffusion chains"): the check of ``t7.path_tv`` and of its
per-step terms against the single-step theorems T2–T3. Split out of ``theorems.diffusion_chains``, which
registers the claims (ids and records unchanged).

``TV(q̂_0, q_0) ≤ TV(q̂_T, q_T) + Σ_t E_{y~q̂_{t+1}} TV(q̂_t(·|y), q_t(·|y))`` for per-step rejection with a given
baseline. The terms are exact: the sampler's marginals q̂_t are propagated by 1-D quadrature along the ridge
(GMM; ``estimators.exact.ridge_chain_law``) or by enumeration (masked; ``estimators.exact.finite_chain_law``), which also gives the
exact left side. On the masked chain every term is also checked against the single-step theorems over the
exact parent marginals: by T2 ``TV(q̂_t(·|y), q_t(·|y)) = Σ_{V_t > b} p_t(w/Z − 1/Z_b)_+ ≤ D_y/Z_y``, so each
term must equal ``Σ_y q̂_{t+1}(y)·(that exact form)`` (computed from the kernel's atoms, a different route than
the propagation's ``½Σ|q − q_b|``) and be at most ``Σ_y q̂_{t+1}(y) D_y/Z_y``; at the oracle Chernoff baseline
every visited ``D_y/Z_y ≤ δ`` (T3). Empirically: a lower confidence bound on ``TV(q̂_0, q_0)`` from the
sampler's own x_0 samples (``tiltproof.core.chain_x0_statistics.x0_tv_lower``) must not exceed the exact right side.
"""
from __future__ import annotations

import numpy as np
import sympy
import torch
from scipy.special import logsumexp

from estimators.exact.chain_laws import kernel_value_laws
from tiltproof.core import symbols as sym
from tiltproof.core.evidence import upper_bound_evidence
from tiltproof.instances.chain import ChainInstance, ChainSampler, default_chain_sampler, make_baseline
from tiltproof.core.chain_x0_statistics import _exact_sampler_law, _x0_sample_size, x0_tv_lower, x0_tv_units
from tiltproof.core.framework import CheckContext, Evidence

# ---------------------------------------------------------------- symbols (T7's own)
tau_prior = sympy.Symbol(r"\tau_T", nonnegative=True)            # TV(q̂_T, q_T)
tau_steps = sympy.Symbol(r"\Sigma_{t<T}\tau_t", nonnegative=True)  # Σ_t E_{y~q̂_{t+1}} TV(q̂_t(·|y), q_t(·|y))
tau_last = sympy.Symbol(r"\tau_0", nonnegative=True)
#: T7: the path bound
PATH_TV_BOUND = tau_prior + tau_steps


T7_STATEMENT = (r"\mathrm{TV}(\hat q_0,q_0) \le \mathrm{TV}(\hat q_T,q_T) + \sum_{t<T} "
                r"E_{y\sim\hat q_{t+1}}\mathrm{TV}(\hat q_t(\cdot|y), q_t(\cdot|y))")


def check_path_tv(instance: ChainInstance, baseline_name: str, context: CheckContext, *,
                  sampler: ChainSampler = default_chain_sampler, terms: str = "all") -> Evidence:
    """T7 with exact terms; ``terms='last'`` keeps only the t = 0 term (a deliberately wrong bound)."""
    instance = instance.on(context.device)
    baseline = make_baseline(instance, baseline_name)
    tv_exact, step_terms, quadrature_error, law = _exact_sampler_law(instance, baseline)
    steps = instance.chain.steps
    if terms == "all":
        values = {tau_prior: float(step_terms[steps]), tau_steps: float(step_terms[:steps].sum())}
        bound = sym.evaluate(PATH_TV_BOUND, values)
    elif terms == "last":
        bound = sym.evaluate(tau_last, {tau_last: float(step_terms[0])})
    else:
        raise ValueError(f"terms must be 'all' or 'last', got {terms!r}")
    n = _x0_sample_size(instance, context.alpha, context.beta, "tv-lower")
    result = sampler(instance, baseline, n, context.generator())
    estimate, lower, detectable, name = x0_tv_lower(instance, result.samples, context.alpha, context.beta)
    details = {"step_terms": [float(v) for v in step_terms], "quadrature_error": quadrature_error,
               "queries_per_sample": result.queries_per_sample}
    term_reasons = []
    if instance.kind == "masked":
        single_step = single_step_terms(instance, baseline, law)
        details.update(single_step)
        if single_step["max_term_discrepancy"] > 1e-9:
            term_reasons.append(f"a T7 term differs from T2's exact Σ_y q̂(y) TV_y by {single_step['max_term_discrepancy']:.3g}")
        if single_step["min_t2_bound_margin"] < -1e-9:
            term_reasons.append(f"a T7 term exceeds T2's bound Σ_y q̂(y) D_y/Z_y by {-single_step['min_t2_bound_margin']:.3g}")
        delta = getattr(baseline, "delta", None)
        if delta is not None and single_step["max_clip_mass"] > delta * (1 + 1e-9):
            term_reasons.append(f"a visited state has D/Z = {single_step['max_clip_mass']:.4g} > δ = {delta:g} (T3)")
    return upper_bound_evidence(
        statistic=f"exact path bound (quadrature along the ridge / enumeration); exact TV(q̂_0,q_0); {name}"
                  + ("; each term = Σ q̂ TV_y (T2's exact form) ≤ Σ q̂ D/Z (T2), D/Z ≤ δ at the oracle (T3)"
                     if instance.kind == "masked" else ""),
        bound=bound, exact=tv_exact, empirical=estimate, lower_confidence=lower, n=n, detectable_gap=detectable,
        exact_tolerance=2.0 * quadrature_error + 1e-9, details=details, units=x0_tv_units(instance),
        also_fails=term_reasons,
    )


def t2_per_state(laws, lam: float, baseline: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Per parent, from the kernel's atoms (log p_i, V_i) in log space, T2's exact clipping error
    ``TV(q_b, q) = Σ_{V_i > b} p_i (w_i/Z − 1/Z_b)_+`` (w = e^{V/λ}, Z = E_p w, Z_b = E_p min(w/c, 1), c = e^{b/λ})
    and its bound ``D/Z = E_q(1 − e^{(b−V)/λ})_+`` — both by definition, apart from the propagation's
    ``½Σ|q − q_b|`` and from ``StateLaws``' clipped partition."""
    log_p = laws.log_probs.detach().cpu().numpy()
    values = np.nan_to_num(laws.values.detach().cpu().numpy(), nan=0.0)
    b = baseline.detach().cpu().numpy().reshape(-1, 1)
    live = np.isfinite(log_p)
    log_p = np.where(live, log_p, -np.inf)
    log_z = logsumexp(log_p + values / lam, axis=1, keepdims=True)
    log_zb = logsumexp(log_p + np.minimum(values - b, 0.0) / lam, axis=1, keepdims=True)
    above = live & (values > b)
    excess = np.where(above, np.exp(log_p) * np.clip(np.exp(values / lam - log_z) - np.exp(-log_zb), 0.0, None), 0.0)
    q = np.where(live, np.exp(log_p + values / lam - log_z), 0.0)
    clip = (q * -np.expm1(np.minimum(0.0, (b - values) / lam))).sum(1)
    return excess.sum(1), clip


def single_step_terms(instance: ChainInstance, baseline, law) -> dict:
    """Each T7 term recomputed from T2 over the exact marginals of the parents: ``Σ_y q̂_{t+1}(y) TV_y`` with
    ``TV_y`` from T2's exact expression (``t2_per_state``), which must equal the propagated term, and
    ``Σ_y q̂_{t+1}(y) D_y/Z_y`` (T2's bound), which must not be below it; also the largest D/Z over visited
    states (T3 at an oracle baseline: ≤ δ)."""
    chain, values, lam = instance.chain, instance.values, instance.lam
    identity, upper, largest = np.zeros(chain.steps + 1), np.zeros(chain.steps + 1), 0.0
    prior = kernel_value_laws(chain, chain.steps, None, values)
    tv, clip = t2_per_state(prior, lam, torch.as_tensor(baseline(None, chain.steps)).reshape(-1))
    identity[chain.steps], upper[chain.steps], largest = float(tv[0]), float(clip[0]), float(clip.max())
    for t in range(chain.steps):
        states, probs = law.marginals[t + 1]
        laws = kernel_value_laws(chain, t, states, values)
        tv, clip = t2_per_state(laws, lam, baseline(states, t).reshape(-1))
        weights = probs.detach().cpu().numpy()
        identity[t], upper[t] = float((weights * tv).sum()), float((weights * clip).sum())
        if (weights > 0).any():
            largest = max(largest, float(clip[weights > 0].max()))
    terms = np.asarray(law.step_terms, dtype=float)
    return {"t2_terms": [float(v) for v in identity], "t2_bounds": [float(v) for v in upper], "max_clip_mass": largest,
            "max_term_discrepancy": float(np.abs(identity - terms).max()),
            "min_t2_bound_margin": float((upper - terms).min())}
