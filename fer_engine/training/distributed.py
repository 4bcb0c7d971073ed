"""Data-parallel training under `torchrun` or Ray Train: process group set-up from RANK/WORLD_SIZE/LOCAL_RANK (or
the group a launcher such as Ray Train's TorchTrainer already set up) and the few collectives the trainer needs
(sums, max, broadcast). A single process is a world of size 1 with no-op collectives."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist


@dataclass
class DistributedContext:
    """This process's place in the job; `owns_group` when `train()` created the process group (and ends it)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    owns_group: bool = False

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the only process that writes run files (one checkpoint writer)."""
        return self.rank == 0

    @classmethod
    def from_environment(cls, device_type: str) -> DistributedContext:
        """Join the process group a launcher started (Ray Train), or the torchrun job named by the environment
        (nccl on CUDA, gloo on CPU), or a world of one. One DDP code path for both launchers."""
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            return cls(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")), False)
        world_size = int(os.environ.get("WORLD_SIZE", "1"))
        if world_size <= 1:
            return cls()
        owns = False
        if not dist.is_initialized():
            backend = "nccl" if device_type == "cuda" else "gloo"
            dist.init_process_group(backend=backend, timeout=timedelta(minutes=30))
            owns = True
        return cls(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")), owns)

    def sum(self, values: torch.Tensor) -> torch.Tensor:
        """Element-wise sum over ranks (in place on a copy); identity for one process."""
        if not self.enabled:
            return values
        values = values.clone()
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
        return values

    def any(self, flag: bool, device: torch.device) -> bool:
        """True when any rank says True (used so that every rank stops at the same step)."""
        if not self.enabled:
            return flag
        tensor = torch.tensor([1.0 if flag else 0.0], device=device)
        dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
        return bool(tensor.item() > 0)

    def broadcast(self, obj: Any) -> Any:
        """Rank 0's `obj` on every rank (validation metrics decide the schedule and early stopping everywhere)."""
        if not self.enabled:
            return obj
        holder = [obj]
        dist.broadcast_object_list(holder, src=0)
        return holder[0]

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    def close(self) -> None:
        """End the process group if `train()` started it."""
        if self.owns_group and dist.is_initialized():
            dist.destroy_process_group()
