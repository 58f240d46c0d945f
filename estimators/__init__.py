"""Finite-sample statistics with confidence bounds, their design functions, and the exact quantities they are
checked against.

* ``estimators.exact``: exact laws (closed forms, enumeration, quadrature), written from the formulas and
  independent of the samplers under test.
* One module per statistical test, each holding the test (or its bound) beside its two design companions
  ``min_num_samples_for_…`` / ``min_…_detectable_by_…`` (TFP ``statistical_testing`` style; the convention and
  the shared search are in ``estimators.design``): ``binomial``, ``negative_binomial``, ``dkw``,
  ``projection_fit``, ``multinomial_tv``, ``bounded_means``, ``bernstein_mean``, ``normal_mean``,
  ``bridge_log_partition``, ``offset_calibration``, ``region_detection``, ``geometric_sums``, ``sequential``;
  ``law_tests`` (goodness of fit and TV lower bounds of a sample against an exact law), ``single_step_power``
  and ``diagnosis`` (the single-step check's power and diagnosis).
* Baselines estimated from laws or samples: ``baselines``, ``chain_baselines``, ``per_step_delta``.

The torch trainers of learned baselines are in the top-level ``learning`` package.
"""
