"""Training precision chosen by what the hardware computes natively.

bf16 autocast pays only where the device has bf16 arithmetic: CUDA GPUs that
support it, and CPUs with AVX512-BF16 or AMX. Elsewhere (e.g. AVX2-only CPUs)
oneDNN emulates bf16 and a training step becomes about ten times slower than in
fp32 (measured: CycleGAN-VC2 ``conf/cpu.yaml``, 45.5 s vs 3.9 s per step on a
2-core AVX2 EPYC), so ``precision: auto`` takes fp32 there.
"""
from __future__ import annotations

import functools
import warnings
from pathlib import Path

import torch

from ..errors import ConfigError

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
AUTOCAST_DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
_warned: set = set()
BF16_INSTRUCTIONS = {"amx_bf16": "AMX", "avx512_bf16": "AVX512-BF16"}  # cpuinfo flag -> name, fastest first


@functools.lru_cache(maxsize=None)
def _cpu_flags() -> frozenset:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def cpu_capability() -> str:
    """The vector ISA torch's CPU kernels use here (``AVX2``, ``AVX512``, ...)."""
    try:
        return str(torch.backends.cpu.get_cpu_capability())
    except Exception:  # older torch or exotic platform
        return "unknown"


@functools.lru_cache(maxsize=None)
def cpu_has_native_bf16() -> bool:
    """True where the CPU has bf16 arithmetic instructions (AVX512-BF16 or AMX-BF16)."""
    try:
        if torch.ops.mkldnn._is_mkldnn_bf16_supported():
            # oneDNN also answers True for plain AVX512 (bf16 converted in kernels, no dot-product
            # instruction): ask for the instructions themselves where the kernel tells us
            flags = _cpu_flags()
            return not flags or bool(flags & BF16_INSTRUCTIONS.keys())
        return False
    except Exception:
        return bool(_cpu_flags() & BF16_INSTRUCTIONS.keys())


def native_bf16(device: torch.device) -> bool:
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    if device.type == "cpu":
        return cpu_has_native_bf16()
    return False


def hardware_summary(device: torch.device) -> str:
    """One phrase naming the device and whether it computes bf16 natively."""
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        return f"cuda {name}, native bf16 {'yes' if native_bf16(device) else 'no'}"
    bf16 = "no"
    if native_bf16(device):  # which instructions, where the kernel tells us
        found = [name for flag, name in BF16_INSTRUCTIONS.items() if flag in _cpu_flags()]
        bf16 = f"yes ({found[0]})" if found else "yes"
    return f"cpu {cpu_capability()}, native bf16 {bf16}"


def check_precision(requested: str) -> str:
    if requested not in PRECISIONS:
        raise ConfigError(f"config key 'train.precision': expected one of {', '.join(PRECISIONS)}, got {requested!r}")
    return requested


def resolve_precision(requested: str, device: torch.device) -> str:
    """``auto`` -> bf16 where the device computes it natively, else fp32; checks explicit choices.

    An explicit ``bf16`` on a CPU without native bf16 is honoured but warned about once.
    """
    check_precision(requested)
    if requested == "auto":
        return "bf16" if native_bf16(device) else "fp32"
    if requested == "fp16" and device.type != "cuda":
        raise ConfigError("config key 'train.precision': fp16 needs CUDA; use auto (or bf16/fp32) on a CPU")
    if requested == "bf16" and not native_bf16(device):
        key = (device.type, cpu_capability())
        if key not in _warned:
            _warned.add(key)
            where = f"this CPU ({cpu_capability()})" if device.type == "cpu" else f"this device ({device})"
            slow = "about 10x slower steps than fp32" if device.type == "cpu" else "slow steps"
            warnings.warn(f"train.precision=bf16: bf16 is emulated on {where}: expect {slow}; "
                          "use precision: auto or fp32", RuntimeWarning, stacklevel=2)
    return requested
