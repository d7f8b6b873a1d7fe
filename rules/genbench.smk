# Generation benchmarks with judges (AMALIA paper sections 6.2-6.5, Tables 4 and 5; the P3B3 paper's
# Tables 1, 2, 4 and 5): every evaluated model answers P3B3 (three settings), ALBA, the PT-E open
# questions and the safety sets; answers are scored by the offline variety scorer (always), the
# encoder classifiers, the LLM judges and Qwen3Guard (each only when configured). The P3B3 paper's own
# model list (genbench.p3b3.models) answers P3B3 alone; its API-only models answer through their
# endpoint on the submitting node. One generation job per (model, benchmark), so a rerun redoes only
# the missing pairs. What runs and which file fills which table cell: GB_PLAN (rules/common.smk,
# amalia_wf/genbench/plan.py).
import re

from amalia_wf.genbench.plan import JUDGE_CACHE
from amalia_wf.genbench.validation import RATINGS_FIXTURE
from amalia_wf.genbench.workflow import generation_settings

# The human ratings of P3B3 Table 1: the authors' (when genbench.p3b3.human_ratings names them) or the
# project's 16-answer fixture, which the table then labels as such.
P3B3_RATINGS = GB["p3b3"]["human_ratings"] or RATINGS_FIXTURE

# --------------------------------------------------------------------------- rules


rule genbench_fetch_model:
    localrule: True
    output:
        "results/models/genbench/{aux}.json",
    params:
        spec=lambda wc: GB_PLAN.aux[wc.aux],
    log:
        "results/logs/genbench/genbench_fetch_model/{aux}.log",
    wildcard_constraints:
        aux="|".join(map(re.escape, GB_PLAN.hub_aux())) or "(?!)",
    conda:
        "../envs/eval.yaml"
    threads: threads_for("genbench_fetch_model")
    resources:
        **resources_for("genbench_fetch_model"),
    script:
        "../scripts/fetch_eval_model.py"


rule genbench_generate:
    input:
        model=eval_model_input,
        data="results/eval_data/{bench}/raw",
    output:
        records="results/genbench/{model}/{bench}/responses.jsonl.gz",
        info="results/genbench/{model}/{bench}/generation.json",
    params:
        spec=lambda wc: GB_MODELS[wc.model],
        settings=lambda wc: generation_settings(GB, wc.bench),
        backend=EVAL["backend"],
        cache=None,
    log:
        "results/logs/genbench/genbench_generate/{model}/{bench}.log",
    benchmark:
        BENCHMARK_PLAN.add(
            "genbench_generate",
            "results/benchmarks/genbench/genbench_generate/{model}/{bench}.tsv",
            GB_PLAN.jobs("bench"),
        )
    wildcard_constraints:
        model="|".join(re.escape(m) for m in GB_MODELS if m not in GB_PLAN.api_models()) or "(?!)",
        bench="|".join(map(re.escape, GB_PLAN.tasks)) or "(?!)",
    conda:
        "../envs/gpu/vllm.yaml" if EVAL["backend"] == "vllm" else "../envs/eval.yaml"
    threads: threads_for("genbench_generate")
    resources:
        **resources_for("genbench_generate"),
    script:
        "../scripts/genbench_generate.py"


# API-only models (genbench.p3b3.models with backend api) answer P3B3 through their endpoint, with the
# judges' client and cache: run where the network is (the driver's node).
rule genbench_generate_api:
    localrule: True
    input:
        data="results/eval_data/{bench}/raw",
    output:
        records="results/genbench/{model}/{bench}/responses.jsonl.gz",
        info="results/genbench/{model}/{bench}/generation.json",
    params:
        spec=lambda wc: GB_MODELS[wc.model],
        settings=lambda wc: generation_settings(GB, wc.bench),
        backend="api",
        cache=JUDGE_CACHE,
    log:
        "results/logs/genbench/genbench_generate_api/{model}/{bench}.log",
    wildcard_constraints:
        model="|".join(map(re.escape, GB_PLAN.api_models())) or "(?!)",
        bench="p3b3",
    conda:
        "../envs/eval.yaml"
    threads: threads_for("genbench_generate_api")
    resources:
        **resources_for("genbench_generate_api"),
    script:
        "../scripts/genbench_generate.py"


rule p3b3_variety:
    input:
        "results/genbench/{model}/p3b3/responses.jsonl.gz",
    output:
        "results/genbench/{model}/p3b3/scores/variety.jsonl.gz",
    params:
        lid=config["data"]["language_id"],
    log:
        "results/logs/genbench/p3b3_variety/{model}.log",
    conda:
        "../envs/data.yaml"
    threads: threads_for("p3b3_variety")
    resources:
        **resources_for("p3b3_variety"),
    script:
        "../scripts/genbench_variety.py"


