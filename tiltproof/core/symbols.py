"""Sympy symbols in the papers' notation; claims build their bounds from these.

A claim's symbolic side is a sympy expression in these symbols; its numeric value on an instance is
``evaluate(expression, values)`` and the report renders it with ``sympy.latex``.
"""
from __future__ import annotations

import math

import sympy

lam = sympy.Symbol(r"lambda", positive=True)
baseline = sympy.Symbol("b", real=True)
soft_value = sympy.Symbol("V", real=True)
partition = sympy.Symbol("Z", positive=True)
clipped_partition = sympy.Symbol("Z_b", positive=True)
clipped_mass = sympy.Symbol("D", nonnegative=True)
delta = sympy.Symbol(r"delta", positive=True)
eta = sympy.Symbol(r"eta", positive=True)
sigma = sympy.Symbol(r"sigma", positive=True)
mean_q = sympy.Symbol(r"mu_q", real=True)
chernoff_s = sympy.Symbol("s", positive=True)
log_mgf_gap = sympy.Symbol(r"Delta_Lambda", real=True)  # Λ_p(1/λ + s) − Λ_p(1/λ)
envelope = sympy.Symbol("B", real=True)
tail_q = sympy.Symbol(r"{P_q(r>b)}", nonnegative=True)   # P_q(r > b)

tail_q_crossing = sympy.Symbol(r"{P_q(r>b^*)}", nonnegative=True)  # braces: printed verbatim by sympy.latex
tail_p_crossing = sympy.Symbol(r"{P_p(r>b^*)}", nonnegative=True)
acceptance = sympy.Symbol("a_b", nonnegative=True)
base_density = sympy.Symbol("p", nonnegative=True)

#: T2: the output law of rejection with baseline b
CLIPPED_LAW = base_density * acceptance / clipped_partition
#: T2: the exact TV, b* = λ log(Z/Z_b)
TV_CLOSED_FORM = tail_q_crossing - tail_p_crossing / clipped_partition
#: T2: TV(q_b, q) ≤ D/Z
CLIP_MASS_BOUND = clipped_mass / partition
#: T3: P_q(r > b) ≤ exp(Λ(1/λ+s) − Λ(1/λ) − s b)
CHERNOFF_TAIL_BOUND = sympy.exp(log_mgf_gap - chernoff_s * baseline)
#: T3 sub-Gaussian corollary
SUBGAUSSIAN_BASELINE = mean_q + sigma * sympy.sqrt(2 * sympy.log(1 / delta))
#: T4: N(b) = e^{(b−V)/λ}/(1 − D/Z) and its two sides
PROPOSALS_IDENTITY = sympy.exp((baseline - soft_value) / lam) / (1 - clipped_mass / partition)
PROPOSALS_LOWER = sympy.exp((baseline - soft_value) / lam)
PROPOSALS_UPPER = sympy.exp((baseline - soft_value) / lam) / (1 - delta)
#: T4: saving against ideal rejection with envelope B
SAVING_LOWER = sympy.exp((envelope - baseline) / lam) * (1 - clipped_mass / partition)
#: T4, Gaussian case: (b_δ − V)/λ
GAUSSIAN_GAP = sigma**2 / (2 * lam**2) + (sigma / lam) * sympy.sqrt(2 * sympy.log(1 / delta))
#: T1: N(B) for B ≥ ess sup r
IDEAL_PROPOSALS = sympy.exp((envelope - soft_value) / lam)


def evaluate(expression: sympy.Expr, values: dict[sympy.Symbol, float]) -> float:
    """Numeric value of ``expression`` at ``values`` (float64 via lambdify, in log space if huge)."""
    symbols = sorted(expression.free_symbols, key=lambda symbol: symbol.name)
    missing = [symbol.name for symbol in symbols if symbol not in values]
    if missing:
        raise ValueError(f"no value for the symbols {missing} of the bound {expression}")
    function = sympy.lambdify(symbols, expression, modules="math")
    try:
        return float(function(*[values[symbol] for symbol in symbols]))
    except OverflowError:
        return math.inf
