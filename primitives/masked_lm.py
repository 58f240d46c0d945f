"""A small masked-diffusion language model trained by the project, wrapped as a ``ChainKernel``.

**Corpus.** The docstrings of a fixed list of Python standard-library modules (``CORPUS_MODULES``; each
module's docstring and those of its public members, in sorted order, read with ``inspect.getdoc``), so the
text installs with Python and the selection is deterministic for a Python version (the cache key hashes the
encoded corpus, so another Python retrains). Text is lower-cased and every character outside the alphabet
becomes a space; ``alphabet="letters"`` keeps ``" abcdefghijklmnopqrstuvwxyz"`` (V = 27) and packs whole
words into lines of L characters (padded with spaces); ``alphabet="classes"`` maps each character to its
class — space, vowel, consonant (V = 3, written ``_ v c``) — and cuts the stream into windows of L (the
enumerable configuration of the exact claims, ``theorems/masked_lm_chains.py``).

**Model.** ``MaskedTokenModel``: token + position embeddings, a ``torch.nn.TransformerEncoder`` (no causal
mask), a linear head to logits over the ``V + 1`` token ids; id ``V`` is the mask M (its logit is ignored).
Trained on the absorbing forward process of the chain below: a uniform number of masks j ∈ {1, …, L},
a uniform j-subset of positions masked, cross-entropy on the masked positions.

**Reverse chain** (``MaskedLMKernel``, k positions per step, T = L/k, ``x_T`` all-mask): from a parent y
with (t+1)·k masks, choose a uniform k-subset S of its masked positions and draw each ``x[i], i ∈ S``,
independently from ``softmax(logits(y)[i] / temperature)`` restricted to the V real tokens (as LLaDA does);

    p_t(x | y) = C((t+1)k, k)^{-1} · Π_{i∈S} softmax(ℓ(y)_i/τ)[x_i].

Tokens come from ``torch.multinomial(…, generator=generator)``, positions from ``torch.rand(…,
generator=generator)``, so a run is reproducible for a generator seed. The model is any callable
``tokens (m, L) -> logits (m, L, V_total)`` (or an object with ``.logits``, as ``transformers`` returns);
the constructor probes it once on an all-mask row and refuses logits of the wrong shape, a mask id outside
``[0, V_total)`` and a length above the model's ``max_length`` with ``ValueError`` before any sampling.

Trained weights are cached like the DDPM's (``primitives.learned_diffusion.default_cache_dir()``, key =
hash of the encoded corpus and the settings).
"""
from __future__ import annotations

import hashlib
import importlib
import inspect
import math
import re
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from primitives._checks import check_positive, check_token_states, resolve_device
from primitives.diffusion import KernelAtoms, check_step
from primitives.learned_diffusion import default_cache_dir

__all__ = ["CORPUS_MODULES", "ALPHABETS", "corpus_text", "corpus_sequences", "decode", "encode",
           "MaskedTokenModel", "MaskedLMKernel", "MaskedLMConfig", "train_masked_lm", "TINY_CONFIG", "SMALL_CONFIG"]

CORPUS_MODULES = ("abc", "argparse", "base64", "bisect", "calendar", "collections", "contextlib", "copy", "csv",
                  "dataclasses", "datetime", "decimal", "difflib", "enum", "fractions", "functools", "glob", "gzip",
                  "heapq", "hashlib", "inspect", "io", "itertools", "json", "logging", "math", "operator", "os",
                  "pathlib", "pickle", "pprint", "queue", "random", "re", "shutil", "statistics", "string",
                  "struct", "subprocess", "tempfile", "textwrap", "threading", "typing", "unittest", "uuid",
                  "warnings", "zipfile")
ALPHABETS = {"letters": " abcdefghijklmnopqrstuvwxyz", "classes": "_vc"}
_VOWELS = set("aeiou")


def corpus_text(modules=CORPUS_MODULES) -> str:
    """Lower-cased docstrings of ``modules`` and their public members (sorted), letters and single spaces."""
    pieces = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")           # deprecated aliases (typing.io, …) warn when touched
        for name in modules:
            try:
                module = importlib.import_module(name)
            except ImportError:
                continue
            pieces.append(inspect.getdoc(module) or "")
            for attribute in sorted(dir(module)):
                if attribute.startswith("_"):
                    continue
                member = getattr(module, attribute, None)
                if getattr(member, "__module__", None) == name and (inspect.isclass(member) or inspect.isfunction(member)):
                    pieces.append(inspect.getdoc(member) or "")
    text = re.sub(r"[^a-z]+", " ", " ".join(pieces).lower())
    return re.sub(r" +", " ", text).strip()


