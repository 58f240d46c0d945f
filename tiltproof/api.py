"""The stable public API for theorem packages: everything a module with ``claims()`` needs, from one import.

A theorem package (in ``theorems/`` or outside tiltproof, registered by an entry point in the group
``tiltproof.theorems``, ``--theorems MODULE`` or ``[tool.tiltproof] theorems``; ``docs/adding-a-theorem.md``)
writes::

    from tiltproof.api import CheckContext, Claim, Evidence, Hypothesis, Mutant, wrong_variant
    from tiltproof.api import upper_bound_evidence, min_num_samples_for_binomial_upper_test

**Claim types** (``tiltproof.core.framework``): ``Claim`` (id, theorem, module, title, statement, sympy
``bound_expression``, instance, ``Hypothesis`` tuple, ``check(context) -> Evidence``, optional ``level``);
``CheckContext`` (the claim's ``alpha``, ``beta``, seed, device and ``generator(stream)``); ``Evidence`` (what a
check returns: holds, statistic, bound, empirical, confidence bound, n, exact value, power; frozen, built once);
``Mutant`` and
``wrong_variant`` (a claim with a wrong check or bound, which its check must reject); ``run_claim`` (one
claim → ``Record``), ``claim_level``, ``claim_seed`` and the constants ``DEFAULT_BETA``, ``DEFAULT_CLAIM_LEVEL``,
``NUMERIC_TOLERANCE``.

**Evidence builders** (``tiltproof.core.evidence``): ``upper_bound_evidence`` (quantity ≤ bound),
``lower_bound_evidence`` (quantity ≥ bound), ``interval_evidence`` (quantity = value); they apply the verdict
rules (exact side within ``NUMERIC_TOLERANCE``, confidence bound against the bound) and the signed margin, and
take ``units=`` (the detectable gap's units) and ``also_fails=`` (reasons from checks beside the bound).

**Confidence bounds**: ``clopper_pearson_lower`` / ``clopper_pearson_upper`` (``estimators.binomial``: a
binomial rate, one-sided at α), ``dkw_radius`` (``estimators.dkw``: a CDF, uniformly), ``multinomial_tv_radius``
(``estimators.multinomial_tv``: TV of an empirical law on a finite support).

**Design functions** (in each test's own module of ``estimators``, see ``estimators.design``): for each test,
the sample size for a gap
(``min_num_samples_for_…``: the smallest n with false-alarm ≤ α and miss ≤ β at that gap) and the gap a
sample size detects (``…detectable…``). A claim derives its n from one of these, never by trial.

Names listed in ``__all__`` keep their meaning across minor versions; anything else under ``tiltproof.core``
may move.
"""
from __future__ import annotations

from estimators.binomial import (min_num_samples_for_binomial_rate_test, min_discrepancy_of_binomial_rates_detectable,
                                 min_num_samples_for_binomial_upper_test,
                                 min_num_samples_for_binomial_relative_upper_test,
                                 min_rate_detectable_by_binomial_upper_test)
from estimators.dkw import min_num_samples_for_dkw_cdf_test, min_discrepancy_of_cdfs_detectable_by_dkw
from estimators.multinomial_tv import (min_num_samples_for_multinomial_tv_test,
                                       min_gap_of_tvs_detectable_by_multinomial)
from estimators.negative_binomial import (min_num_accepts_for_negative_binomial_rate_test,
                                          min_relative_error_of_proposals_detectable_by_negative_binomial)
from estimators.design import detectable_parameter_error
from estimators.offset_calibration import min_num_residuals_for_calibration_test
from estimators.negative_binomial import min_num_accepted_for_relative_mean_test, min_relative_gap_of_means_detectable
from estimators.multinomial_tv import (min_gap_of_tvs_detectable_by_tv_lower_bound,
                                       min_num_samples_for_tv_lower_bound_test)
from estimators.bernstein_mean import (min_gap_of_means_detectable_by_bernstein,
                                       min_num_samples_for_bernstein_mean_test)
from estimators.normal_mean import min_num_samples_for_normal_mean_test, min_shift_of_normal_means_detectable
from estimators.bridge_log_partition import (min_gap_of_log_partitions_detectable_by_bridge,
                                             min_num_samples_for_bridge_log_partition_test)
from estimators.projection_fit import (min_num_samples_for_projection_ks_test,
                                       min_discrepancy_of_projections_detectable_by_dkw)
from estimators.region_detection import min_num_points_for_region_detection, min_mass_of_regions_detectable
from estimators.binomial import clopper_pearson_lower, clopper_pearson_upper
from estimators.dkw import dkw_radius
from estimators.multinomial_tv import multinomial_tv_radius
from estimators.design import MAX_DESIGN_SAMPLES
from tiltproof.core.evidence import interval_evidence, lower_bound_evidence, upper_bound_evidence
from tiltproof.core.framework import (DEFAULT_BETA, DEFAULT_CLAIM_LEVEL, NUMERIC_TOLERANCE, CheckContext, Claim,
                                      Evidence, Hypothesis, Mutant, Record, Verdict, claim_level, claim_seed,
                                      run_claim, wrong_variant)

__all__ = ["Claim", "Hypothesis", "Evidence", "CheckContext", "Mutant", "Record", "Verdict", "wrong_variant",
    "run_claim", "claim_level", "claim_seed", "DEFAULT_BETA", "DEFAULT_CLAIM_LEVEL", "NUMERIC_TOLERANCE",
    "upper_bound_evidence", "lower_bound_evidence", "interval_evidence", "MAX_DESIGN_SAMPLES", "clopper_pearson_lower", "clopper_pearson_upper", "dkw_radius",
    "multinomial_tv_radius",
    "min_num_samples_for_binomial_rate_test", "min_discrepancy_of_binomial_rates_detectable",
    "min_num_samples_for_binomial_upper_test", "min_num_samples_for_dkw_cdf_test",
    "min_discrepancy_of_cdfs_detectable_by_dkw", "min_num_samples_for_multinomial_tv_test",
    "min_gap_of_tvs_detectable_by_multinomial", "min_num_accepts_for_negative_binomial_rate_test",
    "min_relative_error_of_proposals_detectable_by_negative_binomial",
    "min_num_samples_for_binomial_relative_upper_test", "min_rate_detectable_by_binomial_upper_test",
    "detectable_parameter_error", "min_num_residuals_for_calibration_test",
    "min_num_accepted_for_relative_mean_test", "min_relative_gap_of_means_detectable",
    "min_gap_of_tvs_detectable_by_tv_lower_bound", "min_num_samples_for_tv_lower_bound_test",
    "min_gap_of_means_detectable_by_bernstein", "min_num_samples_for_bernstein_mean_test",
    "min_num_samples_for_normal_mean_test", "min_shift_of_normal_means_detectable",
    "min_gap_of_log_partitions_detectable_by_bridge", "min_num_samples_for_bridge_log_partition_test",
    "min_num_samples_for_projection_ks_test", "min_discrepancy_of_projections_detectable_by_dkw",
    "min_num_points_for_region_detection", "min_mass_of_regions_detectable"]
