"""Bring your own tractability primitive: ``check_tilt_oracle``, ``check_kl_align``, ``check_prox``.

Each check must pass the repo's own implementations (``ExactTiltOracle``, ``kl_align``, ``prox`` /
``solve_prox``) and fail the wrong variants a real bug produces (a tilt at 1.1θ, a log-partition off by a
constant, a miscounted call, an aligner at λ ± 15 % or not tilting at all, a prox at the wrong λ or
returning x unchanged), at the suite's ``STAT_ALPHA``; bad input raises ``ValueError`` naming the argument.
"""
from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

from estimators.region_detection import min_mass_of_regions_detectable, min_num_points_for_region_detection
from estimators.projection_fit import (min_discrepancy_of_projections_detectable_by_dkw,
                                       min_num_samples_for_projection_ks_test)
from primitives.kl_align import kl_align, plane_log_weights, plane_cover
from primitives.laws import Categorical, Gaussian, GaussianMixture
from primitives.planes import LogSumExpReward, MaxOfPlanes, SquaredNormReward
from primitives.prox import ConcaveExpressionReward, ConcaveQuadratic, LowRankReward, prox, solve_prox
from primitives.rewards import LinearReward, QuadraticReward
from primitives.tilt_oracle import ExactTiltOracle
from tiltproof.byo import check_kl_align, check_prox, check_tilt_oracle
from tiltproof.byo.tractability import TRACTABILITY_INSTANCES, check_tractability
from tiltproof.byo.prox import _reference
from tiltproof.testing_tractability import assert_kl_align, assert_prox, assert_tilt_oracle
from tests.conftest import STAT_ALPHA

GAUSSIAN = Gaussian([0.5, -1.0], [[1.0, 0.3], [0.3, 0.5]])
MIXTURE = GaussianMixture([0.6, 0.4], [[-1.0, 0.0], [1.5, 1.0]], [np.eye(2) * 0.5, [[1.0, 0.2], [0.2, 0.7]]])
FINITE = Categorical([0.1, 0.2, 0.3, 0.25, 0.15])


# ============================================================================ design companions
@given(gap=st.floats(0.005, 0.5), projections=st.integers(1, 12), alpha=st.floats(1e-12, 0.1))
def test_projection_ks_design_companions_agree(gap, projections, alpha):
    n = min_num_samples_for_projection_ks_test(gap, projections, alpha=alpha, beta=1e-3)
    assert min_discrepancy_of_projections_detectable_by_dkw(n, projections, alpha=alpha, beta=1e-3) <= gap
    assert n == 1 or min_discrepancy_of_projections_detectable_by_dkw(n - 1, projections, alpha=alpha, beta=1e-3) > gap


@given(mass=st.floats(1e-4, 0.5), beta=st.floats(1e-9, 0.1))
def test_region_design_companions_agree(mass, beta):
    n = min_num_points_for_region_detection(mass, beta=beta)
    assert (1 - mass) ** n <= beta * (1 + 1e-9)
    assert n == 1 or (1 - mass) ** (n - 1) > beta * (1 - 1e-9)
    assert min_mass_of_regions_detectable(n, beta=beta) <= mass * (1 + 1e-9)


# ============================================================================ tilt oracle
TILT_CASES = {
    "gaussian": (GAUSSIAN, [[0.8, -0.5], [0.0, 0.0], [-0.4, 1.0]]),
    "mixture": (MIXTURE, [[0.8, -0.5], [-0.4, 1.0]]),
    "finite": (FINITE, [[0.7], [-0.5]]),
}


class _ScaledTilt(ExactTiltOracle):
    """Wrong: tilts by 1.1θ (a temperature bug)."""

    def sample_rows(self, thetas, generator=None):
        return super().sample_rows(torch.as_tensor(thetas) * 1.1, generator)


class _OffsetPartition(ExactTiltOracle):
    """Wrong: log Z off by a constant (a dropped normalising term)."""

    def log_partition(self, thetas):
        return super().log_partition(thetas) + 0.05


