# `snakemake preflight` (amalia_wf/preflight.py): one job per check, on the submit host (archives,
# hub, judge, Slurm, disk) or on a node of each partition the rules use (their envs, the GPUs). A
# failed check is a `fail` row with its fix and the job still succeeds, so one run reports every
# problem; results/preflight.csv joins the rows and the `preflight` rule prints them and fails the
# run if any check failed. Not part of `all`.
#
# The checks look at the present state, so every invocation must run them again: their rows go
# to a folder stamped with the invocation's start (temporary files, removed once joined), so
# `snakemake preflight` re-checks without --forcerun, and results/preflight.csv is rewritten
# because its inputs are new.
import functools
import time

from amalia_wf.cost_plan import gpus
from amalia_wf.preflight import LOCAL_CHECKS, entry_modules, runnable_node_checks

PREFLIGHT_DIR = f"results/preflight/{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"
PREFLIGHT_RUN = r"\d{8}T\d{6}Z"  # the stamp's pattern: a job's own DAG build has another stamp


def _from_rule_file(rule, path):
    """A rule's `conda:`/`script:` path (relative to its rule file), absolute."""
    return os.path.normpath(os.path.join(os.path.dirname(rule.snakefile), path))


@functools.cache  # called from input and params functions, once the Snakefile is parsed
def preflight_jobs():
    """Per rule that runs as a cluster job: its request, and the checks its partition gets: env
    (partition, env name) -> {rule: entry modules}, GPU partition -> (GPUs per node, rules)."""
    envs, gpu = {}, {}
    requests = {}
    for r in cluster_rules():
        req = requests[r.name] = request(config["resources"], r.name)
        part = req.get("slurm_partition") or "default"
        script = _from_rule_file(r, r.script) if r.script else None
        # A rule without `conda:` runs in the driver's environment.
        env_file = _from_rule_file(r, r.conda_env) if r.conda_env else f"{workflow.basedir}/envs/workflow.yaml"
        env = os.path.splitext(os.path.relpath(env_file, f"{workflow.basedir}/envs"))[0]
        envs.setdefault((part, env), {})[r.name] = entry_modules(script, r.shellcmd)
        per_node = gpus({**req, "nodes": 1})
        if per_node:
            count, rules = gpu.get(part, (0, []))
            gpu[part] = (max(count, per_node), rules + [r.name])
    return requests, envs, gpu


def preflight_fragments(wildcards):
    _, envs, gpu = preflight_jobs()
    runnable = runnable_node_checks({p: n for p, (n, _) in gpu.items()})
    on_slurm = lambda p: runnable is None or p == "default" or p in runnable[0]
    return (
        [f"{PREFLIGHT_DIR}/{c}.csv" for c in LOCAL_CHECKS]
        + [f"{PREFLIGHT_DIR}/env/{p}/{e}.csv" for p, e in envs if on_slurm(p)]
        + [f"{PREFLIGHT_DIR}/gpu/{p}.csv" for p in gpu if runnable is None or p in runnable[1]]
    )


def node_resources(rule_name, **extra):
    """A node check's job: its own resources block, on the partition of its wildcard (`default`:
    the cluster's default partition), with a short time limit that fits every partition."""
    part = lambda wc: "" if wc.partition == "default" else wc.partition
    runtime = config["preflight"]["node_runtime"]
    return {**resources_for(rule_name), "slurm_partition": part, "runtime": runtime, **extra}


rule preflight_check:
    output:
        temp("results/preflight/{run}/{check}.csv"),
    wildcard_constraints:
        run=PREFLIGHT_RUN,
        check="|".join(LOCAL_CHECKS),
    params:
        requests=lambda wc: preflight_jobs()[0],
        plan="results/report/plan.csv",
        preflight=config["preflight"],
    log:
        "results/logs/preflight/{run}/{check}.log",
    localrule: True
    threads: threads_for("preflight_check")
    resources:
        **resources_for("preflight_check"),
    script:
        "../scripts/preflight_check.py"


rule preflight_env:
    output:
        temp("results/preflight/{run}/env/{partition}/{env}.csv"),
    wildcard_constraints:
        run=PREFLIGHT_RUN,
        partition=r"[^/]+",
    params:
        modules=lambda wc: preflight_jobs()[1][(wc.partition, wc.env)],
    log:
        "results/logs/preflight/{run}/env/{partition}/{env}.log",
    conda:
        "../envs/{env}.yaml"
    threads: threads_for("preflight_env")
    resources:
        **node_resources("preflight_env"),
    script:
        "../scripts/preflight_check.py"


rule preflight_gpu:
    output:
        temp("results/preflight/{run}/gpu/{partition}.csv"),
    wildcard_constraints:
        run=PREFLIGHT_RUN,
        partition=r"[^/]+",
    params:
        gpus=lambda wc: preflight_jobs()[2][wc.partition][0],
        rules=lambda wc: preflight_jobs()[2][wc.partition][1],
    log:
        "results/logs/preflight/{run}/gpu/{partition}.log",
    conda:
        "../envs/train.yaml"
    threads: threads_for("preflight_gpu")
    resources:
        # A whole node's GPUs when the partition's rules ask for them per node, else one.
        **node_resources("preflight_gpu", gres=lambda wc: f"gpu:{preflight_jobs()[2][wc.partition][0]}"),
    script:
        "../scripts/preflight_check.py"


rule preflight_table:
    input:
        preflight_fragments,
    output:
        "results/preflight.csv",
    localrule: True
    threads: threads_for("preflight_table")
    resources:
        **resources_for("preflight_table"),
    shell:
        "python -m amalia_wf.preflight table {output} {input}"


# No output: runs whenever it is the target, after the checks; prints the summary and exits 1 if a check failed.
rule preflight:
    input:
        "results/preflight.csv",
    localrule: True
    threads: threads_for("preflight")
    resources:
        **resources_for("preflight"),
    shell:
        "python -m amalia_wf.preflight summary {input}"
