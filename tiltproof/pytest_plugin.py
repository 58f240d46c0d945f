"""pytest plugin: ``pytest --claims`` runs every registered claim as a test item named by its claim id.

Loaded through the ``pytest11`` entry point ``tiltproof.pytest_plugin`` (an installed tiltproof) and
through ``pytest_plugins`` in the repository's root ``conftest.py`` (a checkout, no reinstall); the
entry point carries the module's own name, so the two routes register it once.

* ``--claims``: one item per registered claim (``theorems.registry.all_claims``), appended to the
  collected tests; the item's name is the claim id and its node id ``claims::<claim id>``, so a CI log
  shows ``claims::t2.sampler_law/gmm-step-d1/b=3.31 PASSED``. Without ``--claims`` the plugin adds
  nothing (and imports nothing heavy).
* ``--claims-only REGEX``: only claims whose id matches REGEX (``re.search``), as ``tiltproof check --only``.
* ``--claims-alpha A`` (default 1e-6), ``--claims-seed N`` (0), ``--claims-device`` (cpu): the suite's
  false-alarm budget is split over *all registered* claims, as ``theorems.suite`` does, so an item's
  record is the record ``tiltproof check --seed N --alpha A`` writes for that claim, selected or not.

An item passes iff the claim's verdict is ``pass``; ``fail`` and ``error`` fail the item with the record
(message, statistic, empirical value, confidence bound, bound, exact value, margin, n, detectable gap,
α, seed) in the failure report. Items carry the marker ``claims`` (``-m claims`` selects them) and the
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
                    help="run every registered tiltproof claim as a test item named by its claim id")
    group.addoption("--claims-only", metavar="REGEX", default=None,
                    help="with --claims: only the claims whose id matches REGEX (re.search)")
    group.addoption("--claims-alpha", metavar="A", type=float, default=None,
                    help="with --claims: the suite's false-alarm budget α_total (default 1e-6), split over all "
                         "registered claims")
    group.addoption("--claims-seed", metavar="N", type=int, default=0, help="with --claims: master seed (default 0)")
    group.addoption("--claims-device", metavar="DEVICE", default="cpu",
                    help="with --claims: torch device for the samplers (default cpu)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "claims: a registered tiltproof claim run by `pytest --claims`")


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
        f"empirical: {_number(record.empirical)}    confidence bound: {_number(record.confidence_bound)}",
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
        from theorems.framework import run_claim

        record = run_claim(self.claim, alpha=self.alpha, seed=self.seed, device=self.device)
        # plain JSON values only (no numpy scalars): under xdist they travel to the controller through execnet
        record_json = json.dumps(record.to_json(), default=_plain)
        plain = json.loads(record_json)
        for key in ("verdict", "statistic", "empirical", "confidence_bound", "bound", "exact", "margin", "n",
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

    def __init__(self, *, claims: list, alpha: float, seed: int, device: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._claims, self._alpha, self._seed, self._device = claims, alpha, seed, device

    def collect(self):
        for claim in self._claims:
            yield ClaimItem.from_parent(self, name=claim.id, claim=claim, alpha=self._alpha, seed=self._seed,
                                        device=self._device)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Append the claim items before ``-k``/``-m`` deselection runs, so those options apply to claims too."""
    if not config.getoption("claims"):
        if config.getoption("claims_only"):
            raise pytest.UsageError("--claims-only needs --claims")
        return
    from theorems import registry
    from theorems.framework import DEFAULT_ALPHA_TOTAL
    from theorems.suite import alpha_share

    registered = registry.all_claims()
    pattern = config.getoption("claims_only")
    try:
        chosen = registry.select_claims(registered, pattern)
        alpha_total = config.getoption("claims_alpha")
        share = alpha_share(DEFAULT_ALPHA_TOTAL if alpha_total is None else alpha_total, len(registered))
    except ValueError as error:
        raise pytest.UsageError(str(error)) from None
    if pattern and not chosen:
        raise pytest.UsageError(f"--claims-only {pattern!r} matches none of the {len(registered)} registered claims")
    collector = ClaimsCollector.from_parent(session, name=COLLECTOR_NAME, nodeid=COLLECTOR_NAME, claims=chosen, alpha=share,
                                            seed=config.getoption("claims_seed"), device=config.getoption("claims_device"))
    items.extend(collector.collect())


def pytest_report_header(config: pytest.Config) -> str | None:
    if not config.getoption("claims"):
        return None
    alpha_total = config.getoption("claims_alpha")
    only = config.getoption("claims_only")
    return (f"tiltproof claims: α_total={alpha_total if alpha_total is not None else 1e-6:g} split over all registered "
            f"claims, seed={config.getoption('claims_seed')}" + (f", --claims-only {only!r}" if only else ""))

