"""Generic lemmas as proofs, cited by theorem proofs through ``Step.cites``.

* ``lemma.chernoff`` — for a real random variable R, b ∈ ℝ and s > 0:
  ``P(R > b) ≤ E[e^{s(R−b)}] = exp(Λ(s) − s b)`` with ``Λ(s) = log E e^{sR}`` (Markov's inequality
  applied to e^{sR}, after the pointwise bound ``1{y > 0} ≤ e^{sy}``). T3 cites it under q.

A lemma is a ``Proof`` with ``lemma=True``; its id is what a citing step puts in ``cites``.
"""
from __future__ import annotations

import math

import numpy as np
import sympy

from tiltproof.proofs.model import Proof, ProofInstance, Sides, Step, WrongStep

__all__ = ["proofs", "CHERNOFF"]

CHERNOFF = "lemma.chernoff"
_Y = sympy.Symbol("y", positive=True)
_S = sympy.Symbol("s", positive=True)


def _law_instance(name: str, probs, values, s: float, b: float) -> ProofInstance:
    probs = np.asarray(probs, dtype=float)
    return ProofInstance(name, {"s": s, "b": b}, (probs / probs.sum(), np.asarray(values, dtype=float), s, b))


def _instances() -> list[ProofInstance]:
    return [
        _law_instance("three-point/s=1,b=0.5", [0.5, 0.3, 0.2], [0.0, 1.0, 2.0], 1.0, 0.5),
        _law_instance("three-point/s=4,b=1.5", [0.5, 0.3, 0.2], [0.0, 1.0, 2.0], 4.0, 1.5),
        _law_instance("signed-five/s=0.3,b=-1", [0.1, 0.2, 0.4, 0.2, 0.1], [-3.0, -1.0, 0.0, 1.0, 4.0], 0.3, -1.0),
    ]


def _strategy():
    from hypothesis import strategies as st

    @st.composite
    def draws(draw) -> ProofInstance:
        size = draw(st.integers(1, 6))
        probs = draw(st.lists(st.floats(0.05, 1.0), min_size=size, max_size=size))
        values = draw(st.lists(st.floats(-3.0, 3.0), min_size=size, max_size=size))
        s, b = draw(st.floats(0.01, 5.0)), draw(st.floats(-4.0, 4.0))
        return _law_instance(f"p={np.round(probs, 3).tolist()}, R={np.round(values, 3).tolist()}, s={s:.4g}, b={b:.4g}",
                             probs, values, s, b)

    return draws()


def _markov(instance: ProofInstance) -> Sides:
    probs, values, s, b = instance.payload
    return Sides(float(probs[values > b].sum()), float(probs @ np.exp(s * (values - b))), error=1e-12)


def _mgf(instance: ProofInstance, sign: float = -1.0) -> Sides:
    probs, values, s, b = instance.payload
    log_mgf = math.log(float(probs @ np.exp(s * values)))
    return Sides(float(probs @ np.exp(s * (values - b))), math.exp(log_mgf + sign * s * b), error=1e-12)


STEPS = (
    Step("indicator", r"\mathbf 1\{y>0\} \le e^{sy}\quad(y>0,\ s>0;\ \text{trivially for } y\le 0)", "≤", "monotonicity",
         lhs=sympy.Integer(1), rhs=sympy.exp(_S * _Y), domain={"s": (0.0, 50.0), "y": (0.0, 50.0)},
         text=r"On $\{y>0\}$, $e^{sy}\ge 1$; elsewhere the indicator is $0 < e^{sy}$."),
    Step("markov", r"P(R>b) = E\,\mathbf 1\{R-b>0\} \le E\,e^{s(R-b)}", "≤", "Markov", numeric=_markov),
    Step("mgf", r"E\,e^{s(R-b)} = \exp\big(\Lambda(s) - s b\big)", "=", "definition", numeric=_mgf),
)


def proofs() -> list[Proof]:
    wrong = WrongStep("mgf-sign", "mgf", Step("mgf", r"E\,e^{s(R-b)} = \exp(\Lambda(s)+sb)", "=", "definition",
                                              numeric=lambda instance: _mgf(instance, sign=1.0)),
                      "the sign of s·b flipped", instance="three-point/s=1,b=0.5")
    return [Proof(
        id=CHERNOFF, theorem="Chernoff", title="Chernoff's bound", lemma=True,
        statement=r"P(R>b) \le \exp\big(\Lambda(s)-sb\big),\quad \Lambda(s)=\log E\,e^{sR},\ s>0",
        hypotheses=(r"$R$ real with $\Lambda(s)<\infty$",), steps=STEPS, instances=_instances, strategy=_strategy,
        wrong_steps=(wrong,), source="Markov's inequality applied to $e^{sR}$")]
