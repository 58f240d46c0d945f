"""``tiltproof new theorem NAME [--dir PATH]``: write a working theorem package to start from.

The skeleton (``PATH``, default ``./NAME``) holds ``NAME/claims.py`` (one claim on an exact instance, its
sample size derived from a design function, one wrong variant of the code under test), ``tests/test_NAME.py``
and a ``pyproject.toml`` declaring the entry point ``tiltproof.theorems`` (and ``[tool.tiltproof] theorems``,
so ``tiltproof check`` run in PATH finds it before it is installed). As written it passes ``tiltproof check``
and its wrong variant is killed by ``tiltproof mutants``; the theorem is Markov's inequality on a two-point
law where it is tight, to be replaced by the user's own.
"""
from __future__ import annotations

import argparse
import keyword
import re
import sys
from pathlib import Path

__all__ = ["add_parser", "write_theorem_package"]

CLAIMS_TEMPLATE = '''"""{name}: Markov's inequality ``P(X ≥ a) ≤ E[X]/a`` for ``X ≥ 0`` (skeleton by ``tiltproof new theorem``).

Replace the instance, the sampler and the bound with your theorem's; keep the shape:

* an instance whose truth is exactly computable (here: a two-point law, where Markov is tight);
* the code under test (``sample``), batched torch, drawing only from the generator it is handed;
* a check that is a statistical test: the violation it must detect (``P(X ≥ a)`` above the bound by
  ``RATE_GAP``), n derived from (α, β, gap) by a design function, never by trial;
* a wrong variant (``mutants()``) of the *code*, which the check must reject.
"""
from __future__ import annotations

from functools import partial

import sympy
import torch

from tiltproof.api import (CheckContext, Claim, Evidence, Hypothesis, Mutant, clopper_pearson_lower,
                           min_num_samples_for_binomial_upper_test, min_rate_detectable_by_binomial_upper_test,
                           upper_bound_evidence, wrong_variant)

THEOREM = "{theorem}"
MODULE = "{name}.claims"
RATE_GAP = 0.1  # the check detects P(X ≥ a) ≥ E[X]/a + RATE_GAP with probability ≥ 1 − β
VALUES = (0.0, 1.0)   # X takes these values ...
PROBS = (0.8, 0.2)    # ... with these probabilities: P(X ≥ 1) = E[X]/1 = 0.2 (Markov is tight)
LEVEL = 1.0           # the threshold a

expectation_symbol, level_symbol = sympy.symbols("E_X a", positive=True)
BOUND = expectation_symbol / level_symbol


def sample(size: int, generator: torch.Generator, *, device: str | torch.device = "cpu") -> torch.Tensor:
    """The code under test: ``size`` draws of X."""
    probs = torch.tensor(PROBS, dtype=torch.float64, device=device)
    index = torch.multinomial(probs, size, replacement=True, generator=generator)
    return torch.tensor(VALUES, dtype=torch.float64, device=device)[index]


def sample_reversed(size: int, generator: torch.Generator, *, device: str | torch.device = "cpu") -> torch.Tensor:
    """A wrong variant: the values indexed in reverse (an off-by-one/indexing bug)."""
    return torch.tensor(VALUES[::-1], dtype=torch.float64, device=device)[
        torch.multinomial(torch.tensor(PROBS, dtype=torch.float64, device=device), size, replacement=True,
                          generator=generator)]


def check_markov(context: CheckContext, *, sampler=sample) -> Evidence:
    """``P(X ≥ a) ≤ E[X]/a``: exact side from the instance, empirical side a one-sided Clopper–Pearson test."""
    bound = sum(p * x for p, x in zip(PROBS, VALUES)) / LEVEL
    exact = sum(p for p, x in zip(PROBS, VALUES) if x >= LEVEL)
    size = min_num_samples_for_binomial_upper_test(bound, min(1.0, bound + RATE_GAP), alpha=context.alpha,
                                                   beta=context.beta)
    hits = int((sampler(size, context.generator(), device=context.device) >= LEVEL).sum())
    detectable = min_rate_detectable_by_binomial_upper_test(size, bound, alpha=context.alpha, beta=context.beta)
    return upper_bound_evidence(statistic="P(X ≥ a): one-sided Clopper–Pearson lower bound", bound=bound,
                                exact=exact, empirical=hits / size,
                                lower_confidence=clopper_pearson_lower(hits, size, context.alpha), n=size,
                                detectable_gap=detectable - bound)


def claims() -> list[Claim]:
    return [Claim(id="{slug}.markov/two-point/a=1", theorem=THEOREM, module=MODULE, title="Markov's inequality",
                  statement=r"$P(X \\geq a) \\leq E[X]/a$ for $X \\geq 0$", bound_expression=BOUND,
                  instance="two-point",
                  hypotheses=(Hypothesis(r"$X \\geq 0$", lambda: min(VALUES) >= 0),
                              Hypothesis(r"$a > 0$", lambda: LEVEL > 0)),
                  parameters={{"a": LEVEL}}, check=check_markov)]


def mutants() -> list[Mutant]:
    return [Mutant("{slug}-reversed-values", THEOREM, "the sampler indexes the values in reverse",
                   wrong_variant(claims(), "{slug}.markov/two-point/a=1",
                                 partial(check_markov, sampler=sample_reversed), "reversed-values"))]
'''

