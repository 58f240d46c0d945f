"""Bring your own tractability primitive: the linear-tilt oracle, a KL aligner, the prox oracle (issue 10).

One import for the three checks (each in its own module, one concept per module):

* ``check_tilt_oracle(oracle, base, thetas)`` — samples, ``log_partition`` and call count of a linear-tilt
  oracle against the exact tilts ``p_θ ∝ p·e^{⟨θ,x⟩}`` of a Gaussian / mixture / finite base
  (``tiltproof.byo.tilt_oracle``);
* ``check_kl_align(sampler, base, reward, lam)`` — a KL aligner's output law against the exact
  ``q ∝ p·e^{r/λ}`` (``tiltproof.byo.kl_align``);
* ``check_prox(prox_fn, reward, lam, cost)`` — a prox oracle's objective against a certified optimum
  (``tiltproof.byo.prox``);
* ``check_tractability(family, factory, instance=NAME)`` — any of the three on a named instance
  (``tiltproof.instances.tractability``; for a ``--family tilt|kl|prox --instance NAME`` command line).

Each returns a ``tiltproof.byo.verification.VerificationRecord`` (verdict pass / fail / uncertified / error,
every test with its statistic, threshold, n and α share, and the power in the user's units). Bad input,
and output that breaks the protocol (wrong row count or width, NaN samples), raise ``ValueError`` naming
the argument; an implementation that raises, or draws from anything but the generator it is handed
(two equally seeded draws differ), gives verdict ``error`` with the tests finished before it.
"""
from tiltproof.instances.tractability import TRACTABILITY_INSTANCES, check_tractability, tractability_instance
from tiltproof.byo.kl_align import check_kl_align
from tiltproof.byo.prox import check_prox
from tiltproof.byo.tilt_oracle import check_tilt_oracle

__all__ = ["check_tilt_oracle", "check_kl_align", "check_prox", "check_tractability", "tractability_instance",
           "TRACTABILITY_INSTANCES"]
