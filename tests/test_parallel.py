"""``tiltproof check --workers N``, the worker pool and ``pytest --claims -n``: the same records as one process.

A record is a pure function of (claim id, α share, seed, device); only its ``seconds`` may differ.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tiltproof.core.registry import all_claims, select_claims
from tiltproof.core.suite import plan_levels
from tiltproof import cli
from tiltproof.parallel import Job, check_workers, run_claims_parallel, run_jobs

ROOT = Path(__file__).resolve().parents[1]
CHEAP = r"^(t3\.chernoff_tail|t2\.tv_le_tail|t4\.proposals_lower)/"   # a dozen claims of ~10 ms, torch sampling included


def _without_seconds(record: dict) -> dict:
    return {key: value for key, value in record.items() if key != "seconds"}


@pytest.fixture(scope="module")
def cheap_claims():
    registered = all_claims()
    chosen = select_claims(registered, CHEAP)
    return chosen, plan_levels(chosen, 1e-6).levels


def test_pool_gives_the_single_process_records_in_order(cheap_claims):
    claims, share = cheap_claims
    serial = run_claims_parallel(claims, alpha=share, seed=3, workers=1)
    completed, in_order = [], []
    pooled = run_claims_parallel(claims, alpha=share, seed=3, workers=2, on_complete=lambda r: completed.append(r.id),
                                 on_record=lambda r: in_order.append(r.id))
    assert len(claims) >= 10
    assert [record.id for record in pooled] == [claim.id for claim in claims] == in_order
    assert sorted(completed) == sorted(in_order)
    assert [_without_seconds(r.to_json()) for r in pooled] == [_without_seconds(r.to_json()) for r in serial]


def test_a_dead_worker_gives_an_error_record_and_the_run_goes_on(cheap_claims):
    from _dying_claims import DIE_ON_PREFIX, EXIT_CODE

    claims, share = cheap_claims
    victims = {claim.id for claim in claims if claim.id.startswith(DIE_ON_PREFIX)}
    serial = {r.id: r for r in run_claims_parallel(claims, alpha=share, workers=1)}
    pooled = run_claims_parallel(claims, alpha=share, workers=2, target="_dying_claims:run_or_die")
    assert len(victims) >= 2 and [record.id for record in pooled] == [claim.id for claim in claims]
    for record in pooled:
        if record.id in victims:  # each victim killed its worker; a fresh one took the next claim
            assert record.verdict == "error" and f"died (exit code {EXIT_CODE})" in record.message
            assert record.seed == serial[record.id].seed and record.theorem == serial[record.id].theorem
        else:
            assert _without_seconds(record.to_json()) == _without_seconds(serial[record.id].to_json())


def test_jobs_that_raise_die_or_overrun_get_their_fallback_in_input_order():
    jobs = [Job("math:sqrt", (4.0,)), Job("os:_exit", (3,)), Job("math:sqrt", (-1.0,)), Job("time:sleep", (60,)),
            Job("math:factorial", (5,))]
    results = run_jobs(jobs, workers=2, timeout=10, fallback=lambda index, reason: f"fallback {index}: {reason}")
    assert results[0] == 2.0 and results[4] == 120
    assert results[1].startswith("fallback 1:") and "exit code 3" in results[1]
    assert results[2].startswith("fallback 2:") and "ValueError: math domain error" in results[2]
    assert results[3].startswith("fallback 3:") and "timed out after 10 s" in results[3]


def test_workers_argument_is_checked_before_any_work():
    assert check_workers(None) >= 1 and check_workers(3) == 3
    for bad in (0, -2, 1.5, True):
        with pytest.raises(ValueError, match="workers"):
            check_workers(bad)
    assert cli.main(["check", "--workers", "0", "--only", "t1"]) == 2


def test_cli_check_with_workers_writes_the_same_json(tmp_path):
    outputs = {}
    for workers in ("1", "2"):
        outputs[workers] = tmp_path / f"w{workers}.json"
        assert cli.main(["check", "--only", CHEAP, "--seed", "7", "--workers", workers,
                         "--json", str(outputs[workers])]) == 0
    one, two = (json.loads(outputs[w].read_text()) for w in ("1", "2"))
    assert len(one["claims"]) >= 10
    assert [_without_seconds(r) for r in one["claims"]] == [_without_seconds(r) for r in two["claims"]]
    assert ({k: v for k, v in one["meta"].items() if k not in ("date", "seconds")}
            == {k: v for k, v in two["meta"].items() if k not in ("date", "seconds")})


COLLECT_RECORDS = '''
import json, os

records = []


def pytest_runtest_logreport(report):
    if report.when == "call":
        records.extend(json.loads(value) for key, value in report.user_properties if key == "record_json")


def pytest_sessionfinish(session):
    if not hasattr(session.config, "workerinput"):  # the controller (or a run without xdist) writes the file
        with open(os.environ["RECORDS_OUT"], "w") as handle:
            json.dump(records, handle)
'''


def test_pytest_claims_under_xdist_gives_the_single_process_records(tmp_path, cheap_claims):
    pytest.importorskip("xdist", reason="pytest-xdist is in the test extra: pip install -e '.[test]'")
    claims, share = cheap_claims
    (tmp_path / "conftest.py").write_text(COLLECT_RECORDS + 'pytest_plugins = ["tiltproof.pytest_plugin"]\n')
    environment = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
                   "RECORDS_OUT": str(tmp_path / "records.json")}
    completed = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--claims", "--claims-only",
                                CHEAP, "--claims-seed", "4", "-n", "2", "-q"], cwd=tmp_path, capture_output=True,
                               text=True, timeout=600, env=environment)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert f"{len(claims)} passed" in completed.stdout
    from_xdist = {record["id"]: record for record in json.loads((tmp_path / "records.json").read_text())}
    serial = run_claims_parallel(claims, alpha=share, seed=4, workers=1)
    assert sorted(from_xdist) == sorted(record.id for record in serial)
    for record in serial:
        assert _without_seconds(from_xdist[record.id]) == _without_seconds(record.to_json())


def test_scheduling_keeps_a_worker_on_its_group_and_leaves_results_in_input_order():
    from tiltproof.parallel import _Queue

    jobs = [Job("math:sqrt", (float(k),)) for k in range(6)]
    queue = _Queue(jobs, ["a", "b", "a", "c", "b", "a"])
    assert queue.take(None, set()) == 0            # first group
    assert queue.take(None, {"a"}) == 1            # a group nobody works on
    assert queue.take("a", {"b"}) == 2             # keep to one's group
    assert queue.take("b", {"a"}) == 4
    assert queue.take("b", {"a"}) == 3             # b exhausted: the next free group
    assert queue.take("c", {"a"}) == 5 and not queue  # only a busy group left: share it
    results = run_jobs(jobs, workers=2, groups=["a", "b", "a", "c", "b", "a"], fallback=lambda i, reason: None)
    assert results == [float(k) ** 0.5 for k in range(6)]
