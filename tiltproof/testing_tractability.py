"""One-line pytest assertions for a user's tractability primitives (re-exported by ``tiltproof.testing``).

    from tiltproof.testing_tractability import assert_kl_align

    def test_my_aligner():
        assert_kl_align(lambda n, g: my_kl_align(base, reward, 0.5, n, g), base, reward, 0.5)

Each helper runs the matching ``tiltproof.byo`` check with the same arguments and raises ``AssertionError``
carrying ``str(record)`` (every test, threshold, n, α share and the power) unless the verdict is
``pass`` (``allow_uncertified=True`` accepts ``uncertified``), or when the record is flagged
``not_reproducible``; it returns the record otherwise. Bad input raises ``ValueError`` as the checks do.
"""
from __future__ import annotations

from tiltproof.byo.verification import VerificationRecord
from tiltproof.byo.kl_align import check_kl_align
from tiltproof.byo.prox import check_prox
from tiltproof.byo.tilt_oracle import check_tilt_oracle

__all__ = ["assert_tilt_oracle", "assert_kl_align", "assert_prox"]


def _require_pass(record: VerificationRecord, allow_uncertified: bool) -> VerificationRecord:
    from tiltproof.testing import assert_verified

    return assert_verified(record, allow_uncertified=allow_uncertified)


def assert_tilt_oracle(oracle, base, thetas, *, allow_uncertified: bool = False, **options) -> VerificationRecord:
    """``check_tilt_oracle(oracle, base, thetas, **options)`` must pass."""
    return _require_pass(check_tilt_oracle(oracle, base, thetas, **options), allow_uncertified)


def assert_kl_align(sampler, base, reward, lam: float, *, allow_uncertified: bool = False,
                    **options) -> VerificationRecord:
    """``check_kl_align(sampler, base, reward, lam, **options)`` must pass."""
    return _require_pass(check_kl_align(sampler, base, reward, lam, **options), allow_uncertified)


def assert_prox(prox_fn, reward, lam: float, cost: str = "sq", *, allow_uncertified: bool = False,
                **options) -> VerificationRecord:
    """``check_prox(prox_fn, reward, lam, cost, **options)`` must pass."""
    return _require_pass(check_prox(prox_fn, reward, lam, cost, **options), allow_uncertified)