def encode(text: str, alphabet: str = "letters") -> np.ndarray:
    """Token ids of ``text`` (letters: index in ``ALPHABETS['letters']``; classes: space 0, vowel 1, consonant 2)."""
    if alphabet == "letters":
        table = ALPHABETS["letters"]
        return np.array([table.index(c) if c in table else 0 for c in text], dtype=np.int64)
    if alphabet == "classes":
        return np.array([0 if not c.isalpha() else 1 if c in _VOWELS else 2 for c in text], dtype=np.int64)
    raise ValueError(f"alphabet must be one of {tuple(ALPHABETS)}, got {alphabet!r}")


def decode(tokens, alphabet: str = "letters", mask_symbol: str = "#") -> str:
    """The string of a token sequence (ids ≥ V print as ``mask_symbol``)."""
    table = ALPHABETS[alphabet]
    return "".join(table[int(i)] if 0 <= int(i) < len(table) else mask_symbol for i in np.asarray(tokens).reshape(-1))


def corpus_sequences(length: int, alphabet: str = "letters", modules=CORPUS_MODULES) -> np.ndarray:
    """(N, length) token ids: whole words packed into lines (letters) or consecutive windows (classes)."""
    if isinstance(length, bool) or not isinstance(length, int) or length < 1:
        raise ValueError(f"length must be a positive integer, got {length!r}")
    text = corpus_text(modules)
    if alphabet == "classes":
        ids = encode(text, "classes")
        usable = (ids.size // length) * length
        return ids[:usable].reshape(-1, length)
    lines, current = [], ""
    for word in text.split(" "):
        word = word[:length]
        candidate = word if not current else current + " " + word
        if len(candidate) <= length:
            current = candidate
        else:
            lines.append(current.ljust(length))
            current = word
    if current:
        lines.append(current.ljust(length))
    return np.stack([encode(line, "letters") for line in lines])


class MaskedTokenModel(nn.Module):
    """Token + position embeddings, a bidirectional ``TransformerEncoder``, a head to ``vocabulary + 1`` logits."""

    def __init__(self, vocabulary: int, length: int, width: int = 64, layers: int = 2, heads: int = 4) -> None:
        super().__init__()
        self.vocabulary, self.max_length = vocabulary, length
        self.embed = nn.Embedding(vocabulary + 1, width)
        self.position = nn.Parameter(torch.randn(length, width) * 0.02)
        layer = nn.TransformerEncoderLayer(width, heads, dim_feedforward=2 * width, dropout=0.0, batch_first=True,
                                           norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = nn.Linear(width, vocabulary + 1)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        hidden = self.embed(tokens) + self.position[: tokens.shape[1]]
        return self.head(self.encoder(hidden))


class MaskedLMKernel:
    """A masked LM's reverse chain as a black-box ``ChainKernel`` (module docstring: the kernel)."""

    def __init__(self, model, *, length: int, mask_id: int, unmask: int = 1, temperature: float = 1.0,
                 device: str | torch.device = "cpu", batch: int = 8192) -> None:
        self.device = resolve_device(device)
        if not callable(model):
            raise ValueError(f"model must be callable tokens -> logits, got {model!r}")
        if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 1:
            raise ValueError(f"length must be a positive integer, got {length!r}")
        largest = getattr(model, "max_length", None)
        if largest is not None and length > int(largest):
            raise ValueError(f"length {length} is more than the model can take (max_length = {largest})")
        if isinstance(unmask, bool) or not isinstance(unmask, (int, np.integer)) or unmask < 1 or length % unmask:
            raise ValueError(f"unmask must be a positive integer dividing length={length}, got {unmask!r}")
        self.temperature = check_positive("temperature", temperature)
        self.model = model.to(self.device).eval() if isinstance(model, nn.Module) else model
        self.length, self.unmask, self.batch = int(length), int(unmask), int(batch)
        self.steps = self.length // self.unmask
        self.state_shape = (self.length,)
        probe = self._raw_logits(torch.zeros(1, self.length, dtype=torch.long, device=self.device))
        if probe.ndim != 3 or probe.shape[:2] != (1, self.length) or probe.shape[2] < 2:
            raise ValueError(f"model: logits must have shape (m, L={self.length}, V_total ≥ 2); a probe of shape "
                             f"(1, {self.length}) gave {tuple(probe.shape)}")
        self.total_vocabulary = int(probe.shape[2])
        if isinstance(mask_id, bool) or not isinstance(mask_id, (int, np.integer)) \
                or not 0 <= mask_id < self.total_vocabulary:
            raise ValueError(f"mask_id must be a token id in [0, {self.total_vocabulary}) (the logits' vocabulary), "
                             f"got {mask_id!r}")
        self.mask = int(mask_id)
        self.vocabulary_size = self.total_vocabulary - 1 if self.mask == self.total_vocabulary - 1 else self.total_vocabulary

    # ------------------------------------------------------------------ model access
    @torch.no_grad()
    def _raw_logits(self, tokens: torch.Tensor) -> torch.Tensor:
        out = self.model(tokens)
        out = getattr(out, "logits", out)
        if not isinstance(out, torch.Tensor):
            raise ValueError(f"model must return a tensor of logits (or an object with .logits), got {type(out).__name__}")
        return out

    def token_log_probs(self, states: torch.Tensor) -> torch.Tensor:
        """``log softmax(ℓ(y)/τ)`` over the real tokens (mask excluded, −inf), shape (m, L, V_total), float64."""
        pieces = []
        for block in torch.split(states, self.batch):
            logits = self._raw_logits(block)
            if tuple(logits.shape) != (block.shape[0], self.length, self.total_vocabulary):
                raise ValueError(f"model: logits of shape {tuple(logits.shape)}, expected "
                                 f"({block.shape[0]}, {self.length}, {self.total_vocabulary})")
            logits = logits.to(torch.float64) / self.temperature
            logits[..., self.mask] = -math.inf
            pieces.append(torch.log_softmax(logits, -1))
        if not pieces:
            return torch.empty(0, self.length, self.total_vocabulary, dtype=torch.float64, device=self.device)
        return torch.cat(pieces)

    def check_states(self, name: str, states, masks: int | None = None) -> torch.Tensor:
        """``primitives._checks.check_token_states`` with this kernel's length, vocabulary and mask id."""
        return check_token_states(name, states, length=self.length, vocabulary=self.total_vocabulary, mask=self.mask,
                                  device=self.device, masks=masks)

    # ------------------------------------------------------------------ ChainKernel
    def sample_prior(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"n must be a non-negative integer, got {n!r}")
        return torch.full((int(n), self.length), self.mask, dtype=torch.long, device=self.device)

    def sample_children(self, parents: torch.Tensor, t: int, n_children: int,
                        generator: torch.Generator | None = None) -> torch.Tensor:
        t = check_step(t, self.steps)
        if isinstance(n_children, bool) or not isinstance(n_children, (int, np.integer)) or n_children < 0:
            raise ValueError(f"n_children must be a non-negative integer, got {n_children!r}")
        parents = self.check_states("parents", parents, masks=(t + 1) * self.unmask)
        m, k = parents.shape[0], int(n_children)
        if m == 0 or k == 0:
            return torch.empty(m, k, self.length, dtype=torch.long, device=self.device)
        unique, inverse = torch.unique(parents, dim=0, return_inverse=True)
        probs = torch.exp(self.token_log_probs(unique))[inverse]                       # (m, L, V)
        masked = (parents == self.mask)
        keys = torch.rand(m, k, self.length, generator=generator, device=self.device, dtype=torch.float64)
        keys = torch.where(masked[:, None, :], keys, torch.full_like(keys, 2.0))
        positions = torch.topk(keys, self.unmask, dim=-1, largest=False).indices      # (m, k, u)
        rows = torch.arange(m, device=self.device)[:, None, None].expand_as(positions)
        chosen = probs[rows, positions].reshape(-1, self.total_vocabulary)
        tokens = torch.multinomial(chosen, 1, replacement=True, generator=generator).reshape(positions.shape)
        children = parents[:, None, :].expand(-1, k, -1).clone()
        children.scatter_(2, positions, tokens)
        return children

    def kernel_atoms(self, t: int, parents: torch.Tensor | None, **_) -> KernelAtoms:
        """Every child with its exact log-probability (k = 1: (position, token) pairs; masked-out atoms −inf)."""
        if parents is None:
            t = check_step(t, self.steps, allow_prior=True)
            if t != self.steps:
                raise ValueError("parents=None is only meaningful for the prior step t = T")
            return KernelAtoms(self.sample_prior(1)[:, None, :],
                               torch.zeros(1, 1, dtype=torch.float64, device=self.device), exact=True)
        if self.unmask != 1:
            raise ValueError(f"kernel_atoms enumerates one-position steps only (unmask = 1), got unmask={self.unmask}")
        t = check_step(t, self.steps)
        parents = self.check_states("parents", parents, masks=t + 1)
        m, length, vocabulary = parents.shape[0], self.length, self.total_vocabulary
        log_token = self.token_log_probs(parents)                                      # (m, L, V)
        masked = (parents == self.mask)[:, :, None]
        log_probs = torch.where(masked, log_token - math.log(t + 1), torch.full_like(log_token, -math.inf))
        positions = torch.arange(length, device=self.device).repeat_interleave(vocabulary)
        tokens = torch.arange(vocabulary, device=self.device).repeat(length)
        tokens = torch.where(tokens == self.mask, torch.zeros_like(tokens) if self.mask else torch.ones_like(tokens), tokens)
        atoms = parents[:, None, :].expand(-1, length * vocabulary, -1).clone()
        atoms.scatter_(2, positions[None, :, None].expand(m, -1, 1), tokens[None, :, None].expand(m, -1, 1))
        # Atoms of probability 0 (unmasked positions, the mask token) keep a valid state and log-prob −inf.
        return KernelAtoms(atoms, log_probs.reshape(m, -1), exact=True)

    def __repr__(self) -> str:
        return (f"MaskedLMKernel(L={self.length}, V={self.vocabulary_size}, mask={self.mask}, k={self.unmask}, "
                f"T={self.steps}, temperature={self.temperature:g})")


@dataclass(frozen=True)
class MaskedLMConfig:
    """Everything that determines a trained model (the cache key hashes it with the corpus)."""

    alphabet: str = "letters"
    length: int = 16
    width: int = 64
    layers: int = 2
    heads: int = 4
    iterations: int = 4000
    batch: int = 128
    learning_rate: float = 3e-3
    seed: int = 0


SMALL_CONFIG = MaskedLMConfig()
"""The benchmark's model: letters, L = 16, two layers of width 64."""
TINY_CONFIG = MaskedLMConfig(alphabet="classes", length=4, width=16, layers=1, heads=2, iterations=150, batch=256,
                             learning_rate=1e-2)
"""The exact claims' model: character classes (V = 3), L = 4 (4⁴ = 256 states), one layer; trains in seconds."""


def _cache_file(data: np.ndarray, config: MaskedLMConfig, cache_dir) -> Path:
    digest = hashlib.sha256(np.ascontiguousarray(data, dtype=np.int64).tobytes())
    digest.update(repr(sorted(config.__dict__.items())).encode())
    path = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return path / f"masked-lm-{digest.hexdigest()[:16]}.pt"


def train_masked_lm(config: MaskedLMConfig = SMALL_CONFIG, *, unmask: int = 1, temperature: float = 1.0,
                    cache_dir: str | Path | None = None, device: str | torch.device = "cpu",
                    log=None) -> MaskedLMKernel:
    """Train (or load from the cache) a ``MaskedTokenModel`` on the corpus and return its reverse chain.

    Deterministic for a config on one device type; ``device`` is where it trains and where the kernel runs.
    ``kernel.training`` records the seconds spent (0 when loaded), the final loss and the corpus size."""
    if not isinstance(config, MaskedLMConfig):
        raise ValueError(f"config must be a MaskedLMConfig, got {config!r}")
    device = resolve_device(device)
    data = corpus_sequences(config.length, config.alphabet)
    vocabulary = len(ALPHABETS[config.alphabet])
    file = _cache_file(data, config, cache_dir)
    torch.manual_seed(config.seed)
    model = MaskedTokenModel(vocabulary, config.length, config.width, config.layers, config.heads)
    info = {"sequences": int(data.shape[0]), "cache": str(file), "seconds": 0.0, "loaded": file.exists()}
    if file.exists():
        model.load_state_dict(torch.load(file, map_location="cpu"))
    else:
        clock = time.perf_counter()
        model.to(device).train()
        generator = torch.Generator(device="cpu").manual_seed(config.seed)
        tokens = torch.as_tensor(data, device=device)
        optimiser = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
        schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, config.learning_rate, total_steps=config.iterations)
        loss = torch.zeros(())
        for iteration in range(config.iterations):
            rows = torch.randint(0, tokens.shape[0], (config.batch,), generator=generator).to(device)
            x0 = tokens[rows]
            counts = torch.randint(1, config.length + 1, (config.batch, 1), generator=generator).to(device)
            ranks = torch.rand(config.batch, config.length, generator=generator).argsort(-1).argsort(-1).to(device)
            masked = ranks < counts                                   # a uniform subset of `count` positions
            noisy = torch.where(masked, torch.full_like(x0, vocabulary), x0)
            logits = model(noisy)[..., :vocabulary]
            loss = torch.nn.functional.cross_entropy(logits[masked], x0[masked])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            if log is not None and (iteration + 1) % 250 == 0:
                log(f"masked LM iteration {iteration + 1}/{config.iterations}: loss {float(loss.detach()):.3f}")
        info.update(seconds=time.perf_counter() - clock, final_loss=float(loss.detach()))
        model.cpu()
        try:
            file.parent.mkdir(parents=True, exist_ok=True)
            temporary = file.with_suffix(".tmp")
            torch.save(model.state_dict(), temporary)
            temporary.replace(file)
        except OSError:
            pass  # an unwritable cache only costs a retraining next time
    kernel = MaskedLMKernel(model, length=config.length, mask_id=vocabulary, unmask=unmask, temperature=temperature,
                            device=device)
    kernel.training = info
    kernel.alphabet = config.alphabet
    return kernel
