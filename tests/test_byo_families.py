"""The BYO family protocol (issue 21 item 4): one declaration drives `tiltproof verify`, the asserts, the exports."""
from __future__ import annotations

import inspect
import subprocess
import sys
import textwrap

import pytest

import tiltproof.byo as byo
import tiltproof.testing as testing
import tiltproof.testing_tractability as testing_tractability
from tiltproof.byo import families as registry
from tiltproof.cli import main

BUILT_IN = ("single", "chain", "tilt", "kl", "prox")


def test_the_built_in_families_drive_the_exports_and_the_asserts():
    declared = registry.families()
    assert tuple(entry.name for entry in declared) == BUILT_IN
    for entry in declared:
        check = getattr(byo, entry.check)
        assert callable(check) and check.__module__ == entry.module and entry.check in byo.__all__
        assertion = getattr(testing, entry.assertion)
        assert assertion.__name__ == entry.assertion and entry.assertion in testing.__all__
        parameters = inspect.signature(assertion).parameters
        assert "allow_uncertified" in parameters and list(parameters)[0] == list(inspect.signature(check).parameters)[0]
        assert entry.declared().verify is not None
    # testing_tractability's asserts are tiltproof.testing's, not a second copy
    for name in testing_tractability.__all__:
        assert getattr(testing_tractability, name) is getattr(testing, name)
    assert byo.check_chain_sampler_on_kernel.__module__ == "tiltproof.byo.chain_reference"
    with pytest.raises(AttributeError):
        byo.check_no_such_family
    with pytest.raises(AttributeError):
        testing.assert_no_such_family


def test_reading_the_registry_imports_no_check():
    code = ("import sys; from tiltproof.byo.families import families; families(); "
            "import tiltproof.verify_command; "
            "assert not any(m in sys.modules for m in ('torch', 'tiltproof.byo.chain', 'tiltproof.byo.byos'))")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).returncode == 0


TOY = '''
from tiltproof.byo.families import Family, Option
from tiltproof.byo.verification import VerificationRecord


def check_toy(value, *, scale=1.0, alpha=1e-6, seed=0):
    """Passes iff value() * scale == 1."""
    holds = value() * scale == 1
    return VerificationRecord(family="toy", instance="unit", verdict="pass" if holds else "fail", alpha=alpha,
                              beta=1e-3, seed=seed, tests=(), pass_meaning="not_refuted" if holds else "")


def _verify(target, arguments):
    return check_toy(target, scale=arguments.toy_scale, alpha=arguments.alpha, seed=arguments.seed)


def _validate(arguments):
    if arguments.toy_scale <= 0:
        raise ValueError("--toy-scale must be positive")


FAMILY = Family(name="toy", summary="a toy family", check="check_toy", assertion="assert_toy", verify=_verify,
                validate=_validate, options=(Option(("--toy-scale",), type="float", default=1.0, help="toy: scale"),))
'''


@pytest.fixture
def toy_family(tmp_path, monkeypatch):
    """A sixth family declared in one module outside tiltproof, registered beside the built-in five."""
    (tmp_path / "toy_family.py").write_text(TOY)
    (tmp_path / "toy_targets.py").write_text("def one():\n    return 1\n\ndef two():\n    return 2\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    toy = registry._read_declaration(tmp_path / "toy_family.py", module="toy_family")
    built_in = registry.families()
    monkeypatch.setattr(registry, "families", lambda: (*built_in, toy))
    testing.assertion_of.cache_clear()
    yield toy
    testing.assertion_of.cache_clear()


def test_a_family_declared_in_one_module_gets_its_command_assert_and_export(toy_family, capsys):
    assert toy_family.verify is None and toy_family.options[0].flags == ("--toy-scale",)   # read, not imported
    assert main(["verify", "toy_targets:one", "--family", "toy"]) == 0
    assert main(["verify", "toy_targets:two", "--family", "toy"]) == 1
    assert main(["verify", "toy_targets:two", "--family", "toy", "--toy-scale", "0.5"]) == 0
    assert main(["verify", "toy_targets:one", "--family", "toy", "--toy-scale", "-1"]) == 2
    assert "--toy-scale must be positive" in capsys.readouterr().err   # errors go to stderr (tiltproof.runner)
    assert testing.assert_toy(lambda: 1).verdict == "pass"
    with pytest.raises(AssertionError, match="toy check did not pass"):
        testing.assert_toy(lambda: 2)
    assert byo.check_toy(lambda: 2, scale=0.5).passed


def test_a_declaration_that_is_not_literal_is_refused_naming_the_module(tmp_path):
    path = tmp_path / "bad_family.py"
    path.write_text(textwrap.dedent('''
        NAME = "bad"
        FAMILY = Family(name=NAME, summary="s", check="check_bad", assertion="assert_bad")
    '''))
    with pytest.raises(ValueError, match="bad_family.py: FAMILY's .* literals"):
        registry._read_declaration(path)
    path.write_text("X = 1\n")
    assert registry._read_declaration(path) is None