TEST_TEMPLATE = '''"""{name}: the claim passes and its wrong variant is rejected (at the claim's own level)."""
from __future__ import annotations

from tiltproof.api import claim_level, run_claim

from {name}.claims import claims, mutants


def test_claim_passes():
    for claim in claims():
        assert run_claim(claim, alpha=claim_level(claim), seed=0).verdict == "pass"


def test_wrong_variant_is_rejected():
    for mutant in mutants():
        assert run_claim(mutant.claim, alpha=claim_level(mutant.claim), seed=0).verdict == "fail", mutant.name
'''

PYPROJECT_TEMPLATE = '''[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "{dist}"
version = "0.1.0"
description = "{name}: a tiltproof theorem package"
requires-python = ">=3.11"
dependencies = ["tiltproof"]

[project.entry-points."tiltproof.theorems"]
{name} = "{name}.claims"

[tool.setuptools.packages.find]
include = ["{name}*"]

[tool.tiltproof]
theorems = ["{name}.claims"]
'''


def write_theorem_package(name: str, directory: str | Path | None = None) -> Path:
    """Write the skeleton for theorem package ``name`` into ``directory`` (default ``./name``); return it.
    ``ValueError`` naming the argument for a name that is not a Python identifier or a non-empty directory."""
    if not (re.fullmatch(r"[a-z_][a-z0-9_]*", name or "") and not keyword.iskeyword(name)):
        raise ValueError(f"NAME must be a lower-case Python identifier (letters, digits, _), got {name!r}")
    target = Path(directory) if directory is not None else Path.cwd() / name
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ValueError(f"--dir {str(target)!r} exists and is not an empty directory")
    fields = {"name": name, "slug": name.replace("_", "-"), "theorem": name.upper(), "dist": name.replace("_", "-")}
    files = {Path(name) / "__init__.py": f'"""{name}: a tiltproof theorem package (claims in ``{name}.claims``)."""\n',
             Path(name) / "claims.py": CLAIMS_TEMPLATE.format(**fields),
             Path("tests") / f"test_{name}.py": TEST_TEMPLATE.format(**fields),
             Path("pyproject.toml"): PYPROJECT_TEMPLATE.format(**fields)}
    try:
        for relative, text in files.items():
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            (target / relative).write_text(text)
    except OSError as error:
        raise ValueError(f"--dir {str(target)!r}: cannot write the package: {error}") from None
    return target


def add_parser(commands) -> argparse.ArgumentParser:
    parser = commands.add_parser("new", help="write a skeleton to start from (`tiltproof new theorem NAME`)")
    kinds = parser.add_subparsers(dest="kind", required=True)
    theorem = kinds.add_parser("theorem", help="a theorem package: one claim, its wrong variant, a test, a pyproject")
    theorem.add_argument("name", metavar="NAME", help="the package name (a lower-case Python identifier)")
    theorem.add_argument("--dir", metavar="PATH", default=None, help="where to write it (default ./NAME; must be "
                                                                       "absent or empty)")
    theorem.set_defaults(handler=command_new_theorem)
    return parser


def command_new_theorem(arguments: argparse.Namespace) -> int:
    try:
        target = write_theorem_package(arguments.name, arguments.dir)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    name = arguments.name
    print(f"wrote {target}: {name}/claims.py, tests/test_{name}.py, pyproject.toml\n"
          f"try:  cd {target} && PYTHONPATH=. tiltproof check --only '^{name.replace('_', '-')}\\.'   "
          f"(or pip install -e {target})\n"
          f"      cd {target} && PYTHONPATH=. tiltproof mutants --only '^{name.replace('_', '-')}'")
    return 0
