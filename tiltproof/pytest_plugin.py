"""pytest plugin: ``pytest --claims`` runs every registered claim as a test item named by its claim id.

Loaded through the ``pytest11`` entry point ``tiltproof.pytest_plugin`` (an installed tiltproof) and
through ``pytest_plugins`` in the repository's root ``conftest.py`` (a checkout, no reinstall); the
entry point carries the module's own name, so the two routes register it once.

* ``--claims``: one item per registered claim (``tiltproof.core.registry.all_claims``); the item's name is the
  claim id and its node id ``claims::<claim id>``, so a CI log shows
  ``claims::t2.sampler_law/gmm-step-d1/b=3.31 PASSED``. **Only the claims run**: no test file is collected
  unless the command line names test paths as well (``pytest --claims tests`` runs both). Without
  ``--claims`` the plugin adds nothing (and imports nothing heavy).
* The usual selection options work on claim items: ``-k`` (substring of the id, e.g. ``-k "t2 and finite"``),
  ``-m claims``, ``-x``, ``--lf``/``--ff`` (the cache remembers failing claims by node id) and
  ``--deselect claims::<id>``.
* ``--claims-only REGEX``: only claims whose id matches REGEX (``re.search``), as ``tiltproof check --only``.
* ``--claims-alpha CAP`` (default 1e-6), ``--claims-seed N`` (0), ``--claims-device`` (cpu): each claim runs at
  its own fixed level (``tiltproof.core.suite.plan_levels``, as ``tiltproof check``), so an item's record is the
  record ``tiltproof check --seed N`` writes for that claim; the levels are scaled down, with a note in the
  header, only if the selected claims' levels exceed the cap. The terminal summary states the α spent.

An item passes iff the claim's verdict is ``pass``; ``fail`` and ``error`` fail the item with the record
(message, statistic, empirical value, confidence bound, relation, bound, exact value, margin, n, detectable
gap, α, seed) in the failure report. Items carry the marker ``claims`` (``-m claims`` selects them) and the
record's fields as ``user_properties`` (they appear in ``--junitxml`` reports), plus the whole record as
JSON text under ``record_json``. With pytest-xdist (``pytest --claims -n auto``) every worker collects the
same items in the same order (ids come from the registry, sorted by module) and the records travel back
to the controller in the reports' ``user_properties``: the same records as one process. Each item is in
the ``xdist_group`` of its module and instance, so ``--dist loadgroup`` keeps claims that share a costly
exact law (cached per process) on one worker.
"""
from __future__ import annotations

import json
import zlib
from typing import Any

import pytest

__all__ = ["ClaimItem", "ClaimNotPassing", "format_record"]