class _Undercounting(ExactTiltOracle):
    """Wrong: counts 80 % of its draws."""

    def sample_rows(self, thetas, generator=None):
        before = self.calls
        out = super().sample_rows(thetas, generator)
        self.calls = before + int(0.8 * (self.calls - before))
        return out


class _RowsOnly:
    """A user oracle with only the vectorised interface and no call counter."""

    def __init__(self, base):
        self.inner, self.dim = ExactTiltOracle(base), base.dim

    def sample_rows(self, thetas, generator=None):
        return self.inner.sample_rows(thetas, generator).numpy()

    def log_partition(self, thetas):
        return [float(v) for v in self.inner.log_partition(thetas)]


@pytest.mark.parametrize("case", sorted(TILT_CASES))
def test_repo_tilt_oracle_passes_with_designed_power(case):
    base, thetas = TILT_CASES[case]
    record = check_tilt_oracle(ExactTiltOracle(base), base, thetas, alpha=STAT_ALPHA)
    assert record.verdict == "pass", str(record)
    assert record.power["theta_relative_error"] <= 0.05 + 2e-4     # sized for a 5 % θ error (bisection step 1e-4)
    assert {test.name for test in record.tests} >= {"log-partition", "call count"}


@pytest.mark.parametrize("case", sorted(TILT_CASES))
@pytest.mark.parametrize("wrong", [_ScaledTilt, _OffsetPartition, _Undercounting])
def test_wrong_tilt_oracles_fail(case, wrong):
    base, thetas = TILT_CASES[case]
    record = check_tilt_oracle(wrong(base), base, thetas, alpha=STAT_ALPHA)
    assert record.verdict == "fail", str(record)


def test_rows_only_oracle_without_counter_passes():
    record = assert_tilt_oracle(_RowsOnly(MIXTURE), MIXTURE, [[0.8, -0.5]], alpha=STAT_ALPHA)
    assert "call count" not in {test.name for test in record.tests}


def test_oracle_ignoring_its_generator_is_flagged_and_still_tested():
    class GlobalRandom(ExactTiltOracle):
        def sample(self, theta, n, generator=None):
            return super().sample(theta, n, None)

    record = check_tilt_oracle(GlobalRandom(GAUSSIAN), GAUSSIAN, [[0.5, 0.5]], alpha=STAT_ALPHA)
    assert record.not_reproducible and record.verdict == "pass" and record.pass_meaning == "not_refuted", str(record)
    with pytest.raises(AssertionError, match="cannot be replayed"):
        assert_tilt_oracle(GlobalRandom(GAUSSIAN), GAUSSIAN, [[0.5, 0.5]], alpha=STAT_ALPHA)


def test_assert_tilt_oracle_raises_with_the_record():
    with pytest.raises(AssertionError, match="FAIL: tilt check"):
        assert_tilt_oracle(_OffsetPartition(GAUSSIAN), GAUSSIAN, [[0.8, -0.5]], alpha=STAT_ALPHA)


@pytest.mark.parametrize("arguments, name", [
    (dict(thetas=[[0.1, 0.2, 0.3]]), "thetas"),
    (dict(thetas=[[0.0, 0.0]]), "thetas"),
    (dict(thetas=[[np.nan, 0.0]]), "thetas"),
    (dict(base="normal"), "base"),
    (dict(oracle=object()), "oracle"),
    (dict(alpha=0.0), "alpha"),
    (dict(theta_error=1.5), "theta_error"),
    (dict(max_samples=3), "max_samples"),
])
def test_tilt_bad_input_names_the_argument(arguments, name):
    call = {"oracle": ExactTiltOracle(GAUSSIAN), "base": GAUSSIAN, "thetas": [[0.5, 0.5]], **arguments}
    with pytest.raises(ValueError, match=name):
        check_tilt_oracle(call.pop("oracle"), call.pop("base"), call.pop("thetas"), **call)


@pytest.mark.parametrize("broken, match", [("rows", "rows when asked"), ("nan", "non-finite"),
                                           ("none", "scalar (NoneType)"), ("zero", "ZeroDivisionError")])
