"""Theorem modules: each registers claims (statement, hypotheses, sympy bound, exact instance, check).

Bring your own implementation — each check returns a ``VerificationRecord`` (pass / fail / uncertified /
error, every statistic with its power):

* ``check_sampler``: a single-step rejection sampler (T1–T3);
* ``check_chain_sampler``: a diffusion-chain sampler (T1/T4/T7), on a registered chain or on your own kernel;
* ``check_tilt_oracle``, ``check_kl_align``, ``check_prox``: the tractability primitives
  (``theorems.verify_tractability``).
"""
from theorems.byos import SamplerCheck, check_sampler
from theorems.verification import VerificationRecord
from theorems.verify_chain import check_chain_sampler
from theorems.verify_tractability import check_kl_align, check_prox, check_tilt_oracle

__all__ = ["SamplerCheck", "VerificationRecord", "check_sampler", "check_chain_sampler", "check_tilt_oracle",
           "check_kl_align", "check_prox"]