COLLECTOR_NAME = "claims"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tiltproof", "tiltproof claims")
    group.addoption("--claims", action="store_true", default=False,
                    help="run the registered tiltproof claims as test items named by their claim ids (only "
                         "them, unless test paths are given too: `pytest --claims tests`)")
    group.addoption("--claims-only", metavar="REGEX", default=None,
                    help="with --claims: only the claims whose id matches REGEX (re.search)")
    group.addoption("--claims-alpha", metavar="CAP", type=float, default=None,
                    help="with --claims: cap on the total false-alarm level spent (default 1e-6); each claim runs "
                         "at its own fixed level, scaled down only if the selection would exceed the cap")
    group.addoption("--claims-seed", metavar="N", type=int, default=0, help="with --claims: master seed (default 0)")
    group.addoption("--claims-device", metavar="DEVICE", default="cpu",
                    help="with --claims: torch device for the samplers (default cpu)")
    group.addoption("--claims-theorems", metavar="MODULE", action="append", default=None,
                    help="with --claims: also register the claims of the theorem package MODULE (repeatable; as "
                         "`tiltproof check --theorems`; entry points and ./pyproject.toml [tool.tiltproof] count too)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "claims: a registered tiltproof claim run by `pytest --claims`")
    if config.getoption("claims"):
        config.pluginmanager.register(_SpentLevels(), "tiltproof-claims-spent")


def _claims_only(config: pytest.Config) -> bool:
    """``--claims`` without test paths on the command line: collect no test file, run the claims alone."""
    return bool(config.getoption("claims")) and config.args_source != pytest.Config.ArgsSource.ARGS


def pytest_ignore_collect(collection_path, config: pytest.Config) -> bool | None:
    """Under ``--claims`` alone, skip every file and folder: the claim items are the whole run."""
    return True if _claims_only(config) else None


class ClaimNotPassing(Exception):
    """Raised by a claim item whose verdict is fail or error; carries the record."""

    def __init__(self, record: Any) -> None:
        super().__init__(f"{record.verdict}: {record.id}")
        self.record = record


def _number(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _plain(value: Any) -> Any:
    """JSON fallback for numpy scalars and arrays in a record's details."""
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def format_record(record: Any) -> str:
    """A failing claim's record, one field per line, for the pytest failure report."""
    lines = [
        f"claim {record.id} (theorem {record.theorem}, module {record.module}, instance {record.instance})",
        f"verdict: {record.verdict.upper()}",
        f"message: {record.message or '(none)'}",
        f"statistic: {record.statistic}",
        f"empirical: {_number(record.empirical)}    confidence bound: {_number(record.confidence_bound)}    "
        f"relation: {getattr(record, 'relation', '≤')}",
        f"bound: {_number(record.bound)}    exact: {_number(record.exact)}    margin: {_number(record.margin)}",
        f"n: {record.n}    detectable gap: {_number(record.detectable_gap)}    alpha: {_number(record.alpha)}    "
        f"seed: {record.seed}",
    ]
    traceback = (record.details or {}).get("traceback")
    if traceback:
        lines += ["traceback:", traceback.rstrip()]
    return "\n".join(lines)


class ClaimItem(pytest.Item):
    """One registered claim, checked at its share of the budget when the item runs."""

    def __init__(self, *, claim: Any, alpha: float, seed: int, device: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.claim = claim
        self.alpha = alpha
        self.seed = seed
        self.device = device
        self.add_marker(pytest.mark.claims)
        if self.config.pluginmanager.hasplugin("xdist"):  # `-n auto --dist loadgroup`: one instance, one worker
            # loadgroup appends "@<group>" to node ids: a short code, as instance names may hold LaTeX
            self.add_marker(pytest.mark.xdist_group(name=f"{claim.module}-{zlib.crc32(claim.instance.encode()):08x}"))

    def runtest(self) -> None:
        from tiltproof.core.framework import run_claim

        record = run_claim(self.claim, alpha=self.alpha, seed=self.seed, device=self.device)
        # plain JSON values only (no numpy scalars): under xdist they travel to the controller through execnet
        record_json = json.dumps(record.to_json(), default=_plain)
        plain = json.loads(record_json)
        for key in ("verdict", "statistic", "empirical", "confidence_bound", "relation", "bound", "exact", "margin", "n",
                    "detectable_gap", "alpha", "seed", "message"):
            self.user_properties.append((key, plain[key]))
        self.user_properties.append(("record_json", record_json))
        if record.verdict != "pass":
            raise ClaimNotPassing(record)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style=None) -> str:
        if isinstance(excinfo.value, ClaimNotPassing):
            return format_record(excinfo.value.record)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        return self.path, None, f"claim {self.claim.id}"


class ClaimsCollector(pytest.Collector):
    """Collects one ``ClaimItem`` per selected registered claim."""

    def __init__(self, *, claims: list, levels: dict[str, float], seed: int, device: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._claims, self._levels, self._seed, self._device = claims, levels, seed, device

    def collect(self):
        for claim in self._claims:
            yield ClaimItem.from_parent(self, name=claim.id, claim=claim, alpha=self._levels[claim.id],
                                        seed=self._seed, device=self._device)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Append the claim items before ``-k``/``-m`` deselection runs, so those options apply to claims too."""
    if not config.getoption("claims"):
        if config.getoption("claims_only"):
            raise pytest.UsageError("--claims-only needs --claims")
        return
    from tiltproof.core import registry
    from tiltproof.core.framework import DEFAULT_ALPHA_TOTAL
    from tiltproof.core.suite import plan_levels
    from tiltproof.plugins import use_theorems

    pattern = config.getoption("claims_only")
    try:
        use_theorems(config.getoption("claims_theorems"))
        registered = registry.all_claims()
        chosen = registry.select_claims(registered, pattern)
        alpha_cap = config.getoption("claims_alpha")
        plan = plan_levels(chosen, DEFAULT_ALPHA_TOTAL if alpha_cap is None else alpha_cap)
    except ValueError as error:
        raise pytest.UsageError(str(error)) from None
    if pattern and not chosen:
        raise pytest.UsageError(f"--claims-only {pattern!r} matches none of the {len(registered)} registered claims")
    notes = ([plan.note] if plan.note else []) + [f"error: {problem}" for problem in registry.load_problems()]
    config.stash[_PLAN_NOTE] = "; ".join(notes) or None
    collector = ClaimsCollector.from_parent(session, name=COLLECTOR_NAME, nodeid=COLLECTOR_NAME, claims=chosen,
                                            levels=plan.levels, seed=config.getoption("claims_seed"),
                                            device=config.getoption("claims_device"))
    items.extend(session.genitems(collector))  # reported as collected, so the "N selected" count stays true


_PLAN_NOTE = pytest.StashKey[Any]()
def pytest_report_header(config: pytest.Config) -> str | None:
    if not config.getoption("claims"):
        return None
    alpha_cap = config.getoption("claims_alpha")
    only = config.getoption("claims_only")
    scope = ("claims only (name test paths too, e.g. `pytest --claims tests`, to run the test suite)"
             if _claims_only(config) else "claims and the collected tests")
    return (f"tiltproof claims: {scope}; each claim at its own level, cap α={alpha_cap if alpha_cap is not None else 1e-6:g}, "
            f"seed={config.getoption('claims_seed')}" + (f", --claims-only {only!r}" if only else ""))


class _SpentLevels:
    """Adds up the level of every claim item that ran (also from xdist workers, via ``user_properties``)."""

    def __init__(self) -> None:
        self.levels: list[float] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call" and report.nodeid.startswith(COLLECTOR_NAME + "::"):
            alpha = dict(report.user_properties).get("alpha")
            if isinstance(alpha, float):
                self.levels.append(alpha)

    def pytest_terminal_summary(self, terminalreporter, exitstatus: int, config: pytest.Config) -> None:
        note = config.stash.get(_PLAN_NOTE, None)
        if note:
            terminalreporter.write_line(f"tiltproof claims: note: {note}")
        if self.levels:
            terminalreporter.write_line(f"tiltproof claims: {len(self.levels)} claims ran; α spent "
                                        f"{sum(self.levels):.3g} (Bonferroni bound on any false failure)")
