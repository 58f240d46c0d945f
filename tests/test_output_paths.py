"""Every command that writes ``--json`` refuses a bad path before any work (exit 2 naming the option), instead
of running the whole job and then losing it to a traceback (issue 21, item 6: mutants ran 156 s first)."""
from __future__ import annotations

import time

import pytest

from tiltproof import cli

BAD_PATHS = ["/nonexistent-tiltproof-folder/x.json", "/proc/x.json"]


def _refused(capsys, arguments: list[str]) -> str:
    started = time.perf_counter()
    assert cli.main(arguments) == 2
    assert time.perf_counter() - started < 30  # no variant, grid point or check ran (each takes far longer here)
    captured = capsys.readouterr()
    return captured.out + captured.err


@pytest.mark.parametrize("path", BAD_PATHS)
def test_mutants_refuses_a_bad_json_path_before_running(capsys, path):
    output = _refused(capsys, ["mutants", "--json", path])
    assert "--json" in output and "wrong variants killed" not in output


@pytest.mark.parametrize("path", BAD_PATHS)
def test_sweep_refuses_a_bad_json_path_before_running(tmp_path, capsys, path):
    spec = tmp_path / "sweep.toml"
    spec.write_text('family = "single-step"\nseed = 1\n[grid]\ninstance = ["finite-k10"]\nlambda = [1.0]\n'
                    'delta = [0.5]\n')
    output = _refused(capsys, ["sweep", str(spec), "--workers", "1", "--json", path])
    assert "--json" in output and "passed" not in output


@pytest.mark.parametrize("path", BAD_PATHS)
def test_verify_refuses_a_bad_json_path_before_running(capsys, path):
    output = _refused(capsys, ["verify", "no_such_module:sampler", "--family", "single", "--instance", "finite-k10",
                               "--json", path])
    assert "--json" in output and "no_such_module" not in output  # refused before the target is even imported


def test_a_folder_is_not_a_json_path(tmp_path, capsys):
    output = _refused(capsys, ["mutants", "--json", str(tmp_path)])
    assert "is a folder" in output
