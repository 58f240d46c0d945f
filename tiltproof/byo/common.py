"""Shared pieces of the bring-your-own tractability checks (tilt oracle, KL aligner, prox oracle).

* argument checks that name the argument (``check_count``, ``check_alpha_beta``), seeded generators;
* ``as_sample_array``: a user's output as an ``(n, d)`` float array, or ``ValueError`` naming the callable;
* ``ignores_generator``: draw twice with equally seeded generators; different draws mean the
  implementation ignores the generator it is handed, so its failures would not replay (the record's
  ``not_reproducible`` flag; the verdict stays what the data say);
* ``BadOutput``: the user's output breaks the protocol (wrong type, rows, width, NaN); the checks turn
  it, like ``ImplementationRaised``, into an ``error`` record naming what was returned;
* exact signal curves between two claimed laws: projection KS of Gaussian mixtures (closed-form CDFs
  on a fine grid: the grid supremum is a lower bound on the true one, so a power stated from it is
  conservative), KS between gridded CDFs (bracket lower bound) and the TV of finite laws.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch
from scipy.special import ndtr

from estimators.projection_fit import GridCDF, Projection
from primitives._checks import check_unit_interval, resolve_device
from tiltproof.byo.verification import TestOutcome, VerificationRecord
from tiltproof.core.outcome import error_outcome

__all__ = ["ImplementationRaised", "BadOutput", "NOT_REPRODUCIBLE", "call_user", "error_record", "check_count",
           "check_alpha_beta", "seeded",
           "as_sample_array", "ignores_generator", "mixture_projections", "mixture_ks", "gridded_ks_lower", "finite_tv",
           "fit_outcome", "Mixture"]

Mixture = tuple[np.ndarray, np.ndarray, np.ndarray]   # (weights (K,), means (K, d), covs (K, d, d))
_GRID_POINTS = 4001
_GRID_WIDTH_SDS = 8.0


def check_count(name: str, value, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer ≥ {minimum}, got {value!r}")
    return int(value)


def check_alpha_beta(alpha: float, beta: float) -> tuple[float, float]:
    return check_unit_interval("alpha", alpha), check_unit_interval("beta", beta)


def seeded(seed: int, device: torch.device, stream: int = 0) -> torch.Generator:
    generator = torch.Generator(device=device)
    generator.manual_seed(int(np.random.SeedSequence([int(seed), stream]).generate_state(1)[0]))
    return generator


def check_seed_device(seed, device) -> tuple[int, torch.device]:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed), resolve_device(device)


class ImplementationRaised(Exception):
    """The user's implementation raised while being checked: the verdict is ``error``, not a crash of the check."""

    def __init__(self, name: str, error: BaseException) -> None:
        super().__init__(f"{name} raised {type(error).__name__}: {error}")
        self.name, self.error = name, error


class BadOutput(ValueError):
    """The user's implementation returned something the protocol does not allow (named in the message)."""


NOT_REPRODUCIBLE = ("two equally seeded draws differed: the implementation draws randomness from somewhere other "
                    "than the generator it is handed, so no run of this check can be replayed; draw only from "
                    "`generator`")


def call_user(name: str, function: Callable, *args, **kwargs) -> Any:
    """``function(*args, **kwargs)``, with any exception it raises wrapped as ``ImplementationRaised``."""
    try:
        return function(*args, **kwargs)
    except Exception as error:  # noqa: BLE001 - whatever the user's code raises is reported, not re-raised
        raise ImplementationRaised(name, error) from error


def error_record(family: str, instance: str, *, alpha: float, beta: float, seed: int, message: str,
                 tests: tuple[TestOutcome, ...] = (), details: dict | None = None) -> VerificationRecord:
    """Verdict ``error``: the implementation could not be checked; the tests finished so far are kept."""
    return error_outcome(VerificationRecord, message=message, details=details, family=family, instance=instance,
                         alpha=alpha, beta=beta, seed=seed, tests=tuple(tests))


def _unwrap(output: Any, fields: tuple[str, ...]) -> Any:
    for field in fields:
        if not isinstance(output, (torch.Tensor, np.ndarray)) and hasattr(output, field):
            return getattr(output, field)
    return output


def as_sample_array(name: str, output: Any, n: int, dim: int, *, fields: tuple[str, ...] = ("samples",)) -> np.ndarray:
    """``output`` (a tensor, an array, or an object with one of ``fields``) as an ``(n, dim)`` float array.

    Raises ``ValueError`` naming ``name`` (the user's callable) for a wrong row count, a wrong width or
    non-finite values: the protocol is broken, so there is nothing to test.
    """
    output = _unwrap(output, fields)
    try:
        array = output.detach().cpu().numpy() if isinstance(output, torch.Tensor) else np.asarray(output)
        array = array.astype(float)
    except (TypeError, ValueError):
        raise BadOutput(f"{name} must return a numeric (n, {dim}) tensor or array, "
                        f"got {type(output).__name__}") from None
    if array.ndim == 0:
        raise BadOutput(f"{name} returned a scalar ({type(output).__name__}), expected ({n}, {dim}) samples")
    if array.ndim == 1 and dim == 1:
        array = array[:, None]
    if array.ndim != 2 or array.shape[1] != dim:
        raise BadOutput(f"{name} returned samples of shape {array.shape}, expected ({n}, {dim})")
    if array.shape[0] != n:
        raise BadOutput(f"{name} returned {array.shape[0]} rows when asked for n={n}")
    if not np.isfinite(array).all():
        raise BadOutput(f"{name} returned non-finite values (NaN or ±inf)")
    return array