rule p3b3_classify:
    input:
        responses="results/genbench/{model}/p3b3/responses.jsonl.gz",
        classifier=lambda wc: GB_PLAN.aux_input(wc.classifier),
    output:
        "results/genbench/{model}/p3b3/scores/{classifier}.jsonl.gz",
    params:
        spec=lambda wc: GB_PLAN.aux[wc.classifier],
        cfg=lambda wc: GB_PLAN.classifiers[wc.classifier],
        lid=config["data"]["language_id"],
    log:
        "results/logs/genbench/p3b3_classify/{model}/{classifier}.log",
    benchmark:
        BENCHMARK_PLAN.add(
            "p3b3_classify",
            "results/benchmarks/genbench/p3b3_classify/{model}/{classifier}.tsv",
            GB_PLAN.jobs("classifier"),
        )
    wildcard_constraints:
        classifier="|".join(map(re.escape, GB_PLAN.classifiers)) or "(?!)",
    conda:
        "../envs/data.yaml"
    threads: threads_for("p3b3_classify")
    resources:
        **resources_for("p3b3_classify"),
    script:
        "../scripts/genbench_classify.py"


rule alba_fewshots:
    input:
        "results/eval_data/alba_judge_train/raw",
    output:
        "results/genbench/alba_fewshots.csv",
    params:
        objective=GB["alba"]["fewshot_objective"],
    log:
        "results/logs/genbench/alba_fewshots.log",
    conda:
        "../envs/eval.yaml"
    threads: threads_for("alba_fewshots")
    resources:
        **resources_for("alba_fewshots"),
    script:
        "../scripts/genbench_alba_fewshots.py"


# Judge calls go to an external endpoint: run where the network is (the driver's node). One job per
# (model, benchmark, judge) the judges' roles ask for (GB_PLAN.jobs("judge")).
rule genbench_judge:
    localrule: True
    input:
        responses="results/genbench/{model}/{judged_bench}/responses.jsonl.gz",
        fewshots=lambda wc: ["results/genbench/alba_fewshots.csv"] if wc.judged_bench == "alba" else [],
    output:
        judged="results/genbench/{model}/{judged_bench}/judged/{judge}.jsonl.gz",
        summary="results/genbench/{model}/{judged_bench}/judged/{judge}.summary.json",
    params:
        judge=lambda wc: GB_PLAN.judges[wc.judge],
        cache=JUDGE_CACHE,
        variant=GB_PLAN.variant,
        scorer=lambda wc: GB_PLAN.judge_key(wc.judge),
    log:
        "results/logs/genbench/genbench_judge/{model}/{judged_bench}/{judge}.log",
    benchmark:
        BENCHMARK_PLAN.add(
            "genbench_judge",
            "results/benchmarks/genbench/genbench_judge/{model}/{judged_bench}/{judge}.tsv",
            GB_PLAN.jobs("judge"),
        )
    wildcard_constraints:
        judged_bench="|".join(GB_PLAN.judged_benches()) or "(?!)",
        judge="|".join(map(re.escape, GB_PLAN.judges)) or "(?!)",
    conda:
        "../envs/eval.yaml"
    threads: threads_for("genbench_judge")
    resources:
        **resources_for("genbench_judge"),
    script:
        "../scripts/genbench_judge.py"


rule safety_guard:
    input:
        responses="results/genbench/{model}/{safety_bench}/responses.jsonl.gz",
        guard=lambda wc: GB_PLAN.aux_input("guard"),
    output:
        guarded="results/genbench/{model}/{safety_bench}/guarded.jsonl.gz",
        summary="results/genbench/{model}/{safety_bench}/guarded.summary.json",
    params:
        spec=lambda wc: GB_PLAN.aux["guard"],
        cfg=GB["safety"]["guard"],
    log:
        "results/logs/genbench/safety_guard/{model}/{safety_bench}.log",
    benchmark:
        BENCHMARK_PLAN.add(
            "safety_guard",
            "results/benchmarks/genbench/safety_guard/{model}/{safety_bench}.tsv",
            GB_PLAN.jobs("safety_bench"),
        )
    wildcard_constraints:
        safety_bench="|".join(GB_PLAN.safety_tasks) or "(?!)",
    conda:
        "../envs/eval.yaml"
    threads: threads_for("safety_guard")
    resources:
        **resources_for("safety_guard"),
    script:
        "../scripts/genbench_guard.py"