def test_tilt_oracle_breaking_the_protocol_is_an_error_record(broken, match):
    class Broken(ExactTiltOracle):
        def sample(self, theta, n, generator=None):
            out = super().sample(theta, n, generator)
            if broken == "rows":
                return out[:-1]
            if broken == "none":
                return None
            if broken == "zero":
                return 1 / 0
            out[0, 0] = float("nan")
            return out

    record = check_tilt_oracle(Broken(GAUSSIAN), GAUSSIAN, [[0.5, 0.5]], alpha=STAT_ALPHA)
    assert record.verdict == "error" and "oracle.sample" in record.message and match in record.message, str(record)


# ============================================================================ KL aligner
KL_CASES = {
    "abs-ridge": (Gaussian([0.3, -0.2], [[1.0, 0.3], [0.3, 0.8]]), MaxOfPlanes([[0.6, -0.4]], [[1.0], [-1.0]], [0.0, 0.0]),
                  0.5),
    "linear-mixture": (MIXTURE, LinearReward([0.8, -0.5]), 1.0),
    "finite-planes": (FINITE, MaxOfPlanes([[1.0]], [[-0.8], [0.3], [1.2]], [2.0, -1.0, -4.0]), 0.7),
    "squared-norm": (Gaussian([0.3, -0.2], [[1.0, 0.3], [0.3, 0.8]]), SquaredNormReward([[1.0, 0.4]]), 2.0),
}


def _aligner(base, reward, lam):
    return lambda n, generator: kl_align(base, reward, lam, n, generator)


@pytest.mark.parametrize("case", sorted(KL_CASES))
def test_repo_kl_align_passes_with_designed_power(case):
    base, reward, lam = KL_CASES[case]
    record = check_kl_align(_aligner(base, reward, lam), base, reward, lam, alpha=STAT_ALPHA)
    assert record.verdict == "pass", str(record)
    assert record.power["lambda_relative_error"] <= 0.1 + 1e-4 * 1.9   # sized for a 10 % λ error (bisection step 1e-4)
    assert record.details["oracle_calls"] >= record.n


@pytest.mark.parametrize("case", sorted(KL_CASES))
@pytest.mark.parametrize("wrong", ["lam*1.15", "lam*0.85", "untilted"])
def test_wrong_kl_aligners_fail(case, wrong):
    base, reward, lam = KL_CASES[case]
    sampler = {"lam*1.15": _aligner(base, reward, 1.15 * lam), "lam*0.85": _aligner(base, reward, 0.85 * lam),
               "untilted": lambda n, generator: base.sample(n, generator)}[wrong]
    record = check_kl_align(sampler, base, reward, lam, alpha=STAT_ALPHA)
    assert record.verdict == "fail", str(record)


def test_partition_errors_pass_within_their_stated_budget():
    """L1d: log-partitions off by factors 1 ± η give TV ≤ η, so budget = η must pass."""
    base, reward, lam = KL_CASES["abs-ridge"]
    eta = 0.05
    cover = plane_cover(reward)
    exact = plane_log_weights(ExactTiltOracle(base), cover, reward.A, lam) - cover.intercepts / lam
    perturbed = exact + np.log([1 + eta, 1 - eta])
    sampler = lambda n, generator: kl_align(base, reward, lam, n, generator, log_partitions=perturbed)
    record = assert_kl_align(sampler, base, reward, lam, budget=eta, lambda_error=0.3, alpha=STAT_ALPHA,
                             allow_uncertified=True)
    assert not record.warnings   # a 30 % λ error still clears the 5 % budget at a designed (uncapped) n
    # a budget claim on a continuous law: not refuted, but samples bound its TV only from below
    assert record.verdict == "uncertified" and "no certificate" in record.message, str(record)


def test_finite_budget_claim_is_certified_by_the_multinomial_radius():
    base, reward, lam = KL_CASES["finite-planes"]
    record = check_kl_align(_aligner(base, reward, lam), base, reward, lam, budget=0.2, alpha=STAT_ALPHA)
    assert record.verdict == "pass" and record.pass_meaning == "certified", str(record)
    assert record.certificates and record.certificates[0].upper_confidence <= 0.2


