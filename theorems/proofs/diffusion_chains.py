"""The proof of T7 (path TV of per-step tilting) as data (issue 22; LCB spec "Diffusion chains").
Declared through ``theorems.diffusion_chains.proofs``.

Proof. The x_0-marginal is a function of the path (data processing): ``TV(q̂_0, q_0) ≤ TV(q̂_{0:T},
q_{0:T})``. Couple the two chains step by step from the top (maximal couplings of the prior and then of the
kernels given the common parent): the paths differ only if some step's coupling fails, so (union bound)
``TV(q̂_{0:T}, q_{0:T}) ≤ TV(q̂_T, q_T) + Σ_t E_{y~q̂_{t+1}} TV(q̂_t(·|y), q_t(·|y))``. Each kernel
``q̂_t(·|y)`` is single-step rejection from ``p_t(·|y)`` with reward ``V_t`` and baseline ``b_t(y)``, whose
target is ``q_t(·|y)``; T2 bounds its term by ``D_y/Z_y``.

Instances: small finite chains (states {0..S−1}, T steps, random kernels at fixed seeds, reward on x_0),
where every law is enumerated exactly: ``V_t`` by the backward recursion and, independently, by
enumerating the paths below x_t; the sampler's kernels ``q̂_t(x|y) ∝ p_t(x|y) min(1, e^{(V_t(x) − b_t(y))/λ})``.
The registered masked reference chain ``masked-ref-B5`` (the claims' ``t7.path_tv/masked-ref-B5/offset=0``,
and offset 0.5) is wired in too (``theorems.proofs._masked_t7``: levels as sparse kernels, every path
enumerated; ~3 s each). The other chains of the T7 claims (``CHAIN_RUNS``: gmm-ref-B2/B5, gmm-ddpm-B5, lm-tiny-B5,
marked slow) are evaluated at every step on the parents ``_chain_cases`` lists (all level states of lm-tiny, seven
ridge points on the Gaussian-mixture chains): *soft-values* as the one-step identity
``λ log Σ_x p_t(x|y) e^{V_t(x)/λ} = V_{t+1}(y)`` against the chain's own V_{t+1}, with the quadrature error of the
ridge rule (the sum at spacing h against h/2), and *per-step* by literal sums over the step law's atoms. Their
path laws are not enumerable (continuous paths), so *marginal* and *telescoping* do not apply there; the claims
``t7.path_tv`` and ``t7.step_terms`` check those chains' x_0 bound.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from theorems.proofs._chain_cases import chain_steps, quadrature_error, soft_value_sums, step_law
from theorems.proofs._masked_t7 import MaskedCase, masked_quantities
from tiltproof.proofs import Proof, ProofInstance, Sides, Step, WrongStep

__all__ = ["proofs", "FiniteChain", "finite_chain", "chain_laws"]


@dataclass(frozen=True)
class FiniteChain:
    """prior p_T (S,), kernels[t][y, x] = p_t(x | y) for t = 0..T−1, reward r (S,), λ, baseline offset."""

    prior: np.ndarray
    kernels: tuple[np.ndarray, ...]
    reward: np.ndarray
    lam: float
    offset: float


def finite_chain(seed: int, states: int, steps: int, lam: float, offset: float) -> FiniteChain:
    rng = np.random.default_rng(seed)
    kernels = tuple(rng.dirichlet(np.ones(states) * 0.7, size=states) for _ in range(steps))
    return FiniteChain(rng.dirichlet(np.ones(states)), kernels, rng.normal(0, 1.5, size=states), lam, offset)


def chain_laws(chain: FiniteChain) -> dict:
    """Soft values, target and sampler kernels and path laws, all by enumeration."""
    lam, T = chain.lam, len(chain.kernels)
    values = [chain.reward]                                   # V_0 = r
    for t in range(T):
        values.append(lam * np.log(chain.kernels[t] @ np.exp(values[-1] / lam)))   # V_{t+1}(y)
    target, sampler, clip = [], [], []
    for t in range(T):
        kernel, v_child, v_parent = chain.kernels[t], values[t], values[t + 1]
        target.append(kernel * np.exp((v_child[None, :] - v_parent[:, None]) / lam))
        baseline = v_parent + chain.offset                        # b_t(y) = V_{t+1}(y) + offset
        accept = np.minimum(1.0, np.exp((v_child[None, :] - baseline[:, None]) / lam))
        zb = (kernel * accept).sum(1)
        sampler.append(kernel * accept / zb[:, None])
        w, c = np.exp(v_child / lam)[None, :], np.exp(baseline / lam)[:, None]
        clip.append((kernel * np.maximum(w - c, 0)).sum(1) / (kernel * w).sum(1))
    top_target = chain.prior * np.exp(values[T] / lam)
    top_target /= top_target.sum()
    return {"values": values, "target": target, "sampler": sampler, "clip": clip, "prior_target": top_target,
            "prior_sampler": chain.prior}


def _path_law(top: np.ndarray, kernels: list[np.ndarray]) -> dict[tuple, float]:
    """Law of (x_T, …, x_0) by enumeration of every path."""
    states, T = top.size, len(kernels)
    law = {}
    for path in itertools.product(range(states), repeat=T + 1):      # path[0] = x_T
        prob = top[path[0]]
        for i in range(T):
            prob *= kernels[T - 1 - i][path[i], path[i + 1]]
        law[path] = prob
    return law


def _marginals(top: np.ndarray, kernels: list[np.ndarray]) -> list[np.ndarray]:
    """Marginals m_T, …, m_0 (m[t] indexed by time t)."""
    out = {len(kernels): top}
    for t in reversed(range(len(kernels))):
        out[t] = out[t + 1] @ kernels[t]
    return [out[t] for t in range(len(kernels) + 1)]


def _tv(first: np.ndarray, second: np.ndarray) -> float:
    return 0.5 * float(np.abs(first - second).sum())


def _quantities(chain: FiniteChain) -> dict:
    laws = chain_laws(chain)
    hat_path = _path_law(laws["prior_sampler"], laws["sampler"])
    path = _path_law(laws["prior_target"], laws["target"])
    hat_marg = _marginals(laws["prior_sampler"], laws["sampler"])
    T = len(chain.kernels)
    kernel_tv = [0.5 * np.abs(laws["sampler"][t] - laws["target"][t]).sum(1) for t in range(T)]
    terms = [float(hat_marg[t + 1] @ kernel_tv[t]) for t in range(T)]
    return {**laws, "path_tv": 0.5 * sum(abs(hat_path[k] - path[k]) for k in path),
            "x0_tv": _tv(hat_marg[0], _marginals(laws["prior_target"], laws["target"])[0]),
            "prior_tv": _tv(laws["prior_sampler"], laws["prior_target"]), "terms": terms, "kernel_tv": kernel_tv,
            "hat_path": hat_path}


@dataclass(frozen=True)
class ChainRun:
    """A registered chain (``_chain_cases.CHAINS``) under per-step rejection with baseline ``V_{t+1}(y) + offset``
    (``offset=None``: the ideal baseline B_t = sup V_t), at the parents ``step_law`` lists, every step."""

    name: str
    offset: float | None


def _run_quantities(run: ChainRun) -> dict:
    """Per step and parent, by literal float64 sums over the step law's atoms: the soft-value sums and the chain's
    V_{t+1}(y) with the quadrature error, the kernel TV ½Σ|q − q_b| and D_y/Z_y. The path law is not enumerable
    on a continuous chain: "marginal" and "telescoping" do not apply (the claims t7.path_tv check that chain)."""
    soft, v_next, error, tv, clip = [], [], [], [], []
    for t in range(chain_steps(run.name) + 1):
        law = step_law(run.name, t, every_parent=True)
        soft.append(soft_value_sums(law))
        v_next.append(law.v_next)
        error.append(quadrature_error(run.name, t, every_parent=True))
        lam = law.lam
        b = np.full(law.v_next.shape, law.envelope) if run.offset is None else law.v_next + run.offset
        w, c = np.exp(law.V / lam), np.exp(b / lam)[:, None]
        Z = (law.p * w).sum(1, keepdims=True)
        clipped = law.p * np.minimum(w, c)
        tv.append(0.5 * np.abs(law.p * w / Z - clipped / clipped.sum(1, keepdims=True)).sum(1))
        clip.append((law.p * np.maximum(w - c, 0.0)).sum(1) / Z[:, 0])
    return {"soft": np.concatenate(soft), "v_next": np.concatenate(v_next), "error": float(np.max(np.concatenate(error))),
            "kernel_tv": tv, "clip": clip}


def _memo(function):
    cache: dict[int, tuple] = {}

    def wrapped(instance: ProofInstance):
        chain = instance.payload
        if isinstance(chain, MaskedCase):
            return function(chain, masked_quantities(chain))
        if isinstance(chain, ChainRun):
            return function(chain, _run_memo(chain))
        if id(chain) not in cache or cache[id(chain)][0] is not chain:
            cache[id(chain)] = (chain, _quantities(chain))
        return function(chain, cache[id(chain)][1])
    return wrapped


@lru_cache(maxsize=16)
def _run_memo(run: ChainRun) -> dict:
    return _run_quantities(run)


def _paths(function):
    """A step about the path law: not applicable to a continuous chain (``ChainRun``)."""
    return lambda chain, Q: None if isinstance(chain, ChainRun) else function(chain, Q)


def _values_by_paths(chain: FiniteChain, Q) -> Sides:
    """V_t(y) = λ log E[e^{r(x_0)/λ} | x_t = y] by enumerating every path below x_t (all t ≥ 1, stacked)."""
    if isinstance(chain, ChainRun):        # the one-step identity against the chain's own V_{t+1}, with quadrature
        return Sides(Q["soft"], Q["v_next"], Q["error"])
    if isinstance(chain, MaskedCase):      # the chain's own enumeration of the consistent data sequences
        return Sides(np.concatenate(Q["values"][1:]), np.concatenate(Q["direct_values"]), 1e-10)
    lam, T, S = chain.lam, len(chain.kernels), chain.reward.size
    direct = []
    for t in range(1, T + 1):
        for y in range(S):
            total = 0.0
            for below in itertools.product(range(S), repeat=t):     # x_{t−1}, …, x_0
                prob, parent = 1.0, y
                for i, child in enumerate(below):
                    prob *= chain.kernels[t - 1 - i][parent, child]
                    parent = child
                total += prob * np.exp(chain.reward[below[-1]] / lam)
            direct.append(lam * np.log(total))
    recursion = np.concatenate([Q["values"][t] for t in range(1, T + 1)])
    return Sides(recursion, np.array(direct), 1e-10)


STEPS = (
    Step("soft-values", r"V_t(y) = \lambda\log\sum_x p_t(x|y)\,e^{V_{t-1}(x)/\lambda} = \lambda\log E_p\big[e^{r(x_0)/\lambda}\,\big|\,x_t=y\big]",
         "=", "definition", numeric=_memo(_values_by_paths)),
    Step("marginal", r"\mathrm{TV}(\hat q_0,q_0) \le \mathrm{TV}(\hat q_{0:T},q_{0:T})", "≤", "data processing",
         numeric=_memo(_paths(lambda chain, Q: Sides(Q["x0_tv"], Q["path_tv"], 1e-12)))),
    Step("telescoping", r"\mathrm{TV}(\hat q_{0:T},q_{0:T}) \le \mathrm{TV}(\hat q_T,q_T) + \sum_{t<T} E_{y\sim\hat q_{t+1}}\mathrm{TV}\big(\hat q_t(\cdot|y),q_t(\cdot|y)\big)",
         "≤", "coupling", numeric=_memo(_paths(lambda chain, Q: Sides(Q["path_tv"], Q["prior_tv"] + sum(Q["terms"]), 1e-12))),
         text="Maximal couplings step by step from the top; the paths differ only if one of them fails (union bound)."),
    Step("per-step", r"\mathrm{TV}\big(\hat q_t(\cdot|y),q_t(\cdot|y)\big) \le D_y/Z_y\quad\text{(T2 with } r\to V_t,\ V\to V_{t+1}(y))",
         "≤", "lemma", cites="t2.tv_bound",
         numeric=_memo(lambda chain, Q: Sides(np.concatenate(Q["kernel_tv"]), np.concatenate(Q["clip"]), 1e-12))),
)


MASKED_SETTINGS = ((5.0, 0.0), (5.0, 0.5))
"""(B, offset) of the masked reference chain instances; (5, 0) is the registered claim's."""


