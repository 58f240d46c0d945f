r"""LaTeX-safe text, numbers and macro names for the reports (claims spec, "Outputs").

Everything a report prints comes from a results file, so every string is escaped before it reaches
TeX. Four kinds of string, four functions:

* ``escape_text``: plain text (titles, messages, statistic names) for the roman font. The ten TeX
  specials are escaped (``x^N``, ``x^{N−1}`` become superscripts); Greek letters and the mathematical symbols the theorem modules use (δ, λ, ≤,
  −, √, Σ, ‖, p̂, …) become math commands; any other non-ASCII character is printed as ``[U+XXXX]``,
  so no input can stop the compilation.
* ``escape_tt``: identifiers (claim ids, instance names) in the typewriter font. Specials are typeset
  as their own glyphs with ``\char`` (the OT1 typewriter font has every printable ASCII character at
  its ASCII position), so ``pdftotext`` reads the id back exactly; ``breakable=True`` allows line
  breaks after ``/`` (tables only).
* ``escape_prose``: ``escape_text`` plus subscripts for one-letter symbols (``q_b``, ``π_BoN``): titles,
  statistics and messages written in the papers' notation.
* ``sanitize_latex``: strings that are LaTeX by contract (claim statements, sympy bounds, hypotheses and
  instances "in words, LaTeX allowed"). Math segments keep their commands; text segments between ``$…$``
  are prose (``escape_prose``); an unbalanced ``$`` makes the whole string plain text.
* ``format_number``: floats in 4 significant digits, ``a\times10^{k}`` outside [1e-3, 1e5), ``\infty``
  for the "inf" strings of the JSON records, an em dash for a missing value.

Macro names (``macro_code``) are letters only, deterministic per claim id and injective (a prefix-free
code, checked by ``decode_macro_code``):

* lowercase ASCII letters are kept as they are;
* each digit is spelled with a capital: 0 → ``Zero``, 1 → ``One``, …, 9 → ``Nine``;
* separators become capitalised two-letter words: ``.`` → ``Dot``, ``_`` → ``Us``, ``/`` → ``Sl``,
  ``-`` → ``Hy``, ``=`` → ``Eq``, ``,`` → ``Cm``, ``#`` → ``Hs``, ``+`` → ``Pl``, ``:`` → ``Cl``,
  space → ``Sp``;
* an uppercase letter X becomes ``Q`` followed by x in lowercase (``B`` → ``Qb``);
* any other character becomes ``X`` followed by its code point in six hex digits written with the
  letters a–p (0 → a, …, 15 → p).

So ``t2.sampler_law/finite-k10/b=0.5`` has the code
``tTwoDotsamplerUslawSlfiniteHykOneZeroSlbEqZeroDotFive``, and the report defines, for every claim,
``\tp<Field><code>`` with Field one of ``Verdict``, ``Empirical``, ``Confidence``, ``Bound``,
``Exact``, ``Margin``, ``Samples``, ``Id``, ``Level`` (the claim's α), ``Relation`` (≤ ≥ = ∈) (a prefix-free
set, so the full names stay injective).
"""
from __future__ import annotations

import math
import re
import unicodedata
from typing import Any

__all__ = [
    "Latex", "escape_text", "escape_prose", "escape_tt", "sanitize_latex", "format_number", "format_count",
    "macro_code", "decode_macro_code", "macro_name", "MACRO_FIELDS",
]


class Latex(str):
    """A string that is already LaTeX: the templates print it as is (everything else is escaped)."""