def test_log_sum_exp_off_the_ridge_uses_the_laplace_mixture_and_says_so():
    base = Gaussian([0.3, -0.2, 0.1], np.eye(3))
    reward = LogSumExpReward([[0.8, 0.2, 0.0], [0.0, -0.5, 0.7]], [[1.0, 0.0], [0.0, 1.0]], temperature=1.0)
    record = check_kl_align(_aligner(base, reward, 1.0), base, reward, 1.0, alpha=STAT_ALPHA)
    assert record.verdict == "pass" and "lambda_relative_error" not in record.power and record.warnings


def test_aligner_ignoring_its_generator_is_flagged_and_a_wrong_one_still_fails():
    base, reward, lam = KL_CASES["linear-mixture"]
    sampler = lambda n, generator: kl_align(base, reward, 1.5 * lam, n, None)
    record = check_kl_align(sampler, base, reward, lam, alpha=STAT_ALPHA)
    assert record.verdict == "fail" and record.not_reproducible, str(record)


@pytest.mark.parametrize("sampler, match", [
    (lambda n, generator: MIXTURE.sample(n - 1, generator), "rows when asked"),
    (lambda n, generator: MIXTURE.sample(n, generator) * np.nan, "non-finite"),
    (lambda n, generator: 1 / 0, "ZeroDivisionError"),
    (lambda n, generator: "samples", "got str"),
])
def test_kl_sampler_breaking_the_protocol_is_an_error_record(sampler, match):
    record = check_kl_align(sampler, MIXTURE, LinearReward([0.8, -0.5]), 1.0)
    assert record.verdict == "error" and match in record.message, str(record)


def test_assert_kl_align_raises_with_the_record():
    base, reward, lam = KL_CASES["finite-planes"]
    with pytest.raises(AssertionError, match="FAIL: kl check"):
        assert_kl_align(_aligner(base, reward, 1.2 * lam), base, reward, lam, alpha=STAT_ALPHA)


@pytest.mark.parametrize("arguments, name", [
    (dict(lam=0.0), "lam"),
    (dict(sampler="kl_align"), "sampler"),
    (dict(reward=QuadraticReward(np.eye(2), [0.0, 0.0])), "reward"),
    (dict(reward=lambda x: x[:, 0]), "reward"),
    (dict(budget=1.5), "budget"),
    (dict(lambda_error=0.0), "lambda_error"),
    (dict(beta=2.0), "beta"),
])
def test_kl_bad_input_names_the_argument(arguments, name):
    call = {"sampler": _aligner(MIXTURE, LinearReward([0.8, -0.5]), 1.0), "base": MIXTURE,
            "reward": LinearReward([0.8, -0.5]), "lam": 1.0, **arguments}
    with pytest.raises(ValueError, match=name):
        check_kl_align(call.pop("sampler"), call.pop("base"), call.pop("reward"), call.pop("lam"), **call)


# ============================================================================ prox oracle
_CONCAVE = ConcaveExpressionReward(   # r(y) = −log(e^{y₁} + e^{−y₂} + e^{y₁+y₂}), concave, no closed-form prox
    2, lambda y: -cp.log_sum_exp(cp.hstack([y[0], -y[1], y[0] + y[1]])),
    lambda x: -torch.logsumexp(torch.stack([x[:, 0], -x[:, 1], x[:, 0] + x[:, 1]], -1), -1))
_LOW_RANK = LowRankReward([[1.0, 0.5]], lambda z: torch.sin(2 * z[:, 0]) + 0.3 * z[:, 0], lipschitz=2.3)
PROX_CASES = {
    "linear": (LinearReward([0.8, -0.5]), 0.7, {}),
    "quadratic": (ConcaveQuadratic([[1.0, 0.2], [0.2, 0.5]], [1.0, -1.0]), 0.7, {}),
    "planes": (MaxOfPlanes([[1.0, 0.5]], [[1.0], [-1.0], [2.0]], [0.0, 0.0, -1.0]), 0.7, {}),
    "low-rank-grid": (_LOW_RANK, 0.7, {"repo_tolerance": True}),
    "concave-cvxpy": (_CONCAVE, 0.7, {"wrong_mass": 0.2}),
}


