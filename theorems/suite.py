"""Runs claims under one false-alarm budget (claims spec, "Error budget").

The suite's budget ``alpha_total`` is split Bonferroni-style over *all registered* claims, so a claim
gets the same share, sample size and record whether it runs alone (``--only``) or with the rest, and the
probability that any correct claim fails in a full run is at most ``alpha_total``.
"""
from __future__ import annotations

from typing import Callable, Iterable

import torch

from primitives._checks import check_unit_interval, resolve_device
from theorems.framework import DEFAULT_ALPHA_TOTAL, Claim, Record, run_claim

__all__ = ["alpha_share", "run_suite"]


def alpha_share(alpha_total: float, registered: int) -> float:
    alpha_total = check_unit_interval("alpha", alpha_total)
    if registered < 1:
        raise ValueError("no claims are registered")
    return alpha_total / registered


def run_suite(claims: Iterable[Claim], *, registered: int, alpha_total: float = DEFAULT_ALPHA_TOTAL,
              seed: int = 0, device: str | torch.device = "cpu",
              on_record: Callable[[Record], None] | None = None) -> list[Record]:
    share = alpha_share(alpha_total, registered)
    device = resolve_device(device)
    records = []
    for claim in claims:
        record = run_claim(claim, alpha=share, seed=seed, device=device)
        records.append(record)
        if on_record is not None:
            on_record(record)
    return records
