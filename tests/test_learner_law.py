"""The learner's exact law on two-point rewards (estimators.learner_law) and the T6 slack claims built on it."""
from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings, strategies as st
from scipy.stats import binom

from estimators.baselines import DEFAULT_S_GRID, empirical_chernoff_baseline
from estimators.confidence import empirical_bernstein_radius
from estimators.learner_law import (certificate_failure_probability, ks_distance_between_laws,
                                    two_point_learned_baselines, two_point_learner_law)
from theorems import t6_learner_slack as slack


def _half(values, alpha):
    return 0.5 * empirical_bernstein_radius(values, alpha)


@settings(max_examples=25, deadline=None)
@given(st.integers(20, 5000), st.floats(0.0, 1.0), st.sampled_from([0.2, 1.0, 5.0]), st.sampled_from([0.1, 0.5]),
       st.sampled_from([1e-3, 0.05]), st.sampled_from(["real", "half", "union"]), st.sampled_from([(0.0, 1.0), (-1.0, 2.0)]))
def test_closed_form_equals_the_learner(n, fraction, lam, delta, eta, variant, bounds):
    """The enumeration's closed form (written from the definition) equals the learner run on the sorted training."""
    k = int(round(fraction * n))
    rewards = np.concatenate([np.full(k, bounds[1]), np.full(n - k, bounds[0])])
    options, slack_options = {}, {}
    if variant == "half":
        options, slack_options = {"radius": _half}, {"radius_scale": 0.5}
    elif variant == "union":
        options, slack_options = {"bound_count": 2}, {"bound_count": 2}
    learned = empirical_chernoff_baseline(rewards, lam, delta, eta, bounds, **options).value
    closed = two_point_learned_baselines(n, lam, delta, eta, bounds, DEFAULT_S_GRID, **slack_options)[k]
    assert math.isclose(learned, closed, rel_tol=1e-12, abs_tol=1e-12)


def test_exact_law_is_the_pushforward_of_the_binomial():
    n, p = 300, 0.2
    law = two_point_learner_law(n, p, 1.0, 0.3, 0.05, (0.0, 1.0), DEFAULT_S_GRID)
    assert math.isclose(law.probabilities.sum(), 1.0, rel_tol=1e-12)
    assert np.all(np.diff(law.values) > 0)
    values = two_point_learned_baselines(n, 1.0, 0.3, 0.05, (0.0, 1.0), DEFAULT_S_GRID)
    pmf = binom.pmf(np.arange(n + 1), n, p)
    for threshold in np.quantile(values, [0.1, 0.5, 0.9]):
        assert math.isclose(law.cdf(threshold, 0.0), pmf[values <= threshold].sum(), rel_tol=1e-10)
        assert math.isclose(law.cdf_left(threshold, 0.0), pmf[values < threshold].sum(), rel_tol=1e-10, abs_tol=1e-15)


def test_halved_radius_breaks_the_certificate_and_dropped_union_does_not():
    """The setting the slack claims are registered on: exact failure rates of the three learners."""
    exact = slack.exact_laws()
    rates = {name: certificate_failure_probability(law, exact["b_delta"]) for name, law in exact["laws"].items()}
    assert rates["real"] < slack.ETA / 100
    assert rates["half_radius"] > 4 * slack.ETA              # materially above η: the claim can reject it
    assert rates["dropped_union"] < slack.ETA / 10            # valid: no test of T6's event can reject it
    assert exact["b_delta"] < 1.0                             # not degenerate (b_δ < ess sup r)
    design = slack.certificate_design(1e-9, 1e-3)
    assert design["detectable_rate"] <= rates["half_radius"]
    law_plan = slack.law_design(1e-9, 1e-3)
    assert law_plan["detectable_ks"] <= min(law_plan["variant_ks"].values())
    # the two slack variants move the whole law of b̂, which the consistency claim tests
    assert ks_distance_between_laws(exact["laws"]["real"], exact["laws"]["dropped_union"]) > 0.2
