"""A small learned diffusion model wrapped as a ``ChainKernel``: how a user brings their own model.

``train_small_diffusion(data)`` fits a DDPM noise-prediction network ``ε̂(x, t)`` (an MLP on the state
and a sinusoidal step embedding) to a few thousand points, with the forward process
``x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε`` (``ᾱ_t = Π_{s<t} α_s``, the reference schedule's T = 20 steps). Its
reverse kernel is the usual Gaussian

    p_t(x_t | x_{t+1}) = N( (x_{t+1} − (1 − α_t)/√(1 − ᾱ_{t+1}) · ε̂(x_{t+1}, t+1)) / √α_t ,  σ_t² I ),
    σ_t² = max((1 − α_t)(1 − ᾱ_t)/(1 − ᾱ_{t+1}), σ_min²),

and its prior ``p_T = N(0, I)``. ``LearnedDiffusionKernel`` exposes exactly the black-box interface a
sampler may use (``steps``, ``state_shape``, ``device``, ``sample_prior``, ``sample_children``), which is
all ``check_chain_sampler(..., reference="trajectory")`` needs: the law it verifies against is the aligned
law of *this* model, so no exact density is required.

Wrapping a real model is the same two methods: ``sample_prior(n, generator)`` returns the model's x_T
draws (n, …) and ``sample_children(parents, t, k, generator)`` returns k draws of the model's reverse
step from each parent (m, k, …) — a score network's Gaussian step, or a masked diffusion LM's unmasking
step (sample token ids from its logits with ``torch.multinomial(probs, k, replacement=True,
generator=generator)``).

Trained weights are cached (``cache_dir``, default ``$TILTPROOF_CACHE`` or ``~/.cache/tiltproof``) under a
hash of the data and the settings, so the demonstration trains once.
"""
from __future__ import annotations

import hashlib
import math
import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

from primitives._checks import resolve_device
from primitives.diffusion import check_step, reference_schedule

__all__ = ["NoisePredictor", "LearnedDiffusionKernel", "train_small_diffusion", "default_cache_dir"]


def default_cache_dir() -> Path:
    return Path(os.environ.get("TILTPROOF_CACHE", Path.home() / ".cache" / "tiltproof"))


class NoisePredictor(nn.Module):
    """``ε̂(x, t)``: an MLP on ``[x, sin/cos embedding of t]``."""

    def __init__(self, dim: int, steps: int, width: int = 128, frequencies: int = 8) -> None:
        super().__init__()
        self.dim, self.steps, self.frequencies = dim, steps, frequencies
        self.net = nn.Sequential(nn.Linear(dim + 2 * frequencies, width), nn.SiLU(), nn.Linear(width, width), nn.SiLU(),
                                 nn.Linear(width, width), nn.SiLU(), nn.Linear(width, dim))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        scales = torch.arange(self.frequencies, dtype=x.dtype, device=x.device)
        phase = (t.to(x.dtype)[:, None] / self.steps) * math.pi * (2.0 ** scales)[None, :]
        return self.net(torch.cat([x, torch.sin(phase), torch.cos(phase)], dim=-1))


