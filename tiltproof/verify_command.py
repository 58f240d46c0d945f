"""``tiltproof verify MODULE:CALLABLE --family single|chain|tilt|kl|prox …``: check your own implementation.

``MODULE:CALLABLE`` is imported (the current directory is on the path, as for ``python -m``):

* ``single`` — CALLABLE is ``sampler(n, generator)``; ``--instance`` a registered single-step instance
  (``tiltproof list`` shows them), ``--baseline B`` the baseline it claims (omit for the target q).
* ``chain`` — CALLABLE is ``sampler(kernel, n, generator)``, or an object with attributes ``sampler``
  and optionally ``baseline`` and ``values`` (its declared acceptance rule); ``--instance`` one of
  ``gmm-ref-B{1,3,5,7}``, ``masked-ref-B{1,3,5,7}``; ``--budget`` the TV it claims (default 0).
* ``tilt`` / ``kl`` / ``prox`` — with ``--instance NAME`` (``tiltproof.instances.tractability``), CALLABLE is
  a factory that receives the instance's fields by keyword and returns your implementation (``tilt``:
  ``factory(base=…)`` → oracle; ``kl``: ``factory(base=…, reward=…, lam=…)`` → sampler; ``prox``:
  ``factory(reward=…, lam=…, cost=…)`` → prox_fn). Without ``--instance``, CALLABLE is a zero-argument
  function returning the keyword arguments of ``tiltproof.byo.check_tilt_oracle`` / ``check_kl_align`` /
  ``check_prox`` (your implementation and the exactly computable instance it runs on).

The first line of the output is the summary: the verdict and, for ``pass``, which of its two meanings
applied — ``PASS (not refuted)`` for an exactness claim (budget 0; the designed power is stated below)
or ``PASS (certified)`` for a budget claim (a certificate at level α lies within the budget) — then
``NOT REPRODUCIBLE`` when the implementation ignores its generator, and the samples used.

Exit status: 0 for ``pass`` (and for ``uncertified`` unless ``--strict``), 1 for ``fail`` or ``error`` or a
record flagged not reproducible, 2 for bad arguments. ``--json FILE`` writes the record.
"""
from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path
from typing import Any

FAMILIES = ("single", "chain", "tilt", "kl", "prox")


