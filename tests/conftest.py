"""Shared settings for the test suite.

Error budget of the tests: every stochastic assertion in ``tests/`` runs at ``STAT_ALPHA``, and a run
may make at most ``MAX_STOCHASTIC_ASSERTIONS`` of them (hypothesis examples included), so the
probability of any false alarm in a full run is below ``TEST_ALPHA_TOTAL`` = 1e-6. The count is *kept*,
not asserted: each test that ran is charged the number of ``STAT_ALPHA`` uses in its source (nested
functions and the module's helpers it calls included) times its hypothesis examples; the terminal
summary prints the total and the run fails if it exceeds the ceiling. A test that spends ``STAT_ALPHA``
in a loop divides it by the loop's length (Bonferroni), as the existing ones do. Seeds are fixed
(hypothesis runs with ``derandomize=True``), so a run is deterministic anyway.
"""
from __future__ import annotations

import os
import types

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


@pytest.fixture(autouse=True)
def single_process_check_by_default(monkeypatch):
    """`tiltproof check` in tests runs in this process unless a test asks for --workers: tests monkeypatch the
    registry, which worker processes (rebuilding it) would not see."""
    import tiltproof.parallel

    monkeypatch.setattr(tiltproof.parallel, "default_workers", lambda: 1)


@pytest.fixture
def one_torch_thread():
    """Run a test with one torch thread (the chain samplers' small tensors are fastest so on a shared CPU)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


# ---------------------------------------------------------------- the test suite's own α budget
_SPENT: dict[str, int] = {}


def _stat_alpha_uses(function) -> int:
    """``STAT_ALPHA`` names in the source of ``function`` (nested lambdas and inner functions included;
    the source, not the bytecode, which pytest's assertion rewriting duplicates)."""
    import ast
    import inspect
    import textwrap

    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, TypeError, SyntaxError):
        return 0
    return sum(isinstance(node, ast.Name) and node.id == "STAT_ALPHA" for node in ast.walk(tree))


def stochastic_assertions(function, module: types.ModuleType | None = None) -> int:
    """Charge of one test: its ``STAT_ALPHA`` uses (plus those of the module-level functions it names)
    times the hypothesis examples it runs."""
    inner = getattr(getattr(function, "hypothesis", None), "inner_test", function)
    code = getattr(inner, "__code__", None)
    if code is None:
        return 0
    uses = _stat_alpha_uses(inner)
    if module is not None:
        for name in code.co_names:
            helper = getattr(module, name, None)
            if isinstance(helper, types.FunctionType) and helper.__module__ == module.__name__:
                uses += _stat_alpha_uses(helper)
    if uses and getattr(function, "is_hypothesis_test", False):
        chosen = getattr(function, "_hypothesis_internal_use_settings", None) or settings.default
        uses *= chosen.max_examples
    return uses


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and report.nodeid in _CHARGES:
        _SPENT[report.nodeid] = _CHARGES[report.nodeid]


_CHARGES: dict[str, int] = {}


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        function = getattr(item, "obj", None)
        if callable(function):
            _CHARGES[item.nodeid] = stochastic_assertions(function, getattr(item, "module", None))


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    spent = sum(_SPENT.values())
    if not _SPENT:
        return
    line = (f"test α budget: {spent} stochastic assertions at STAT_ALPHA={STAT_ALPHA:g} spend "
            f"{spent * STAT_ALPHA:.3g} of TEST_ALPHA_TOTAL={TEST_ALPHA_TOTAL:g} (ceiling {MAX_STOCHASTIC_ASSERTIONS})")
    terminalreporter.write_line(line, red=spent > MAX_STOCHASTIC_ASSERTIONS)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if sum(_SPENT.values()) > MAX_STOCHASTIC_ASSERTIONS and session.exitstatus == 0:
        session.exitstatus = 1  # the run spent more false-alarm budget than it may
