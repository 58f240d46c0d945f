"""The tractability asserts, kept under their old import path: ``tiltproof.testing``'s family-driven
``assert_tilt_oracle``, ``assert_kl_align`` and ``assert_prox`` (one definition each, in ``tiltproof.testing``).

    from tiltproof.testing import assert_kl_align     # the home; this module re-exports it

    def test_my_aligner():
        assert_kl_align(lambda n, g: my_kl_align(base, reward, 0.5, n, g), base, reward, 0.5)
"""
from __future__ import annotations

from tiltproof.testing import assertion_of

__all__ = ["assert_tilt_oracle", "assert_kl_align", "assert_prox"]

assert_tilt_oracle = assertion_of("assert_tilt_oracle")
assert_kl_align = assertion_of("assert_kl_align")
assert_prox = assertion_of("assert_prox")