def resolve_target(spec: str) -> Any:
    """``package.module:attribute`` → the attribute; ``ValueError`` naming the part that is wrong."""
    module_name, colon, attribute = spec.partition(":")
    if not colon or not module_name or not attribute:
        raise ValueError(f"target must look like MODULE:CALLABLE (e.g. my_samplers:lcb), got {spec!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ValueError(f"target: cannot import module {module_name!r}: {error}") from None
    found: Any = module
    for part in attribute.split("."):
        if not hasattr(found, part):
            raise ValueError(f"target: module {module_name!r} has no attribute {attribute!r}")
        found = getattr(found, part)
    return found


def _check_json_path(path: str | None) -> None:
    """A bad ``--json`` path (missing or unwritable folder, a folder) is refused before the check runs."""
    if path is not None:
        from tiltproof.records_io import check_output_path

        check_output_path(path, option="--json")


def run_verification(arguments) -> Any:
    family = arguments.family
    if family not in FAMILIES:
        raise ValueError(f"--family must be one of {', '.join(FAMILIES)}, got {family!r}")
    if not (0.0 <= arguments.budget <= 1.0):
        raise ValueError(f"--budget must be a number in [0, 1], got {arguments.budget!r}")
    _check_json_path(arguments.json)
    target = resolve_target(arguments.target)
    common = dict(alpha=arguments.alpha, seed=arguments.seed, device=arguments.device)
    if family == "single":
        if not arguments.instance:
            raise ValueError("--instance is required for --family single (see `tiltproof list`)")
        from tiltproof.byo.byos import check_sampler

        return check_sampler(target, instance=arguments.instance, baseline=arguments.baseline, **common)
    if family == "chain":
        if not arguments.instance:
            raise ValueError("--instance is required for --family chain (e.g. gmm-ref-B5)")
        from tiltproof.byo.chain import check_chain_sampler

        sampler = getattr(target, "sampler", target)
        extra = {} if getattr(arguments, "n", None) is None else {"n": arguments.n}
        if getattr(arguments, "max_audit", None) is not None:
            extra["max_audit"] = arguments.max_audit
        return check_chain_sampler(sampler, arguments.instance, budget=arguments.budget,
                                   baseline=getattr(target, "baseline", None), values=getattr(target, "values", None),
                                   **extra, **common)
    if arguments.instance:
        from tiltproof.instances.tractability import check_tractability

        return check_tractability(family, target, instance=arguments.instance, alpha=arguments.alpha,
                                  seed=arguments.seed)
    import tiltproof.byo as byo

    check = getattr(byo, {"tilt": "check_tilt_oracle", "kl": "check_kl_align", "prox": "check_prox"}[family])
    if not callable(target):
        raise ValueError(f"target: for --family {family}, MODULE:CALLABLE must be a function returning the check's "
                         "keyword arguments")
    keywords = target()
    if not isinstance(keywords, dict):
        raise ValueError(f"target: for --family {family}, the function must return a dict of keyword arguments for "
                         f"{check.__name__}, got {type(keywords).__name__}")
    keywords = {**{key: value for key, value in common.items() if key not in keywords and key != "device"}, **keywords}
    return check(**keywords)


def command_verify(arguments) -> int:
    """Through the runner: bad arguments refused before the target is imported (exit 2, one ``error:`` line
    on stderr), Ctrl-C → exit 130, and the run stamp (``meta``) in the JSON beside the record's fields."""
    from tiltproof.runner import EXIT_INTERRUPTED, console as make_console, refuse, run_meta

    console = make_console()
    try:
        record = run_verification(arguments)
    except ValueError as error:
        return refuse(str(error))
    except KeyboardInterrupt:
        print("interrupted: the check was stopped before its record existed; nothing was written", file=sys.stderr)
        return EXIT_INTERRUPTED
    console.print(str(record), markup=False, highlight=False)
    if arguments.json:
        from tiltproof.records_io import write_atomically

        meta = run_meta("verify", arguments.device, target=arguments.target, family=arguments.family,
                        instance=arguments.instance, alpha=arguments.alpha, seed=arguments.seed)
        write_atomically(Path(arguments.json), json.dumps({**record.to_json(), "meta": meta}, indent=2))
        console.print(f"wrote {arguments.json}", markup=False)
    if record.verdict in ("fail", "error") or getattr(record, "not_reproducible", False):
        return 1
    if record.verdict == "uncertified" and arguments.strict:
        return 1
    return 0


def add_parser(commands) -> None:
    verify = commands.add_parser("verify", help="check your own sampler / oracle against a theorem "
                                                "(single, chain, tilt, kl, prox)")
    verify.add_argument("target", metavar="MODULE:CALLABLE", help="your implementation, e.g. my_samplers:lcb")
    verify.add_argument("--family", required=True, choices=FAMILIES)
    verify.add_argument("--instance", metavar="NAME", help="registered instance (single: `tiltproof list`; chain: "
                                                            "gmm-ref-B{1,3,5,7}, masked-ref-B{1,3,5,7})")
    verify.add_argument("--budget", type=float, default=0.0, help="chain: the TV to the aligned law the sampler "
                                                                   "claims (0 = exact)")
    verify.add_argument("--baseline", type=float, default=None, help="single: the baseline b the sampler claims "
                                                                      "(omit for the target q)")
    verify.add_argument("--n", type=int, default=None, help="chain: particles to draw (default: the designed n); "
                                                            "more particles let the certificate audit more")
    verify.add_argument("--max-audit", type=int, default=None, help="chain: the most particles the T7 certificate "
                                                                    "audits (default: every returned particle)")
    verify.add_argument("--alpha", type=float, default=1e-6, help="false-fail rate of the whole check (default 1e-6)")
    verify.add_argument("--seed", type=int, default=0)
    verify.add_argument("--device", default="cpu")
    verify.add_argument("--json", metavar="FILE", help="write the record as JSON")
    verify.add_argument("--strict", action="store_true", help="exit 1 for `uncertified` too")
    verify.set_defaults(handler=lambda arguments: command_verify(arguments))