class LearnedDiffusionKernel:
    """A trained ``NoisePredictor`` as a black-box ``ChainKernel`` (the module docstring gives the kernel)."""

    def __init__(self, network: NoisePredictor, alphas: np.ndarray, *, scale: float = 1.0,
                 min_std: float = 1e-2, device: str | torch.device = "cpu") -> None:
        self.device = resolve_device(device)
        self.network = network.to(self.device, torch.float64).eval()
        self.alphas = torch.as_tensor(alphas, dtype=torch.float64, device=self.device)
        self.alpha_bars = torch.cat([torch.ones(1, dtype=torch.float64, device=self.device), torch.cumprod(self.alphas, 0)])
        self.steps = int(self.alphas.shape[0])
        self.state_shape = (network.dim,)
        self.scale, self.min_std = float(scale), float(min_std)

    def sample_prior(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        noise = torch.randn(n, *self.state_shape, generator=generator, dtype=torch.float64, device=self.device)
        return noise * self.scale

    @torch.no_grad()
    def sample_children(self, parents: torch.Tensor, t: int, n_children: int,
                        generator: torch.Generator | None = None) -> torch.Tensor:
        t = check_step(t, self.steps)
        m = parents.shape[0]
        y = parents.to(self.device, torch.float64) / self.scale
        alpha, bar_next, bar = self.alphas[t], self.alpha_bars[t + 1], self.alpha_bars[t]
        epsilon = self.network(y, torch.full((m,), t + 1, device=self.device))
        mean = (y - (1 - alpha) / torch.sqrt(1 - bar_next) * epsilon) / torch.sqrt(alpha)
        variance = torch.clamp((1 - alpha) * (1 - bar) / (1 - bar_next), min=self.min_std**2)
        noise = torch.randn(m, n_children, *self.state_shape, generator=generator, dtype=torch.float64,
                            device=self.device)
        return (mean[:, None, :] + torch.sqrt(variance) * noise) * self.scale


def _cache_key(data: np.ndarray, settings: dict) -> str:
    digest = hashlib.sha256(np.ascontiguousarray(data, dtype=np.float64).tobytes())
    digest.update(repr(sorted(settings.items())).encode())
    return digest.hexdigest()[:16]


def train_small_diffusion(data, *, iterations: int = 3000, batch: int = 256, learning_rate: float = 2e-3,
                          width: int = 128, seed: int = 0, cache_dir: str | Path | None = None,
                          device: str | torch.device = "cpu") -> LearnedDiffusionKernel:
    """Fit a small DDPM to ``data`` (n, d) on the reference schedule and return it as a ``ChainKernel``.

    The data are standardised by one global scale (kept in the kernel), so states are in data units.
    Deterministic for a seed; the weights are cached under a hash of (data, settings).
    """
    data = np.asarray(data.detach().cpu().numpy() if isinstance(data, torch.Tensor) else data, dtype=np.float64)
    if data.ndim != 2 or data.shape[0] < 16 or not np.isfinite(data).all():
        raise ValueError(f"data must be a finite (n ≥ 16, d) array, got shape {data.shape}")
    alphas = reference_schedule()
    scale = float(data.std()) or 1.0
    settings = dict(iterations=iterations, batch=batch, learning_rate=learning_rate, width=width, seed=seed)
    network = NoisePredictor(data.shape[1], alphas.size, width=width).to(torch.float64)
    path = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    file = path / f"small-diffusion-{_cache_key(data, settings)}.pt"
    if file.exists():
        network.load_state_dict(torch.load(file, map_location="cpu"))
        return LearnedDiffusionKernel(network, alphas, scale=scale, device=device)
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    x0 = torch.as_tensor(data / scale)
    bars = torch.as_tensor(np.concatenate([[1.0], np.cumprod(alphas)]))
    optimiser = torch.optim.Adam(network.parameters(), lr=learning_rate)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, iterations)
    for _ in range(iterations):
        rows = torch.randint(0, x0.shape[0], (batch,), generator=generator)
        t = torch.randint(1, alphas.size + 1, (batch,), generator=generator)
        noise = torch.randn(batch, x0.shape[1], generator=generator, dtype=torch.float64)
        noisy = torch.sqrt(bars[t])[:, None] * x0[rows] + torch.sqrt(1 - bars[t])[:, None] * noise
        loss = ((network(noisy, t) - noise) ** 2).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
    try:
        path.mkdir(parents=True, exist_ok=True)
        temporary = file.with_suffix(".tmp")
        torch.save(network.state_dict(), temporary)
        temporary.replace(file)
    except OSError:
        pass  # an unwritable cache only costs a retraining next time
    return LearnedDiffusionKernel(network, alphas, scale=scale, device=device)
