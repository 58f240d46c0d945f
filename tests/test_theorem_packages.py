"""Theorem packages from outside tiltproof (issue 21): ``--theorems``, entry points, ``[tool.tiltproof]``,
``tiltproof new theorem`` and the example package under ``examples/softbon_theorem``, run as a user runs them
(subprocesses with PYTHONPATH, nothing installed), plus their bad input: a module that does not import, an
entry point whose ``claims()`` raises, two packages with one claim id."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tiltproof.core import registry
from tiltproof.new_command import write_theorem_package

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "softbon_theorem"
FAST_BUILT_IN = r"^t8\.tight/two-point/eps=0\.5$"  # an exact claim: well under a second


def _run(*arguments: str, path: list[Path] = (), cwd: Path | None = None, module: str = "tiltproof.cli"):
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(str(p) for p in [ROOT, *path])}
    environment.pop("TILTPROOF_THEOREMS", None)
    return subprocess.run([sys.executable, "-m", module, *arguments], capture_output=True, text=True, timeout=600,
                          env=environment, cwd=cwd or ROOT)


def _write_module(directory: Path, dotted: str, body: str) -> None:
    parts = dotted.split(".")
    for depth in range(1, len(parts)):
        package = directory.joinpath(*parts[:depth])
        package.mkdir(parents=True, exist_ok=True)
        (package / "__init__.py").touch()
    directory.joinpath(*parts[:-1], parts[-1] + ".py").write_text(textwrap.dedent(body))


ONE_CLAIM = '''
import sympy
from tiltproof.api import Claim, upper_bound_evidence

def _check(context):
    return upper_bound_evidence(statistic="demo", bound=1.0, exact=0.5, empirical=None, lower_confidence=None,
                                n=0, detectable_gap=None)

def claims():
    return [Claim(id="{claim_id}", theorem="DEMO", module=__name__, title="demo", statement="x", instance="none",
                  bound_expression=sympy.Integer(1), hypotheses=(), check=_check)]
'''


# ---------------------------------------------------------------- the layout
def test_theorems_folder_holds_only_theorem_modules_and_no_skip_list():
    import importlib
    import pkgutil

    import theorems

    infos = list(pkgutil.iter_modules(theorems.__path__))
    names = [info.name for info in infos if not info.ispkg]
    assert len(registry.theorem_modules()) == len(names) and names
    # the one subpackage holds the modules' proofs as data (issue 22), which the registry does not scan
    assert [info.name for info in infos if info.ispkg] == ["proofs"]
    assert all(not callable(getattr(importlib.import_module(f"theorems.proofs.{info.name}"), "claims", None))
               for info in pkgutil.iter_modules(importlib.import_module("theorems.proofs").__path__))
    assert not hasattr(registry, "_INFRASTRUCTURE")


def test_api_exports_resolve():
    import tiltproof.api as api

    missing = [name for name in api.__all__ if not hasattr(api, name)]
    assert missing == [] and {"Claim", "Evidence", "CheckContext", "Mutant", "wrong_variant",
                              "upper_bound_evidence", "min_num_samples_for_dkw_cdf_test"} <= set(api.__all__)


# ---------------------------------------------------------------- the example package
def test_example_package_runs_through_theorems_and_its_wrong_variants_are_killed(tmp_path):
    results, kills = tmp_path / "results.json", tmp_path / "mutants.json"
    checked = _run("check", "--theorems", "softbon_theorem.claims", "--only", r"^softbon\.|" + FAST_BUILT_IN[1:],
                   "--workers", "1", "--json", str(results), path=[EXAMPLE])
    assert checked.returncode == 0, checked.stdout + checked.stderr
    payload = json.loads(results.read_text())
    records = {record["id"]: record for record in payload["claims"]}
    assert len([claim_id for claim_id in records if claim_id.startswith("softbon.")]) == 8
    assert all(record["verdict"] == "pass" for record in records.values()) and "t8.tight/two-point/eps=0.5" in records
    assert payload["meta"]["theorem_packages"] == ["softbon_theorem.claims"]
    assert all(record["module"] == "softbon_theorem.claims" for i, record in records.items() if i.startswith("soft"))
    killed = _run("mutants", "--theorems", "softbon_theorem.claims", "--only", "^softbon", "--json", str(kills),
                  path=[EXAMPLE])
    assert killed.returncode == 0, killed.stdout + killed.stderr
    rows = json.loads(kills.read_text())["mutants"]
    assert len(rows) == 2 and all(row["killed"] for row in rows)


# ---------------------------------------------------------------- tiltproof new theorem
def test_new_theorem_skeleton_passes_check_its_test_and_its_variant_is_killed(tmp_path):
    package = tmp_path / "pkg"
    written = _run("new", "theorem", "my_bound", "--dir", str(package))
    assert written.returncode == 0, written.stderr
    assert {"pyproject.toml", "my_bound/claims.py", "tests/test_my_bound.py"} <= {
        str(path.relative_to(package)) for path in package.rglob("*") if path.is_file()}
    assert 'my_bound = "my_bound.claims"' in (package / "pyproject.toml").read_text()
    # from the package directory, ./pyproject.toml's [tool.tiltproof] registers it; --theorems elsewhere
    checked = _run("check", "--only", "^my-bound", "--workers", "1", path=[package], cwd=package)
    assert checked.returncode == 0 and "1 passed" in checked.stdout, checked.stdout + checked.stderr
    killed = _run("mutants", "--theorems", "my_bound.claims", "--only", "^my-bound", path=[package])
    assert killed.returncode == 0 and "1 of 1 wrong variants killed" in killed.stdout, killed.stdout + killed.stderr
    tested = _run("-q", "-p", "no:cacheprovider", "tests", path=[package], cwd=package, module="pytest")
    assert tested.returncode == 0 and "2 passed" in tested.stdout, tested.stdout + tested.stderr


@pytest.mark.parametrize("name", ["My-Bound", "class", "", "9lives"])
def test_new_theorem_refuses_a_bad_name(tmp_path, name):
    with pytest.raises(ValueError, match="NAME"):
        write_theorem_package(name, tmp_path / "x")


def test_new_theorem_refuses_a_non_empty_directory(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(ValueError, match="--dir"):
        write_theorem_package("ok_name", tmp_path)
    assert (tmp_path / "keep.txt").read_text() == "mine"


# ---------------------------------------------------------------- bad input
def test_a_theorems_module_that_does_not_import_is_exit_2_naming_it():
    completed = _run("list", "--theorems", "no_such_package.claims")
    assert completed.returncode == 2
    assert completed.stderr.strip().count("\n") == 0 and "no_such_package.claims" in completed.stderr


def test_two_packages_with_one_claim_id_are_exit_2_naming_both(tmp_path):
    _write_module(tmp_path, "first_pkg.claims", ONE_CLAIM.format(claim_id="dup.claim/x"))
    _write_module(tmp_path, "second_pkg.claims", ONE_CLAIM.format(claim_id="dup.claim/x"))
    _write_module(tmp_path, "third_pkg.claims", ONE_CLAIM.format(claim_id="t8.tight/two-point/eps=0.5"))
    both = _run("list", "--theorems", "first_pkg.claims", "--theorems", "second_pkg.claims", path=[tmp_path])
    assert both.returncode == 2 and "second_pkg.claims" in both.stderr and "first_pkg.claims" in both.stderr
    built_in = _run("list", "--theorems", "third_pkg.claims", path=[tmp_path])
    assert built_in.returncode == 2 and "third_pkg.claims" in built_in.stderr and "built-in" in built_in.stderr


def test_an_entry_point_whose_claims_raise_is_an_error_line_and_the_built_ins_still_run(tmp_path):
    _write_module(tmp_path, "broken_pkg.claims", "def claims():\n    raise RuntimeError('no instance today')\n")
    info = tmp_path / "broken_theorems-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-theorems\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[tiltproof.theorems]\nbroken = broken_pkg.claims\n")
    completed = _run("check", "--only", FAST_BUILT_IN, "--workers", "1", path=[tmp_path])
    errors = [line for line in completed.stderr.splitlines() if line.startswith("error:")]
    assert errors and all("'broken'" in line and "broken-theorems" in line and "no instance today" in line
                          for line in errors), completed.stderr
    assert "1 passed" in completed.stdout and completed.returncode == 1, completed.stdout + completed.stderr


def test_pytest_claims_runs_a_theorem_package_named_by_claims_theorems():
    completed = _run("-p", "no:cacheprovider", "--claims", "--claims-theorems", "softbon_theorem.claims",
                     "--claims-only", r"^softbon\.kl_bound/two-point", "-q", path=[EXAMPLE], module="pytest")
    assert completed.returncode == 0 and "2 passed" in completed.stdout, completed.stdout + completed.stderr
