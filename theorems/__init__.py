"""Theorem modules, and nothing else: each module here defines ``claims() -> list[Claim]`` (statement,
hypotheses, sympy bound, exact instance, check) and optionally ``mutants() -> list[Mutant]`` (its wrong
variants). ``tiltproof.core.registry`` scans this folder; a module without ``claims()`` does not belong here
(framework: ``tiltproof.core``; instance registries: ``tiltproof.instances``; bring-your-own checks:
``tiltproof.byo``). Theorem packages outside tiltproof plug in through the entry-point group
``tiltproof.theorems`` (``docs/adding-a-theorem.md``).
"""
