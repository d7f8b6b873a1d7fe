# `snakemake preflight` (amalia_wf/preflight.py): one job per check, on the submit host (archives,
# hub, judge, Slurm, disk) or on a node of each partition the rules use (their envs, the GPUs, the
# scoring models). A failed check is a `fail` row with its fix and the job still succeeds, so one
# run reports every problem; results/preflight.csv joins the rows and the `preflight` rule prints
# them and fails the run if any check failed. Not part of `all`.
#
# The checks look at the present state, so every invocation must run them again: their rows go
# to a folder stamped with the invocation's start (temporary files, removed once joined), so
# `snakemake preflight` re-checks without --forcerun, and results/preflight.csv is rewritten
# because its inputs are new.
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
    conda:
        "../envs/eval.yaml"
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
        "../scripts/preflight_node.py"


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
        "../scripts/preflight_node.py"


# A scoring model (EuroFilter, the P3B3 classifiers, Qwen3Guard) loaded and given one probe on a
# node of the partition of the rule that loads it, in that rule's env, with its memory and GPUs.
rule preflight_model:
    output:
        temp("results/preflight/{run}/model/{model}/{partition}/{env}.csv"),
    wildcard_constraints:
        run=PREFLIGHT_RUN,
        model="|".join(map(re.escape, SCORING_MODELS)) or "(?!)",
        partition=r"[^/]+",
    params:
        model=lambda wc: SCORING_MODELS[wc.model],
    log:
        "results/logs/preflight/{run}/model/{model}/{partition}/{env}.log",
    conda:
        "../envs/{env}.yaml"
    threads: threads_for("preflight_model")
    resources:
        **model_check_resources(),
    script:
        "../scripts/preflight_model.py"


rule preflight_table:
    input:
        preflight_fragments,
    output:
        "results/preflight.csv",
    log:
        "results/logs/preflight/table.log",
    localrule: True
    conda:
        "../envs/eval.yaml"
    threads: threads_for("preflight_table")
    resources:
        **resources_for("preflight_table"),
    shell:
        "python -m amalia_wf.preflight table {output} {input} > {log} 2>&1"


# No output: runs whenever it is the target, after the checks; prints the summary (and logs it) and
# exits 1 if a check failed (pipefail keeps the exit status through tee).
rule preflight:
    input:
        "results/preflight.csv",
    log:
        "results/logs/preflight/summary.log",
    localrule: True
    conda:
        "../envs/eval.yaml"
    threads: threads_for("preflight")
    resources:
        **resources_for("preflight"),
    shell:
        "python -m amalia_wf.preflight summary {input} 2>&1 | tee {log}"
