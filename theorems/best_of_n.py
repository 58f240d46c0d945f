"""Best-of-N: the KL bound ``KL(π_BoN ‖ p) ≤ log N − (N−1)/N`` and its exact value (theorem "BoN").

π_BoN is the law of the first argmax of r over N independent draws from p (``primitives.best_of_n``).
With F the CDF of R = r(X) under p, the selected reward has CDF F^N and, given its level v, the output
is p conditioned on {r = v}. So π_BoN has density ``g(v)/P_p(R = v)`` w.r.t. p on {r = v}, with
``g(v) = F(v)^N − F(v−)^N``, and the KL is that of the reward laws:

    KL(π_BoN ‖ p) = Σ_v g(v) log(g(v)/P_p(R = v))                      (finite reward law, exact sum)
    KL(π_BoN ‖ p) = ∫ N F^{N−1} log(N F^{N−1}) dF = log N − (N−1)/N       (continuous reward law)

(F(R) ~ Beta(N, 1) under π_BoN and E log F(R) = −1/N). The bound ``log N − (N−1)/N`` holds for every
reward law, with equality exactly for continuous ones and strict inequality for laws with atoms
(Beirami et al. 2024, "Theoretical guarantees on the best-of-n alignment policy", arXiv 2401.01879).

Claims registered here, on four exactly computable instances (``INSTANCES``) and N ∈ ``N_VALUES``:

* ``bon.sampler_law/<instance>/N=<N>`` — ``best_of_n_sample`` outputs π_BoN. Continuous reward law:
  KS distance between the selected rewards and F^N against the DKW radius ε(α) (the rewards are
  injective functions of x on these instances, so this is the whole law). Finite law: multinomial
  TV(p̂_n, π_BoN) against ½Σ√(π_i/n) + √(log(1/α)/2n). n detects a gap ``FIT_GAP`` w.p. ≥ 1 − β.
* ``bon.kl_bound/<instance>/N=<N>`` — ``KL(π_BoN ‖ p) ≤ log N − (N−1)/N``. Exact side: the KL by
  enumeration (finite) or by adaptive quadrature over the reward density (continuous). Empirical side:
  a lower confidence bound on KL(law of the sampler's output ‖ p) by data processing onto one event
  A = {R ≥ v}: ``KL ≥ kl(π(A) ‖ p(A))``, and a one-sided Clopper–Pearson lower bound on π(A) gives
  a lower bound on the binary kl (increasing in π(A) above p(A)). A is fixed in advance from the
  claimed law (the level maximising the binary kl under π_BoN), never from the data.
* ``bon.kl_exact/<instance>/N=<N>`` (continuous instances) — ``KL(π_BoN ‖ p) = log N − (N−1)/N``:
  the quadrature value must equal the closed form within its stated error.

Nothing outside this module (and the sampler under test) was changed to add the theorem: the
registry finds ``claims()`` and ``mutants()`` here (see docs/adding-a-theorem.md).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import partial
from typing import Callable

import numpy as np
import sympy
import torch
from scipy import integrate
from scipy.special import logsumexp

from estimators.binomial import binomial_detectable_rate, clopper_pearson_lower
from estimators.dkw import dkw_radius, ks_distance
from estimators.multinomial_tv import multinomial_tv_radius
from estimators.binomial import min_num_samples_for_binomial_upper_test
from estimators.dkw import min_num_samples_for_dkw_cdf_test
from estimators.multinomial_tv import min_num_samples_for_multinomial_tv_test
from estimators.exact.tilted_law import reward_law
from estimators.exact.reward_law import DiscreteLaw, NormalMixtureLaw, RewardLaw
from primitives.best_of_n import best_of_n_sample
from primitives.laws import BaseLaw, Categorical, Gaussian, GaussianMixture
from primitives.rewards import LinearReward, Reward, TableReward
from tiltproof.core import symbols as sym
from tiltproof.api import CheckContext, Claim, Evidence, Hypothesis, Mutant, interval_evidence, upper_bound_evidence

__all__ = [
    "N_SYMBOL", "KL_BOUND", "BoNInstance", "INSTANCES", "N_VALUES", "claims", "mutants",
    "log_level_probabilities", "selected_level_log_probabilities", "category_log_probabilities",
    "kl_exact_discrete", "kl_closed_form", "kl_by_quadrature", "binary_kl",
]

MODULE = "best_of_n"
THEOREM = "BoN"
FIT_GAP = 0.03      # smallest KS (continuous) or TV (finite) gap the sampler-law check detects w.p. ≥ 1 − β
KL_GAP = 0.05       # smallest excess of the event's binary kl over the bound the KL check detects w.p. ≥ 1 − β
N_VALUES = (4, 16)

#: the number of draws N (a positive integer)
N_SYMBOL = sympy.Symbol("N", positive=True, integer=True)
#: F, the CDF of r(X) under p; the selected reward has CDF F^N
CDF_SYMBOL = sympy.Symbol("F", nonnegative=True)
#: BoN: KL(π_BoN ‖ p) ≤ log N − (N−1)/N (equality for continuous reward laws)
KL_BOUND = sympy.log(N_SYMBOL) - (N_SYMBOL - 1) / N_SYMBOL

# A sampler under test: (base, reward, N, n, generator) -> samples; the default is best_of_n_sample.
BoNSampler = Callable[[BaseLaw, Reward, int, int, torch.Generator], torch.Tensor]


def default_sampler(base: BaseLaw, reward: Reward, N: int, n: int, generator: torch.Generator) -> torch.Tensor:
    return best_of_n_sample(base, reward, N, n, generator=generator).samples


# ---------------------------------------------------------------- instances
@dataclass(frozen=True)
class BoNInstance:
    """A base law and reward whose reward law under p is exactly computable."""

    name: str
    description: str
    make_base: Callable[[torch.device | str], BaseLaw]
    reward: Reward

    def base(self, device: torch.device | str = "cpu") -> BaseLaw:
        return self.make_base(device)

    @property
    def law(self) -> RewardLaw:
        return reward_law(self.make_base("cpu"), self.reward)

    @property
    def continuous(self) -> bool:
        return isinstance(self.law, NormalMixtureLaw)


_K8_PROBS = np.array([0.30, 0.20, 0.15, 0.12, 0.10, 0.07, 0.04, 0.02])
_K8_REWARDS = np.array([0.0, -1.2, 0.7, 2.0, -0.3, 1.1, 2.6, 3.1])
# Ties: categories 0 and 4 share r = 1, categories 1, 3 and 5 share r = 2; category 5 is the rarest
# of its level, so a tie rule that prefers larger indices moves visible mass (see ``mutants``).
_TIES_PROBS = np.array([0.35, 0.25, 0.15, 0.10, 0.10, 0.05])
_TIES_REWARDS = np.array([1.0, 2.0, 0.0, 2.0, 1.0, 2.0])

INSTANCES: dict[str, BoNInstance] = {
    instance.name: instance
    for instance in [
        BoNInstance("normal-d1", r"$p=\mathcal N(0,1)$, $r(x)=x$ (continuous reward law)",
                    lambda device: Gaussian([0.0], [[1.0]], device=device), LinearReward([1.0])),
        BoNInstance("mixture-d1", r"$p=0.7\,\mathcal N(-1,0.5^2)+0.3\,\mathcal N(2,1)$, $r(x)=2x-1$ (continuous, bimodal)",
                    lambda device: GaussianMixture([0.7, 0.3], [[-1.0], [2.0]], [[[0.25]], [[1.0]]], device=device),
                    LinearReward([2.0], offset=-1.0)),
        BoNInstance("finite-k8", r"8-point law, distinct rewards (atoms: KL strictly below the bound)",
                    lambda device: Categorical(_K8_PROBS, device=device), TableReward(_K8_REWARDS)),
        BoNInstance("finite-ties-k6", r"6-point law, tied rewards (the tie rule matters)",
                    lambda device: Categorical(_TIES_PROBS, device=device), TableReward(_TIES_REWARDS)),
    ]
}


# ---------------------------------------------------------------- exact law of the output
def log_level_probabilities(law: DiscreteLaw) -> tuple[np.ndarray, np.ndarray]:
    """(sorted distinct reward levels v, log P_p(R = v)) over the support of a finite reward law."""
    support = law.log_probs > -np.inf
    levels, inverse = np.unique(law.values[support], return_inverse=True)
    log_probs = law.log_probs[support]
    peak = np.full(levels.size, -np.inf)
    np.maximum.at(peak, inverse, log_probs)
    total = np.zeros(levels.size)
    np.add.at(total, inverse, np.exp(log_probs - peak[inverse]))  # logsumexp per level
    return levels, peak + np.log(total)


def _log1mexp(x: np.ndarray) -> np.ndarray:
    """``log(1 − e^x)`` for x ≤ 0, accurately on both sides of −log 2 (Mächler 2012)."""
    x = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore"):
        return np.where(x > -math.log(2.0), np.log(-np.expm1(x)), np.log1p(-np.exp(x)))


def selected_level_log_probabilities(law: DiscreteLaw, N: int) -> tuple[np.ndarray, np.ndarray]:
    """(levels v, log g(v)) with ``g(v) = F(v)^N − F(v−)^N``: the law of the selected reward."""
    levels, log_mass = log_level_probabilities(law)
    log_cdf = np.logaddexp.accumulate(log_mass)
    log_cdf = np.minimum(log_cdf - log_cdf[-1], 0.0)  # F(max level) = 1 exactly
    log_cdf_left = np.concatenate([[-np.inf], log_cdf[:-1]])
    log_g = N * log_cdf + _log1mexp(N * (log_cdf_left - log_cdf))
    return levels, log_g


def category_log_probabilities(law: DiscreteLaw, N: int) -> np.ndarray:
    """log π_BoN(i) for each category i: ``log p_i − log P_p(R = r_i) + log g(r_i)`` (−inf off support)."""
    levels, log_mass = log_level_probabilities(law)
    _, log_g = selected_level_log_probabilities(law, N)
    out = np.full(law.values.shape, -np.inf)
    support = law.log_probs > -np.inf
    index = np.searchsorted(levels, law.values[support])
    out[support] = law.log_probs[support] - log_mass[index] + log_g[index]
    return out


def kl_exact_discrete(law: DiscreteLaw, N: int) -> float:
    """``Σ_v g(v) log(g(v)/P_p(R = v))`` by enumeration of the reward levels."""
    _, log_mass = log_level_probabilities(law)
    _, log_g = selected_level_log_probabilities(law, N)
    present = log_g > -np.inf
    return float(np.sum(np.exp(log_g[present]) * (log_g[present] - log_mass[present])))


def kl_closed_form(N: int) -> float:
    """``log N − (N−1)/N`` evaluated from the sympy bound."""
    return sym.evaluate(KL_BOUND, {N_SYMBOL: N})


def kl_by_quadrature(law: NormalMixtureLaw, N: int) -> tuple[float, float]:
    """``∫ f(r) w(r) log w(r) dr`` with ``w = N F^{N−1}``, adaptive quadrature over the mixture's
    density on ±40 standard deviations around its components (the tails beyond are below e^{−800}).
    Returns (value, quadrature error estimate)."""
    log_n = math.log(N)

    def integrand(value: float) -> float:
        log_cdf = float(law.log_mass_below(0.0, value))
        log_density = float(logsumexp(law.log_weights - 0.5 * ((value - law.means) / law.stds) ** 2
                                      - np.log(law.stds) - 0.5 * math.log(2 * math.pi)))
        log_weight = log_n + (N - 1) * log_cdf
        return math.exp(log_density + log_weight) * log_weight

    low = float(np.min(law.means - 40 * law.stds))
    high = float(np.max(law.means + 40 * law.stds))
    points = sorted(set(np.round(law.means, 12).tolist()))
    value, error = integrate.quad(integrand, low, high, points=points, limit=500, epsabs=1e-12, epsrel=1e-10)
    return float(value), float(error)


def _reward_log_cdf(law: NormalMixtureLaw, values: np.ndarray) -> np.ndarray:
    return np.asarray(law.log_mass_below(0.0, values), dtype=float)


# ---------------------------------------------------------------- the data-processing KL lower bound
def binary_kl(a: float, b: float) -> float:
    """``kl(a ‖ b) = a log(a/b) + (1−a) log((1−a)/(1−b))`` for Bernoulli laws (0 log 0 = 0)."""
    total = 0.0
    if a > 0:
        total += a * math.log(a / b)
    if a < 1:
        total += (1 - a) * math.log((1 - a) / (1 - b))
    return total


@dataclass(frozen=True)
class Event:
    """A = {R ≥ threshold} with its exact probabilities under p and under the claimed π_BoN."""

    threshold: float
    base_probability: float
    claimed_probability: float


def best_event(instance: BoNInstance, N: int, bound: float, gap: float = KL_GAP) -> Event:
    """The upper set A = {R ≥ v} used by the KL check, fixed from the claimed law alone.

    Candidates: v over the reward levels above the lowest (finite laws), v = F^{-1}(t) over a grid of
    t (continuous). Among those on which a violation is detectable at all (``−log p(A) > bound + gap``:
    the binary kl can exceed the bound), the one maximising kl(π_BoN(A) ‖ p(A)); if there is none, the
    one maximising it overall (the empirical side then has no power and says so).
    """
    law = instance.law
    candidates: list[Event] = []
    if isinstance(law, DiscreteLaw):
        levels, log_mass = log_level_probabilities(law)
        mass = np.exp(log_mass)
        cdf_left = np.concatenate([[0.0], np.cumsum(mass)[:-1]])
        for v, left in zip(levels[1:], cdf_left[1:]):
            candidates.append(Event(float(v), 1.0 - float(left), 1.0 - float(left) ** N))
    else:
        from scipy.optimize import brentq

        for t in np.linspace(0.05, 0.99, 95):
            threshold = brentq(lambda y: float(_reward_log_cdf(law, np.array([y]))[0]) - math.log(t), -1e3, 1e3,
                               xtol=1e-13)
            candidates.append(Event(float(threshold), 1.0 - t, 1.0 - t**N))
    testable = [event for event in candidates if -math.log(event.base_probability) > bound + gap]
    return max(testable or candidates, key=lambda event: binary_kl(event.claimed_probability, event.base_probability))


def kl_sample_size(event: Event, bound: float, alpha: float, beta: float, gap: float = KL_GAP) -> tuple[int, float]:
    """Smallest n (``estimators.binomial``: one-sided CP test of "π(A) ≤ critical") at which a sampler whose event probability has binary kl
    ``bound + gap`` is detected w.p. ≥ 1 − β; returns (n, the detectable excess in kl units).

    Returns the detectable excess ``inf`` when even π(A) = 1 cannot exceed the bound (−log p(A) ≤ bound).
    """
    base = event.base_probability
    if -math.log(base) <= bound + gap:
        return 4096, math.inf
    from scipy.optimize import brentq

    target = brentq(lambda a: binary_kl(a, base) - (bound + gap), base, 1.0)
    critical = brentq(lambda a: binary_kl(a, base) - bound, base, target)
    n = min_num_samples_for_binomial_upper_test(critical, target, alpha=alpha, beta=beta)
    return n, binary_kl(binomial_detectable_rate(n, alpha, beta, critical), base) - bound


# ---------------------------------------------------------------- checks
def _selected_rewards(instance: BoNInstance, samples: torch.Tensor) -> np.ndarray:
    return instance.reward(samples).cpu().numpy()


def check_sampler_law(instance: BoNInstance, N: int, context: CheckContext,
                      sampler: BoNSampler = default_sampler) -> Evidence:
    law = instance.law
    base = instance.base(context.device)
    if isinstance(law, DiscreteLaw):
        probs = np.exp(category_log_probabilities(law, N))
        n = min_num_samples_for_multinomial_tv_test(FIT_GAP, probs, alpha=context.alpha, beta=context.beta)
        samples = sampler(base, instance.reward, N, n, context.generator()).cpu().numpy().astype(np.int64)
        counts = np.bincount(samples, minlength=probs.size) / n
        statistic = 0.5 * float(np.abs(counts - probs).sum())
        threshold = multinomial_tv_radius(n, context.alpha, probs=probs)
        detectable = threshold + multinomial_tv_radius(n, context.beta, support_size=probs.size)
        name = "multinomial TV(p̂_n, π_BoN) vs ½Σ√(π_i/n) + √(log(1/α)/2n)"
        details = {"categories": list(range(probs.size)), "claimed": probs.tolist(), "empirical": counts.tolist()}
    else:
        n = min_num_samples_for_dkw_cdf_test(FIT_GAP, alpha=context.alpha, beta=context.beta)
        samples = sampler(base, instance.reward, N, n, context.generator())
        rewards = _selected_rewards(instance, samples)
        claimed_cdf = lambda y: np.exp(N * _reward_log_cdf(law, np.asarray(y, dtype=float)))
        statistic = ks_distance(rewards, claimed_cdf)
        threshold = dkw_radius(n, context.alpha)
        detectable = threshold + dkw_radius(n, context.beta)
        name = "KS(selected rewards, F^N) vs DKW ε(α)"
        grid = np.quantile(rewards, np.linspace(0.005, 0.995, 41))
        details = {"grid": grid.tolist(), "claimed_cdf": claimed_cdf(grid).tolist(),
                   "empirical_cdf": (np.searchsorted(np.sort(rewards), grid, side="right") / n).tolist(),
                   "band": threshold}
    rejected = statistic > threshold
    return Evidence(
        holds=not rejected, statistic=name, bound=threshold, empirical=statistic, confidence_bound=statistic, n=n,
        detectable_gap=detectable, margin=threshold - statistic,
        detectable_gap_units="TV of the output law" if isinstance(law, DiscreteLaw) else "KS of the selected reward",
        message=f"sample law differs from π_BoN: statistic {statistic:.4g} > {threshold:.4g}" if rejected else "",
        details={"N": N, **details},
    )


def exact_kl(instance: BoNInstance, N: int) -> tuple[float, float]:
    """(exact KL(π_BoN ‖ p), its numerical error): enumeration for finite laws, quadrature otherwise."""
    law = instance.law
    if isinstance(law, DiscreteLaw):
        return kl_exact_discrete(law, N), 0.0
    return kl_by_quadrature(law, N)


def check_kl_bound(instance: BoNInstance, N: int, context: CheckContext, sampler: BoNSampler = default_sampler,
                   bound_expression: sympy.Expr = KL_BOUND) -> Evidence:
    bound = sym.evaluate(bound_expression, {N_SYMBOL: N})
    exact, error = exact_kl(instance, N)
    event = best_event(instance, N, bound)
    n, detectable = kl_sample_size(event, bound, context.alpha, context.beta)
    samples = sampler(instance.base(context.device), instance.reward, N, n, context.generator())
    hits = int((_selected_rewards(instance, samples) >= event.threshold).sum())
    lower_probability = clopper_pearson_lower(hits, n, context.alpha)
    lower_kl = binary_kl(lower_probability, event.base_probability) if lower_probability > event.base_probability else 0.0
    return upper_bound_evidence(
        statistic="exact KL (enumeration / adaptive quadrature, error added to the tolerance); lower confidence "
                  "bound kl(CP_α lower bound on π(A) ‖ p(A)) ≤ KL by data processing onto A = {R ≥ v}",
        bound=bound, exact=exact, empirical=binary_kl(hits / n, event.base_probability), lower_confidence=lower_kl,
        n=n * N, detectable_gap=detectable, exact_tolerance=error,
        details={"N": N, "event_threshold": event.threshold, "event_base_probability": event.base_probability,
                 "event_claimed_probability": event.claimed_probability, "event_hits": hits, "draws": n,
                 "quadrature_error": error, "closed_form": kl_closed_form(N),
                 "empirical_side_can_fail": not math.isinf(detectable)},
        # The statistic sees a sampler only through the event A: a KL excess is detected when the event's
        # binary kl (a lower bound on the KL, by data processing) exceeds the bound by the detectable gap.
        units=("kl(π(A) ‖ p(A)) above the bound (KL ≥ it: a KL excess may hide off A)" if math.isfinite(detectable)
               else "none: no event A can show an excess here (−log p(A) ≤ bound + gap); only the exact side is tested"),
    )


def check_kl_exact(instance: BoNInstance, N: int, context: CheckContext,
                   value_expression: sympy.Expr = KL_BOUND) -> Evidence:
    claimed = sym.evaluate(value_expression, {N_SYMBOL: N})
    law = instance.law
    if not isinstance(law, NormalMixtureLaw):
        raise ValueError(f"instance {instance.name!r} has no continuous reward law")
    value, error = kl_by_quadrature(law, N)
    return interval_evidence(
        statistic="closed form vs adaptive quadrature of ∫ N F^{N−1} log(N F^{N−1}) dF (error estimate added)",
        value=claimed, exact=value, empirical=None, interval=None, n=0, detectable_gap=error + 1e-10,
        exact_tolerance=error + 1e-10, details={"N": N, "quadrature_error": error},
        units="KL (exact comparison: tolerance)",
    )


# ---------------------------------------------------------------- registration
STATEMENT_LAW = (r"X_1,\dots,X_N \overset{\text{iid}}{\sim} p,\ \hat X = X_{\arg\max_i r(X_i)} \ \Rightarrow\ "
                 r"\hat X \sim \pi_{\mathrm{BoN}},\quad \frac{d\pi_{\mathrm{BoN}}}{dp}(x) = "
                 r"\frac{F(r(x))^N - F(r(x)^-)^N}{P_p(r(X) = r(x))}")
STATEMENT_BOUND = r"\mathrm{KL}(\pi_{\mathrm{BoN}} \,\|\, p) \le \log N - \frac{N-1}{N}"
STATEMENT_EXACT = r"F \text{ continuous} \Rightarrow \mathrm{KL}(\pi_{\mathrm{BoN}} \,\|\, p) = \log N - \frac{N-1}{N}"


def _n_hypothesis(N: int) -> Hypothesis:
    return Hypothesis(r"$N \ge 1$ is an integer", lambda: isinstance(N, int) and N >= 1)


def _exact_law_hypothesis(instance: BoNInstance) -> Hypothesis:
    return Hypothesis("the reward law under $p$ is exactly computable (finite, or a normal mixture)",
                      lambda: isinstance(instance.law, (DiscreteLaw, NormalMixtureLaw)))


def claims() -> list[Claim]:
    out: list[Claim] = []
    for instance in INSTANCES.values():
        common = dict(theorem=THEOREM, module=MODULE, instance=instance.name)
        for N in N_VALUES:
            params = {"N": float(N)}
            out += [
                Claim(id=f"bon.sampler_law/{instance.name}/N={N}", title="best-of-N outputs π_BoN",
                      statement=STATEMENT_LAW, bound_expression=CDF_SYMBOL**N_SYMBOL,
                      hypotheses=(_n_hypothesis(N), _exact_law_hypothesis(instance)), parameters=params,
                      check=partial(check_sampler_law, instance, N), **common),
                Claim(id=f"bon.kl_bound/{instance.name}/N={N}", title="KL(π_BoN ‖ p) ≤ log N − (N−1)/N",
                      statement=STATEMENT_BOUND, bound_expression=KL_BOUND,
                      hypotheses=(_n_hypothesis(N), _exact_law_hypothesis(instance)), parameters=params,
                      check=partial(check_kl_bound, instance, N), **common),
            ]
            if instance.continuous:
                out.append(Claim(
                    id=f"bon.kl_exact/{instance.name}/N={N}", title="exact KL for a continuous reward law",
                    statement=STATEMENT_EXACT, bound_expression=KL_BOUND,
                    hypotheses=(_n_hypothesis(N), Hypothesis("the reward law under $p$ is continuous (no atoms)",
                                                             lambda i=instance: i.continuous)),
                    parameters=params, check=partial(check_kl_exact, instance, N), **common))
    return out


# ---------------------------------------------------------------- deliberately wrong variants
def argmin_sampler(base: BaseLaw, reward: Reward, N: int, n: int, generator: torch.Generator) -> torch.Tensor:
    """Returns the *lowest*-reward draw (a sign error in the reward)."""
    negated = LinearReward(-reward.theta, -reward.offset) if isinstance(reward, LinearReward) else \
        TableReward(-reward.values)
    return best_of_n_sample(base, negated, N, n, generator=generator).samples


def double_n_sampler(base: BaseLaw, reward: Reward, N: int, n: int, generator: torch.Generator) -> torch.Tensor:
    """Best of 2N draws while claiming N (an off-by-factor batch size)."""
    return best_of_n_sample(base, reward, 2 * N, n, generator=generator).samples


def larger_index_tie_sampler(base: BaseLaw, reward: Reward, N: int, n: int, generator: torch.Generator) -> torch.Tensor:
    """Breaks reward ties by the larger category index (a lexicographic argmax over (r(x), x)),
    which favours particular points within a reward level instead of p's proportions."""
    if not isinstance(reward, TableReward):
        raise ValueError("larger_index_tie_sampler needs a finite law with a TableReward")
    spread = np.diff(np.unique(reward.values)).min() if np.unique(reward.values).size > 1 else 1.0
    jitter = 0.5 * spread * np.arange(reward.values.size) / reward.values.size
    return best_of_n_sample(base, TableReward(reward.values + jitter), N, n, generator=generator).samples


