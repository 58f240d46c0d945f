"""T7's proof on the registered masked chain: the enumeration route of ``theorems/proofs/_masked_t7.py``
agrees with the claims' route (``estimators.exact.finite_chain_law.finite_sampler_law``) and with the aligned law."""
import numpy as np
import pytest

from estimators.exact.finite_chain_law import aligned_data_law, finite_sampler_law
from theorems.proofs._masked_t7 import MaskedCase, masked_quantities
from tiltproof.instances.chain import _reward, chain_instance, make_baseline


@pytest.mark.parametrize("offset", [0.0, 0.5])
def test_masked_terms_and_x0_law_match_the_claims_route(offset):
    instance = chain_instance("masked", 5.0)
    law = finite_sampler_law(instance.chain, instance.values, make_baseline(instance, f"offset={offset:g}"))
    Q = masked_quantities(MaskedCase(5.0, 1.0, offset))
    np.testing.assert_allclose(Q["terms"], law.step_terms[:-1], rtol=1e-9, atol=1e-12)
    assert law.step_terms[-1] == pytest.approx(Q["prior_tv"], abs=1e-12)       # the all-mask prior: no TV
    target = aligned_data_law(instance.chain, _reward("masked", 5.0), 1.0)
    assert Q["x0_tv"] == pytest.approx(0.5 * np.abs(law.x0_probs - target).sum(), rel=1e-9, abs=1e-12)
    assert Q["x0_tv"] <= Q["path_tv"] + 1e-12 <= Q["prior_tv"] + sum(Q["terms"]) + 2e-12
    if offset == 0.0:
        assert Q["x0_tv"] > 0     # the baseline V_{t+1}(y) clips: the instance is not trivial
