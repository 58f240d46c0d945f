"""A ``transformers``-style masked language model as a ``ChainKernel``: the way in for a real LLaDA.

``HFMaskedLMKernel(model, mask_id, length, schedule=…)`` wraps any model called as ``model(input_ids)``
that returns logits of shape ``(batch, sequence, vocabulary)`` — an object with ``.logits`` (every
``transformers`` masked LM, LLaDA's remote code) or the tensor itself (any ``nn.Module``). Nothing from
``transformers`` is imported here; the adapter needs only that call.

The chain (LLaDA's reverse process, Nie et al. 2025, with a fixed unmasking schedule). The state is the
response ``x ∈ {0, …, V−1}^L`` (``length`` = L tokens; an optional ``prompt`` of P tokens is prepended
to every model call and never changes, so it is not part of the state). The schedule
``(c_1, …, c_T)``, in generation order, unmasks ``c_j`` positions at generation step j and sums to L;
the kernel of step t (``x_{t+1} → x_t``, generation step ``j = T − t``) unmasks ``k_t = c_{T−t}``
positions, so ``x_t`` has exactly ``M_t = Σ_{s<t} k_s`` masks (``M_T = L``: the prior is the point mass
on the all-mask response, ``M_0 = 0``: x_0 is fully unmasked). With ``π_i(v | y) = softmax(ℓ_i(y)/τ)_v``
over the non-mask tokens (the mask id is never drawn; τ = ``temperature``, τ = 0 meaning the argmax,
ties to the lowest id), ``ℓ_i(y)`` the logits at response position i of the model called on
``prompt ⊕ y``, and ``S(y)`` the eligible masked positions of the parent — every masked position, or
with ``block_length = B`` (LLaDA's semi-autoregressive sampling) the masked positions of the leftmost
block ``[bB, (b+1)B)`` that still has masks (the schedule then finishes each block before the next, so
``S(y)`` is a function of y and the chain stays Markov); ``m = |S(y)|``:

* ``order="random"`` (LLaDA's ``remasking='random'``): choose a uniform k_t-subset ``A ⊆ S(y)`` and fill
  each ``i ∈ A`` independently with ``v_i ~ π_i(· | y)``. The one-step law is, in closed form,
  ``p_t(x | y) = C(m, k_t)^{-1} Π_{i∈A} π_i(x_i | y)`` for x that agrees with y off A (A = the positions
  x unmasks).
* ``order="confidence"`` (LLaDA's ``remasking='low_confidence'``): draw ``v_i ~ π_i(· | y)`` at every
  ``i ∈ S(y)``, score each by its confidence ``c_i = softmax(ℓ_i(y))_{v_i}`` (untempered, over the whole
  vocabulary, as LLaDA does), and fill the k_t positions of highest confidence (ties to the leftmost),
  leaving the others masked. Its law is the push-forward of ``Π_{i∈S} π_i`` through that selection;
  ``child_law`` enumerates it for small sizes.

Both are valid Markov kernels for the checks: each child is a function of the parent y, the step t and
fresh randomness drawn only from the ``torch.Generator`` passed in (no hidden state, no dropout: a model
in training mode is refused), so ``p(x_{0:T}) = p_T(x_T) Π_t p_t(x_t | x_{t+1})`` and T1's trajectory
rejection is exact on this chain. Differences from LLaDA's ``generate``: the mask id is excluded from the
draw (LLaDA can draw it, which leaves the position masked: it would break the fixed mask counts M_t);
classifier-free guidance is not implemented.

Validation (``ValueError`` naming the argument, before any sampling): the model is probed once with a
``(2, P + L)`` batch of token 0; logits of the wrong shape, a ``mask_id`` outside ``[0, V)``, a ``length`` beyond the
model's ``config.max_position_embeddings`` (or ``max_sequence_length``/``n_positions``) or one the probe
fails on, a ``schedule`` that does not sum to L, a ``prompt`` that leaves no room for the response or holds
out-of-vocabulary or mask tokens, a ``block_length`` that does not divide L or a schedule that does not finish each block before the next, a
model on another device, or a model in training mode.
"""
from __future__ import annotations

import itertools
import math
from typing import Any, Sequence

