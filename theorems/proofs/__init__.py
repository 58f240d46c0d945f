"""The proofs of the theorem modules, as data (issue 22): ``theorems/proofs/<module>.py`` holds the ``Proof``
objects of ``theorems/<module>.py``, whose ``proofs()`` imports it lazily (the proof reuses the theorem's
exact sides, so the theorem module cannot import its proof at load time). The engine that checks them is
``tiltproof.proofs``; the registry scans only the modules of ``theorems/``, not this subpackage.
"""
