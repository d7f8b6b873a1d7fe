# The paper's result tables, reproduced values beside the reported ones, and their charts.


rule table3:
    localrule: True
    input:
        [eval_outputs(m) for m in EVAL_MODELS],
    output:
        **table_outputs("table3"),
        plots=report(
            directory("results/tables/table3_plots"),
            patterns=["{column}.png"],
            category="Tables",
            subcategory="Table 3",
            caption="../report/table3_plots.rst",
        ),
    params:
        models=list(EVAL_MODELS.values()),
        results={m: dict(zip(EVAL_TASKS, eval_outputs(m))) for m in EVAL_MODELS},
        inputs={name: spec.input_path() for name, spec in EVAL_MODELS.items()},
        tolerance=config["tables"]["tolerance"],
        min_coverage=config["tables"]["min_coverage"],
    log:
        "results/logs/tables/table3.log",
    conda:
        "../envs/eval.yaml"
    threads: threads_for("table3")
    resources:
        **resources_for("table3"),
    script:
        "../scripts/table3.py"


rule heldout_table:
    localrule: True
    input:
        heldout_outputs(),
    output:
        **table_outputs(HELDOUT_TABLE),
    params:
        models=list(EVAL_MODELS.values()),
        results=dict(zip(EVAL_MODELS, heldout_outputs())),
        tolerance=config["tables"]["tolerance"],
    log:
        "results/logs/tables/heldout_table.log",
    conda:
        "../envs/eval.yaml"
    threads: threads_for("heldout_table")
    resources:
        **resources_for("heldout_table"),
    script:
        "../scripts/heldout_table.py"


rule tables:
    input:
        rules.table3.output,
        rules.genbench_tables.input,
        [table_path(HELDOUT_TABLE, "csv")] if HELDOUT_FILES else [],
