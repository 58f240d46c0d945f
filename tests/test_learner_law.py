"""The learner's exact law on two-point rewards (estimators.exact.learner_law) and the T6 slack claims built on it."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy.stats import binom

from estimators.baselines import DEFAULT_S_GRID, empirical_chernoff_baseline
from estimators.bounded_means import empirical_bernstein_radius
from estimators.exact.learner_law import (certificate_failure_probability, ks_distance_between_laws,
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


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_the_learner_is_symmetric_in_its_training(seed):
    """What lets the certificate claim run the learner on the sorted training (its count K) instead of each draw."""
    rng = np.random.default_rng(seed)
    rewards = (rng.uniform(size=20_000) < 0.05).astype(float)
    shuffled = empirical_chernoff_baseline(rewards, 10.0, 0.1, 1e-3, (0.0, 1.0)).value
    ordered = empirical_chernoff_baseline(np.sort(rewards)[::-1], 10.0, 0.1, 1e-3, (0.0, 1.0)).value
    assert math.isclose(shuffled, ordered, rel_tol=1e-12)


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


@pytest.mark.slow
def test_dropped_union_never_breaks_the_certificate_on_two_point_laws():
    """The exact scan behind ``theorems.t6_learner_slack``'s docstring (a coarser grid): the dropped union stays
    far below η everywhere, the halved radius exceeds η at small η."""
    from estimators.baselines import chernoff_baseline
    from estimators.exact.reward_law import DiscreteLaw

    worst = {"half": {}, "union": {}}
    for eta in (0.05, 1e-3):
        for lam in (0.5, 2.0, 10.0):
            for q in (0.03, 0.2):
                p = q / (q + (1 - q) * math.exp(1 / lam))
                law = DiscreteLaw(np.array([0.0, 1.0]), np.log(np.array([1 - p, p])))
                for delta in (0.1, 0.5):
                    target = chernoff_baseline(law, lam, delta).value
                    if target >= 1.0:
                        continue
                    for n in (1000, 100_000):
                        for name, options in (("half", {"radius_scale": 0.5}), ("union", {"bound_count": 2})):
                            rate = certificate_failure_probability(
                                two_point_learner_law(n, p, lam, delta, eta, (0.0, 1.0), DEFAULT_S_GRID, **options),
                                target) / eta
                            worst[name][eta] = max(worst[name].get(eta, 0.0), rate)
    assert max(worst["union"].values()) < 0.1
    assert worst["half"][0.05] < 1.0 < worst["half"][1e-3]


@pytest.mark.parametrize("options, name", [(dict(s_grid=()), "s_grid"), (dict(s_grid=(0.5, 0.0)), "s_grid"),
                                           (dict(s_grid=(-1.0,)), "s_grid"), (dict(s_grid=(math.nan,)), "s_grid"),
                                           (dict(bound_count=0), "bound_count"),
                                           (dict(bound_count=1.5), "bound_count"),
                                           (dict(radius_scale=-1.0), "radius_scale"),
                                           (dict(radius_scale=0.0), "radius_scale")])
def test_bad_input_names_the_argument(options, name):
    """An empty grid or bound_count = 0 divided by zero, s ≤ 0 gave a wrong law, a negative radius was taken."""
    arguments = dict(s_grid=DEFAULT_S_GRID)
    arguments.update(options)
    with pytest.raises(ValueError, match=name):
        two_point_learned_baselines(100, 1.0, 0.3, 0.05, (0.0, 1.0), **arguments)
    with pytest.raises(ValueError, match=name):
        two_point_learner_law(100, 0.2, 1.0, 0.3, 0.05, (0.0, 1.0), **arguments)
