"""`tiltproof verify MODULE:CALLABLE --family …` and the `tiltproof.testing` one-liners, as a user runs them."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from tests.conftest import STAT_ALPHA
from tiltproof.cli import main

LEVEL = ["--alpha", str(STAT_ALPHA)]  # the test suite's per-assertion level

USER_MODULE = textwrap.dedent('''
    import torch
    from primitives import rejection_sample
    from primitives.chain_samplers import EnvelopeBaseline, per_step_rejection_sample
    from primitives.tilt_oracle import ExactTiltOracle
    from tiltproof.instances.single_step import get_instance
    from tiltproof.byo.chain import resolve_chain_instance

    _finite = get_instance("finite-k10")
    _base = _finite.base("cpu")

    def good_single(n, generator):
        return rejection_sample(_base, _finite.reward, _finite.lam, 2.0, n, generator=generator).samples

    def hot_single(n, generator):            # a temperature bug: λ·1.1
        return rejection_sample(_base, _finite.reward, 1.1 * _finite.lam, 2.0, n, generator=generator).samples

    class ideal_chain:                         # an object with .sampler and its declared rule
        _instance = resolve_chain_instance("gmm-ref-B1")
        baseline = EnvelopeBaseline(_instance.values)
        values = None

        @staticmethod
        def sampler(kernel, n, generator):
            return per_step_rejection_sample(kernel, ideal_chain._instance.values, ideal_chain.baseline, n,
                                             generator=generator, record_states=True)

    def tilt_factory(base):
        return ExactTiltOracle(base)
''')


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    (tmp_path / "my_tiltproof_user.py").write_text(USER_MODULE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    return "my_tiltproof_user"


def test_verify_single_pass_and_fail_with_json(user_module, tmp_path, one_torch_thread):
    out = tmp_path / "record.json"
    assert main(["verify", f"{user_module}:good_single", "--family", "single", "--instance", "finite-k10",
                 "--baseline", "2", "--json", str(out), *LEVEL]) == 0
    record = json.loads(out.read_text())
    assert record["verdict"] == "pass" and record["power"]["lambda_relative_error"] <= 0.051
    assert main(["verify", f"{user_module}:hot_single", "--family", "single", "--instance", "finite-k10",
                 "--baseline", "2", *LEVEL]) == 1


def test_verify_summary_line_says_which_pass_and_a_fail_says_why(user_module, capsys, one_torch_thread):
    assert main(["verify", f"{user_module}:good_single", "--family", "single", "--instance", "finite-k10",
                 "--baseline", "2", *LEVEL]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("PASS (not refuted): single check") and "samples" in first, first
    assert main(["verify", f"{user_module}:hot_single", "--family", "single", "--instance", "finite-k10",
                 "--baseline", "2", *LEVEL]) == 1
    out = capsys.readouterr().out
    assert out.startswith("FAIL") and "consistent with λ" in out and "untilted" in out, out


def test_verify_chain_budget_claim_without_a_rule_is_uncertified(user_module, capsys, one_torch_thread):
    import importlib

    (Path.cwd() / "my_undeclared.py").write_text(textwrap.dedent('''
        from primitives.chain_samplers import trajectory_rejection_sample
        from tiltproof.byo.chain import resolve_chain_instance
        _instance = resolve_chain_instance("gmm-ref-B1")

        def sampler(kernel, n, generator):
            return trajectory_rejection_sample(kernel, _instance.reward, _instance.lam, n, generator=generator)
    '''))
    importlib.invalidate_caches()
    arguments = ["verify", "my_undeclared:sampler", "--family", "chain", "--instance", "gmm-ref-B1", "--budget", "0.05",
                 *LEVEL]
    assert main([*arguments, "--strict"]) == 1       # uncertified exits 0 without --strict
    out = capsys.readouterr().out
    assert out.startswith("UNCERTIFIED") and "record_states" in out, out


def test_verify_chain_with_a_declared_rule(user_module, one_torch_thread):
    assert main(["verify", f"{user_module}:ideal_chain", "--family", "chain", "--instance", "gmm-ref-B1",
                 "--budget", "0", *LEVEL]) == 0


def test_verify_tilt_oracle_factory_on_a_named_instance(user_module, one_torch_thread):
    assert main(["verify", f"{user_module}:tilt_factory", "--family", "tilt", "--instance", "gauss-d2", *LEVEL]) == 0


@pytest.mark.parametrize("arguments", [
    ["verify", "no_such_module_xyz:f", "--family", "single", "--instance", "finite-k10"],
    ["verify", "not-a-target", "--family", "single", "--instance", "finite-k10"],
    ["verify", "os:path", "--family", "chain", "--instance", "gmm-ref-B1", "--budget", "2"],
    ["verify", "os:getcwd", "--family", "single"],
    ["verify", "os:getcwd", "--family", "single", "--instance", "finite-k10", "--json", "/no/such/dir/r.json"],
])
def test_verify_bad_arguments_exit_2(arguments, capsys):
    assert main(arguments) == 2
    assert capsys.readouterr().err.startswith("error:")  # one line on stderr, as every command (tiltproof.runner)


def test_testing_helpers_raise_with_the_record(one_torch_thread):
    from primitives import rejection_sample
    from tiltproof.instances.single_step import get_instance
    from tiltproof.testing import assert_sampler

    instance = get_instance("finite-k10")
    base = instance.base("cpu")
    good = lambda n, g: rejection_sample(base, instance.reward, instance.lam, 2.0, n, generator=g).samples
    hot = lambda n, g: rejection_sample(base, instance.reward, 1.2 * instance.lam, 2.0, n, generator=g).samples
    assert assert_sampler(good, instance="finite-k10", baseline=2.0, alpha=STAT_ALPHA).verdict == "pass"
    with pytest.raises(AssertionError, match="REJECTED"):
        assert_sampler(hot, instance="finite-k10", baseline=2.0, alpha=STAT_ALPHA)
