"""A stand-in for a CUDA device on a CPU-only machine, enforcing CUDA's device rules (issue 12).

CI has no GPU, yet ``tiltproof check --device cuda`` must run every claim on the device. Inside
``fake_cuda()``:

* ``torch.device("cuda")`` resolves (``torch.cuda.is_available()`` is true);
* a tensor created on, or moved to, ``"cuda"`` lives in CPU memory but carries a tag and reports
  ``device == cuda:0`` / ``is_cuda``; results of an op on tagged operands are tagged;
* ``torch.Generator(device="cuda")`` is a CPU generator that reports ``device == cuda:0``;

and every torch call (a ``TorchFunctionMode``) is checked against the rules a real CUDA device
enforces, raising the error CUDA raises:

1. the tensor operands of one op live on one device (a 0-dim CPU tensor may join CUDA ones);
2. a random op's generator lives on the device of the tensor it fills (``Expected a 'cpu' device
   type for generator but found 'cuda'``);
3. a CUDA tensor does not convert to numpy (``np.asarray``, ``.numpy()``);
4. a CPU tensor is not indexed by a CUDA index.

Numbers are computed on the CPU by CPU generators seeded alike (and the chain sampler keeps the CPU's
draws per round and small products their CPU route), so a claim's record under the
stand-in equals its CPU record bit for bit: the test compares both, which checks the plumbing (every
instance, law, generator and network follows the context's device) without a GPU. What it cannot see:
composite torch functions written in Python run unchecked inside (their operands are checked), and
kernels that exist on the CPU only.
"""
from __future__ import annotations

import contextlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterator

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_leaves, tree_map

__all__ = ["fake_cuda", "FAKE_DEVICE", "is_fake", "FakeCudaGenerator", "DeviceAudit"]

FAKE_DEVICE = torch.device("cuda", 0)
_TAG = "_tiltproof_fake_cuda"
_REAL_GENERATOR = torch.Generator


def is_fake(value: Any) -> bool:
    """Whether a tensor or generator stands for one on the CUDA device."""
    return bool(getattr(value, _TAG, False))


def _tag(tensor: torch.Tensor, fake: bool) -> torch.Tensor:
    setattr(tensor, _TAG, fake)
    return tensor


class FakeCudaGenerator(_REAL_GENERATOR):
    """``torch.Generator`` under the stand-in: a CPU generator that reports the device it was asked for."""

    def __new__(cls, device: str | torch.device = "cpu"):
        resolved = torch.device(device)
        generator = _REAL_GENERATOR.__new__(cls, "cpu")
        setattr(generator, _TAG, resolved.type == "cuda")
        return generator

    @property
    def device(self) -> torch.device:  # type: ignore[override]
        return FAKE_DEVICE if is_fake(self) else torch.device("cpu")


def _is_device_like(value: Any) -> bool:
    return isinstance(value, (str, torch.device)) and not isinstance(value, bool)


def _device_is_cuda(value: Any) -> bool:
    try:
        return torch.device(value).type == "cuda"
    except (RuntimeError, TypeError):
        return False


RANDOM_OPS = frozenset({
    "rand", "randn", "randint", "randperm", "multinomial", "normal", "bernoulli", "poisson", "rand_like",
    "randn_like", "randint_like", "uniform_", "normal_", "exponential_", "geometric_", "cauchy_", "log_normal_",
    "random_", "bernoulli_", "uniform", "kaiming_uniform_", "kaiming_normal_", "xavier_uniform_", "xavier_normal_",
    "trunc_normal_", "orthogonal_", "dropout",
})
#: ops that, without a generator, draw a network's initial weights (torch's seeded global generator, on the
#: CPU; the network is moved to its device afterwards)
INITIALISERS = frozenset({"kaiming_uniform_", "kaiming_normal_", "xavier_uniform_", "xavier_normal_",
                          "trunc_normal_", "orthogonal_", "uniform_"})


@dataclass
class DeviceAudit:
    """What ran where under the stand-in: random draws by device (``"cuda"``/``"cpu"``) and op name, and
    draws from torch's global generator (no ``generator=``), which a seeded claim must never make."""

    random_draws: Counter = field(default_factory=Counter)
    global_generator_draws: Counter = field(default_factory=Counter)
    initialisation_draws: Counter = field(default_factory=Counter)

    def draws_on(self, device: str) -> int:
        return sum(count for (where, _), count in self.random_draws.items() if where == device)

    def cpu_draws(self) -> dict[str, int]:
        return {name: count for (where, name), count in self.random_draws.items() if where == "cpu"}


def _name(func: Any) -> str:
    owner = getattr(func, "__self__", None)
    if owner is not None and type(owner).__name__ == "getset_descriptor":
        return f"{owner.__name__}.{func.__name__}"      # e.g. "device.__get__"
    return getattr(func, "__name__", str(func))


def _device_name(fake: bool) -> str:
    return "cuda" if fake else "cpu"


