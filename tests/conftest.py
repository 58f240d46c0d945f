"""Shared settings for the test suite.

Error budget of the tests: every stochastic assertion in ``tests/`` runs at ``STAT_ALPHA``, and there
are fewer than ``MAX_STOCHASTIC_ASSERTIONS`` of them per run (hypothesis examples included), so the
probability of any false alarm in a full run is below ``TEST_ALPHA_TOTAL`` = 1e-6. Seeds are fixed
(hypothesis runs with ``derandomize=True``), so a run is deterministic anyway.
"""
from __future__ import annotations

import os

import pytest
import torch

from hypothesis import HealthCheck, settings

TEST_ALPHA_TOTAL = 1e-6
MAX_STOCHASTIC_ASSERTIONS = 1000
STAT_ALPHA = TEST_ALPHA_TOTAL / MAX_STOCHASTIC_ASSERTIONS

settings.register_profile(
    "tiltproof", derandomize=True, deadline=None, max_examples=25, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "tiltproof"))


@pytest.fixture
def one_torch_thread():
    """Run a test with one torch thread (the chain samplers' small tensors are fastest so on a shared CPU)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
