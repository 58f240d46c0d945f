"""The learned masked LM's own chain, exact by enumeration (short vocabulary and length).

For a ``MaskedLMKernel`` with one position unmasked per step (k = 1, T = L) and ``(V + 1)^L`` states small
enough to list, every law of the chain is a finite sum over the model's own logits:

* marginals, pushed down from the all-mask prior: ``p_t(x) = Σ_y p_{t+1}(y) p_t(x | y)``, where
  ``p_t(x | y) = softmax(ℓ(y)_i/τ)[v] / (t + 1)`` for the child x that writes token v at masked position i;
* soft values, pulled up from ``V_0 = r``: ``V_{t+1}(y) = λ log Σ_x p_t(x | y) e^{V_t(x)/λ}`` (the
  soft-value identity of LCB's T7), and ``log Z = log Σ_x p_0(x) e^{r(x)/λ} = V_T(M…M)/λ``;
* the aligned law ``q_0 ∝ p_0 e^{r/λ}`` over the V^L sequences.

``EnumeratedMaskedLM`` exposes the interface of ``MaskedDiffusion`` that the exact machinery uses
(``kernel_atoms``, ``soft_value``, ``log_partition``, ``value_envelope``, ``level_states``, ``sequences``,
``log_probs``, ``data_rewards``, ``data_index``), so ``ExactSoftValues``, ``estimators.exact.chain_laws`` and
``estimators.exact.finite_chain_law.finite_sampler_law`` run on the learned model unchanged. Unlike the data-table
chain, here every sequence has positive probability (a softmax never vanishes): the "data table" is all
of ``{0, …, V−1}^L``, in lexicographic order.
"""
from __future__ import annotations

import itertools
import math

import torch

from primitives._checks import check_positive
from primitives.diffusion import KernelAtoms, check_step
from primitives.masked_lm import MaskedLMKernel
from primitives.rewards import Reward, as_reward

__all__ = ["EnumeratedMaskedLM", "MAX_STATES"]

MAX_STATES = 100_000


