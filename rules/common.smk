# Config validation, environment and input functions shared by every stage.
import re
import sys

# The Snakefile imports the project package from the checkout; job scripts do the same
# through amalia_wf's own location (see scripts/), so no environment variable is needed.
sys.path.insert(0, workflow.basedir)

from amalia_wf.config import ConfigError, collection_files, collection_index, shards, validate

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