import numpy as np
import torch

from primitives._checks import check_finite_scalar, resolve_device, resolve_dtype
from primitives.diffusion import check_step
from primitives.rewards import Reward

__all__ = ["HFMaskedLMKernel", "even_schedule", "TokenFrequencyReward", "ORDERS"]

ORDERS = ("random", "confidence")
POSITION_LIMIT_NAMES = ("max_position_embeddings", "max_sequence_length", "n_positions")
"""Config attributes that bound the sequence a model takes (BERT-style, LLaDA/OLMo-style, GPT-2-style)."""
MAX_ENUMERATED_CHILDREN = 1_000_000


def _is_int(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, np.integer))


def even_schedule(length: int, steps: int, block_length: int | None = None) -> list[int]:
    """LLaDA's ``get_num_transfer_tokens``: ``steps`` counts summing to ``length``, ``⌊L/T⌋`` each and one
    more for the first ``L mod T`` steps (generation order). With ``block_length = B`` (B divides L, and the
    L/B blocks divide the steps, as LLaDA's ``generate`` asserts): each block's ``T·B/L`` steps split B
    that way, block after block."""
    if not _is_int(length) or length < 1:
        raise ValueError(f"length must be a positive integer, got {length!r}")
    if block_length is not None:
        if not _is_int(block_length) or not 1 <= block_length <= length or length % block_length:
            raise ValueError(f"block_length must be an integer in [1, length={length}] dividing it, got {block_length!r}")
        blocks = length // int(block_length)
        if not _is_int(steps) or steps < 1 or steps % blocks:
            raise ValueError(f"steps must be a positive multiple of the {blocks} blocks, got {steps!r}")
        return [c for _ in range(blocks) for c in even_schedule(int(block_length), int(steps) // blocks)]
    if not _is_int(steps) or not 1 <= steps <= length:
        raise ValueError(f"steps must be an integer in [1, length={length}], got {steps!r}")
    base, extra = divmod(int(length), int(steps))
    return [base + (1 if j < extra else 0) for j in range(int(steps))]


def _schedule_counts(schedule, length: int) -> list[int]:
    """Generation-order counts from ``schedule``: an int k (k per step, the last step the remainder) or a
    sequence of positive counts summing to ``length``."""
    if _is_int(schedule):
        k = int(schedule)
        if not 1 <= k <= length:
            raise ValueError(f"schedule: k positions per step must be an integer in [1, length={length}], got {k}")
        return [k] * (length // k) + ([length % k] if length % k else [])
    try:
        counts = list(schedule)
    except TypeError:
        raise ValueError(f"schedule must be an int (positions per step) or a sequence of counts, got {schedule!r}") \
            from None
    if not counts or not all(_is_int(c) and c >= 1 for c in counts):
        raise ValueError(f"schedule must be a non-empty sequence of positive integer counts, got {schedule!r}")
    if sum(int(c) for c in counts) != length:
        raise ValueError(f"schedule must sum to length={length} (every response position unmasked once), "
                         f"got counts summing to {sum(int(c) for c in counts)}")
    return [int(c) for c in counts]


def _extract_logits(output: Any) -> torch.Tensor:
    logits = getattr(output, "logits", output)
    if isinstance(logits, (tuple, list)) and logits and isinstance(logits[0], torch.Tensor):
        logits = logits[0]
    if not isinstance(logits, torch.Tensor):
        raise ValueError(f"model must return logits (a tensor, or an object with .logits), got {type(output).__name__}")
    return logits


class HFMaskedLMKernel:
    """A masked LM's unmasking chain as a black-box ``ChainKernel`` (the module docstring gives the law).

    ``model``: called as ``model(input_ids)`` with a ``(batch, P + L)`` long tensor on ``device``;
    ``mask_id``: its mask token; ``length``: response tokens L; ``schedule``: positions unmasked per
    step (an int k) or the generation-order counts (summing to L; ``even_schedule(L, T)`` gives
    LLaDA's); ``prompt``: token ids kept fixed in front of the response; ``order``: ``"random"`` or
    ``"confidence"``; ``temperature`` τ ≥ 0; ``block_length``: semi-autoregressive blocks (None: one block of
    L; ``even_schedule(L, T, B)`` gives LLaDA's schedule for them); ``dtype``: of the probabilities (float64 by default;
    float32 halves the memory of a large vocabulary); ``batch_size``: most sequences per model call
    (distinct parents only: identical parents share one call).
    """

    def __init__(self, model, mask_id: int, length: int, *, schedule: int | Sequence[int] = 1,
                 prompt: Sequence[int] | torch.Tensor | None = None, order: str = "random",
                 temperature: float = 1.0, block_length: int | None = None, device: str | torch.device = "cpu",
                 dtype: torch.dtype | None = None, batch_size: int = 4096) -> None:
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype)
        if not callable(model):
            raise ValueError(f"model must be callable as model(input_ids), got {type(model).__name__}")
        if getattr(model, "training", False):
            raise ValueError("model is in training mode (dropout would draw randomness outside the generator); "
                             "call model.eval() first")
        parameter = next(iter(model.parameters()), None) if hasattr(model, "parameters") else None
        if parameter is not None and parameter.device != self.device and \
                not (parameter.device.type == self.device.type == "cuda" and self.device.index is None):
            raise ValueError(f"device={str(self.device)!r} but the model's parameters are on {parameter.device}; "
                             "move the model (model.to(device)) or pass its device")
        if order not in ORDERS:
            raise ValueError(f"order must be one of {ORDERS}, got {order!r}")
        self.temperature = check_finite_scalar("temperature", temperature)
        if self.temperature < 0:
            raise ValueError(f"temperature must be ≥ 0 (0 = argmax), got {temperature!r}")
        if not _is_int(batch_size) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if not _is_int(length) or length < 1:
            raise ValueError(f"length must be a positive integer (response tokens), got {length!r}")
        if not _is_int(mask_id):
            raise ValueError(f"mask_id must be an integer token id, got {mask_id!r}")
        if prompt is None:
            prompt_ids = torch.empty(0, dtype=torch.long)
        else:
            prompt_ids = torch.as_tensor(prompt).reshape(-1) if not isinstance(prompt, torch.Tensor) \
                else prompt.reshape(-1)
            if prompt_ids.numel() == 0:
                prompt_ids = prompt_ids.to(torch.long)
            elif prompt_ids.is_floating_point() or prompt_ids.dtype == torch.bool:
                raise ValueError("prompt must hold integer token ids")
        self.model, self.mask_id, self.length, self.order = model, int(mask_id), int(length), order
        self.batch_size = int(batch_size)
        self.prompt = prompt_ids.to(device=self.device, dtype=torch.long)
        self.prompt_length = int(self.prompt.numel())
        total = self.prompt_length + self.length
        config = getattr(model, "config", None)
        for name in POSITION_LIMIT_NAMES:
            limit = getattr(config, name, None)
            if _is_int(limit) and total > limit:
                if self.prompt_length >= limit:
                    raise ValueError(f"prompt: {self.prompt_length} tokens leave no room for the response "
                                     f"(the model takes at most {name}={limit} tokens)")
                raise ValueError(f"length={self.length} (+ a prompt of {self.prompt_length}) = {total} tokens is more "
                                 f"than the model takes: config.{name}={limit}")
        self.generation_counts = _schedule_counts(schedule, self.length)
        if block_length is None:
            block_length = self.length
        if not _is_int(block_length) or not 1 <= block_length <= self.length or self.length % block_length:
            raise ValueError(f"block_length must be an integer in [1, length={self.length}] dividing it, "
                             f"got {block_length!r}")
        self.block_length = int(block_length)
        done = set(itertools.accumulate(self.generation_counts))
        missing = [b for b in range(self.block_length, self.length + 1, self.block_length) if b not in done]
        if missing:
            raise ValueError(f"schedule must finish each block of block_length={self.block_length} before the next "
                             f"(its running totals must reach {missing[0]}); even_schedule(length, steps, "
                             "block_length) gives LLaDA's")
        self.steps = len(self.generation_counts)
        self.state_shape = (self.length,)
        # k_t: positions unmasked by the kernel of step t (x_{t+1} → x_t); M_t: masks of x_t.
        self.counts = list(reversed(self.generation_counts))
        self.masks_at = [0] + list(itertools.accumulate(self.counts))
        # The probe: one call on a tiny batch before any sampling, of token 0 (in every vocabulary, unlike a
        # mask id or prompt not yet checked against V, which the logits tell).
        probe = torch.zeros((2, total), dtype=torch.long, device=self.device)
        try:
            with torch.no_grad():
                logits = _extract_logits(model(probe))
        except ValueError:
            raise
        except Exception as error:  # the model's own failure on this length (e.g. a position-embedding index)
            raise ValueError(f"length: the model failed on a probe batch of shape (2, {total}) "
                             f"(prompt {self.prompt_length} + length {self.length} tokens): "
                             f"{type(error).__name__}: {error}") from error
        if logits.ndim != 3 or tuple(logits.shape[:2]) != (2, total) or logits.shape[2] < 2:
            raise ValueError(f"model must return logits of shape (batch, sequence, vocabulary) = (2, {total}, V) for a "
                             f"(2, {total}) probe, got {tuple(logits.shape)}")
        self.vocabulary_size = int(logits.shape[2])
        if not 0 <= self.mask_id < self.vocabulary_size:
            raise ValueError(f"mask_id={self.mask_id} is outside the model's vocabulary [0, {self.vocabulary_size})")
        if self.prompt_length and (int(self.prompt.min()) < 0 or int(self.prompt.max()) >= self.vocabulary_size
                                   or bool((self.prompt == self.mask_id).any())):
            raise ValueError(f"prompt must hold token ids in [0, {self.vocabulary_size}) other than "
                             f"mask_id={self.mask_id}")
        if not bool(torch.isfinite(logits).all()):
            raise ValueError("model returned non-finite logits on the probe")

    # ------------------------------------------------------------------ the model's per-position laws
    def _check_parents(self, parents: torch.Tensor, t: int) -> torch.Tensor:
        if not isinstance(parents, torch.Tensor):
            parents = torch.as_tensor(np.asarray(parents))
        if parents.ndim != 2 or parents.shape[1] != self.length:
            raise ValueError(f"parents must have shape (m, {self.length}), got {tuple(parents.shape)}")
        if parents.is_floating_point() or parents.dtype == torch.bool:
            raise ValueError("parents must hold integer token ids")
        parents = parents.to(device=self.device, dtype=torch.long)
        if parents.numel():
            if int(parents.min()) < 0 or int(parents.max()) >= self.vocabulary_size:
                raise ValueError(f"parents must hold token ids in [0, {self.vocabulary_size})")
            masks = self.masks_at[t + 1]
            if bool(((parents == self.mask_id).sum(-1) != masks).any()):
                raise ValueError(f"parents at step t={t} must have exactly {masks} masked positions (x_{{t+1}})")
            if bool((self.eligible(parents).sum(-1) < self.counts[t]).any()):
                raise ValueError(f"parents at step t={t} must have ≥ {self.counts[t]} masked positions in their first "
                                 f"block with masks (block_length={self.block_length}): not reachable by this chain")
        return parents

    def eligible(self, parents: torch.Tensor) -> torch.Tensor:
        """``S(y)`` as an ``(m, L)`` mask: the masked positions of each parent's leftmost block with masks."""
        masked = parents == self.mask_id
        if self.block_length == self.length:
            return masked
        block = torch.arange(self.length, device=parents.device) // self.block_length
        blocks_with_masks = torch.where(masked, block[None, :], torch.full_like(parents, self.length))
        return masked & (block[None, :] == blocks_with_masks.min(-1, keepdim=True).values)

    def logits(self, responses: torch.Tensor) -> torch.Tensor:
        """The model's logits ``ℓ_i(y)`` at the response positions, ``(m, L, V)`` in ``dtype``, one call per
        ``batch_size`` rows (the prompt prepended)."""
        pieces = []
        with torch.no_grad():
            for block in torch.split(responses, self.batch_size):
                inputs = torch.cat([self.prompt.expand(block.shape[0], -1), block], dim=1)
                out = _extract_logits(self.model(inputs))
                expected = (block.shape[0], inputs.shape[1], self.vocabulary_size)
                if tuple(out.shape) != expected:
                    raise ValueError(f"model returned logits of shape {tuple(out.shape)}, expected {expected}")
                pieces.append(out[:, self.prompt_length:].to(device=self.device, dtype=self.dtype))
        if not pieces:
            return torch.empty(0, self.length, self.vocabulary_size, dtype=self.dtype, device=self.device)
        return torch.cat(pieces)

    def token_probabilities(self, responses: torch.Tensor) -> torch.Tensor:
        """``π_i(v | y)``: softmax(ℓ/τ) over the non-mask tokens (τ = 0: one-hot at the argmax), ``(m, L, V)``."""
        return self._laws(responses)[0]

    def _laws(self, responses: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``π_i(· | y)`` and, for the confidence order, the untempered full-vocabulary softmax."""
        logits = self.logits(responses)
        confidence = torch.softmax(logits, dim=-1) if self.order == "confidence" else None
        logits[..., self.mask_id] = -math.inf
        if self.temperature == 0.0:
            probs = torch.nn.functional.one_hot(logits.argmax(-1), self.vocabulary_size).to(self.dtype)
        else:
            probs = torch.softmax(logits / self.temperature, dim=-1)
        return probs, confidence

    def _unique_laws(self, parents: torch.Tensor):
        """Laws of the distinct parents only (one model row each) and each parent's row among them."""
        unique, inverse = torch.unique(parents, dim=0, return_inverse=True)
        return (inverse, *self._laws(unique))

    # ------------------------------------------------------------------ ChainKernel
    def sample_prior(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``x_T``: the all-mask response (a point mass), ``(n, L)``."""
        if not _is_int(n) or n < 0:
            raise ValueError(f"n must be a non-negative integer, got {n!r}")
        return torch.full((int(n), self.length), self.mask_id, dtype=torch.long, device=self.device)

    def sample_children(self, parents: torch.Tensor, t: int, n_children: int,
                        generator: torch.Generator | None = None) -> torch.Tensor:
        """``n_children`` independent draws of ``x_t ~ p_t(· | y)`` per parent, ``(m, n_children, L)``."""
        t = check_step(t, self.steps)
        if not _is_int(n_children) or n_children < 0:
            raise ValueError(f"n_children must be a non-negative integer, got {n_children!r}")
        parents = self._check_parents(parents, t)
        m, c, k, L = parents.shape[0], int(n_children), self.counts[t], self.length
        if m == 0 or c == 0:
            return torch.empty(m, c, L, dtype=torch.long, device=self.device)
        inverse, probs, confidence = self._unique_laws(parents)
        masked = self.eligible(parents)                                                      # S(y), (m, L)
        children = parents[:, None, :].expand(m, c, L).clone()
        if self.order == "random":
            keys = torch.rand(m, c, L, generator=generator, device=self.device)
            keys = torch.where(masked[:, None, :], keys, torch.full_like(keys, 2.0))
            chosen = keys.topk(k, dim=-1, largest=False).indices                             # (m, c, k)
            rows = probs[inverse[:, None, None].expand(m, c, k), chosen]                     # (m, c, k, V)
            tokens = torch.multinomial(rows.reshape(-1, self.vocabulary_size), 1, replacement=True,
                                       generator=generator).reshape(m, c, k)
            children.scatter_(2, chosen, tokens)
            return children
        # order == "confidence": a draw at every position, keep the k most confident masked ones.
        rows = probs[inverse]                                                                # (m, L, V)
        tokens = torch.multinomial(rows.reshape(-1, self.vocabulary_size), c, replacement=True,
                                   generator=generator).reshape(m, L, c).transpose(1, 2)     # (m, c, L)
        scores = confidence[inverse[:, None, None], torch.arange(L, device=self.device)[None, None, :], tokens]
        scores = torch.where(masked[:, None, :], scores, torch.full_like(scores, -1.0))
        order = torch.sort(scores, dim=-1, descending=True, stable=True).indices[..., :k]  # (m, c, k)
        children.scatter_(2, order, tokens.gather(2, order))
        return children

    # ------------------------------------------------------------------ exact one-step law (small sizes)
    def child_law(self, parent: torch.Tensor, t: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The exact law ``p_t(· | y)`` of one parent by enumeration: ``(children (A, L), probabilities (A,))``
        over the distinct children of positive probability, from one model call (random order: the closed
        form over k_t-subsets and tokens; confidence order: all ``V^m`` fills of the m masked positions
        pushed through the selection). ``ValueError`` beyond ``MAX_ENUMERATED_CHILDREN`` cases."""
        t = check_step(t, self.steps)
        parent = self._check_parents(torch.as_tensor(parent).reshape(1, -1), t)
        _, probs, confidence = self._unique_laws(parent)
        probs = probs[0].to(torch.float64)
        masked = torch.nonzero(self.eligible(parent)[0]).reshape(-1).tolist()
        k, V = self.counts[t], self.vocabulary_size
        tokens = [v for v in range(V) if v != self.mask_id]
        subsets = list(itertools.combinations(masked, k)) if self.order == "random" else [tuple(masked)]
        cases = len(subsets) * (len(tokens) ** (k if self.order == "random" else len(masked)))
        if cases > MAX_ENUMERATED_CHILDREN:
            raise ValueError(f"parent: enumerating its children needs {cases} cases (> {MAX_ENUMERATED_CHILDREN})")
        grid = torch.as_tensor(list(itertools.product(tokens, repeat=len(subsets[0]))), dtype=torch.long,
                               device=self.device).reshape(-1, len(subsets[0]))
        children, weights = [], []
        for subset in subsets:
            index = torch.as_tensor(subset, dtype=torch.long, device=self.device)
            weight = probs[index[None, :], grid].prod(-1)                                  # (G,)
            fills = parent.expand(grid.shape[0], -1).clone()
            if self.order == "random":
                fills[:, index] = grid
                weights.append(weight / math.comb(len(masked), k))
            else:
                scores = confidence[0].to(torch.float64)[index[None, :], grid]             # (G, m)
                keep = torch.sort(scores, dim=-1, descending=True, stable=True).indices[:, :k]
                fills[torch.arange(grid.shape[0], device=self.device)[:, None], index[keep]] = grid.gather(1, keep)
                weights.append(weight)
            children.append(fills)
        children, weights = torch.cat(children), torch.cat(weights)
        distinct, inverse = torch.unique(children, dim=0, return_inverse=True)
        mass = torch.zeros(distinct.shape[0], dtype=torch.float64, device=self.device).index_add_(0, inverse, weights)
        positive = mass > 0
        return distinct[positive], mass[positive]

    def __repr__(self) -> str:
        return (f"HFMaskedLMKernel({type(self.model).__name__}, V={self.vocabulary_size}, L={self.length}, "
                f"prompt={self.prompt_length}, T={self.steps}, order={self.order!r}, τ={self.temperature}, "
                f"block_length={self.block_length})")


class TokenFrequencyReward(Reward):
    """``r(x) = height · |{i : x_i ∈ K}| / L``: the share of response positions holding a keyword token
    (K = ``tokens``), in ``[0, height]`` (``sup = height``, what trajectory rejection needs)."""

    def __init__(self, tokens: Sequence[int], height: float = 1.0) -> None:
        self.height = check_finite_scalar("height", height)
        if self.height <= 0:
            raise ValueError(f"height must be > 0, got {height!r}")
        ids = np.asarray(list(tokens) if not isinstance(tokens, torch.Tensor) else tokens.cpu().numpy()).reshape(-1)
        if ids.size == 0 or not np.issubdtype(ids.dtype, np.integer) or (ids < 0).any():
            raise ValueError(f"tokens must be a non-empty collection of token ids ≥ 0, got {tokens!r}")
        self.tokens = np.unique(ids)
        self.sup = self.height
        self.name = "token-frequency"

    def _evaluate(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 2 or x.is_floating_point():
            raise ValueError(f"x must be an (n, L) tensor of token ids, got shape {tuple(x.shape)} ({x.dtype})")
        keys = torch.as_tensor(self.tokens, device=x.device)
        hits = torch.isin(x, keys).to(torch.float64)
        return self.height * hits.mean(-1)
