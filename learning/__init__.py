"""Learned components: torch trainers of chain baselines and soft values, calibrated by ``estimators``' tests.

A top-level package (beside ``primitives``, ``estimators`` and ``theorems``) because a trainer uses both
layers below it: the samplers of ``primitives`` and the exact laws and calibration tests of ``estimators``;
inside either it would make that layer depend on the one above.
"""
