"""Argument validation shared by every public entry point.

Each helper raises ``ValueError`` whose message starts with the argument's name, so a user who
passes ``lam=0`` reads ``lam must be a finite number > 0, got 0`` rather than a NaN three calls later.
"""
from __future__ import annotations

import math

import torch

__all__ = [
    "check_positive",
    "check_unit_interval",
    "check_finite_scalar",
    "resolve_device",
    "resolve_dtype",
    "check_token_states",
]


def check_positive(name: str, value: float) -> float:
    """Return ``float(value)`` if it is finite and > 0, else raise ``ValueError`` naming ``name``."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}") from None
    if not math.isfinite(number) or number <= 0.0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return number


def check_unit_interval(name: str, value: float) -> float:
    """Return ``float(value)`` if it lies in the open interval (0, 1), else raise naming ``name``."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number in (0, 1), got {value!r}") from None
    if not (0.0 < number < 1.0):
        raise ValueError(f"{name} must be a number in (0, 1), got {value!r}")
    return number


def check_finite_scalar(name: str, value: float) -> float:
    """Return ``float(value)`` if finite, else raise ``ValueError`` naming ``name``."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a finite number, got {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return number


def resolve_device(device: str | torch.device | None) -> torch.device:
    """Turn ``"cpu"``, ``"cuda"`` or ``"cuda:N"`` into a ``torch.device``.

    Raises ``ValueError`` naming ``device`` for an unknown name, or for CUDA when it is absent.
    """
    if device is None:
        return torch.device("cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"device must be 'cpu', 'cuda' or 'cuda:N', got {device!r}") from None
    if resolved.type not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'cpu', 'cuda' or 'cuda:N', got {device!r}")
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but CUDA is not available on this machine")
    return resolved


def resolve_dtype(dtype: torch.dtype | None) -> torch.dtype:
    """Default to float64; accept float32/float64 only."""
    if dtype is None:
        return torch.float64
    if dtype not in (torch.float32, torch.float64):
        raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype!r}")
    return dtype


def check_token_states(name: str, states, *, length: int, vocabulary: int, mask: int, device: torch.device,
                       masks: int | None = None) -> torch.Tensor:
    """Token sequences of a masked-diffusion chain: an ``(m, length)`` integer tensor with ids in
    ``[0, vocabulary)`` (the mask id ``mask`` among them), moved to ``device`` as ``long``; with ``masks``,
    exactly that many masked positions per row. Raises ``ValueError`` naming ``name`` otherwise."""
    if not isinstance(states, torch.Tensor):
        import numpy as np

        states = torch.as_tensor(np.asarray(states))
    if states.ndim != 2 or states.shape[1] != length:
        raise ValueError(f"{name} must have shape (m, {length}), got {tuple(states.shape)}")
    if states.is_floating_point() or states.dtype == torch.bool:
        raise ValueError(f"{name} must hold integer token ids")
    states = states.to(device=device, dtype=torch.long)
    if states.numel() and (states.min() < 0 or states.max() >= vocabulary):
        raise ValueError(f"{name} must hold tokens with ids in [0, {vocabulary}) (mask = {mask})")
    if masks is not None and states.numel() and bool(((states == mask).sum(-1) != masks).any()):
        raise ValueError(f"{name} at this step must have exactly {masks} masked positions")
    return states
