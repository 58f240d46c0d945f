"""Theorem modules: each registers claims (statement, hypotheses, sympy bound, exact instance, check).

Bring your own implementation: ``check_sampler`` (single-step rejection sampler, T1–T3) and
``check_chain_sampler`` (diffusion-chain sampler, T1/T4/T7) verify a user's sampler against the law the
theorems give it and return a ``VerificationRecord`` (pass / fail / uncertified / error, with its power).
"""
from theorems.byos import SamplerCheck, check_sampler
from theorems.verification import VerificationRecord
from theorems.verify_chain import check_chain_sampler

__all__ = ["SamplerCheck", "VerificationRecord", "check_sampler", "check_chain_sampler"]
