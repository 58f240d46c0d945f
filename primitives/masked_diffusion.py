"""Masked (absorbing-state) discrete diffusion over short sequences, exact by enumeration.

The stand-in for a masked diffusion language model (LCB spec, "Exactly computable instances"). Data:
an explicit table of distinct sequences ``s_n ∈ {0, …, V−1}^L`` with probabilities ``P_n``
(L ≤ 6, V ≤ 8); token ``V`` is the mask ``M``. Forward process: ``x_{t+1}`` is ``x_t`` with one
uniformly chosen unmasked position replaced by M, so ``x_t`` has exactly t masked positions, the masked
set is a uniform t-subset, and T = L (``x_T`` is all-mask, the prior is a point mass).

Reverse kernel (Bayes, since ``p(x_t) = P_data(x_0 ⊨ x_t)/C(L, t)`` and each forward step has
probability ``1/(L−t)``): from a parent y with t + 1 masks, pick a masked position i uniformly and a
token v with ``P(x_0[i] = v | x_0 ⊨ y)``, where ``x_0 ⊨ y`` means x_0 agrees with y wherever y is
unmasked. Soft values: ``V_t(y) = λ log Σ_{n: s_n ⊨ y} P_n e^{r(s_n)/λ} − λ log Σ_{n: s_n ⊨ y} P_n``.
Every kernel is a finite law with at most L·V children, so all per-step quantities are exact sums.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
import torch

from primitives._checks import check_positive, check_token_states, resolve_device, resolve_dtype
from primitives.diffusion import KernelAtoms, check_step
from primitives.rewards import Reward, as_reward

__all__ = ["MaskedDiffusion", "reference_masked_diffusion", "SequenceSetReward"]

MAX_LENGTH = 6
MAX_VOCABULARY = 8


class SequenceSetReward(Reward):
    """``r(x) = height · 1{x ∈ A}`` for a finite set A of sequences (rows of ``members``)."""

    def __init__(self, height: float, members) -> None:
        self.height = float(height)
        if not math.isfinite(self.height):
            raise ValueError(f"height must be a finite number, got {height!r}")
        members = np.atleast_2d(np.asarray(members, dtype=np.int64))
        if members.size == 0:
            raise ValueError("members must hold at least one sequence")
        self.members = members
        self.name = "sequence-set"
        self.sup = max(self.height, 0.0)

    def _evaluate(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 2 or x.shape[1] != self.members.shape[1]:
            raise ValueError(f"x must have shape (n, {self.members.shape[1]}), got {tuple(x.shape)}")
        members = torch.as_tensor(self.members, device=x.device)
        hit = (x[:, None, :] == members[None]).all(-1).any(-1)
        return self.height * hit.to(torch.float64)


class MaskedDiffusion:
    """Absorbing-mask diffusion over an explicit table of sequences (see the module docstring)."""

    def __init__(self, sequences, probs, vocabulary_size: int, *, device: str | torch.device = "cpu",
                 dtype: torch.dtype | None = None) -> None:
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype)
        sequences = np.asarray(sequences)
        if sequences.ndim != 2 or sequences.shape[0] < 1:
            raise ValueError(f"sequences must have shape (N, L) with N ≥ 1, got {sequences.shape}")
        if not np.issubdtype(sequences.dtype, np.integer):
            raise ValueError("sequences must hold integer tokens")
        if isinstance(vocabulary_size, bool) or not isinstance(vocabulary_size, (int, np.integer)) \
                or not 2 <= vocabulary_size <= MAX_VOCABULARY:
            raise ValueError(f"vocabulary_size must be an integer in [2, {MAX_VOCABULARY}], got {vocabulary_size!r}")
        length = sequences.shape[1]
        if not 1 <= length <= MAX_LENGTH:
            raise ValueError(f"sequences must have length in [1, {MAX_LENGTH}], got {length}")
        if sequences.min() < 0 or sequences.max() >= vocabulary_size:
            raise ValueError(f"sequences must hold tokens in [0, {vocabulary_size - 1}]")
        if np.unique(sequences, axis=0).shape[0] != sequences.shape[0]:
            raise ValueError("sequences must be distinct (one row per support point)")
        probs = np.asarray(probs, dtype=float).reshape(-1)
        if probs.shape[0] != sequences.shape[0] or not np.isfinite(probs).all() or (probs <= 0).any() \
                or abs(probs.sum() - 1.0) > 1e-9:
            raise ValueError("probs must be positive, one per sequence, and sum to 1")
        self.vocabulary_size = int(vocabulary_size)
        self.mask = self.vocabulary_size
        self.length = length
        self.steps = length
        self.state_shape = (length,)
        self.sequences = torch.as_tensor(sequences, dtype=torch.long, device=self.device)
        self.probs = torch.as_tensor(probs / probs.sum(), dtype=self.dtype, device=self.device)
        self.log_probs = torch.log(self.probs)
        self._one_hot = torch.nn.functional.one_hot(self.sequences, self.vocabulary_size).to(self.dtype)  # (N, L, V)
        self._code_weights = (self.mask + 1) ** torch.arange(length - 1, -1, -1, device=self.device)
        self._value_tables: dict[tuple[int, float], torch.Tensor] = {}
        self._reward_keepalive: dict[int, Reward] = {}

    # ------------------------------------------------------------------ helpers
    def _check_states(self, name: str, states: torch.Tensor, masks: int | None = None) -> torch.Tensor:
        return check_token_states(name, states, length=self.length, vocabulary=self.mask + 1, mask=self.mask,
                                  device=self.device, masks=masks)

    def consistent(self, states: torch.Tensor) -> torch.Tensor:
        """``(m, N)`` boolean: data sequence n agrees with the state wherever it is unmasked."""
        states = self._check_states("states", states)
        agree = (states[:, None, :] == self.mask) | (states[:, None, :] == self.sequences[None])
        return agree.all(-1)

    def state_codes(self, states: torch.Tensor) -> torch.Tensor:
        """Integer code of each state (base V + 1 digits), a bijection onto [0, (V+1)^L)."""
        return (states.to(torch.long) * self._code_weights).sum(-1)

    def _value_table(self, reward: Reward, lam: float) -> torch.Tensor:
        """Dense table of ``V(y)`` over all state codes (NaN where no data sequence is consistent)."""
        key = (id(reward), float(lam))
        if key not in self._value_tables:
            reachable = torch.unique(torch.cat([self.level_states(t)[0] for t in range(self.steps + 1)]), dim=0)
            tilt = self.data_rewards(reward) / lam
            table = torch.full(((self.mask + 1) ** self.length,), math.nan, dtype=self.dtype, device=self.device)
            for block in torch.split(reachable, 4096):
                table[self.state_codes(block)] = lam * (self._log_data_mass(block, tilt) - self._log_data_mass(block))
            self._value_tables[key] = table
            self._reward_keepalive[id(reward)] = reward
        return self._value_tables[key]

    def _log_data_mass(self, states: torch.Tensor, log_tilt: torch.Tensor | None = None) -> torch.Tensor:
        scores = self.log_probs if log_tilt is None else self.log_probs + log_tilt
        return torch.where(self.consistent(states), scores[None], torch.full_like(scores[None], -math.inf)) \
            .logsumexp(-1)

    # ------------------------------------------------------------------ black-box kernel
    def kernel_probabilities(self, t: int, parents: torch.Tensor) -> torch.Tensor:
        """``p_t(child | y)`` as an ``(m, L, V)`` table over (position, token), zero on unmasked positions."""
        t = check_step(t, self.steps)
        parents = self._check_states("parents", parents, masks=t + 1)
        unique, inverse = torch.unique(parents, dim=0, return_inverse=True)
        weights = self.consistent(unique).to(self.dtype) * self.probs[None]                  # (u, N)
        masses = torch.einsum("mn,nlv->mlv", weights, self._one_hot)
        masked = (unique == self.mask).to(self.dtype)[..., None]
        totals = weights.sum(-1)
        if bool((totals <= 0).any()):
            raise ValueError("parents include a state with no consistent data sequence (probability zero)")
        return (masses * masked / (totals[:, None, None] * (t + 1)))[inverse]

    def sample_prior(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"n must be a non-negative integer, got {n!r}")
        return torch.full((int(n), self.length), self.mask, dtype=torch.long, device=self.device)

    def sample_children(self, parents: torch.Tensor, t: int, n_children: int,
                        generator: torch.Generator | None = None) -> torch.Tensor:
        if isinstance(n_children, bool) or not isinstance(n_children, (int, np.integer)) or n_children < 0:
            raise ValueError(f"n_children must be a non-negative integer, got {n_children!r}")
        probs = self.kernel_probabilities(t, parents)
        m = probs.shape[0]
        parents = parents.to(device=self.device, dtype=torch.long)
        if m == 0 or n_children == 0:
            return torch.empty(m, n_children, self.length, dtype=torch.long, device=self.device)
        flat = torch.multinomial(probs.reshape(m, -1), n_children, replacement=True, generator=generator)
        positions, tokens = flat // self.vocabulary_size, flat % self.vocabulary_size
        children = parents[:, None, :].expand(-1, n_children, -1).clone()
        children.scatter_(2, positions[..., None], tokens[..., None])
        return children

    # ------------------------------------------------------------------ exact quantities
    def data_rewards(self, reward: Reward) -> torch.Tensor:
        return as_reward(reward)(self.sequences).to(self.dtype)

    def soft_value(self, states: torch.Tensor, t: int, reward: Reward, lam: float) -> torch.Tensor:
        """``V_t(y)`` by enumeration of the consistent data sequences (``V_0 = r``), shape (m,)."""
        lam = check_positive("lam", lam)
        t = check_step(t, self.steps, allow_prior=True)
        states = self._check_states("states", states)
        if t == 0:
            return as_reward(reward)(states).to(self.dtype)
        return self._value_table(as_reward(reward), lam)[self.state_codes(states)]

    def log_partition(self, reward: Reward, lam: float) -> float:
        lam = check_positive("lam", lam)
        return float(torch.logsumexp(self.log_probs + self.data_rewards(reward) / lam, 0))

    def kernel_atoms(self, t: int, parents: torch.Tensor | None, **_) -> KernelAtoms:
        """The kernel's own finite support: every (position, token) child with its exact log-probability."""
        if parents is None:
            t = check_step(t, self.steps, allow_prior=True)
            if t != self.steps:
                raise ValueError("parents=None is only meaningful for the prior step t = T")
            atoms = self.sample_prior(1)[:, None, :]
            return KernelAtoms(atoms, torch.zeros(1, 1, dtype=self.dtype, device=self.device), exact=True)
        probs = self.kernel_probabilities(t, parents)
        m = probs.shape[0]
        parents = parents.to(device=self.device, dtype=torch.long)
        positions = torch.arange(self.length, device=self.device).repeat_interleave(self.vocabulary_size)
        tokens = torch.arange(self.vocabulary_size, device=self.device).repeat(self.length)
        atoms = parents[:, None, :].expand(-1, positions.shape[0], -1).clone()
        atoms.scatter_(2, positions[None, :, None].expand(m, -1, 1), tokens[None, :, None].expand(m, -1, 1))
        with torch.no_grad():
            log_probs = torch.log(probs.reshape(m, -1))
        # Unreachable children (prob 0) keep a valid state (the parent with a data token) and log-prob −inf.
        return KernelAtoms(atoms, log_probs, exact=True)

    def level_states(self, t: int) -> tuple[torch.Tensor, torch.Tensor]:
        """All states with exactly t masks and positive probability, with ``p_t`` (exact)."""
        t = check_step(t, self.steps, allow_prior=True)
        subsets = list(itertools.combinations(range(self.length), t))
        states = []
        for subset in subsets:
            masked = self.sequences.clone()
            if subset:
                masked[:, list(subset)] = self.mask
            states.append(masked)
        unique = torch.unique(torch.cat(states), dim=0)
        log_marginal = self._log_data_mass(unique) - math.log(math.comb(self.length, t))
        return unique, torch.exp(log_marginal)

    def value_envelope(self, t: int, reward: Reward, lam: float) -> float:
        """``sup_x V_t(x)`` over the states of level t (exact; the envelope of ideal per-step rejection)."""
        states, _ = self.level_states(t)
        return float(self.soft_value(states, t, reward, lam).max())

    def data_index(self, states: torch.Tensor) -> torch.Tensor:
        """Index of each (unmasked) sequence in the data table; −1 if absent."""
        states = self._check_states("states", states)
        match = (states[:, None, :] == self.sequences[None]).all(-1)
        return torch.where(match.any(-1), match.to(torch.int64).argmax(-1), torch.full_like(match[:, 0], -1, dtype=torch.int64))

    def __repr__(self) -> str:
        return f"MaskedDiffusion(N={self.sequences.shape[0]}, L={self.length}, V={self.vocabulary_size})"


