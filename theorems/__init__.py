"""Theorem modules: each registers claims (statement, hypotheses, sympy bound, exact instance, check).

``check_sampler`` verifies a user's sampler against the law the theorems give it; ``check_tilt_oracle``,
``check_kl_align`` and ``check_prox`` verify a user's tractability primitives (``theorems.verify_tractability``).
"""
from theorems.byos import SamplerCheck, check_sampler
from theorems.verify_tractability import check_kl_align, check_prox, check_tilt_oracle

__all__ = ["SamplerCheck", "check_sampler", "check_tilt_oracle", "check_kl_align", "check_prox"]
