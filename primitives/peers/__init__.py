"""Peer samplers for tilted targets ``q ∝ p·e^{r/λ}``, with the same black-box access as LCB.

Each takes the base law (``sample(n, generator)`` only), the reward and λ, and returns its samples with
the exact number of base queries it used (``RejectionResult``), so methods are compared per query. On chains:
``fk_steering_sample`` (FK steering / twisted SMC), ``svdd_sample`` and ``gradient_guidance_sample``
(``primitives.peers.chain_peers``), used by ``benchmarks/chain_peers.py``.
"""
from primitives.peers.quasi_rejection import percentile_beta, quasi_rejection_sample
from primitives.peers.resampling import sir_sample
from primitives.peers.rso import rso_sample
from primitives.peers.smc import SMCResult, fk_steering_sample
from primitives.peers.chain_peers import gradient_guidance_sample, svdd_sample

__all__ = ["quasi_rejection_sample", "percentile_beta", "sir_sample", "rso_sample", "SMCResult", "fk_steering_sample",
           "svdd_sample", "gradient_guidance_sample"]
