r"""Bounds printed in the order their statements write them, not in sympy's canonical term order.

A record's ``bound_latex`` is ``sympy.latex`` of the claim's bound expression. sympy stores a sum with its
terms sorted (``b − V`` is ``Add(-V, b)``, ``1 − D/Z`` is ``Add(1, -D/Z)`` printed ``- \frac{D}{Z} + 1``), so
the report would print ``e^{(−V+b)/λ}/(−D/Z+1)`` where the theorem says ``e^{(b−V)/λ}/(1−D/Z)``. The records
hold only the LaTeX string, so the report reorders it there:

``statement_order(latex)``: in every sum (the whole string, and the inside of every ``{…}``, ``(…)`` and
``[…]`` group, ``\left( … \right)`` included) whose first term is negative and which has a positive term,
the first positive term moves to the front: ``- V + b`` → ``b - V``, ``- \frac{D}{Z} + 1`` →
``1 - \frac{D}{Z}``. The terms and their signs are unchanged, so the value is the same; the others keep their
order. Terms are split at ``+`` and ``-`` at the group's top level that start the group or follow a space
(sympy writes a binary sign as `` + `` / `` - ``), so ``10^{-16}`` and ``(\Sigma-I)`` are one term each.
A string whose brackets do not balance is returned unchanged.
"""
from __future__ import annotations

__all__ = ["statement_order"]

_OPEN, _CLOSE = "{([", "})]"


def _matching(text: str) -> dict[int, int] | None:
    r"""Opening bracket index → its closing index (escaped ``\{ \}`` are not brackets); None if unbalanced."""
    pairs, stack = {}, []
    for index, character in enumerate(text):
        if index > 0 and text[index - 1] == "\\" and character in "{}":
            continue
        if character in _OPEN:
            stack.append(index)
        elif character in _CLOSE:
            if not stack or _OPEN.index(text[stack[-1]]) != _CLOSE.index(character):
                return None
            pairs[stack.pop()] = index
    return None if stack else pairs


def _terms(text: str) -> list[tuple[str, str]]:
    """(sign, body) of each top-level term of a group's content (no brackets inside are split)."""
    terms, sign, start, depth = [], "+", 0, 0
    for index, character in enumerate(text):
        if character in _OPEN and not (index > 0 and text[index - 1] == "\\"):
            depth += 1
        elif character in _CLOSE and not (index > 0 and text[index - 1] == "\\"):
            depth -= 1
        elif depth == 0 and character in "+-" and (index == 0 or text[index - 1] == " ") and text[:index].strip() != "" \
                and not text[:index].rstrip().endswith(("+", "-", "=", "<", ">", "\\le", "\\ge", ",")):
            terms.append((sign, text[start:index].strip()))
            sign, start = character, index + 1
        elif depth == 0 and character in "+-" and text[:index].strip() == "":
            sign, start = character, index + 1
    terms.append((sign, text[start:].strip()))
    return terms


def _reorder_sum(text: str) -> str:
    """One sum's terms, the first positive one first; a trailing ``\\right`` (of ``\\left( … \\right)``) stays last."""
    core = text.rstrip()
    if core.endswith("\\right"):
        body = core[:-len("\\right")]
        reordered = _reorder_sum(body)
        return text if reordered == body else reordered.rstrip() + " \\right" + text[len(core):]
    terms = _terms(text)
    if len(terms) < 2 or terms[0][0] != "-" or not any(sign == "+" for sign, _ in terms) or any(not b for _, b in terms):
        return text
    first = next(index for index, (sign, _) in enumerate(terms) if sign == "+")
    ordered = [terms[first]] + terms[:first] + terms[first + 1:]
    lead = " " if text[:1] == " " else ""
    return lead + ordered[0][1] + "".join(f" {sign} {body}" for sign, body in ordered[1:])


def _order(text: str, pairs: dict[int, int], offset: int) -> str:
    out, index = [], 0
    while index < len(text):
        if (offset + index) in pairs:
            close = pairs[offset + index] - offset
            out.append(text[index] + _order(text[index + 1:close], pairs, offset + index + 1) + text[close])
            index = close + 1
        else:
            out.append(text[index])
            index += 1
    return _reorder_sum("".join(out))


def statement_order(latex: str) -> str:
    """``latex`` (sympy's printing of a bound) with every sum led by a positive term (module docstring)."""
    pairs = _matching(latex)
    return latex if pairs is None else _order(latex, pairs, 0)