def reference_masked_diffusion(size: int = 512, seed: int = 20260208, *, device: str | torch.device = "cpu"
                               ) -> tuple[MaskedDiffusion, np.ndarray]:
    """The reference masked instance: L = 6, V = 8, the ``size`` most likely sequences of a fixed random
    Markov chain (Dirichlet(0.4) transitions), renormalised. Returns the diffusion and the rare set A
    (the data sequences that start with token 3 and end with token 2: 4 sequences of total probability
    4.5e-3),
    on which the reference reward ``B·1{x ∈ A}`` sits, the analogue of the GMM's rare tail."""
    rng = np.random.default_rng(seed)
    length, vocabulary = 6, 8
    initial = rng.dirichlet(np.full(vocabulary, 1.0))
    transition = rng.dirichlet(np.full(vocabulary, 0.4), size=vocabulary)
    grid = np.array(list(itertools.product(range(vocabulary), repeat=length)), dtype=np.int64)
    log_p = np.log(initial[grid[:, 0]]) + sum(np.log(transition[grid[:, i], grid[:, i + 1]]) for i in range(length - 1))
    chosen = np.argsort(-log_p)[:size]
    sequences = grid[chosen]
    probs = np.exp(log_p[chosen] - np.logaddexp.reduce(log_p[chosen]))
    rare = sequences[(sequences[:, 0] == 3) & (sequences[:, -1] == 2)]
    return MaskedDiffusion(sequences, probs, vocabulary, device=device), rare
