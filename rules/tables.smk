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


rule tables:
    input:
        rules.table3.output,
        rules.genbench_tables.input,
