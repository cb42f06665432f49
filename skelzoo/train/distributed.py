"""Data-parallel plumbing: process group from torchrun's environment, key gathering, rank checks.

One process (no RANK/WORLD_SIZE in the environment) is the common case and every function here is
then a cheap no-op, so the trainer has a single code path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from skelzoo.errors import SkelzooError


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def env_info() -> DistInfo:
    """Rank and world size as torchrun sets them (RANK, WORLD_SIZE, LOCAL_RANK)."""
    try:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", str(rank)))
    except ValueError:
        raise SkelzooError("RANK / WORLD_SIZE / LOCAL_RANK must be integers (launch with torchrun).") from None
    return DistInfo(rank=rank, world_size=world, local_rank=local)


def setup(device_type: str) -> DistInfo:
    """Join the process group torchrun describes: nccl on GPUs, gloo on CPUs. No-op for one process."""
    info = env_info()
    if not info.enabled:
        return info
    if not dist.is_initialized():
        if "MASTER_ADDR" not in os.environ or "MASTER_PORT" not in os.environ:
            raise SkelzooError(
                f"WORLD_SIZE={info.world_size} but MASTER_ADDR/MASTER_PORT are not set; launch "
                "with `torchrun --nproc-per-node N $(which skelzoo) train ...`."
            )
        dist.init_process_group("nccl" if device_type == "cuda" else "gloo")
    return info


def teardown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def active() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


@torch.no_grad()
def gather_cat(t: torch.Tensor) -> torch.Tensor:
    """Concatenate `t` from every rank in rank order (all_gather); `t` itself in one process.

    Every rank ends with the same tensor, so queues filled from it stay identical across ranks.
    """
    if not active():
        return t
    parts = [torch.empty_like(t) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, t.contiguous())
    return torch.cat(parts, dim=0)


def all_ranks_agree(flag: bool, device: torch.device) -> bool:
    """True only if `flag` holds on every rank (e.g. 'my loss is finite'), so all stop together."""
    if not active():
        return flag
    t = torch.tensor([1 if flag else 0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MIN)
    return bool(t.item())


def barrier() -> None:
    if active():
        dist.barrier()
