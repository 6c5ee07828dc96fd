"""Data-parallel training under `torchrun`: process group, ranks, batch shards, gradient averaging.

`fit` calls these; each is a no-op in a single process. Launched by `torchrun --nproc_per_node=N`,
every rank draws the same global batch, keeps its slice of it (`shard`), and after each backward pass
the gradients are averaged over ranks (`average_gradients`), so N ranks take the step one process
would take on the whole global batch (Li et al., 2020, describe PyTorch's DistributedDataParallel).

Why an explicit all-reduce instead of wrapping models in DistributedDataParallel: step functions hold
their models and call them directly (`lm_step(model)`, `gan_step(G, D)`), so a DDP wrapper's forward
would never run; and the GAN step runs D twice before one backward and backpropagates G's loss
through D, patterns DDP's reducer needs special flags for. Averaging the gradients of exactly the
parameters an optimizer is about to step works for every step function unchanged. The price: the
communication starts after backward instead of overlapping with it.

Limits, stated: BatchNorm normalises with each rank's shard statistics (its running buffers are rank
0's, as with DDP's default); ranks other than 0 get their own random streams, reseeded when `fit`
starts, so a resumed run continues rank 0's stream exactly and the others' from a new seed; Ctrl-C
under torchrun ends the job (torchrun stops every worker), and a rerun resumes from the last periodic
checkpoint.
"""

from __future__ import annotations

import atexit
import os
import random
import warnings
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn


def is_distributed() -> bool:
    """True inside a process group of more than one process."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    """This process's index among all processes, 0..world_size-1 (0 outside torchrun)."""
    return dist.get_rank() if is_distributed() else 0


def world_size() -> int:
    """How many processes train together (1 outside torchrun)."""
    return dist.get_world_size() if is_distributed() else 1


def local_rank() -> int:
    """This process's index on its machine (torchrun's LOCAL_RANK): the GPU it uses."""
    return int(os.environ.get("LOCAL_RANK", 0))


def is_main() -> bool:
    """Rank 0 logs, prints and writes checkpoints; in a single process that is the only process."""
    return rank() == 0


