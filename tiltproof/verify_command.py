"""``tiltproof verify MODULE:CALLABLE --family single|chain|tilt|kl|prox …``: check your own implementation.

The families, their options and how each calls its check are declared by the families themselves
(``tiltproof.byo.families``); this command only parses, validates and prints.

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
    """The record of ``arguments.family``'s check on the target: its ``validate`` and the ``--json`` path before
    the target is imported, then its ``verify`` (``tiltproof.byo.families``)."""
    from tiltproof.byo.families import family

    chosen = family(arguments.family)
    chosen.check_arguments(arguments)
    _check_json_path(arguments.json)
    return chosen.run(resolve_target(arguments.target), arguments)


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
    from tiltproof.byo.families import families

    registered = families()
    verify = commands.add_parser("verify", help="check your own sampler / oracle against a theorem "
                                                f"({', '.join(entry.name for entry in registered)})")
    verify.add_argument("target", metavar="MODULE:CALLABLE", help="your implementation, e.g. my_samplers:lcb")
    verify.add_argument("--family", required=True, choices=[entry.name for entry in registered],
                        help="; ".join(f"{entry.name}: {entry.summary}" for entry in registered))
    verify.add_argument("--instance", metavar="NAME", help="registered instance (single: `tiltproof list`; chain: "
                                                            "gmm-ref-B{1,3,5,7}, masked-ref-B{1,3,5,7}; tilt, kl, "
                                                            "prox: tiltproof.instances.tractability)")
    added: set[str] = set()
    for entry in registered:
        for option in entry.options:
            if not added.intersection(option.flags):
                option.add_to(verify)
                added.update(option.flags)
    verify.add_argument("--alpha", type=float, default=1e-6, help="false-fail rate of the whole check (default 1e-6)")
    verify.add_argument("--seed", type=int, default=0)
    verify.add_argument("--device", default="cpu")
    verify.add_argument("--json", metavar="FILE", help="write the record as JSON")
    verify.add_argument("--strict", action="store_true", help="exit 1 for `uncertified` too")
    verify.set_defaults(handler=lambda arguments: command_verify(arguments))
