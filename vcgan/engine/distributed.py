"""Data-parallel training across processes started by ``torchrun``.

Gradients are averaged with one coalesced all-reduce per optimizer step; this is
synchronous data parallelism like DDP, and it also works for tasks that call a
network several times per step (cycle losses). CPU runs use the gloo backend.
"""
from __future__ import annotations

import os

import torch
import torch.distributed as dist
from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors


def init_from_env(device: torch.device) -> tuple[int, int]:
    """Join the process group when launched by torchrun; returns (rank, world_size)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend)
    return dist.get_rank(), dist.get_world_size()


def launch_rank_world() -> tuple[int, int]:
    """(rank, world size) as the launcher (torchrun) set them, for building data loaders
    before the Trainer starts; (0, 1) for a single process."""
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def broadcast_parameters(module: torch.nn.Module) -> None:
    if is_distributed():
        for t in list(module.parameters()) + list(module.buffers()):
            dist.broadcast(t.data, src=0)


def average_gradients(params) -> None:
    if not is_distributed():
        return
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    flat = _flatten_dense_tensors(grads)
    dist.all_reduce(flat)
    flat /= dist.get_world_size()
    for g, synced in zip(grads, _unflatten_dense_tensors(flat, grads)):
        g.copy_(synced)


def any_rank(flag: bool, device: torch.device) -> bool:
    """True on every rank if ``flag`` is true on any rank."""
    if not is_distributed():
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def max_over_ranks(value: float, device: torch.device) -> float:
    """The largest ``value`` of all ranks, on every rank (so that all take the same decision)."""
    if not is_distributed():
        return value
    t = torch.tensor([float(value)], dtype=torch.float64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return float(t.item())


def gather_objects(obj) -> list:
    """``[obj of rank 0, obj of rank 1, ...]`` (``[obj]`` when not distributed)."""
    if not is_distributed():
        return [obj]
    out = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def shutdown() -> None:
    """Leave the process group at the end of a torchrun run, while the interpreter is fully
    alive: every rank waits for the others first (rank 0 may still be writing its checkpoint),
    then the group is destroyed, so no collective's worker thread outlives it."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
