"""Runs claims at their own fixed levels under a cap on the total (claims spec, "Error budget").

Each claim carries its own false-alarm level (``framework.claim_level``: ``Claim.level`` or
``DEFAULT_CLAIM_LEVEL`` = 4e-9), so its sample size, figures and record are the same whether it runs alone
(``--only``), with the rest, or in a suite that has since gained or lost claims. By Bonferroni the
probability that any correct claim of a run fails is at most the sum of the levels spent, which
``plan_levels`` reports and checks against the cap ``alpha_cap`` (``tiltproof check --alpha``, default 1e-6).

When the selected claims' levels add up to more than the cap, every level is scaled by ``cap / total`` so
the run still spends at most the cap; ``LevelPlan.note`` says so (the CLI prints it, the JSON meta records
``alpha_scale``), because those records then differ from the fixed-level ones. With the default levels this
happens only above 250 selected claims, or when a user asks for a stricter cap.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

import torch

from primitives._checks import check_unit_interval, resolve_device
from tiltproof.core.framework import DEFAULT_ALPHA_TOTAL, Claim, Record, claim_level, run_claim

__all__ = ["LevelPlan", "plan_levels", "run_suite", "run_claim_by_id"]


@dataclass(frozen=True)
class LevelPlan:
    """The level each selected claim runs at.

    ``levels``: claim id → level used; ``requested``: the sum of the claims' own levels; ``cap``: the most a
    run may spend; ``scale``: 1, or ``cap / requested`` when the own levels exceed the cap."""

    levels: dict[str, float]
    requested: float
    cap: float
    scale: float

    @property
    def spent(self) -> float:
        """Σ levels actually used: the bound on the run's family-wise false-alarm probability."""
        return float(sum(self.levels.values()))

    @property
    def note(self) -> str | None:
        if self.scale == 1.0:
            return None
        return (f"the {len(self.levels)} selected claims' own levels add up to {self.requested:.4g} > the cap "
                f"--alpha {self.cap:.4g}: every level is scaled by {self.scale:.4g}, so these records differ from "
                "fixed-level ones (raise --alpha or select fewer claims to keep them)")


def plan_levels(claims: Iterable[Claim], alpha_cap: float = DEFAULT_ALPHA_TOTAL) -> LevelPlan:
    """Each claim's own level, scaled down uniformly only if their sum exceeds ``alpha_cap``."""
    alpha_cap = check_unit_interval("alpha", alpha_cap)
    own = {claim.id: check_unit_interval(f"level of {claim.id}", claim_level(claim)) for claim in claims}
    requested = float(sum(own.values()))
    scale = 1.0 if requested <= alpha_cap else alpha_cap / requested
    return LevelPlan(levels={key: value * scale for key, value in own.items()}, requested=requested,
                     cap=alpha_cap, scale=scale)


def run_suite(claims: Iterable[Claim], *, alpha_cap: float = DEFAULT_ALPHA_TOTAL, seed: int = 0,
              device: str | torch.device = "cpu", on_record: Callable[[Record], None] | None = None,
              plan: LevelPlan | None = None) -> list[Record]:
    """Run ``claims`` in order at the levels of ``plan`` (default ``plan_levels(claims, alpha_cap)``);
    ``on_record`` sees each record as soon as it exists (the CLI writes it to disk there)."""
    claims = list(claims)
    plan = plan or plan_levels(claims, alpha_cap)
    from tiltproof.parallel import run_claims_parallel

    return run_claims_parallel(claims, alpha=plan.levels, seed=seed, device=str(resolve_device(device)), workers=1,
                               on_record=on_record)


def run_claim_by_id(claim_id: str, *, alpha: float, seed: int = 0, device: str = "cpu") -> dict:
    """One registered claim's record as JSON, from plain arguments: the unit of work for a process pool."""
    from tiltproof.core.registry import all_claims

    matches = [claim for claim in all_claims() if claim.id == claim_id]
    if not matches:
        raise ValueError(f"claim_id: no registered claim {claim_id!r}")
    return run_claim(matches[0], alpha=alpha, seed=seed, device=device).to_json()