class _CudaRules(TorchFunctionMode):
    """The checking mode (see the module docstring for the rules)."""

    def __init__(self, audit: DeviceAudit) -> None:
        super().__init__()
        self.audit = audit

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = dict(kwargs or {})
        name = _name(func)
        if name in ("device.__get__", "is_cuda.__get__", "is_cpu.__get__"):
            fake = is_fake(args[0])
            if name == "device.__get__":
                return FAKE_DEVICE if fake else func(*args, **kwargs)
            return fake if name == "is_cuda.__get__" else not fake
        if name in ("data.__get__", "grad.__get__"):
            result = func(*args, **kwargs)
            return result if result is None else _tag(result, is_fake(args[0]))
        if name == "data.__set__":
            func(*args, **kwargs)
            _tag(args[0], is_fake(args[1]))
            return None
        if name in ("numpy", "__array__") and is_fake(args[0]):
            raise TypeError("can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu() to copy the tensor "
                            "to host memory first.")

        # the device the op is asked to produce on, if any (rewritten to the CPU)
        target: bool | None = None
        if name == "cuda":
            target, func, args, kwargs = True, torch.Tensor.to, (args[0], torch.device("cpu")), {}
        elif name == "cpu":
            target = False
        if kwargs.get("device") is not None:
            target = _device_is_cuda(kwargs["device"])
            kwargs["device"] = torch.device("cpu")
        if name == "to":
            rewritten = [args[0]]
            for value in args[1:]:
                if _device_is_like_cuda_or_cpu(value):
                    target = _device_is_cuda(value)
                    value = torch.device("cpu")
                elif isinstance(value, torch.Tensor):
                    target = is_fake(value)
                rewritten.append(value)
            args = tuple(rewritten)

        tensors = [leaf for leaf in tree_leaves((args, kwargs)) if isinstance(leaf, torch.Tensor)]
        fakes = [tensor for tensor in tensors if is_fake(tensor)]
        if name not in ("to", "cpu", "cuda", "copy_", "__setitem__", "__getitem__", "_has_compatible_shallow_copy_type",
                        "set_") and fakes:
            for tensor in tensors:
                if not is_fake(tensor) and tensor.dim() > 0:
                    raise RuntimeError("Expected all tensors to be on the same device, but found at least two "
                                       f"devices, cuda:0 and cpu! (in {name})")
        if name == "__getitem__" and not is_fake(args[0]) and any(is_fake(t) for t in tree_leaves(args[1:])
                                                                    if isinstance(t, torch.Tensor)):
            raise RuntimeError("indices should be either on cpu or on the same device as the indexed tensor (cpu)")

        produced_on_fake = target if target is not None else (is_fake(args[0]) if name in ("__getitem__", "__setitem__")
                                                                  and args and isinstance(args[0], torch.Tensor)
                                                                  else bool(fakes))
        generator = kwargs.get("generator")
        if generator is None:
            generator = next((leaf for leaf in args if isinstance(leaf, _REAL_GENERATOR)), None)
        if generator is None and name in INITIALISERS:
            self.audit.initialisation_draws[(_device_name(produced_on_fake), name)] += 1
        elif name in RANDOM_OPS or generator is not None:
            self.audit.random_draws[(_device_name(produced_on_fake), name)] += 1
            if generator is None:
                self.audit.global_generator_draws[name] += 1
        if generator is not None and is_fake(generator) != produced_on_fake:
            raise RuntimeError(f"Expected a '{_device_name(produced_on_fake)}' device type for generator but found "
                               f"'{_device_name(is_fake(generator))}' (in {name})")

        result = func(*args, **kwargs)

        def retag(value):
            if isinstance(value, torch.Tensor):
                if any(value is tensor for tensor in tensors) and is_fake(value) != produced_on_fake:
                    value = value.clone()                   # a move that torch answered with the same object
                return _tag(value, produced_on_fake)
            return value

        if name == "__setitem__" or (name.endswith("_") and not name.endswith("__")):
            return result                                    # in place: the operand keeps its device
        return tree_map(retag, result)


def _device_is_like_cuda_or_cpu(value: Any) -> bool:
    return _is_device_like(value) and (isinstance(value, torch.device) or value.split(":")[0] in ("cpu", "cuda"))


@contextlib.contextmanager
def fake_cuda() -> Iterator[DeviceAudit]:
    """Run the body with ``cuda`` standing for a tagged CPU device (see the module docstring); yields the
    audit of the random draws made inside."""
    from primitives.chain_samplers import DEFAULT_MAX_BATCH
    from primitives.small_linalg import BROADCAST_DEVICE_TYPES

    saved_generator, saved_available = torch.Generator, torch.cuda.is_available
    saved_batch = DEFAULT_MAX_BATCH["cuda"]
    torch.Generator = FakeCudaGenerator           # type: ignore[misc]
    torch.cuda.is_available = lambda: True        # type: ignore[assignment]
    # A real GPU draws more children per round; the stand-in keeps the CPU's rounds so that its numbers stay
    # the CPU's bit for bit (the batch size changes which uniforms meet which child, not the law).
    DEFAULT_MAX_BATCH["cuda"] = DEFAULT_MAX_BATCH["cpu"]
    saved_routes = set(BROADCAST_DEVICE_TYPES)
    BROADCAST_DEVICE_TYPES.clear()                # and the CPU's order of additions in small products
    audit = DeviceAudit()
    try:
        with _CudaRules(audit):
            yield audit
    finally:
        torch.Generator = saved_generator         # type: ignore[misc]
        torch.cuda.is_available = saved_available  # type: ignore[assignment]
        DEFAULT_MAX_BATCH["cuda"] = saved_batch
        BROADCAST_DEVICE_TYPES.update(saved_routes)