# ---------------------------------------------------------------- unicode
_GREEK = {
    "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "varepsilon", "ζ": "zeta", "η": "eta",
    "θ": "theta", "ι": "iota", "κ": "kappa", "λ": "lambda", "μ": "mu", "ν": "nu", "ξ": "xi", "π": "pi",
    "ρ": "rho", "σ": "sigma", "τ": "tau", "υ": "upsilon", "φ": "varphi", "χ": "chi", "ψ": "psi",
    "ω": "omega", "Γ": "Gamma", "Δ": "Delta", "Θ": "Theta", "Λ": "Lambda", "Ξ": "Xi", "Π": "Pi",
    "Σ": "Sigma", "Φ": "Phi", "Ψ": "Psi", "Ω": "Omega", "ϵ": "epsilon",
}
_MATH_SYMBOLS = {
    "−": "-", "≤": r"\le", "≥": r"\ge", "≠": r"\ne", "≈": r"\approx", "±": r"\pm", "×": r"\times",
    "·": r"\cdot", "√": r"\surd", "∑": r"\sum", "∫": r"\int", "∞": r"\infty", "∈": r"\in", "∉": r"\notin",
    "→": r"\to", "←": r"\leftarrow", "⇒": r"\Rightarrow", "⇔": r"\Leftrightarrow", "↦": r"\mapsto",
    "‖": r"\|", "⟨": r"\langle", "⟩": r"\rangle", "∂": r"\partial", "∇": r"\nabla", "∀": r"\forall",
    "∃": r"\exists", "∪": r"\cup", "∩": r"\cap", "⊂": r"\subset", "⊆": r"\subseteq", "∘": r"\circ",
    "ℓ": r"\ell", "ℝ": r"\mathbb{R}", "ℕ": r"\mathbb{N}", "ℤ": r"\mathbb{Z}", "½": r"\tfrac12",
    "¼": r"\tfrac14", "¾": r"\tfrac34", "²": "^2", "³": "^3", "¹": "^1", "⁰": "^0", "⁻": "^-",
    "ᵀ": "^T", "⁺": "^+", "₀": "_0", "₁": "_1", "₂": "_2", "₃": "_3", "ₙ": "_n", "ᵢ": "_i",
    "⪰": r"\succeq", "⪯": r"\preceq", "≺": r"\prec", "≻": r"\succ", "∝": r"\propto", "∼": r"\sim",
    "≡": r"\equiv", "⊗": r"\otimes", "⊕": r"\oplus", "⌈": r"\lceil", "⌉": r"\rceil", "⌊": r"\lfloor",
    "⌋": r"\rfloor", "°": r"^\circ", "∅": r"\emptyset", "∖": r"\setminus", "∣": r"\mid",
    "∥": r"\parallel", "⊥": r"\perp", "≪": r"\ll", "≫": r"\gg", "⋅": r"\cdot",
}
_TEXT_SYMBOLS = {
    "—": r"\textemdash{}", "–": r"\textendash{}", "…": r"\ldots{}", "‘": "`", "’": "'", "“": "``",
    "”": "''", "\u00a0": r"\nobreakspace{}", "§": r"Sec.\ ", "é": r"\'e", "è": r"\`e", "ü": r'\"u', "ö": r'\"o', "ä": r'\"a',
}
_COMBINING = {"\u0302": r"\hat", "\u0303": r"\tilde", "\u0304": r"\bar", "\u0307": r"\dot", "\u0308": r"\ddot"}


def _math_for(character: str) -> str | None:
    if character in _GREEK:
        return "\\" + _GREEK[character]
    return _MATH_SYMBOLS.get(character)


def _unknown(character: str) -> str:
    return f"[U+{ord(character):04X}]"


# ---------------------------------------------------------------- plain text
_TEXT_SPECIALS = {
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\ensuremath{\$}", "&": r"\&", "#": r"\#", "%": r"\%",
    "_": r"\_", "^": r"\^{}", "<": r"\ensuremath{<}", ">": r"\ensuremath{>}",
    # "ξ ~ N(0, I)": in prose a tilde is "distributed as" (or "about"); \~{} would be an accent over nothing (˜)
    "~": r"\ensuremath{\sim}",
    "|": r"\ensuremath{|}", '"': "''", "-": "-{}",
}


