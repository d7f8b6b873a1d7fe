# Config validation, environment and input functions shared by every stage.
import functools
import glob
import hashlib
import json
import os
import re
import shlex
import sys
import time

# Jobs (scripts, `python -m amalia_wf...`, under conda, on other nodes, from any --directory)
# import the project package from this checkout, and, outside a conda env (the pip setup of the
# README), find `python`, `torchrun` and `accelerate` in the environment Snakemake runs in; a conda
# env, activated per job, still comes first on PATH.
sys.path.insert(0, workflow.basedir)
os.environ.update(
    PYTHONPATH=os.pathsep.join(filter(None, [workflow.basedir, os.environ.get("PYTHONPATH")])),
    PATH=os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")]),
)

from amalia_wf.benchmark_plan import BenchmarkPlan, wildcard_jobs
from amalia_wf.config import (
    DEBIAN_DIR,
    DEBIAN_PACKAGES_DIR,
    ConfigError,
    benchmark_sources,
    collection_index,
    debian_packages,
    mined_ptc_path,
    shards,
    validate,
)
from amalia_wf.pin_revisions import unpinned_revisions
from amalia_wf.cost_plan import gpus, request
from amalia_wf.evaluate.models import ModelSpec
from amalia_wf.genbench.plan import GenbenchPlan
from amalia_wf.preflight import LOCAL_CHECKS, entry_modules, runnable_node_checks, scoring_models
from amalia_wf.tables.registry import HELDOUT_TABLE, TABLES, table_path
from amalia_wf.train.launch import launcher

# `snakemake preflight` reports missing inputs as rows instead of stopping at the first. Snakemake
# parses this file before it knows its targets, so the command line tells: the target `preflight`,
# or a preflight rule's job on a cluster node (`--target-jobs preflight_...:`).
PREFLIGHT = any(re.match(r"preflight($|_\w+:)", arg) for arg in sys.argv[1:])
try:
    FILES = validate(config, sizes=workflow.is_main_process, inputs_required=not PREFLIGHT)
except ConfigError as err:
    raise WorkflowError(f"invalid configuration: {err}") from None
UNPINNED = unpinned_revisions(config) if workflow.is_main_process else []

# Kept in step with amalia_wf.data.quality.LABELS (a test checks); importing that module here
# would load torch at every DAG build.
LABELS = ["low", "medium", "high"]
COLLECTIONS = {c["name"]: c for c in config["data"]["collections"]}
SHARDS = {name: shards(files, config["data"]["files_per_shard"]) for name, files in FILES.items()}
SHARD_IDS = {name: [f"{i:05d}" for i in range(len(s))] for name, s in SHARDS.items()}
# Real-text collections from pinned Debian packages (rules/debian.smk) and what the `data` target
# adds for them: their pairing counts and mined PT-C items, for inspection.
DEBIAN = {name: c["debian"] for name, c in COLLECTIONS.items() if "debian" in c}
DEBIAN_PACKAGES = debian_packages(config["data"]["collections"])
DEBIAN_TARGETS = [f"{DEBIAN_DIR}/{c}/{f}" for c in DEBIAN for f in ("pairs.stats.json", "ptc.stats.json")]
# The pages held out of every training set (none without a debian collection): the held-out
# perplexity of each evaluated model, a table of its own.
HELDOUT_FILES = [f"{DEBIAN_DIR}/{c}/heldout.jsonl" for c in DEBIAN]
RUN_TABLES = {name: t for name, t in TABLES.items() if name != HELDOUT_TABLE or HELDOUT_FILES}


def debian_trees(wildcards):
    """Package -> unpacked tree, for the packages a debian collection's sources name."""
    sources = DEBIAN[wildcards.collection]["sources"]
    names = sorted({s[v]["package"] for s in sources for v in ("pt_pt", "pt_br")})
    return {name: f"{DEBIAN_PACKAGES_DIR}/{name}" for name in names}


def resources_for(rule_name):
    """Job resources: `resources.default` overlaid with the block named after the rule.

    `runtime` (minutes) grows with the attempt: a job killed at its Slurm time limit is
    resubmitted by `--retries` with twice, then three times the limit, and resumes from its
    last checkpoint."""
    block = request(config["resources"], rule_name)
    block.pop("threads", None)
    if "runtime" in block:
        minutes = block["runtime"]
        block["runtime"] = lambda wildcards, attempt: minutes * attempt
    return block


def threads_for(rule_name):
    return request(config["resources"], rule_name).get("threads", 1)


def shard_files(wildcards):
    """Archives a rule produces (downloads, synthetic WARCs) are inputs, marked ancient so that
    copying or touching a 1 GB file does not redo everything downstream. Archives already on
    disk (`paths` collections) are not: they were found by validation, never change, and 200,000
    of them as tracked inputs cost Snakemake seconds per DAG build. The script gets the list
    from `params.files` either way."""
    if "paths" in COLLECTIONS[wildcards.collection]:
        return []
    return [ancient(f) for f in SHARDS[wildcards.collection][int(wildcards.shard)]]


