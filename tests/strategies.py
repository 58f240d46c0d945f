"""Hypothesis strategies: drawn instances in the ranges the issues name (λ ∈ [0.05, 20], d ≤ 8,
mixtures of up to 5 components, δ ∈ [1e-6, 0.5])."""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from primitives import Categorical, Gaussian, GaussianMixture, LinearReward, StepReward, TableReward

lams = st.floats(min_value=0.05, max_value=20.0)
deltas = st.floats(min_value=1e-6, max_value=0.5)
seeds = st.integers(min_value=0, max_value=2**31 - 1)


def _spd(rng: np.random.Generator, d: int) -> np.ndarray:
    factor = rng.normal(size=(d, d))
    return factor @ factor.T / d + 0.3 * np.eye(d)


@st.composite
def gaussian_linear(draw, max_dim: int = 8):
    d = draw(st.integers(1, max_dim))
    rng = np.random.default_rng(draw(seeds))
    base = Gaussian(rng.normal(size=d), _spd(rng, d))
    return base, LinearReward(rng.normal(size=d), offset=float(rng.normal()))


@st.composite
def mixture_linear(draw, max_dim: int = 4, max_components: int = 5):
    d = draw(st.integers(1, max_dim))
    k = draw(st.integers(1, max_components))
    rng = np.random.default_rng(draw(seeds))
    weights = rng.dirichlet(np.ones(k))
    base = GaussianMixture(weights, rng.normal(scale=3, size=(k, d)), np.stack([_spd(rng, d) for _ in range(k)]))
    return base, LinearReward(rng.normal(size=d))


@st.composite
def mixture_step(draw, max_dim: int = 3, max_components: int = 5):
    d = draw(st.integers(1, max_dim))
    k = draw(st.integers(1, max_components))
    rng = np.random.default_rng(draw(seeds))
    base = GaussianMixture(rng.dirichlet(np.ones(k)), rng.normal(scale=3, size=(k, d)),
                           np.stack([_spd(rng, d) for _ in range(k)]))
    return base, StepReward(float(rng.uniform(0.5, 6)), rng.normal(size=d), float(rng.normal(scale=2)))


@st.composite
def finite_law(draw, max_size: int = 12):
    k = draw(st.integers(2, max_size))
    rng = np.random.default_rng(draw(seeds))
    return Categorical(rng.dirichlet(np.ones(k))), TableReward(rng.normal(scale=2, size=k))


any_instance = st.one_of(gaussian_linear(), mixture_linear(), mixture_step(), finite_law())
