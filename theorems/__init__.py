"""Theorem modules: each registers claims (statement, hypotheses, sympy bound, exact instance, check).

``check_sampler`` verifies a user's sampler against the law the theorems give it.
"""
from theorems.byos import SamplerCheck, check_sampler

__all__ = ["SamplerCheck", "check_sampler"]