def _escape_characters(text: str) -> str:
    """Character by character: TeX specials escaped, Unicode mathematics as math commands (no scripts)."""
    out: list[str] = []
    index = 0
    while index < len(text):
        character = text[index]
        following = text[index + 1] if index + 1 < len(text) else ""
        decomposed = unicodedata.normalize("NFD", character)
        if len(decomposed) == 2 and decomposed[1] in _COMBINING and character not in _TEXT_SYMBOLS:
            character, following = decomposed  # a precomposed û, x̄ … is a letter and an accent
            text = text[:index] + decomposed + text[index + 1:]
        if following in _COMBINING:  # e.g. p̂ (p + U+0302) → \hat{p}
            inner = _math_for(character) or (character if character.isascii() and character.isalnum() else None)
            out.append(r"\ensuremath{" + _COMBINING[following] + "{" + (inner or _unknown(character)) + "}}")
            index += 2
            continue
        if character in _TEXT_SPECIALS:
            out.append(_TEXT_SPECIALS[character])
        elif character in ("\n", "\r", "\t"):
            out.append(" ")
        elif character.isascii():
            out.append(character if character.isprintable() else " ")
        elif character in _TEXT_SYMBOLS:
            out.append(_TEXT_SYMBOLS[character])
        elif (math := _math_for(character)) is not None:
            out.append(r"\ensuremath{" + math + "}")
        else:
            out.append(_unknown(character))
        index += 1
    return "".join(out)


# ---------------------------------------------------------------- super- and subscripts in prose
_LETTER = re.compile(r"[A-Za-z\u00c0-\u024f\u0370-\u03ff]")
_MARKS = "".join(_COMBINING)
_SCRIPT_RUN = re.compile(r"[A-Za-z0-9\u0370-\u03ff]+")
_SCRIPT_CHARACTER = re.compile(r"[A-Za-z0-9\u0370-\u03ff+\-−](?![A-Za-z0-9\u0370-\u03ff_])")


def _group_end(text: str, start: int) -> int | None:
    """The index after the balanced ``{…}`` opening at ``text[start]``; None when it never closes."""
    depth = 0
    for index in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[index], 0)
        if depth == 0:
            return index + 1
    return None


def _script(text: str, start: int, run: re.Pattern) -> tuple[str, int] | None:
    """(content, end) of the script starting at ``text[start]``: a balanced ``{…}`` (nested braces allowed,
    ``e^{(b−V_{t+1})/λ}``) or what ``run`` matches there; None when there is no script."""
    if text.startswith("{", start):
        end = _group_end(text, start)
        return None if end is None else (text[start + 1:end - 1], end)
    match = run.match(text, start)
    return None if match is None else (match.group(), match.end())


def _subscript_base(text: str, underscore: int) -> re.Pattern | None:
    """What may follow the ``_`` at ``text[underscore]`` as a subscript: after a one-letter symbol (``q_b``,
    ``π_BoN``, ``p̂_n``) a run of letters and digits; after a whole word or a closing bracket (``max_t``,
    ``TV_t(y)``, ``(x)_+``) one character only, so ``sampler_law`` keeps its underscore; None after
    anything else (``x0_tv``, ``\\_``)."""
    index = underscore - 1
    if index >= 0 and text[index] in _MARKS:
        index -= 1
    if index < 0:
        return None
    if text[index] in ")]":
        return _SCRIPT_CHARACTER
    if not _LETTER.match(text[index]):
        return None
    start = index
    while start > 0 and _LETTER.match(text[start - 1]):
        start -= 1
    if start > 0 and (text[start - 1].isalnum() or text[start - 1] in "_\\"):
        return None
    return _SCRIPT_RUN if start == index else _SCRIPT_CHARACTER


def _escape(text: str, subscripts: bool) -> str:
    """Escape ``text``, setting ``^…`` (and, in prose, ``_…``) as scripts whose content is escaped the same way."""
    out: list[str] = []
    plain_start = index = 0
    while index < len(text):
        character = text[index]
        script = None
        if character == "^":
            script = _script(text, index + 1, _SCRIPT_RUN)
            command = r"\textsuperscript{"
        elif character == "_" and subscripts and (run := _subscript_base(text, index)) is not None:
            script = _script(text, index + 1, run)
            command = r"\textsubscript{"
        if script is None:
            index += 1
            continue
        content, end = script
        out.append(_escape_characters(text[plain_start:index]) + command + _escape(content, subscripts) + "}")
        plain_start = index = end
    out.append(_escape_characters(text[plain_start:]))
    return "".join(out)


