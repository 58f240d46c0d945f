"""The stamp of a run: which code, which packages, which machine produced a results file.

``source_state()`` is the git commit of the checkout the code runs from, with ``+dirty.<hash>`` when the
tree differs from that commit (tracked changes or untracked, non-ignored files); the hash is the first 10
hex digits of SHA-256 over ``git diff HEAD`` and the untracked files' names and bytes, so two runs with the
same uncommitted edits share it and a reader can tell a cited figure came from an uncommitted tree.
``package_versions()`` reads installed versions from package metadata (no imports), and
``describe_device(device)`` names the processor or GPU. Stdlib only, except torch for a CUDA device name.
"""
from __future__ import annotations

import hashlib
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

__all__ = ["source_state", "package_versions", "describe_device", "run_stamp"]

PACKAGES = ("tiltproof", "torch", "numpy", "scipy", "sympy", "cvxpy", "pot", "matplotlib")


def _git(root: Path, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *arguments], capture_output=True, cwd=root, timeout=20)


def source_state(root: str | os.PathLike | None = None) -> dict[str, object]:
    """``{"commit": "83a5c39" | "83a5c39+dirty.1a2b3c4d5e" | "unknown", "dirty": bool | None}``."""
    root = Path(root) if root is not None else Path(__file__).resolve().parents[1]
    try:
        head = _git(root, "rev-parse", "--short", "HEAD")
        if head.returncode != 0:
            return {"commit": "unknown", "dirty": None}
        commit = head.stdout.decode().strip()
        status = _git(root, "status", "--porcelain", "--untracked-files=all")
        if status.returncode != 0:
            return {"commit": commit, "dirty": None}
        if not status.stdout.strip():
            return {"commit": commit, "dirty": False}
        digest = hashlib.sha256(_git(root, "diff", "HEAD", "--binary").stdout)
        untracked = _git(root, "ls-files", "--others", "--exclude-standard", "-z").stdout.decode().split("\0")
        for name in sorted(filter(None, untracked)):
            digest.update(b"\0" + name.encode())
            try:
                digest.update((root / name).read_bytes())
            except OSError:
                pass
        return {"commit": f"{commit}+dirty.{digest.hexdigest()[:10]}", "dirty": True}
    except (OSError, subprocess.SubprocessError):
        return {"commit": "unknown", "dirty": None}


def git_commit() -> str:
    """The checkout's commit (``+dirty.<hash>`` for an uncommitted tree), for every command's JSON meta."""
    return str(source_state()["commit"])


def package_versions() -> dict[str, str]:
    """Python and the installed versions of the packages a record depends on ("absent" if not installed)."""
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def describe_device(device: str) -> str:
    """``"cpu: AMD EPYC (2 cores available)"`` or ``"cuda:0: NVIDIA H100 80GB HBM3"``."""
    if str(device).startswith("cuda"):
        import torch

        index = torch.device(device).index or 0
        return f"{device}: {torch.cuda.get_device_name(index)}"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{device}: {_cpu_name()} ({cores} cores available)"


def run_stamp(device: str) -> dict[str, object]:
    """The meta fields every results file carries: commit (+dirty), dirty, packages, device and its name."""
    return {**source_state(), "packages": package_versions(), "device": str(device),
            "device_name": describe_device(device), "platform": platform.platform()}