def _prox_options(reward, lam, extra):
    options = {"base": GAUSSIAN, "alpha": STAT_ALPHA, "wrong_mass": extra.get("wrong_mass", 0.01)}
    if extra.get("repo_tolerance"):   # the repo's grid prox claims its own certified error bound
        options["tolerance"] = solve_prox(reward, torch.zeros(1, 2, dtype=torch.float64), lam).error_bound
    return options


@pytest.mark.parametrize("case", sorted(PROX_CASES))
def test_repo_prox_passes(case):
    reward, lam, extra = PROX_CASES[case]
    record = check_prox(lambda x: prox(reward, x, lam), reward, lam, "sq", **_prox_options(reward, lam, extra))
    assert record.verdict == "pass", str(record)
    assert record.power["lambda_relative_error"] is not None
    assert record.power["wrong_mass"] <= extra.get("wrong_mass", 0.01)


@pytest.mark.parametrize("case", sorted(PROX_CASES))
@pytest.mark.parametrize("wrong", ["lam*1.2", "lam*0.8", "identity", "nan"])
def test_wrong_prox_oracles_fail(case, wrong):
    reward, lam, extra = PROX_CASES[case]

    def nan_prox(x):
        y = prox(reward, x, lam)
        y[3] = float("nan")
        return y

    prox_fn = {"lam*1.2": lambda x: prox(reward, x, 1.2 * lam), "lam*0.8": lambda x: prox(reward, x, 0.8 * lam),
               "identity": lambda x: x.clone(), "nan": nan_prox}[wrong]
    record = check_prox(prox_fn, reward, lam, "sq", **_prox_options(reward, lam, extra))
    assert record.verdict == "fail", str(record)


def test_repo_signatures_pass_as_is():
    reward, lam, _ = PROX_CASES["quadratic"]
    assert_prox(prox, reward, lam, "sq", base=GAUSSIAN, alpha=STAT_ALPHA)
    assert_prox(solve_prox, reward, lam, "sq", base=GAUSSIAN, alpha=STAT_ALPHA)
    points = GAUSSIAN.sample(5, torch.Generator().manual_seed(1))
    assert_prox(lambda x: prox(reward, x, lam), reward, lam, "sq", points=points, batched=False, alpha=STAT_ALPHA)


@pytest.mark.parametrize("prox_fn, match", [(lambda x: x[:, :1], "shape"), (lambda x: 1 / 0, "ZeroDivisionError"),
                                            (lambda x: "y", "prox_fn")])
def test_prox_breaking_the_protocol_is_an_error_record(prox_fn, match):
    record = check_prox(prox_fn, LinearReward([0.8, -0.5]), 0.7, "sq", base=GAUSSIAN)
    assert record.verdict == "error" and match in record.message, str(record)


def test_prox_pass_is_certified_and_a_random_prox_is_flagged():
    reward, lam, _ = PROX_CASES["quadratic"]
    record = assert_prox(prox, reward, lam, "sq", base=GAUSSIAN, alpha=STAT_ALPHA)
    assert record.pass_meaning == "certified" and not record.not_reproducible
    jitter = lambda x: prox(reward, x, lam) + 0.1 * torch.randn(x.shape, dtype=x.dtype)
    flagged = check_prox(jitter, reward, lam, "sq", base=GAUSSIAN, alpha=STAT_ALPHA)
    assert flagged.not_reproducible and flagged.verdict == "fail", str(flagged)


def test_w1_identity_is_the_prox_below_the_slope_and_power_says_lambda_is_invisible():
    reward = LinearReward([0.3, -0.2])
    record = assert_prox(lambda x: x.clone(), reward, 0.7, "w1", base=GAUSSIAN, alpha=STAT_ALPHA)
    assert record.power["lambda_relative_error"] is None and record.warnings
    assert check_prox(lambda x: x + 0.5, reward, 0.7, "w1", base=GAUSSIAN).verdict == "fail"


