"""Worker-side helper for tests/test_parallel.py: the registered claim runner, except that the claims whose
id starts with ``DIE_ON_PREFIX`` end their worker process abruptly (``os._exit``), as a segfault or an
out-of-memory kill would. (A constant, not an environment variable: forkserver workers inherit the
environment of the fork server, fixed when the first pool of the session started it.)"""
from __future__ import annotations

import os

from tiltproof.parallel import run_registered_claim

DIE_ON_PREFIX = "t4.proposals_lower/"
EXIT_CODE = 86


def run_or_die(claim_id: str, alpha: float, seed: int, device: str):
    if claim_id.startswith(DIE_ON_PREFIX):
        os._exit(EXIT_CODE)
    return run_registered_claim(claim_id, alpha, seed, device)
