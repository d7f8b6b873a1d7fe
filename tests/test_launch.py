"""Launch commands for the training rules (their GPU hours: tests/test_cost_plan.py)."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from amalia_wf.train.launch import launcher
from tests.conftest import REPO


def test_single_process_is_plain_python():
    assert launcher({"launcher": "python", "nodes": 1, "processes_per_node": 1, "cpu": True}) == "ACCELERATE_USE_CPU=true python"
    with pytest.raises(ValueError, match="train.distributed"):
        launcher({"launcher": "python", "nodes": 2, "processes_per_node": 1})


def test_one_node_torchrun_needs_no_rendezvous_host():
    cmd = launcher({"launcher": "torchrun", "nodes": 1, "processes_per_node": 8})
    assert cmd == "torchrun --standalone --nnodes 1 --nproc_per_node 8"


def test_multi_node_launch_runs_one_srun_task_per_node():
    cmd = launcher({"launcher": "accelerate", "nodes": 32, "processes_per_node": 8, "accelerate_config": "profiles/accelerate/fsdp.yaml"})
    assert cmd.startswith("srun --ntasks 32 --ntasks-per-node 1 bash -c '")
    assert "--num_machines 32 --num_processes 256 --machine_rank $SLURM_NODEID" in cmd
    assert cmd.endswith("\"$@\"' --")  # the module and its arguments follow the launcher
    torch_cmd = launcher({"launcher": "torchrun", "nodes": 4, "processes_per_node": 8})
    assert "--nnodes 4 --nproc_per_node 8 --rdzv_backend c10d" in torch_cmd


def test_srun_wrapper_passes_the_module_and_its_arguments_through(tmp_path):
    # The part after `srun ...` is what each task's shell runs: check it with a stand-in launcher.
    cmd = launcher({"launcher": "torchrun", "nodes": 2, "processes_per_node": 1})
    inner = cmd.split("bash -c ", 1)[1].rsplit(" --", 1)[0].strip("'").replace("torchrun", "echo torchrun")
    out = subprocess.run(
        ["bash", "-c", inner, "--", "-m", "amalia_wf.train.sft", "--cfg-json", '{"a": 1}'],
        env={"SLURM_JOB_ID": "7", "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
    ).stdout
    assert "--rdzv_id 7" in out and out.rstrip().endswith('-m amalia_wf.train.sft --cfg-json {"a": 1}')


@pytest.mark.parametrize("name", ["fsdp.yaml", "deepspeed_zero3.yaml"])
def test_accelerate_configs_parse(name):
    cfg = yaml.safe_load((REPO / "profiles" / "accelerate" / name).read_text())
    assert cfg["distributed_type"] in {"FSDP", "DEEPSPEED"} and cfg["mixed_precision"] == "bf16"
