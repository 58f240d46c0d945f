"""How the report typesets what the records say (issue 21, item 6's report part).

* bounds in the order of their statements, not sympy's term order (``reports.bound_order``): checked by
  parsing the reordered LaTeX back (``sympify``) on random sums, so the value is the same, and on the
  T4 bounds against the order their statements write;
* prose with nested scripts (``e^{(b−V_{t+1})/λ}``) and tildes (``ξ ~ N(0, I)``) set as mathematics, with no
  literal ``^{``, braces or accent tildes (``reports.latex``); the compiled PDF is checked for the same in
  ``tests/test_reports.py``;
* the summary's tightest margin over the sampled side only (``reports.summary``): records built by the
  framework's own evidence builders, where the record's margin is the exact side's.
"""
from __future__ import annotations

import re

import sympy
from hypothesis import given, settings, strategies as st

from reports.bound_order import statement_order
from reports.latex import escape_prose, escape_text
from reports.summary import sampled_margin, tightest_margin
from tiltproof.core.evidence import interval_evidence, upper_bound_evidence
from tiltproof.core.framework import CheckContext, Claim, run_claim

SYMBOLS = sympy.symbols("a b c d x y")


# ---------------------------------------------------------------- bound order
def _linear_latex_to_sympy(latex: str) -> sympy.Expr:
    """Parse sympy's LaTeX of an integer combination of one-letter symbols (``- 3 a + b``), independently."""
    return sympy.sympify(re.sub(r"(\d) ([a-z])", r"\1*\2", latex), locals={s.name: s for s in SYMBOLS})


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(-3, 3).filter(bool), min_size=2, max_size=len(SYMBOLS)))
def test_statement_order_keeps_the_value_and_leads_with_a_positive_term(coefficients):
    expression = sum(k * s for k, s in zip(coefficients, SYMBOLS))
    printed = sympy.latex(expression)
    ordered = statement_order(printed)
    assert sympy.expand(_linear_latex_to_sympy(ordered) - expression) == 0
    assert ordered.startswith("-") == all(k < 0 for k in coefficients)
    # inside a fraction inside an exponent the same sum is reordered the same way, and nothing else changes
    wrapped = sympy.latex(sympy.exp(expression / sympy.Symbol("z")))
    assert printed in wrapped and statement_order(wrapped) == wrapped.replace(printed, ordered)


def test_t4_bounds_read_as_their_statements():
    b, V, lam, D, Z, B = sympy.symbols(r"b V \lambda D Z B")
    # N(b) = e^{(b−V)/λ}/(1 − D/Z) and the saving (1 − D/Z)e^{(B−b)/λ}: statement order, written by hand
    assert statement_order(sympy.latex(sympy.exp((b - V) / lam) / (1 - D / Z))) == \
        r"\frac{e^{\frac{b - V}{\lambda}}}{1 - \frac{D}{Z}}"
    assert statement_order(sympy.latex((1 - D / Z) * sympy.exp((B - b) / lam))).startswith(r"\left(1 - \frac{D}{Z}")
    for unchanged in (r"\log{\left(N \right)} - \frac{N - 1}{N}", r"10^{-16}", r"\frac{\|(\Sigma-I)b\|}{\lambda}",
                      r"e^{- \frac{\Delta}{\lambda}}", r"\left(- \frac{D}{Z}"):  # the last: unbalanced, untouched
        assert statement_order(unchanged) == unchanged


# ---------------------------------------------------------------- prose
def test_nested_superscripts_and_subscripts_are_typeset():
    latex = escape_prose("N_t(y) ≤ e^{(b−V_{t+1})/λ}: the 1/(1−δ) factor dropped")
    assert r"\^{}" not in latex and r"\{" not in latex and r"\_" not in latex
    superscript = latex[latex.index(r"e\textsuperscript{"):]
    assert r"V\textsubscript{t+1}" in superscript.split(": the")[0]
    statistic = escape_prose("max_t mean of e^{(V'−b)/λ}TV_t(y); E_p[e^{κ(V_t−b)}|y_i] and (x)_+")
    assert r"\_" not in statistic and r"\^{}" not in statistic and statistic.count(r"\textsubscript{") == 6


def test_words_and_identifiers_keep_their_underscores():
    for word in ("sampler_law", "x0_tv", "t7.path_tv/masked-ref-B5", "DEFAULT_CLAIM_LEVEL"):
        assert r"\textsubscript" not in escape_prose(word) and r"\_" in escape_prose(word)


def test_a_tilde_is_distributed_as_not_an_accent():
    for text in ("ξ ~ N(0, I)", "K ~ Bin(n, p)"):
        for latex in (escape_prose(text), escape_text(text)):
            assert r"\~" not in latex and r"\ensuremath{\sim}" in latex


# ---------------------------------------------------------------- summary margins
def _record(evidence) -> dict:
    claim = Claim(id="demo.claim/inst", theorem="T0", module="demo", title="demo", statement="x \\le y",
                  bound_expression=sympy.Symbol("y"), instance="inst", hypotheses=(),
                  check=lambda context: evidence)
    return run_claim(claim, alpha=1e-3, seed=0).to_json()


def test_tightest_margin_is_over_the_sampled_side_only():
    # exact value on its bound (record margin = the 1e-9 tolerance) with a sampled side 40 % below the bound
    on_bound = _record(upper_bound_evidence(statistic="s", bound=0.5, exact=0.5, empirical=0.35, lower_confidence=0.3,
                                            n=100, detectable_gap=0.1))
    assert on_bound["margin"] < 1e-8 and abs(sampled_margin(on_bound) - 0.2) < 1e-12
    exact_only = _record(upper_bound_evidence(statistic="s", bound=0.5, exact=0.5, empirical=None,
                                              lower_confidence=None, n=0, detectable_gap=None))
    # T7 on an exact sampler: bound and exact TV 0 up to rounding, lower confidence bound clipped to 0
    zero_bound = _record(upper_bound_evidence(statistic="s", bound=2.8e-16, exact=1.7e-16, empirical=0.05,
                                              lower_confidence=0.0, n=100, detectable_gap=0.2))
    identity = _record(interval_evidence(statistic="s", value=2.0, exact=2.0, empirical=2.1, interval=(1.9, 2.5),
                                         n=100, detectable_gap=0.1))
    tightest = tightest_margin([on_bound, exact_only, zero_bound, identity])
    assert tightest is not None and tightest[1] is identity and abs(tightest[0] - 0.05) < 1e-12
    assert tightest_margin([exact_only, zero_bound]) is None
    failing = _record(upper_bound_evidence(statistic="s", bound=0.5, exact=None, empirical=0.7, lower_confidence=0.6,
                                           n=100, detectable_gap=0.1))
    assert failing["verdict"] == "fail" and tightest_margin([on_bound, failing])[1] is failing


def test_a_kind_heading_names_each_title_once_without_qualified_repeats():
    from reports.build import _distinct_titles

    titles = ["trajectory rejection is exact (DDPM chain)", "trajectory rejection is exact",
              "trajectory rejection is exact (DDPM chain)", "trajectory rejection is exactly T1", "N identity"]
    kept = _distinct_titles(titles)
    assert kept == ["trajectory rejection is exact", "trajectory rejection is exactly T1", "N identity"]
