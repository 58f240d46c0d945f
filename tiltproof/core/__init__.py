"""The claim framework: the one frozen outcome vocabulary with its JSON writer and error builder (``outcome``),
claim and evidence types (``framework``), evidence builders (``evidence``), the
registry of theorem modules (``registry``), the level plan and suite runner (``suite``), sympy symbols
(``symbols``), how a claim draws from a sampler (``sampling``), the single-step wrong variants (``mutants``)
and check helpers shared by several theorem modules (``chain_x0_statistics``, ``chain_sampler_law``,
``chain_path_tv``, ``tractability_checks``). A theorem package imports what it needs from ``tiltproof.api``.
"""
