# Config validation, environment and input functions shared by every stage.
import glob
import json
import os
import re
import shlex
import sys

# The Snakefile imports the project package from the checkout; job scripts do the same
# through amalia_wf's own location (see scripts/), so no environment variable is needed.
sys.path.insert(0, workflow.basedir)
# Shell jobs call `python`, `torchrun` or `accelerate`: outside a conda env (the pip setup of the
# README) they must find the environment Snakemake itself runs in. A conda env, activated per job,
# still comes first.
os.environ.update(PATH=os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")]))

from amalia_wf.config import ConfigError, collection_files, collection_index, shards, validate
from amalia_wf.train.launch import gpu_hours, launcher

try:
    validate(config)
except ConfigError as err:
    raise WorkflowError(f"invalid configuration: {err}") from None

# Kept in step with amalia_wf.data.quality.LABELS (a test checks); importing that module here
# would load torch at every DAG build.
LABELS = ["low", "medium", "high"]
COLLECTIONS = {c["name"]: c for c in config["data"]["collections"]}
FILES = {name: collection_files(c) for name, c in COLLECTIONS.items()}
SHARDS = {name: shards(files, config["data"]["files_per_shard"]) for name, files in FILES.items()}
SHARD_IDS = {name: [f"{i:05d}" for i in range(len(s))] for name, s in SHARDS.items()}


def resources_for(rule_name):
    """Job resources: `resources.default` overlaid with the block named after the rule."""
    block = {**config["resources"]["default"], **config["resources"].get(rule_name, {})}
    block.pop("threads", None)
    return block


def threads_for(rule_name):
    return config["resources"].get(rule_name, {}).get("threads", config["resources"]["default"].get("threads", 1))


def shard_files(wildcards):
    # Inputs are marked ancient: copying or touching a 1 GB WARC must not redo everything downstream.
    return [ancient(f) for f in SHARDS[wildcards.collection][int(wildcards.shard)]]


def shard_outputs(pattern, collection=None):
    names = [collection] if collection else list(COLLECTIONS)
    return [pattern.format(collection=c, shard=s) for c in names for s in SHARD_IDS[c]]


TRAIN = config["train"]
# Each training rule's launch command: processes per node from config, nodes from its resources.
LAUNCH = {r: launcher({**TRAIN["distributed"], "nodes": resources_for(r).get("nodes", 1)}) for r in ("pretrain", "sft", "dpo")}
MIXTURE = {m["name"]: m for m in TRAIN["mixture"]}

if workflow.is_main_process:
    for stage, hours in gpu_hours(config["resources"]).items():
        logger.info(f"GPU hours requested by {stage}: {hours:g}")


def mixture_inputs(wildcards):
    """Texts of one pretraining source: corpus split folders and/or files matched by its globs."""
    source = MIXTURE[wildcards.source]
    splits = [f"results/data/corpus/{label}" for label in source.get("corpus_splits", [])]
    return splits + [f for pattern in source.get("paths", []) for f in sorted(glob.glob(pattern))]


def json_arg(obj):
    """A config block as one shell-quoted JSON argument for the training CLIs."""
    return shlex.quote(json.dumps(obj, sort_keys=True))