def escape_text(value: Any) -> Latex:
    """Plain text → LaTeX for the roman font (see the module docstring). ``x^N`` and ``x^{N−1}`` (nested
    braces too) are set as superscripts (a caret is rare in identifiers, an underscore is not: ``_`` stays
    literal); a tilde is ``∼``."""
    return Latex(_escape(unicodedata.normalize("NFC", str(value)), subscripts=False))


def escape_prose(value: Any) -> Latex:
    """Words with the notation of the papers (titles, statistics, messages): like ``escape_text``, and
    subscripts (``_subscript_base``): ``q_b``, ``π_BoN``, ``p̂_n``, ``V_{t+1}``, ``max_t``, ``(x)_+``, also
    inside superscripts (``e^{(b−V_{t+1})/λ}``), so headings never show literal underscores or braces;
    ``sampler_law`` (a word and a longer word) keeps its underscore."""
    return Latex(_escape(unicodedata.normalize("NFC", str(value)), subscripts=True))


# ---------------------------------------------------------------- identifiers in typewriter
_TT_CHAR = {character: r"{\char" + str(ord(character)) + "}" for character in "\\{}$&#%_^~<>|\"'`"}


def escape_tt(value: Any, *, breakable: bool = False, breaks: str = "/") -> Latex:
    r"""An identifier → ``\texttt{…}`` whose glyphs are the identifier's own characters; with ``breakable``,
    a line may break after any character of ``breaks``."""
    out: list[str] = []
    for character in str(value):
        if character in _TT_CHAR:
            out.append(_TT_CHAR[character])
        elif character == " ":
            out.append(r"\ ")
        elif character.isascii() and character.isprintable():
            out.append(character)
        elif (math := _math_for(character)) is not None:
            out.append(r"\ensuremath{" + math + "}")
        else:
            out.append(_unknown(character))
        if breakable and character in breaks:
            out.append(r"\allowbreak{}")
    return Latex(r"\texttt{" + "".join(out) + "}")


# ---------------------------------------------------------------- strings that are LaTeX by contract
def _map_unicode_math(segment: str) -> str:
    out = []
    for character in unicodedata.normalize("NFC", segment):
        if character.isascii():
            out.append(character)
        elif (math := _math_for(character)) is not None:
            out.append((math + " ") if math[-1].isalpha() else math)
        else:
            out.append(r"\text{" + _unknown(character) + "}")
    return "".join(out)


_MATH_ESCAPES = re.compile(r"(?<!\\)([#%&])")


def sanitize_latex(value: Any, *, math: bool = False) -> Latex:
    """A LaTeX string from a theorem module, made safe to compile (see the module docstring).

    ``math=True``: the string is a formula (a claim statement, a sympy bound) typeset in math mode.
    Otherwise it is words with optional ``$…$`` math (hypotheses).
    """
    text = str(value)
    if math:
        return Latex(_MATH_ESCAPES.sub(r"\\\1", _map_unicode_math(text.replace("$", ""))))
    pieces = re.split(r"(?<!\\)\$", text)
    if len(pieces) % 2 == 0:  # unbalanced $: not LaTeX after all
        return escape_text(text)
    out = []
    for position, piece in enumerate(pieces):
        if position % 2:
            out.append("$" + _MATH_ESCAPES.sub(r"\\\1", _map_unicode_math(piece)) + "$")
        else:
            out.append(escape_prose(piece))
    return Latex("".join(out))


