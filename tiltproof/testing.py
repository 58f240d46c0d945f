"""One-line pytest assertions for your own implementation (TFP ``assert_…`` style).

Each runs the matching bring-your-own check and raises ``AssertionError`` carrying the whole record
(every statistic, threshold, n, α share and the power) unless the verdict is ``pass``::

    from tiltproof.testing import assert_chain_sampler

    def test_my_lcb_sampler():
        assert_chain_sampler(my_sampler, instance="gmm-ref-B5", budget=0.05, baseline=my_baseline)

``uncertified`` fails the assertion too (pass ``allow_uncertified=True`` to accept a sampler that is not
refuted but whose certificate exceeds its budget), and so does a record flagged ``not_reproducible``
(a test that cannot be replayed is flaky). A failed single-step check's message carries its diagnosis
("consistent with λ ≈ … ± …, not with an untilted sampler"). Each call returns the record, so a test
may also inspect its power and ``pass_meaning`` (``"not_refuted"`` or ``"certified"``).
"""
from __future__ import annotations

from tiltproof.byo.verification import VerificationRecord

__all__ = ["assert_sampler", "assert_chain_sampler", "assert_tilt_oracle", "assert_kl_align", "assert_prox",
           "assert_verified"]


def assert_verified(record: VerificationRecord, *, allow_uncertified: bool = False) -> VerificationRecord:
    """Raise ``AssertionError`` with ``str(record)`` unless the verdict is ``pass`` (or ``uncertified``
    when allowed)."""
    accepted = {"pass", "uncertified"} if allow_uncertified else {"pass"}
    if record.verdict not in accepted:
        raise AssertionError(f"tiltproof {record.family} check did not pass:\n{record}")
    if getattr(record, "not_reproducible", False):
        raise AssertionError(f"tiltproof {record.family} check cannot be replayed (the implementation ignores its "
                             f"generator):\n{record}")
    return record


def assert_sampler(sampler, *, allow_uncertified: bool = False, **check_arguments) -> VerificationRecord:
    """``tiltproof.byo.check_sampler`` (single step) as an assertion."""
    from tiltproof.byo.byos import check_sampler

    return assert_verified(check_sampler(sampler, **check_arguments), allow_uncertified=allow_uncertified)


def assert_chain_sampler(sampler, instance=None, *, allow_uncertified: bool = False,
                         **check_arguments) -> VerificationRecord:
    """``tiltproof.byo.check_chain_sampler`` (diffusion chains) as an assertion."""
    from tiltproof.byo.chain import check_chain_sampler

    return assert_verified(check_chain_sampler(sampler, instance, **check_arguments),
                           allow_uncertified=allow_uncertified)


def _tractability(name: str):
    import tiltproof.byo as byo

    check = getattr(byo, name, None)
    if check is None:
        raise ImportError(f"tiltproof.byo.{name} is not available in this version of tiltproof")
    return check


def assert_tilt_oracle(oracle, *args, allow_uncertified: bool = False, **check_arguments) -> VerificationRecord:
    """``tiltproof.byo.check_tilt_oracle`` as an assertion."""
    return assert_verified(_tractability("check_tilt_oracle")(oracle, *args, **check_arguments),
                           allow_uncertified=allow_uncertified)


def assert_kl_align(sampler, *args, allow_uncertified: bool = False, **check_arguments) -> VerificationRecord:
    """``tiltproof.byo.check_kl_align`` as an assertion."""
    return assert_verified(_tractability("check_kl_align")(sampler, *args, **check_arguments),
                           allow_uncertified=allow_uncertified)


def assert_prox(prox_fn, *args, allow_uncertified: bool = False, **check_arguments) -> VerificationRecord:
    """``tiltproof.byo.check_prox`` as an assertion."""
    return assert_verified(_tractability("check_prox")(prox_fn, *args, **check_arguments),
                           allow_uncertified=allow_uncertified)