def _variant(claim_id: str, suffix: str, check, bound_expression: sympy.Expr | None = None) -> Claim:
    claim = next(claim for claim in claims() if claim.id == claim_id)
    return dataclasses.replace(claim, id=f"{claim.id}#{suffix}", check=check,
                               bound_expression=bound_expression if bound_expression is not None else claim.bound_expression)


def mutants() -> list[Mutant]:
    normal, mixture, ties = INSTANCES["normal-d1"], INSTANCES["mixture-d1"], INSTANCES["finite-ties-k6"]
    log_n_minus_one = sympy.log(N_SYMBOL) - 1
    log_n = sympy.log(N_SYMBOL)
    return [
        Mutant("bon-argmin", THEOREM, "a sampler returning the arg-min of the reward",
               _variant("bon.sampler_law/normal-d1/N=4", "argmin",
                        partial(check_sampler_law, normal, 4, sampler=argmin_sampler))),
        Mutant("bon-best-of-2n", THEOREM, "a sampler that takes the best of 2N draws, checked against the KL bound",
               _variant("bon.kl_bound/mixture-d1/N=4", "best-of-2n",
                        partial(check_kl_bound, mixture, 4, sampler=double_n_sampler))),
        Mutant("bon-ties-larger-index", THEOREM, "ties broken towards larger category indices",
               _variant("bon.sampler_law/finite-ties-k6/N=4", "ties-larger-index",
                        partial(check_sampler_law, ties, 4, sampler=larger_index_tie_sampler))),
        Mutant("bon-bound-log-n-minus-one", THEOREM, "the bound log N − 1 in place of log N − (N−1)/N",
               _variant("bon.kl_bound/normal-d1/N=16", "log-n-minus-one",
                        partial(check_kl_bound, normal, 16, bound_expression=log_n_minus_one), log_n_minus_one)),
        Mutant("bon-kl-exact-log-n", THEOREM, "the exact KL claimed as log N (the −(N−1)/N term dropped)",
               _variant("bon.kl_exact/mixture-d1/N=16", "log-n",
                        partial(check_kl_exact, mixture, 16, value_expression=log_n), log_n)),
    ]


def proofs():
    """The proof of the KL bound as data (``theorems/proofs/best_of_n.py``; imported lazily: it imports this module)."""
    from theorems.proofs.best_of_n import proofs as declared

    return declared()