def test_a_reference_looser_than_the_tolerance_is_uncertified_not_passed():
    reward, lam = _LOW_RANK, 0.7
    own = lambda x: torch.as_tensor(_reference(reward, x, lam, "sq").point)
    record = check_prox(own, reward, lam, "sq", base=GAUSSIAN, tolerance=1e-9)
    assert record.verdict == "uncertified", str(record)


@pytest.mark.parametrize("arguments, name", [
    (dict(cost="l2"), "cost"),
    (dict(lam=-1.0), "lam"),
    (dict(prox_fn=None), "prox_fn"),
    (dict(points=np.zeros((4, 3))), "points"),
    (dict(base=None), "points"),
    (dict(tolerance=0.0), "tolerance"),
    (dict(wrong_mass=1.0), "wrong_mass"),
    (dict(reward=LinearReward([2.0, 0.0]), cost="w1"), "lam"),
    (dict(reward=QuadraticReward(-np.eye(2), [0.0, 0.0])), "lam"),
    (dict(reward=lambda y: y[:, 0]), "reward"),
])
def test_prox_bad_input_names_the_argument(arguments, name):
    reward = LinearReward([0.8, -0.5])
    call = {"prox_fn": lambda x: prox(reward, x, 0.7), "reward": reward, "lam": 0.7, "cost": "sq", "base": GAUSSIAN,
            **arguments}
    with pytest.raises(ValueError, match=name):
        check_prox(call.pop("prox_fn"), call.pop("reward"), call.pop("lam"), call.pop("cost"), **call)


def test_records_serialise_to_json():
    import json

    base, reward, lam = KL_CASES["finite-planes"]
    records = [check_tilt_oracle(ExactTiltOracle(FINITE), FINITE, [[0.7]], alpha=STAT_ALPHA),
               check_kl_align(_aligner(base, reward, lam), base, reward, lam, alpha=STAT_ALPHA),
               check_prox(lambda x: x.clone(), LinearReward([0.8, -0.5]), 0.7, "sq", base=GAUSSIAN)]
    for record in records:
        payload = json.loads(json.dumps(record.to_json()))
        assert payload["verdict"] == record.verdict and payload["family"] in ("tilt", "kl", "prox")


def test_an_implementation_that_raises_is_an_error_record_keeping_finished_tests():
    class Flaky(ExactTiltOracle):
        def sample(self, theta, n, generator=None):
            if float(theta[0]) < 0:
                raise RuntimeError("out of memory")
            return super().sample(theta, n, generator)

    record = check_tilt_oracle(Flaky(GAUSSIAN), GAUSSIAN, [[0.8, -0.5], [-0.4, 1.0]], alpha=STAT_ALPHA)
    assert record.verdict == "error" and "out of memory" in record.message and len(record.tests) == 1

    def broken(x):
        raise RuntimeError("solver diverged")

    assert check_prox(broken, LinearReward([1.0, 0.0]), 0.7, base=GAUSSIAN).verdict == "error"
    base, reward, lam = KL_CASES["linear-mixture"]
    assert check_kl_align(lambda n, g: 1 / 0, base, reward, lam).verdict == "error"


REPO_FACTORIES = {
    "tilt": lambda base: ExactTiltOracle(base),
    "kl": lambda base, reward, lam: (lambda n, generator: kl_align(base, reward, lam, n, generator)),
    "prox": lambda reward, lam, cost: (lambda x: prox(reward, x, lam, cost)),
}


@pytest.mark.parametrize("family, name", [(family, name) for family in sorted(TRACTABILITY_INSTANCES)
                                          for name in TRACTABILITY_INSTANCES[family]])
def test_repo_implementations_pass_every_named_instance(family, name):
    record = check_tractability(family, REPO_FACTORIES[family], instance=name, alpha=STAT_ALPHA)
    assert record.verdict == "pass" and record.instance.startswith(name), str(record)


@pytest.mark.parametrize("family, name, match", [("kl", "no-such-instance", "instance"), ("chain", "x", "family")])
def test_unknown_named_instance_names_the_argument(family, name, match):
    with pytest.raises(ValueError, match=match):
        check_tractability(family, REPO_FACTORIES["kl"], instance=name)
