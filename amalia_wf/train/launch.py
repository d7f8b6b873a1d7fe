"""The command that starts a training script: plain python, torchrun, or accelerate under srun."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Any

# Inside a Slurm allocation the executor plugin strips most SLURM_* variables from the job's
# environment; they come back inside an `srun` step, so the multi-node launch runs in one and
# reads the head node from there (hence the single-quoted script evaluated by the step's shell).
_HEAD = '$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)'


def launcher(dist: Mapping[str, Any]) -> str:
    """Shell prefix that runs `-m <module> ...` on `dist["nodes"]` x `dist["processes_per_node"]` processes.

    `dist`: `launcher` (python | torchrun | accelerate), `nodes`, `processes_per_node`,
    `accelerate_config` (for accelerate: FSDP or DeepSpeed ZeRO-3 file), `cpu` (gloo on CPU).
    """
    kind, nodes, per_node = dist["launcher"], dist["nodes"], dist["processes_per_node"]
    env = "ACCELERATE_USE_CPU=true " if dist.get("cpu") else ""
    if kind == "python":
        if nodes * per_node != 1:
            raise ValueError("train.distributed: launcher python runs one process; use torchrun or accelerate")
        return f"{env}python"
    if kind == "torchrun":
        if nodes == 1:
            # --standalone: a private rendezvous on this node, no port to agree on.
            return f"{env}torchrun --standalone --nnodes 1 --nproc_per_node {per_node}"
        inner = (
            f"torchrun --nnodes {nodes} --nproc_per_node {per_node} --rdzv_backend c10d "
            f"--rdzv_id $SLURM_JOB_ID --rdzv_endpoint {_HEAD}:29500"
        )
    elif kind == "accelerate":
        inner = (
            f"accelerate launch --config_file {shlex.quote(dist['accelerate_config'])} --num_machines {nodes} "
            f"--num_processes {nodes * per_node} --machine_rank $SLURM_NODEID "
            f"--main_process_ip {_HEAD} --main_process_port 29500"
        )
        if nodes == 1:
            return f"{env}{inner.replace('$SLURM_NODEID', '0').replace(_HEAD, '127.0.0.1')}"
    else:
        raise ValueError(f"train.distributed.launcher: unknown launcher {kind!r}")
    # One task per node; each task's torchrun/accelerate starts the node's processes.
    return f"{env}srun --ntasks {nodes} --ntasks-per-node 1 bash -c '{inner} \"$@\"' --"