def shard_outputs(pattern, collection=None):
    names = [collection] if collection else list(COLLECTIONS)
    return [pattern.format(collection=c, shard=s) for c in names for s in SHARD_IDS[c]]


TRAIN = config["train"]
# Each training rule's launch command: processes per node from config, nodes from its resources.
LAUNCH = {
    r: launcher({**TRAIN["distributed"], "nodes": resources_for(r).get("nodes", 1)}) for r in ("pretrain", "sft", "dpo")
}
MIXTURE = {m["name"]: m for m in TRAIN["mixture"]}


def digest(*parts):
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:12]


# Checkpoints are resumed only by a run of the same configuration (this stage's and everything
# upstream): a changed learning rate or corpus starts afresh instead of continuing a stale run.
RUN_KEY = {"pretrain": digest(config["data"], TRAIN["tokenizer"], TRAIN["base"], TRAIN["mixture"], TRAIN["pretrain"])}
RUN_KEY["sft"] = digest(RUN_KEY["pretrain"], TRAIN["sft"])
RUN_KEY["dpo"] = digest(RUN_KEY["sft"], TRAIN["preferences"], TRAIN["dpo"])


def checkpoints(rule):
    return f"results/checkpoints/{rule}/{RUN_KEY[rule]}"


def mixture_inputs(wildcards):
    """Texts of one pretraining source: corpus split folders and/or files matched by its globs."""
    source = MIXTURE[wildcards.source]
    splits = [f"results/data/corpus/{label}" for label in source.get("corpus_splits", [])]
    return splits + [f for pattern in source.get("paths", []) for f in sorted(glob.glob(pattern))]


def strategy_inputs(*names):
    """Local files the named preference strategies read (persona/two-model chats, extra pair sets)."""
    strategies = TRAIN["preferences"]["strategies"]
    blocks = []
    for name in names:
        value = strategies.get(name) or []
        blocks += value if isinstance(value, list) else [value]  # `persona` and `extra` are lists of blocks
    return [p for b in blocks if b for p in b.get("paths", [b["path"]] if "path" in b else [])]


def json_arg(obj):
    """A config block as one shell-quoted JSON argument for the training CLIs."""
    return shlex.quote(json.dumps(obj, sort_keys=True))


EVAL = config["evaluation"]
EVAL_MODELS = {m["name"]: ModelSpec.from_config(m) for m in EVAL["models"] + EVAL["trained"]}
EVAL_TASKS = EVAL["tasks"]
# Sources of the lm-eval tasks and of the generation benchmarks (rules/genbench.smk), fetched alike.
BENCHMARKS = benchmark_sources(EVAL) | benchmark_sources(config["genbench"])
# The generation benchmarks of every evaluated model and of the P3B3 paper's model list
# (rules/genbench.smk): their jobs and outputs. GB_MODELS: every model that generates (a name in both
# lists is one model).
GB = config["genbench"]
P3B3_MODELS = {m["name"]: ModelSpec.from_config(m) for m in GB["p3b3"]["models"]}
GB_PLAN = GenbenchPlan(config, EVAL_MODELS, P3B3_MODELS)
GB_MODELS = GB_PLAN.models
# The models the run's jobs load to score text: `snakemake preflight` loads each where its rule runs.
SCORING_MODELS = scoring_models(config["data"]["quality"], GB_PLAN)
# Every answer and score file: the `evaluate` and `genbench` targets.
GB_OUTPUTS = [GB_PLAN.outputs(m) for m in GB_MODELS]
# Hub sources whose revision is not yet a commit (resolved and recorded at fetch meanwhile):
# `python -m amalia_wf.pin_revisions CONFIG` rewrites them (README, "Which checkpoint each row uses").
if UNPINNED:
    logger.warning(
        f"{len(UNPINNED)} hub revision(s) not pinned to a commit (resolved and recorded at fetch):\n  "
        + "\n  ".join(UNPINNED)
    )


def eval_model_input(wildcards):
    return GB_MODELS[wildcards.model].input_path()


def eval_outputs(model):
    return [f"results/eval/{model}/{task}.json" for task in EVAL_TASKS]


def heldout_outputs():
    """Each evaluated model's held-out perplexity, when pages are held out."""
    return [f"results/eval/{m}/heldout_perplexity.json" for m in EVAL_MODELS] if HELDOUT_FILES else []


def benchmark_source_input(wildcards):
    """A local benchmark path is an input (edits rerun the task); downloads have none."""
    source = BENCHMARKS[wildcards.task]
    return [source["path"]] if "path" in source else []


# Every benchmarked rule's benchmark file and its jobs' wildcards (the report's run summary reads
# the file of each job): a rule's `benchmark:` is BENCHMARK_PLAN.add(its name, pattern, its jobs).
BENCHMARK_PLAN = BenchmarkPlan()
SHARD_JOBS = [{"collection": c, "shard": s} for c, ids in SHARD_IDS.items() for s in ids]


