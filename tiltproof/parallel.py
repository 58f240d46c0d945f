"""Claims in worker processes: ``tiltproof check --workers N`` and the sweep's local backend.

A claim's record is a pure function of (claim id, α, master seed, device) — its seed is
``claim_seed(seed, id)`` and its draws come from generators seeded by it — so the process a claim runs
in does not change its record (bar ``seconds``). This module runs *jobs* in ``workers`` child processes
and hands the results back in input order, whatever order they finish in:

* a job is ``(target, args)``: ``target`` a ``"module:function"`` name the worker imports, so only names
  and plain values cross the process boundary (claims are closures and do not pickle; a worker rebuilds
  the registry once and looks claims up by id, see ``run_registered_claim``);
* each worker runs one job at a time with one torch/OpenMP thread (``workers`` processes × one thread
  each is what the cores can take; more threads per worker only contend);
* a job that raises gives the caller's ``fallback`` result (an ``error`` record), the worker lives on;
  a worker that dies (segfault, ``os._exit``, out-of-memory kill) or overruns ``timeout`` seconds is
  replaced, and its job gets the ``fallback`` result naming the exit code — the run never hangs and
  never loses the records already finished.

Workers start by ``forkserver`` on Linux (a clean, thread-free parent to fork from: forking a process
whose torch has started its OpenMP pool can deadlock the child) and ``spawn`` elsewhere.
"""
from __future__ import annotations

import importlib
import multiprocessing
import os
import pickle
import signal
import sys
import time
import traceback
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Mapping, Any, Callable, Hashable, Iterator, Sequence

__all__ = ["Job", "default_workers", "check_workers", "run_jobs", "claim_jobs", "run_claims_parallel",
           "run_registered_claim", "run_claim_object", "error_record"]

THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
POLL_SECONDS = 0.5
PRELOAD = ("torch", "tiltproof.core.registry")


@dataclass(frozen=True)
class Job:
    """``target`` (``"package.module:function"``) called with ``args`` in a worker."""

    target: str
    args: tuple


def default_workers() -> int:
    """The cores this process may use (its CPU affinity where the OS reports one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def check_workers(workers: int | None) -> int:
    """``None`` → ``default_workers()``; otherwise an int ≥ 1, else ``ValueError`` naming ``workers``."""
    if workers is None:
        return default_workers()
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an integer ≥ 1, got {workers!r}")
    return workers


def _resolve(target: str) -> Callable[..., Any]:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def _worker_main(connection: Connection) -> None:
    """Child loop: receive ``(index, target, args)``, send ``(index, ok, value)``; ``None`` ends it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's: it stops the workers itself
    for variable in THREAD_VARIABLES:
        os.environ[variable] = "1"
    import torch

    torch.set_num_threads(1)
    while True:
        try:
            message = connection.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        index, target, args = message
        try:
            reply = (index, True, _resolve(target)(*args))
        except Exception as error:  # the parent turns it into the job's fallback (an error record)
            reply = (index, False, f"{type(error).__name__}: {error}\n{traceback.format_exc(limit=8)}")
        try:
            connection.send(reply)
        except (TypeError, AttributeError, pickle.PicklingError) as error:  # an unpicklable result
            connection.send((index, False, f"its result could not be sent back: {type(error).__name__}: {error}"))


def _context() -> multiprocessing.context.BaseContext:
    if sys.platform.startswith("linux"):
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(list(PRELOAD))  # imported once by the server, inherited by each fork
        return context
    return multiprocessing.get_context("spawn")


@contextmanager
def _one_thread_environment() -> Iterator[None]:
    """Children (and a forkserver started now) inherit one-thread OpenMP/BLAS settings; ours are restored."""
    saved = {variable: os.environ.get(variable) for variable in THREAD_VARIABLES}
    os.environ.update({variable: "1" for variable in THREAD_VARIABLES})
    try:
        yield
    finally:
        for variable, value in saved.items():
            if value is None:
                os.environ.pop(variable, None)
            else:
                os.environ[variable] = value


class _Queue:
    """Pending job indices by group, groups in order of first appearance, jobs in input order."""

    def __init__(self, jobs: Sequence[Job], groups: Sequence[Hashable] | None) -> None:
        if groups is not None and len(groups) != len(jobs):
            raise ValueError(f"groups must hold one key per job ({len(jobs)}), got {len(groups)}")
        self._groups = list(groups) if groups is not None else list(range(len(jobs)))
        self._pending: dict[Hashable, deque[int]] = {}
        for index, group in enumerate(self._groups):
            self._pending.setdefault(group, deque()).append(index)

    def __bool__(self) -> bool:
        return bool(self._pending)

    def group(self, index: int) -> Hashable:
        return self._groups[index]

    def take(self, preferred: Hashable, busy: set) -> int:
        """The next job of ``preferred``; else of the first group no busy worker is on; else of the first."""
        chosen = preferred if preferred in self._pending else next(
            (group for group in self._pending if group not in busy), next(iter(self._pending)))
        indices = self._pending[chosen]
        index = indices.popleft()
        if not indices:
            del self._pending[chosen]
        return index