CHAIN_RUNS = (("gmm-ref-B2", None), ("gmm-ref-B5", 0.0), ("gmm-ref-B5", 1.0), ("gmm-ddpm-B5", None),
              ("gmm-ddpm-B5", 1.0), ("lm-tiny-B5", None), ("lm-tiny-B5", 0.0))
"""(chain, offset) of the T7 claims on continuous and learned chains (None: t7.ideal_exact's ideal baseline)."""


def _instances() -> list[ProofInstance]:
    runs = [ProofInstance(f"{name}/" + ("ideal" if offset is None else f"offset={offset:g}"),
                          {"lambda": 1.0} | ({} if offset is None else {"offset": offset}), ChainRun(name, offset),
                          slow=True) for name, offset in CHAIN_RUNS]
    return _finite_instances() + [
        ProofInstance(f"masked-ref-B{height:g}/offset={offset:g}", {"B": height, "lambda": 1.0, "offset": offset},
                      MaskedCase(height, 1.0, offset)) for height, offset in MASKED_SETTINGS] + runs


def _finite_instances() -> list[ProofInstance]:
    settings = [(1, 3, 2, 1.0, 0.0), (2, 3, 3, 0.5, 0.3), (3, 4, 2, 1.0, -0.5), (4, 2, 4, 2.0, 0.0), (5, 3, 2, 1.0, 3.0)]
    return [ProofInstance(f"chain-seed{seed}/S={s},T={t},λ={lam},offset={off}",
                          {"S": s, "T": t, "lambda": lam, "offset": off}, finite_chain(seed, s, t, lam, off))
            for seed, s, t, lam, off in settings]