class EnumeratedMaskedLM:
    """Exact laws of a ``MaskedLMKernel``'s chain by enumeration (see the module docstring)."""

    def __init__(self, kernel: MaskedLMKernel, *, max_states: int = MAX_STATES) -> None:
        if not isinstance(kernel, MaskedLMKernel):
            raise ValueError(f"kernel must be a MaskedLMKernel, got {type(kernel).__name__}")
        if kernel.unmask != 1:
            raise ValueError(f"kernel must unmask one position per step to be enumerated, got unmask={kernel.unmask}")
        if kernel.mask != kernel.total_vocabulary - 1:
            raise ValueError("kernel's mask id must be the last token id to be enumerated")
        base = kernel.total_vocabulary
        if base ** kernel.length > max_states:
            raise ValueError(f"kernel has {base}^{kernel.length} states, more than max_states={max_states}")
        self.kernel = kernel
        self.device, self.dtype = kernel.device, torch.float64
        self.length, self.steps, self.state_shape = kernel.length, kernel.steps, kernel.state_shape
        self.mask, self.vocabulary_size = kernel.mask, kernel.vocabulary_size
        self._weights = base ** torch.arange(self.length - 1, -1, -1, device=self.device)
        grid = torch.tensor(list(itertools.product(range(base), repeat=self.length)), dtype=torch.long,
                            device=self.device)
        counts = (grid == self.mask).sum(-1)
        self._levels = [grid[counts == t] for t in range(self.steps + 1)]
        # Transition tables: for each level-(t+1) parent, its L·V atoms' codes and log-probabilities.
        self._children: list[tuple[torch.Tensor, torch.Tensor]] = []
        for t in range(self.steps):
            atoms = kernel.kernel_atoms(t, self._levels[t + 1])
            self._children.append((self.state_codes(atoms.atoms), atoms.log_probs))
        size = base ** self.length
        log_marginal = torch.full((size,), -math.inf, dtype=self.dtype, device=self.device)
        log_marginal[self.state_codes(self._levels[self.steps])] = 0.0
        for t in reversed(range(self.steps)):
            codes, log_probs = self._children[t]
            parents = log_marginal[self.state_codes(self._levels[t + 1])]
            mass = torch.exp(parents[:, None] + log_probs).reshape(-1)
            pushed = torch.zeros(size, dtype=self.dtype, device=self.device)
            pushed.scatter_add_(0, codes.reshape(-1), mass)
            level = self.state_codes(self._levels[t])
            log_marginal[level] = torch.log(pushed[level])
        self._log_marginal = log_marginal
        self.sequences = self._levels[0]
        self.log_probs = log_marginal[self.state_codes(self.sequences)]
        self.probs = torch.exp(self.log_probs)
        self._value_tables: dict[tuple[int, float], torch.Tensor] = {}
        self._reward_keepalive: dict[int, Reward] = {}

    # ------------------------------------------------------------------ helpers
    def state_codes(self, states: torch.Tensor) -> torch.Tensor:
        """Integer code of each state (base V + 1 digits, mask included), a bijection onto [0, (V+1)^L)."""
        return (states.to(torch.long) * self._weights).sum(-1)

    def _value_table(self, reward: Reward, lam: float) -> torch.Tensor:
        """Dense ``V_t`` over the codes of each level t ≥ 1 (NaN at codes of other levels)."""
        key = (id(reward), float(lam))
        if key not in self._value_tables:
            size = self.kernel.total_vocabulary ** self.length
            table = torch.full((size,), math.nan, dtype=self.dtype, device=self.device)
            table[self.state_codes(self.sequences)] = reward(self.sequences).to(self.dtype)
            for t in range(self.steps):
                codes, log_probs = self._children[t]
                child_values = torch.nan_to_num(table[codes], nan=0.0)
                table[self.state_codes(self._levels[t + 1])] = lam * torch.logsumexp(log_probs + child_values / lam, -1)
            self._value_tables[key] = table
            self._reward_keepalive[id(reward)] = reward
        return self._value_tables[key]

    # ------------------------------------------------------------------ the kernel (delegated)
    def sample_prior(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.kernel.sample_prior(n, generator)

    def sample_children(self, parents: torch.Tensor, t: int, n_children: int,
                        generator: torch.Generator | None = None) -> torch.Tensor:
        return self.kernel.sample_children(parents, t, n_children, generator)

    def kernel_atoms(self, t: int, parents: torch.Tensor | None, **_) -> KernelAtoms:
        return self.kernel.kernel_atoms(t, parents)

    # ------------------------------------------------------------------ exact quantities
    def data_rewards(self, reward: Reward) -> torch.Tensor:
        return as_reward(reward)(self.sequences).to(self.dtype)

    def soft_value(self, states: torch.Tensor, t: int, reward: Reward, lam: float) -> torch.Tensor:
        """``V_t(y)`` (``V_0 = r``), shape (m,): exact by the backward recursion."""
        lam = check_positive("lam", lam)
        t = check_step(t, self.steps, allow_prior=True)
        states = self.kernel.check_states("states", states)
        if t == 0:
            return as_reward(reward)(states).to(self.dtype)
        return self._value_table(as_reward(reward), lam)[self.state_codes(states)]

    def log_partition(self, reward: Reward, lam: float) -> float:
        """``log E_{p_0} e^{r/λ}`` (= V_T(all mask)/λ)."""
        lam = check_positive("lam", lam)
        return float(torch.logsumexp(self.log_probs + self.data_rewards(reward) / lam, 0))

    def level_states(self, t: int) -> tuple[torch.Tensor, torch.Tensor]:
        """All states with exactly t masks, with their exact marginal ``p_t``."""
        t = check_step(t, self.steps, allow_prior=True)
        states = self._levels[t]
        return states, torch.exp(self._log_marginal[self.state_codes(states)])

    def value_envelope(self, t: int, reward: Reward, lam: float) -> float:
        states, _ = self.level_states(t)
        return float(self.soft_value(states, t, reward, lam).max())

    def data_index(self, states: torch.Tensor) -> torch.Tensor:
        """Index of each unmasked sequence in ``sequences`` (lexicographic); −1 for a state with a mask."""
        states = self.kernel.check_states("states", states)
        index = (states * (self.vocabulary_size ** torch.arange(self.length - 1, -1, -1, device=self.device))).sum(-1)
        return torch.where((states == self.mask).any(-1), torch.full_like(index, -1), index)

    def __repr__(self) -> str:
        return f"EnumeratedMaskedLM({self.kernel!r})"