def table_outputs(name):
    """A registered table's files (amalia_wf.tables.registry) as its rule's outputs, by format: the
    CSV and Markdown under the table's caption in the report, the HTML page (shown inline) under
    report/table_html.rst, the LaTeX not in the report."""
    table = TABLES[name]
    captions = {"csv": table.caption, "md": table.caption, "html": "table_html.rst" if table.caption else None}

    def output(ext):
        path = table_path(name, ext)
        if not captions.get(ext):
            return path
        return report(path, category="Tables", subcategory=table.subcategory, caption=f"../report/{captions[ext]}")

    return {ext: output(ext) for ext in table.formats}


def cluster_rules():
    """The rules of a run that a cluster executes as jobs: neither local nor the preflight's own checks
    (workflow.is_local() calls every rule local under the local executor, so the lists are read directly)."""
    return [
        r for r in workflow.rules if not (r.norun or r.name in workflow._localrules or r.name.startswith("preflight"))
    ]


# --- `snakemake preflight` (rules/preflight.smk) ------------------------------------------------
PREFLIGHT_DIR = f"results/preflight/{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"
PREFLIGHT_RUN = r"\d{8}T\d{6}Z"  # the stamp's pattern: a job's own DAG build has another stamp


def _from_rule_file(rule, path):
    """A rule's `conda:`/`script:` path (relative to its rule file), absolute."""
    return os.path.normpath(os.path.join(os.path.dirname(rule.snakefile), path))


def _rule_env(rule):
    """The env a rule's jobs run in, as a path under envs/ without .yaml (without `conda:`, the driver's)."""
    env_file = _from_rule_file(rule, rule.conda_env) if rule.conda_env else f"{workflow.basedir}/envs/workflow.yaml"
    return os.path.splitext(os.path.relpath(env_file, f"{workflow.basedir}/envs"))[0]


@functools.cache  # called from input and params functions, once the Snakefile is parsed
def preflight_jobs():
    """For each cluster rule: its request, and the checks its partition gets: env
    (partition, env name) -> {rule: entry modules}, GPU partition -> (GPUs per node, rules), and
    each scoring model -> (partition, env) of the rule that loads it."""
    envs, gpu = {}, {}
    requests = {}
    for r in cluster_rules():
        req = requests[r.name] = request(config["resources"], r.name)
        part = req.get("slurm_partition") or "default"
        script = _from_rule_file(r, r.script) if r.script else None
        envs.setdefault((part, _rule_env(r)), {})[r.name] = entry_modules(script, r.shellcmd)
        per_node = gpus({**req, "nodes": 1})
        if per_node:
            count, rules = gpu.get(part, (0, []))
            gpu[part] = (max(count, per_node), rules + [r.name])
    models = {
        name: (requests[m["rule"]].get("slurm_partition") or "default", _rule_env(workflow.get_rule(m["rule"])))
        for name, m in SCORING_MODELS.items()
    }
    return requests, envs, gpu, models


def preflight_fragments(wildcards):
    requests, envs, gpu, models = preflight_jobs()
    runnable = runnable_node_checks({p: n for p, (n, _) in gpu.items()})
    on_slurm = lambda p: runnable is None or p == "default" or p in runnable[0]
    # A model's rule asking for GPUs its partition lacks would wait forever; the slurm row says so.
    fits = lambda p, name: runnable is None or p in runnable[1] or not gpus(requests[SCORING_MODELS[name]["rule"]])
    return (
        [f"{PREFLIGHT_DIR}/{c}.csv" for c in LOCAL_CHECKS]
        + [f"{PREFLIGHT_DIR}/env/{p}/{e}.csv" for p, e in envs if on_slurm(p)]
        + [f"{PREFLIGHT_DIR}/gpu/{p}.csv" for p in gpu if runnable is None or p in runnable[1]]
        + [f"{PREFLIGHT_DIR}/model/{n}/{p}/{e}.csv" for n, (p, e) in models.items() if on_slurm(p) and fits(p, n)]
    )


def model_check_resources():
    """A model check's job asks for what the rule that loads the model asks for (memory, GPUs
    on one node), on its partition, with the preflight's short time limit."""
    used = lambda wc: request(config["resources"], SCORING_MODELS[wc.model]["rule"])
    return {
        **node_resources("preflight_model"),
        "mem_mb": lambda wc: used(wc)["mem_mb"],
        "gpu": lambda wc: gpus({**used(wc), "nodes": 1}),
    }


def node_resources(rule_name, **extra):
    """A node check's job: its own resources block, on the partition of its wildcard (`default`:
    the cluster's default partition), with a short time limit that fits every partition."""
    part = lambda wc: "" if wc.partition == "default" else wc.partition
    runtime = config["preflight"]["node_runtime"]
    return {**resources_for(rule_name), "slurm_partition": part, "runtime": runtime, **extra}


def job_bands(first, minhash_pass):
    """The bands of the band job named by its `first` band (rules/data.smk's BANDS)."""
    m = config["data"]["minhash"]
    return list(range(first, min(first + m["bands_per_job"], m[minhash_pass]["buckets"])))
