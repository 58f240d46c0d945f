"""Bounded rewards on token sequences that a reader recognises (for ``primitives.masked_lm``).

* ``KeywordReward(height, keywords)``: ``r(x) = B·1{x contains one of the keywords}`` (a topic lexicon:
  does the line mention a file, a path, a directory?). Matching is on token ids, vectorised: each keyword
  of w tokens is compared with every window of w consecutive positions. ``sup r = B``.
* ``ClassShareReward(height, token)``: ``r(x) = B·(number of positions holding ``token``)/L`` (e.g. the
  share of vowels in the character-class alphabet); ``sup r = B``, every value a multiple of B/L.

Both accept states with mask tokens (a masked position matches nothing), so the exact machinery may
evaluate them on every atom of a kernel.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from primitives.masked_lm import ALPHABETS, encode
from primitives.rewards import Reward

__all__ = ["KeywordReward", "ClassShareReward", "TOPIC_KEYWORDS"]

TOPIC_KEYWORDS = ("file", "path", "dir", "open", "read")
"""The benchmark's lexicon: lines about files (p(A) ≈ 0.015 under the small model, 2 000 unaligned samples)."""


def _height(height) -> float:
    try:
        value = float(height)
    except (TypeError, ValueError):
        raise ValueError(f"height must be a finite number > 0, got {height!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"height must be a finite number > 0, got {height!r}")
    return value


def _token_states(x: torch.Tensor) -> torch.Tensor:
    if not isinstance(x, torch.Tensor) or x.ndim != 2 or x.is_floating_point():
        raise ValueError(f"x must be an integer tensor of shape (n, L), got {getattr(x, 'shape', type(x))}")
    return x


class KeywordReward(Reward):
    """``B·1{some keyword occurs in x}`` (module docstring)."""

    def __init__(self, height: float, keywords=TOPIC_KEYWORDS, alphabet: str = "letters") -> None:
        self.height = _height(height)
        if isinstance(keywords, str) or not keywords:
            raise ValueError(f"keywords must be a non-empty sequence of words, got {keywords!r}")
        table = ALPHABETS[alphabet] if alphabet in ALPHABETS else None
        if table is None:
            raise ValueError(f"alphabet must be one of {tuple(ALPHABETS)}, got {alphabet!r}")
        for word in keywords:
            if not isinstance(word, str) or not word or any(c not in table for c in word):
                raise ValueError(f"keywords: {word!r} is not a non-empty word over the alphabet {table!r}")
        self.keywords = tuple(keywords)
        self.alphabet = alphabet
        self._ids = [torch.as_tensor(encode(word, alphabet)) for word in self.keywords]
        self.name = f"keyword({'|'.join(self.keywords)})"
        self.sup = self.height

    def contains(self, x: torch.Tensor) -> torch.Tensor:
        """(n,) boolean: x contains one of the keywords."""
        x = _token_states(x)
        hit = torch.zeros(x.shape[0], dtype=torch.bool, device=x.device)
        for ids in self._ids:
            width = ids.shape[0]
            if width > x.shape[1]:
                continue
            windows = x.unfold(1, width, 1)                                  # (n, L − w + 1, w)
            hit |= (windows == ids.to(x.device)).all(-1).any(-1)
        return hit

    def _evaluate(self, x: torch.Tensor) -> torch.Tensor:
        return self.height * self.contains(x).to(torch.float64)

    def features(self, x: torch.Tensor, mask_id: int) -> torch.Tensor:
        """Features of a partly masked state for learning soft values: per keyword of w letters and each
        j = 0..w, the number of windows still compatible with it (no conflicting letter) with exactly j
        masked positions; then the share of masked positions. Shape (n, Σ_w (w + 1) + 1)."""
        x = _token_states(x)
        columns = []
        for ids in self._ids:
            width = ids.shape[0]
            if width > x.shape[1]:
                columns.append(torch.zeros(x.shape[0], width + 1, dtype=torch.float64, device=x.device))
                continue
            windows = x.unfold(1, width, 1)
            masked = windows == mask_id
            compatible = ((windows == ids.to(x.device)) | masked).all(-1)
            missing = masked.sum(-1)
            columns.append(torch.stack([((missing == j) & compatible).sum(-1) for j in range(width + 1)], -1).double())
        columns.append((x == mask_id).double().mean(-1, keepdim=True))
        return torch.cat(columns, -1)


class ClassShareReward(Reward):
    """``B·#{i : x_i = token}/L`` (module docstring)."""

    def __init__(self, height: float, token: int = 1) -> None:
        self.height = _height(height)
        if isinstance(token, bool) or not isinstance(token, (int, np.integer)) or token < 0:
            raise ValueError(f"token must be a non-negative token id, got {token!r}")
        self.token = int(token)
        self.name = f"share(token={self.token})"
        self.sup = self.height

    def _evaluate(self, x: torch.Tensor) -> torch.Tensor:
        x = _token_states(x)
        return self.height * (x == self.token).to(torch.float64).mean(-1)