def launched_by_torchrun() -> bool:
    """True when torchrun started this process as one of several (its WORLD_SIZE > 1)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def init(device: str | None = None, *, backend: str | None = None, timeout_s: float = 600.0) -> bool:
    """Join the process group torchrun describes (NCCL for CUDA, gloo otherwise); returns whether distributed.

    `device` is what training will use (as for `genai_lib.device.pick_device`). Idempotent; does nothing
    outside torchrun. The group is destroyed when the process exits.
    """
    if is_distributed():
        return True
    if not launched_by_torchrun() or not dist.is_available():
        return False
    if backend is None:
        from genai_lib.device import pick_device

        backend = "nccl" if pick_device(device).type == "cuda" else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(local_rank())  # so that device "cuda" means this rank's GPU
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, timeout=timedelta(seconds=timeout_s))
        atexit.register(shutdown)
    return is_distributed()


def shutdown() -> None:
    """Leave the process group (torchrun's processes call this at exit)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def barrier() -> None:
    """Wait until every rank gets here (nothing to wait for in one process)."""
    if is_distributed():
        dist.barrier()


def _comm_device() -> torch.device:
    """Where collective buffers live: NCCL only moves CUDA tensors, gloo prefers CPU ones."""
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


# ----- batches ----------------------------------------------------------------------------------------


def shard(batch: Any) -> Any:
    """This rank's slice of a global batch: rows [r B/N, (r+1) B/N) of every tensor in it (B = batch size).

    Every rank draws the same global batch (same data seed), so the N shards partition it exactly and N
    ranks see what one process would see. Tensors are sliced along dim 0; other values pass unchanged.
    """
    if not is_distributed():
        return batch
    n, r = world_size(), rank()
    sizes = {len(t) for t in _tensors(batch)}
    if len(sizes) > 1:
        raise ValueError(
            f"The tensors of a batch have different first dimensions {sorted(sizes)}; "
            "data-parallel training slices them all along dim 0, so they must agree."
        )
    for size in sizes:
        if size % n:
            raise ValueError(
                f"The global batch of {size} examples does not split evenly over {n} processes. "
                f"Use a batch size divisible by {n} (e.g. {max(n, size - size % n)}), or launch "
                "torchrun with a --nproc_per_node that divides it."
            )
    return _slice(batch, r, n)


def _tensors(batch: Any) -> Iterable[torch.Tensor]:
    if isinstance(batch, torch.Tensor):
        yield batch
    elif isinstance(batch, (list, tuple)):
        for b in batch:
            yield from _tensors(b)
    elif isinstance(batch, Mapping):
        for b in batch.values():
            yield from _tensors(b)


def _slice(batch: Any, r: int, n: int) -> Any:
    if isinstance(batch, torch.Tensor):
        per = len(batch) // n
        return batch[r * per : (r + 1) * per]
    if isinstance(batch, (list, tuple)):
        return type(batch)(_slice(b, r, n) for b in batch)
    if isinstance(batch, Mapping):
        return {k: _slice(v, r, n) for k, v in batch.items()}
    return batch


# ----- keeping the replicas identical -------------------------------------------------------------------


def broadcast_module(module: nn.Module) -> None:
    """Copy rank 0's parameters and buffers to every rank (one starting point, whatever each rank's seed)."""
    if not is_distributed():
        return
    with torch.no_grad():
        for t in list(module.parameters()) + list(module.buffers()):
            dist.broadcast(t.data, src=0)


def sync_buffers(modules: Iterable[nn.Module]) -> None:
    """Give every rank rank 0's buffers (BatchNorm statistics, EMA codebooks), as DDP does before each forward."""
    if not is_distributed():
        return
    buffers = [b for m in modules for b in m.buffers()]
    for dtype in {b.dtype for b in buffers}:
        group = [b for b in buffers if b.dtype == dtype]
        flat = torch.cat([b.detach().reshape(-1).to(_comm_device()) for b in group])
        dist.broadcast(flat, src=0)
        _unflatten_into(flat, group)


def _unflatten_into(flat: torch.Tensor, tensors: list[torch.Tensor]) -> None:
    i = 0
    with torch.no_grad():
        for t in tensors:
            t.copy_(flat[i : i + t.numel()].view_as(t))
            i += t.numel()


def average_gradients(params: Iterable[torch.Tensor]) -> None:
    """Replace each gradient by its mean over ranks: the gradient of the loss averaged over the global batch.

    One all-reduce per dtype, over the gradients flattened into one buffer. A parameter that has no
    gradient on some rank counts as a zero gradient there (as in DDP); one with none on every rank
    keeps `grad = None`, so the optimizer skips it as it would in one process.
    """
    if not is_distributed():
        return
    params = [p for p in params if p.requires_grad]
    dev, n = _comm_device(), world_size()
    for dtype in {p.dtype for p in params}:
        group = [p for p in params if p.dtype == dtype]
        has = torch.tensor([p.grad is not None for p in group], dtype=dtype, device=dev)
        flat = torch.cat(
            [has] + [(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1).to(dev) for p in group]
        )
        dist.all_reduce(flat)
        seen, flat = flat[: len(group)], flat[len(group) :] / n
        i = 0
        for p, count in zip(group, seen.tolist(), strict=True):
            if count > 0:
                g = flat[i : i + p.numel()].view_as(p).to(p.device)
                if p.grad is None:
                    p.grad = g.clone()
                else:
                    p.grad.copy_(g)
            i += p.numel()


def average_scalars(values: Mapping[str, float]) -> dict[str, float]:
    """The mean over ranks of logged values, so the history describes the global batch, not rank 0's shard."""
    if not is_distributed() or not values:
        return dict(values)
    keys = sorted(values)
    t = torch.tensor([values[k] for k in keys], dtype=torch.float64, device=_comm_device())
    dist.all_reduce(t)
    return {k: v / world_size() for k, v in zip(keys, t.tolist(), strict=True)}


def seed_rank_streams() -> None:
    """Give ranks 1.. their own random streams (noise, dropout, diffusion times); rank 0 keeps its own.

    Drawn from the current (shared) stream, so a resumed run reseeds the same way as at that step.
    """
    if not is_distributed() or rank() == 0:
        return
    seed = int(torch.randint(0, 2**31 - 1, (1,))) + 1_000_003 * rank()
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def check_in_sync(models: Mapping[str, nn.Module]) -> None:
    """Warn if the replicas' weights differ across ranks (a step function that did rank-dependent updates)."""
    if not is_distributed():
        return
    for name, model in models.items():
        state = [t.detach().double() for t in model.state_dict().values() if t.is_floating_point()]
        if not state:
            continue
        local = torch.stack([torch.stack([t.sum(), (t * t).sum()]) for t in state]).reshape(-1).to(_comm_device())
        low, high = local.clone(), local.clone()
        dist.all_reduce(low, op=dist.ReduceOp.MIN)
        dist.all_reduce(high, op=dist.ReduceOp.MAX)
        if not torch.equal(low, high) and is_main():
            warnings.warn(
                f"The weights of {name!r} differ across ranks at the end of training: something in "
                "the step function updated them differently on different ranks.",
                stacklevel=2,
            )
