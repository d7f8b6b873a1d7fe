# Config validation, environment and input functions shared by every stage.
import os
import re
import sys

# Scripts and jobs (local, conda or Slurm) import the project package from the checkout.
sys.path.insert(0, workflow.basedir)
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [workflow.basedir, os.environ.get("PYTHONPATH")]))

from amalia_wf.config import ConfigError, collection_files, collection_index, shards, validate

try:
    validate(config)
except ConfigError as err:
    raise WorkflowError(f"invalid configuration: {err}") from None

if config["offline"]:
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["HF_DATASETS_OFFLINE"] = "1"

# Kept in step with amalia_wf.data.quality.LABELS (a test checks); importing that module here
# would load torch at every DAG build.
LABELS = ["low", "medium", "high"]
COLLECTIONS = {c["name"]: c for c in config["data"]["collections"]}
FILES = {name: collection_files(c) for name, c in COLLECTIONS.items()}
SHARDS = {name: shards(files, config["data"]["files_per_shard"]) for name, files in FILES.items()}
SHARD_IDS = {name: [f"{i:05d}" for i in range(len(s))] for name, s in SHARDS.items()}


wildcard_constraints:
    collection="|".join(map(re.escape, COLLECTIONS)),
    shard=r"\d{5}",
    label="|".join(LABELS),
    index=r"\d{5}",


def resources_for(rule_name):
    """Per-rule resources from config: `resources.default` overlaid with `resources.<rule>`."""
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
