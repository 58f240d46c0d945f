"""Results files that survive a crash: validated before a run, rewritten atomically after every record.

``tiltproof check --json FILE`` writes ``{"meta": {...}, "claims": [records...]}``. Before any claim runs,
``check_output_path`` makes sure FILE can be written (its folder exists, it is not a folder, a probe file can
be created there), so a typo costs nothing. While the claims run, ``ResultsWriter.add`` is called once per
finished record, in the order records are produced (serially or from a worker pool), and replaces FILE
atomically (write ``FILE.tmp``, ``fsync``, ``os.replace``): at any moment FILE is a complete JSON document
holding every finished record, with ``meta.complete`` false until ``finish`` sorts the records into the
selection's order and sets it true. ``read_partial`` loads such a file for ``tiltproof check --resume FILE``,
which runs only the claims it lacks. Nothing here imports torch: it is stdlib only.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable

__all__ = ["check_output_path", "check_output_directory", "ResultsWriter", "read_partial", "write_atomically"]


def check_output_path(path: str | os.PathLike, *, option: str = "--json") -> Path:
    """Raise ``ValueError`` naming ``option`` unless ``path`` is a writable file path (nothing is left behind)."""
    target = Path(path)
    if target.is_dir():
        raise ValueError(f"{option}: {str(target)!r} is a folder, not a file")
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise ValueError(f"{option}: the folder {str(folder)!r} does not exist (create it first)")
    try:
        handle, probe = tempfile.mkstemp(prefix=".tiltproof-probe-", dir=folder)
        os.close(handle)
        os.unlink(probe)
    except OSError as error:
        raise ValueError(f"{option}: cannot write in {str(folder)!r} ({error.strerror or error})") from None
    return target


def check_output_directory(path: str | os.PathLike, *, option: str = "--out") -> Path:
    """Raise ``ValueError`` naming ``option`` unless ``path`` is, or can be created as, a writable folder."""
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise ValueError(f"{option}: {str(target)!r} exists and is not a folder")
    existing = target
    while not existing.exists():  # the nearest ancestor that exists must be a writable folder
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"{option}: cannot create or write {str(target)!r} ({str(existing)!r} is not writable)")
    return target


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so a reader (or a crash) never sees a half-written file."""
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


class ResultsWriter:
    """Keeps ``{"meta": meta, "claims": [...]}`` at ``path`` up to date, one atomic rewrite per record.

    ``records`` seeds the file with records kept from an interrupted run (``--resume``)."""

    def __init__(self, path: str | os.PathLike, meta: dict[str, Any], records: Iterable[dict] = (),
                 key: str = "claims") -> None:
        self.path = Path(path)
        self.key = key
        self.meta = dict(meta)
        self.records: list[dict] = list(records)
        self._write(complete=False)

    def add(self, record: dict) -> None:
        """One finished record (``Record.to_json()``), in the order records are produced."""
        self.records.append(record)
        self._write(complete=False)

    def finish(self, order: list[str] | None = None, **meta: Any) -> None:
        """Sort the records into ``order`` (claim ids; the selection's order), add ``meta`` and mark the file
        complete, so a resumed run's file equals an uninterrupted one's up to timings and dates."""
        if order is not None:
            position = {claim_id: index for index, claim_id in enumerate(order)}
            self.records.sort(key=lambda record: position.get(record.get("id"), len(position)))
        self.meta.update(meta)
        self._write(complete=True)

    def _write(self, *, complete: bool) -> None:
        self.meta["complete"] = complete
        self.meta["finished_claims"] = len(self.records)
        write_atomically(self.path, json.dumps({"meta": self.meta, self.key: self.records}, indent=1))


def read_partial(path: str | os.PathLike, key: str = "claims") -> dict[str, Any]:
    """A results file to resume: ``{"meta": {...}, key: [...]}``; ``ValueError`` naming ``--resume``."""
    source = Path(path)
    try:
        payload = json.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"--resume: no such file {str(source)!r}") from None
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"--resume: {str(source)!r} is not a results file ({error})") from None
    if not isinstance(payload, dict) or not isinstance(payload.get(key), list) or \
            not isinstance(payload.get("meta"), dict):
        raise ValueError(f"--resume: {str(source)!r} is not a results file with {key!r} (a `--json` file of "
                         "the same command)")
    if any(not isinstance(record, dict) or "id" not in record for record in payload[key]):
        raise ValueError(f"--resume: {str(source)!r} has a record without an id")
    return payload