class _Worker:
    def __init__(self, context: multiprocessing.context.BaseContext) -> None:
        self.connection, child = context.Pipe()
        self.process = context.Process(target=_worker_main, args=(child,), daemon=True)
        with _one_thread_environment():
            self.process.start()
        child.close()
        self.index: int | None = None
        self.group: Hashable = None
        self.started = 0.0

    def submit(self, index: int, job: Job) -> None:
        self.index, self.started = index, time.monotonic()
        self.connection.send((index, job.target, job.args))

    def stop(self, kill: bool = False) -> None:
        if kill:
            self.process.kill()
        else:
            try:
                self.connection.send(None)
            except OSError:
                self.process.kill()
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.connection.close()


def _run_in_process(jobs: Sequence[Job], *, fallback: Callable[[int, str], Any],
                    on_result: Callable[[int, Any], None] | None,
                    on_complete: Callable[[int, Any], None] | None) -> list[Any]:
    """``run_jobs`` with one worker and no timeout: the jobs in this process, one after another (no process
    to start; a job that raises gets its ``fallback``, as in a worker; Ctrl-C propagates at once)."""
    results = []
    for index, job in enumerate(jobs):
        try:
            result = _resolve(job.target)(*job.args)
        except Exception as error:
            result = fallback(index, f"the claim raised {type(error).__name__}: {error}\n"
                                     f"{traceback.format_exc(limit=8)}")
        results.append(result)
        for callback in (on_complete, on_result):
            if callback is not None:
                callback(index, result)
    return results


def run_jobs(jobs: Sequence[Job], *, workers: int, fallback: Callable[[int, str], Any],
             on_result: Callable[[int, Any], None] | None = None, on_complete: Callable[[int, Any], None] | None = None,
             timeout: float | None = None, groups: Sequence[Hashable] | None = None) -> list[Any]:
    """Run ``jobs`` on ``workers`` processes; return their results in input order.

    ``fallback(index, reason)`` is the result of a job that raised, whose worker died, or that ran past
    ``timeout`` seconds. ``on_complete(index, result)`` is called as each job finishes (completion
    order: for a progress bar); ``on_result(index, result)`` in input order, as soon as every earlier
    job has finished (for streaming output that must stay in order). ``groups`` (one key per job, e.g.
    the claim's module and instance) only steers scheduling: a worker keeps to its group while it has
    jobs left, so a per-process cache of a costly exact law is filled once rather than in every worker.
    """
    workers = check_workers(workers)
    if timeout is not None and not timeout > 0:
        raise ValueError(f"timeout must be > 0 seconds, got {timeout!r}")
    if min(workers, len(jobs)) == 1 and timeout is None:
        return _run_in_process(jobs, fallback=fallback, on_result=on_result, on_complete=on_complete)
    results: dict[int, Any] = {}
    queue = _Queue(jobs, groups)
    emitted = 0
    context = _context()
    pool: list[_Worker] = []

    def finish(index: int, result: Any) -> None:
        nonlocal emitted
        results[index] = result
        if on_complete is not None:
            on_complete(index, result)
        while emitted in results:
            if on_result is not None:
                on_result(emitted, results[emitted])
            emitted += 1

    def feed(worker: _Worker) -> None:
        worker.index = None
        if queue:
            busy_groups = {other.group for other in pool if other.index is not None}
            index = queue.take(worker.group, busy_groups)
            worker.group = queue.group(index)
            worker.submit(index, jobs[index])

    try:
        for _ in range(min(workers, len(jobs))):
            pool.append(_Worker(context))
            feed(pool[-1])
        while any(worker.index is not None for worker in pool):
            busy = [worker for worker in pool if worker.index is not None]
            wait([worker.connection for worker in busy] + [worker.process.sentinel for worker in busy],
                 timeout=POLL_SECONDS)
            for worker in list(pool):
                if worker.index is None:
                    continue
                index = worker.index
                reply = None
                try:
                    if worker.connection.poll():
                        reply = worker.connection.recv()
                except (EOFError, OSError):
                    reply = None
                if reply is not None:
                    _, ok, value = reply
                    finish(index, value if ok else fallback(index, f"the claim raised {value}"))
                    feed(worker)
                    continue
                overran = timeout is not None and time.monotonic() - worker.started > timeout
                if worker.process.is_alive() and not overran:
                    continue
                if worker.process.is_alive():
                    reason = f"timed out after {timeout:g} s (its worker was killed)"
                else:
                    reason = f"the worker process died (exit code {worker.process.exitcode}) while running it"
                worker.stop(kill=True)
                pool.remove(worker)
                finish(index, fallback(index, reason))
                if queue:
                    pool.append(_Worker(context))
                    feed(pool[-1])
    finally:
        for worker in pool:
            worker.stop(kill=worker.index is not None)
    return [results[index] for index in range(len(jobs))]