rule table4:
    localrule: True
    input:
        GB_PLAN.inputs(GB_PLAN.table4()),
    output:
        **table_outputs("table4"),
    params:
        models=list(EVAL_MODELS.values()),
        plan=GB_PLAN.table4(),
        notes=GB_PLAN.table4_notes(),
        tolerance=config["tables"]["tolerance"],
    log:
        "results/logs/genbench/table4.log",
    conda:
        "../envs/eval.yaml"
    threads: threads_for("table4")
    resources:
        **resources_for("table4"),
    script:
        "../scripts/genbench_table.py"


rule table5:
    localrule: True
    input:
        GB_PLAN.inputs(GB_PLAN.table5()),
    output:
        **table_outputs("table5"),
    params:
        models=list(EVAL_MODELS.values()),
        plan=GB_PLAN.table5(),
        tolerance=config["tables"]["tolerance"],
    log:
        "results/logs/genbench/table5.log",
    conda:
        "../envs/eval.yaml"
    threads: threads_for("table5")
    resources:
        **resources_for("table5"),
    script:
        "../scripts/genbench_table.py"


rule p3b3_table2:
    localrule: True
    input:
        scores=[f for m in GB_PLAN.p3b3_models for f in GB_PLAN.p3b3_scores(m).values()],
    output:
        **table_outputs("p3b3_table2"),
        summary=table_outputs("p3b3_summary")["csv"],
        turns=table_outputs("p3b3_turns")["csv"],
        plot=report(
            "results/tables/p3b3_turns.png", category="Tables", subcategory="P3B3", caption="../report/p3b3_turns.rst"
        ),
    params:
        models=list(GB_PLAN.p3b3_models.values()),
        plan=GB_PLAN.table2(),
        paper_rows=GB_PLAN.table2_paper_rows(),
        plot_scorer=GB_PLAN.plot_scorer(),
        max_turn=GB["p3b3"]["turn_plot_max_turn"],
        notes=GB_PLAN.table2_notes(),
        tolerance=config["tables"]["tolerance"],
    log:
        "results/logs/genbench/p3b3_table2.log",
    conda:
        "../envs/eval.yaml"
    threads: threads_for("p3b3_table2")
    resources:
        **resources_for("p3b3_table2"),
    script:
        "../scripts/genbench_p3b3_table2.py"


rule p3b3_table5:
    localrule: True
    input:
        GB_PLAN.inputs(GB_PLAN.p3b3_table5()),
    output:
        **table_outputs("p3b3_table5"),
    params:
        models=list(GB_PLAN.p3b3_models.values()),
        plan=GB_PLAN.p3b3_table5(),
        paper_rows=GB_PLAN.table2_paper_rows(),
        tolerance=config["tables"]["tolerance"],
    log:
        "results/logs/genbench/p3b3_table5.log",
    conda:
        "../envs/eval.yaml"
    threads: threads_for("p3b3_table5")
    resources:
        **resources_for("p3b3_table5"),
    script:
        "../scripts/genbench_table.py"


# Judges the rated answers itself with the judges of role p3b3_table1: runs where the network is.
rule p3b3_table1:
    localrule: True
    input:
        ratings=P3B3_RATINGS,
        classifiers=[GB_PLAN.aux_input(name) for name in GB_PLAN.classifiers],
    output:
        **table_outputs("p3b3_table1"),
    params:
        classifiers={
            name: (GB_PLAN.aux[name], cfg, GB_PLAN.aux_input(name)) for name, cfg in GB_PLAN.classifiers.items()
        },
        judges=GB_PLAN.table1_judges(),
        fixture=GB["p3b3"]["human_ratings"] is None,
        cache=JUDGE_CACHE,
        variants=GB["p3b3"]["validation_variants"],
        tolerance=config["tables"]["agreement_tolerance"],
        min_coverage=config["tables"]["min_coverage"],
        min_variety_coverage=config["tables"]["min_variety_coverage"],
    log:
        "results/logs/genbench/p3b3_table1.log",
    conda:
        "../envs/eval.yaml"
    threads: threads_for("p3b3_table1")
    resources:
        **resources_for("p3b3_table1"),
    script:
        "../scripts/genbench_p3b3_table1.py"


rule genbench:
    input:
        GB_OUTPUTS,


rule genbench_tables:
    input:
        rules.table4.output,
        rules.table5.output,
        [rules.p3b3_table1.output, rules.p3b3_table2.output, rules.p3b3_table5.output]
        if "p3b3" in GB_PLAN.tasks
        else [],