def ignores_generator(draw: Callable[[int, torch.Generator], Any], seed: int, device: torch.device,
                      n: int = 8) -> bool:
    """True when two draws with equally seeded generators differ (the generator is not the only randomness)."""
    first = draw(n, seeded(seed, device, stream=99))   # both draws: the caller wraps user calls (call_user)
    second = draw(n, seeded(seed, device, stream=99))
    return not np.array_equal(first, second)


# ---------------------------------------------------------------------------- signal curves
def _mixture_cdf(mixture: Mixture, u: np.ndarray) -> tuple[Callable[[np.ndarray], np.ndarray], np.ndarray, np.ndarray]:
    weights, means, covs = mixture
    centres = means @ u
    scales = np.sqrt(np.einsum("i,kij,j->k", u, covs, u))

    def cdf(y: np.ndarray) -> np.ndarray:
        return (weights[None, :] * ndtr((y[:, None] - centres[None, :]) / scales[None, :])).sum(-1)

    return cdf, centres, scales


def mixture_projections(mixture: Mixture, directions: dict[str, np.ndarray]) -> list[Projection]:
    """Closed-form CDFs of ``⟨u, X⟩`` for each direction, ``X ~ Σ_k w_k N(μ_k, Σ_k)``."""
    return [Projection(name, np.asarray(u, float), _mixture_cdf(mixture, np.asarray(u, float))[0])
            for name, u in directions.items()]


def mixture_ks(first: Mixture, second: Mixture, directions: dict[str, np.ndarray]) -> float:
    """``max_u sup_y |F_u(y) − G_u(y)|`` over ``directions`` (a grid supremum: a lower bound)."""
    largest = 0.0
    for u in directions.values():
        cdf_a, centres_a, scales_a = _mixture_cdf(first, u)
        cdf_b, centres_b, scales_b = _mixture_cdf(second, u)
        low = min((centres_a - _GRID_WIDTH_SDS * scales_a).min(), (centres_b - _GRID_WIDTH_SDS * scales_b).min())
        high = max((centres_a + _GRID_WIDTH_SDS * scales_a).max(), (centres_b + _GRID_WIDTH_SDS * scales_b).max())
        grid = np.linspace(low, high, _GRID_POINTS)
        largest = max(largest, float(np.abs(cdf_a(grid) - cdf_b(grid)).max()))
    return largest


def gridded_ks_lower(first: GridCDF, second: GridCDF) -> float:
    """A lower bound on ``sup_y |F(y) − G(y)|`` for monotone F, G known on grids up to their errors.

    At each grid point y of F, F(y) ∈ [v − e, v + e] and G(y) lies between G's values at the grid
    points around y (widened by G's error), so the distance between the two intervals is a lower bound.
    """
    padded = np.concatenate([[0.0], second.values, [1.0]])
    index = np.searchsorted(second.grid, first.grid, side="left")
    g_low = np.clip(padded[index] - second.error, 0.0, 1.0)
    g_high = np.clip(padded[index + 1] + second.error, 0.0, 1.0)
    f_low, f_high = first.values - first.error, first.values + first.error
    gaps = np.maximum.reduce([f_low - g_high, g_low - f_high, np.zeros_like(f_low)])
    return float(gaps.max())


def finite_tv(first: np.ndarray, second: np.ndarray) -> float:
    return 0.5 * float(np.abs(np.asarray(first, float) - np.asarray(second, float)).sum())


def fit_outcome(name: str, fit, alpha: float, *, allowance: float = 0.0, gap_units: str = "KS distance",
                details: dict | None = None) -> TestOutcome:
    """A ``law_tests.FitResult`` (projection KS or multinomial TV) as a ``TestOutcome``."""
    threshold = fit.threshold + allowance
    statistic = fit.name + (f" (+ allowance {allowance:.3g})" if allowance else "")
    return TestOutcome(name=name, statistic=statistic, value=float(fit.statistic), threshold=float(threshold),
                       n=int(fit.n), alpha=alpha, detectable_gap=float(fit.detectable_gap + allowance),
                       gap_units=gap_units, rejected=bool(fit.statistic > threshold),
                       details={"per_projection": {key: float(value) for key, value in fit.per_projection.items()},
                                **(details or {})})


def x0_samples(output: Any, n: int, state_shape: tuple[int, ...]) -> torch.Tensor:
    """A sampler's x_0 (a tensor or array with n rows, or ``.samples`` of an object), validated:
    ``ValueError`` for the wrong number of rows, the wrong state shape, or non-finite values."""
    samples = getattr(output, "samples", output)
    if not isinstance(samples, torch.Tensor):
        samples = torch.as_tensor(np.asarray(samples))
    if samples.ndim == 0 or samples.shape[0] != n:
        rows = "a scalar" if samples.ndim == 0 else f"{samples.shape[0]} rows"
        raise ValueError(f"sampler returned {rows} when asked for n={n}")
    if tuple(samples.shape[1:]) != tuple(state_shape):
        raise ValueError(f"sampler returned samples of shape {tuple(samples.shape)}, expected (n, "
                         f"{', '.join(map(str, state_shape))})")
    if samples.is_floating_point() and not torch.isfinite(samples).all():
        raise ValueError("sampler returned non-finite samples (NaN or inf)")
    return samples