# ---------------------------------------------------------------- registered claims
_REGISTRY: dict[str, Any] = {}
_VARIANTS: dict[str, Any] = {}


def _registered(claim_id: str) -> Any:
    """The registered claim ``claim_id``, from a registry built once per worker process."""
    if not _REGISTRY:
        from tiltproof.core.registry import all_claims

        _REGISTRY.update((claim.id, claim) for claim in all_claims())
    try:
        return _REGISTRY[claim_id]
    except KeyError:
        raise ValueError(f"claim_id {claim_id!r} is not registered") from None


def registered_variant(variant_id: str) -> Any:
    """The claim of the registered wrong variant ``variant_id`` (``<claim id>#<suffix>``), from the variants
    built once per process (``registry.all_mutants`` rebuilds them on every call)."""
    if not _VARIANTS:
        from tiltproof.core.registry import all_mutants

        _VARIANTS.update((mutant.claim.id, mutant.claim) for mutant in all_mutants())
    try:
        return _VARIANTS[variant_id]
    except KeyError:
        raise ValueError(f"variant_id {variant_id!r} is not a registered wrong variant") from None


def run_registered_claim(claim_id: str, alpha: float, seed: int, device: str) -> Any:
    """Worker side of ``run_claims_parallel``: ``run_claim`` on the registered claim ``claim_id``."""
    from tiltproof.core.framework import run_claim

    return run_claim(_registered(claim_id), alpha=alpha, seed=seed, device=device)


def run_claim_object(claim: Any, alpha: float, seed: int, device: str) -> Any:
    """In-process side of ``run_claims_parallel`` (one worker): ``run_claim`` on the claim object itself."""
    from tiltproof.core.framework import run_claim

    return run_claim(claim, alpha=alpha, seed=seed, device=device)


def error_record(claim: Any, *, alpha: float, seed: int, message: str, statistic: str = "worker") -> Any:
    """An ``error`` record for ``claim`` written by the parent (its worker died, or it timed out)."""
    from tiltproof.core.framework import claim_error_record

    return claim_error_record(claim, alpha=alpha, seed=seed, message=message, statistic=statistic)


def claim_jobs(claims: Sequence[Any], *, alpha: float | Mapping[str, float], seed: int = 0, device: str = "cpu",
               workers: int = 1, target: str = "tiltproof.parallel:run_registered_claim",
               in_process: bool | None = None) -> tuple[list[Job], Callable[[int, str], Any], list[Hashable]]:
    """The jobs, fallback and scheduling groups that run ``claims`` at ``alpha`` under ``run_jobs``.

    In this process (``in_process``, default: ``workers == 1``) a job carries the claim itself, so claims
    that are not registered run too; in workers it carries only the id (``target`` looks it up)."""
    claims = list(claims)
    level = (lambda claim: float(alpha[claim.id])) if isinstance(alpha, Mapping) else (lambda claim: float(alpha))
    in_process = workers == 1 if in_process is None else in_process
    if in_process:
        target = "tiltproof.parallel:run_claim_object"
    device = str(device)
    jobs = [Job(target, (claim if in_process else claim.id, level(claim), seed, device)) for claim in claims]

    def fallback(index: int, reason: str) -> Any:
        return error_record(claims[index], alpha=level(claims[index]), seed=seed, message=reason)

    return jobs, fallback, [(claim.module, claim.instance) for claim in claims]


def run_claims_parallel(claims: Sequence[Any], *, alpha: float | Mapping[str, float], seed: int = 0, device: str = "cpu",
                        workers: int | None = None, on_record: Callable[[Any], None] | None = None,
                        on_complete: Callable[[Any], None] | None = None, timeout: float | None = None,
                        target: str = "tiltproof.parallel:run_registered_claim") -> list[Any]:
    """Records of the registered ``claims`` at level ``alpha``, run in ``workers`` processes (default: the
    cores), in the order given — the records ``tiltproof.core.suite.run_suite`` writes in one process.

    Only each claim's id crosses to the workers. ``on_record`` gets records in input order as soon as
    they are final, ``on_complete`` in completion order (a progress bar). A claim whose worker dies or
    that runs past ``timeout`` seconds gets an ``error`` record saying so; the other claims go on.
    ``workers=1`` (or a single claim) runs them in this process, one after another, as ``run_suite``.
    ``device`` must be a name (``"cpu"``, ``"cuda:0"``), not a ``torch.device``.
    """
    claims = list(claims)
    workers = min(check_workers(workers), max(1, len(claims)))
    jobs, fallback, groups = claim_jobs(claims, alpha=alpha, seed=seed, device=device, workers=workers, target=target,
                                        in_process=workers == 1 and timeout is None)
    return run_jobs(jobs, workers=workers, fallback=fallback, timeout=timeout, groups=groups,
                    on_result=None if on_record is None else (lambda index, record: on_record(record)),
                    on_complete=None if on_complete is None else (lambda index, record: on_complete(record)))