# ---------------------------------------------------------------- numbers
def _as_float(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return float(value)  # "inf", "-inf", "nan" from Record.to_json
        except ValueError:
            return None
    return float(value)


def format_number(value: Any, digits: int = 4) -> Latex:
    r"""A float as LaTeX math: 4 significant digits; ``m\times10^{k}`` outside [1e-3, 1e5)."""
    number = _as_float(value)
    if number is None:
        return Latex(r"\textemdash{}") if value is None else escape_text(value)
    if math.isnan(number):
        return Latex(r"NaN")
    if math.isinf(number):
        return Latex(r"\ensuremath{\infty}" if number > 0 else r"\ensuremath{-\infty}")
    if number == 0:
        return Latex(r"\ensuremath{0}")
    magnitude = abs(number)
    if 1e-3 <= magnitude < 1e5:
        text = f"{number:.{digits}g}"
        return Latex(r"\ensuremath{" + (f"{number:.0f}" if "e" in text else text) + "}")
    mantissa, exponent = f"{number:.{digits - 1}e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return Latex(r"\ensuremath{" + f"{mantissa}\\times10^{{{int(exponent)}}}" + "}")


def format_count(value: Any) -> Latex:
    r"""An integer with thin spaces between thousands (``1\,348\,000``)."""
    if value is None:
        return Latex(r"\textemdash{}")
    return Latex(f"{int(value):,}".replace(",", r"\,"))


# ---------------------------------------------------------------- macro names
_DIGITS = ["Zero", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine"]
_SEPARATORS = {".": "Dot", "_": "Us", "/": "Sl", "-": "Hy", "=": "Eq", ",": "Cm", "#": "Hs", "+": "Pl",
               ":": "Cl", " ": "Sp"}
_HEX_LETTERS = "abcdefghijklmnop"
MACRO_FIELDS = ("Verdict", "Empirical", "Confidence", "Bound", "Exact", "Margin", "Samples", "Id", "Level", "Relation")


def macro_code(claim_id: str) -> str:
    """The letters-only code of a claim id (prefix-free, hence injective; see the module docstring)."""
    out = []
    for character in str(claim_id):
        if "a" <= character <= "z":
            out.append(character)
        elif "0" <= character <= "9":
            out.append(_DIGITS[ord(character) - ord("0")])
        elif character in _SEPARATORS:
            out.append(_SEPARATORS[character])
        elif "A" <= character <= "Z":
            out.append("Q" + character.lower())
        else:
            code = ord(character)
            out.append("X" + "".join(_HEX_LETTERS[(code >> shift) & 15] for shift in range(20, -1, -4)))
    return "".join(out)


_TOKENS = {**{word: str(digit) for digit, word in enumerate(_DIGITS)}, **{w: c for c, w in _SEPARATORS.items()}}


def decode_macro_code(code: str) -> str:
    """Inverse of ``macro_code`` (raises ``ValueError`` on a string that is not a code)."""
    out, index = [], 0
    while index < len(code):
        character = code[index]
        if "a" <= character <= "z":
            out.append(character)
            index += 1
        elif character == "Q" and index + 1 < len(code) and "a" <= code[index + 1] <= "z":
            out.append(code[index + 1].upper())
            index += 2
        elif character == "X" and len(code) >= index + 7 and all(c in _HEX_LETTERS for c in code[index + 1:index + 7]):
            value = 0
            for letter in code[index + 1:index + 7]:
                value = value * 16 + _HEX_LETTERS.index(letter)
            out.append(chr(value))
            index += 7
        else:
            matches = [word for word in _TOKENS if code.startswith(word, index)]
            if len(matches) != 1:
                raise ValueError(f"code: not a macro code at position {index}: {code!r}")
            out.append(_TOKENS[matches[0]])
            index += len(matches[0])
    return "".join(out)


def macro_name(field: str, claim_id: str) -> str:
    r"""``tp<Field><code>``: the control-sequence name (without the backslash) of one claim value."""
    if field not in MACRO_FIELDS:
        raise ValueError(f"field must be one of {MACRO_FIELDS}, got {field!r}")
    return "tp" + field + macro_code(claim_id)