def _strategy():
    from hypothesis import strategies as st

    return st.builds(lambda seed, s, t, lam, off: ProofInstance(
        f"chain seed={seed}, S={s}, T={t}, λ={lam}, offset={off}", {"S": s, "T": t, "lambda": lam, "offset": off},
        finite_chain(seed, s, t, lam, off)),
        st.integers(0, 10_000), st.integers(2, 3), st.integers(1, 3), st.sampled_from([0.5, 1.0, 2.0]),
        st.sampled_from([-1.0, -0.3, 0.0, 0.5]))


def proofs() -> list[Proof]:
    wrong = WrongStep("telescoping-without-prior", "telescoping",
                      Step("telescoping", r"\mathrm{TV}(\hat q_{0:T},q_{0:T}) \le \sum_t E\,\mathrm{TV}(\hat q_t,q_t)", "≤",
                           "coupling", numeric=_memo(lambda chain, Q: Sides(Q["path_tv"], sum(Q["terms"]), 1e-12))),
                      "the prior's term TV(q̂_T, q_T) dropped", instance=_finite_instances()[-1].name)
    return [Proof("t7.path_tv", "T7", "Path TV of per-step tilting",
                  r"\mathrm{TV}(\hat q_0,q_0)\le\mathrm{TV}(\hat q_{0:T},q_{0:T})\le\mathrm{TV}(\hat q_T,q_T)+\sum_t E_{y\sim\hat q_{t+1}}\mathrm{TV}(\hat q_t(\cdot|y),q_t(\cdot|y))",
                  STEPS, _instances, strategy=_strategy, wrong_steps=(wrong,),
                  hypotheses=(r"per-step rejection with baselines $b_t(y)$; the prior sampled exactly from $p_T$",),
                  source="LCB spec T7")]
