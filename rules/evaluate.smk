# Evaluation (AMALIA paper sections 5.1-5.5): the pt-PT lm-eval suite over every configured model.
# Benchmarks and hub models are fetched by local rules (they need internet; compute nodes may not
# have it); each model is then evaluated on every task in one job, on one GPU in the paper setting.


rule fetch_benchmark:
    localrule: True
    input:
        benchmark_source_input,
    output:
        directory("results/eval_data/{task}/raw"),
    params:
        source=lambda wc: BENCHMARKS[wc.task],
    log:
        "results/logs/evaluate/fetch_benchmark/{task}.log",
    conda:
        "../envs/eval.yaml"
    threads: threads_for("fetch_benchmark")
    resources:
        **resources_for("fetch_benchmark"),
    script:
        "../scripts/fetch_benchmark.py"


rule prepare_benchmark:
    localrule: True
    input:
        "results/eval_data/{task}/raw",
    output:
        directory("results/eval_data/{task}/prepared"),
    log:
        "results/logs/evaluate/prepare_benchmark/{task}.log",
    conda:
        "../envs/eval.yaml"
    threads: threads_for("prepare_benchmark")
    resources:
        **resources_for("prepare_benchmark"),
    script:
        "../scripts/prepare_benchmark.py"


rule fetch_eval_model:
    localrule: True
    output:
        "results/models/eval/{model}.json",
    params:
        spec=lambda wc: GB_MODELS[wc.model],
    log:
        "results/logs/evaluate/fetch_eval_model/{model}.log",
    conda:
        "../envs/eval.yaml"
    threads: threads_for("fetch_eval_model")
    resources:
        **resources_for("fetch_eval_model"),
    script:
        "../scripts/fetch_eval_model.py"


rule evaluate_model:
    input:
        model=eval_model_input,
        data=expand("results/eval_data/{task}/prepared", task=EVAL_TASKS),
    output:
        [f"results/eval/{{model}}/{task}.json" for task in EVAL_TASKS],
    params:
        spec=lambda wc: EVAL_MODELS[wc.model],
        tasks=EVAL_TASKS,
        settings={
            k: v for k, v in EVAL.items() if k not in ("models", "trained", "tasks", "benchmarks", "heldout_bootstrap")
        }
        | {"seed": config["seed"]},
        cache=lambda wc: f"results/eval/.cache/{wc.model}",
    log:
        "results/logs/evaluate/{model}.log",
    benchmark:
        BENCHMARK_PLAN.add(
            "evaluate_model", "results/benchmarks/evaluate/{model}.tsv", wildcard_jobs(model=EVAL_MODELS)
        )
    conda:
        "../envs/gpu/vllm.yaml" if EVAL["backend"] == "vllm" else "../envs/eval.yaml"
    threads: threads_for("evaluate_model")
    resources:
        **resources_for("evaluate_model"),
    script:
        "../scripts/evaluate_model.py"


# Each model's perplexity on the pt-PT and the pt-BR side of the pages held out of training
# (amalia_wf/evaluate/perplexity.py); only when a debian collection holds pages out.
rule heldout_perplexity:
    input:
        model=eval_model_input,
        heldout=HELDOUT_FILES,
    output:
        "results/eval/{model}/heldout_perplexity.json",
    params:
        spec=lambda wc: EVAL_MODELS[wc.model],
        window=EVAL["max_length"],
        samples=EVAL["heldout_bootstrap"],
        seed=config["seed"],
    log:
        "results/logs/evaluate/heldout_perplexity/{model}.log",
    benchmark:
        BENCHMARK_PLAN.add(
            "heldout_perplexity",
            "results/benchmarks/evaluate/heldout_perplexity/{model}.tsv",
            wildcard_jobs(model=EVAL_MODELS) if HELDOUT_FILES else [],
        )
    conda:
        "../envs/eval.yaml"
    threads: threads_for("heldout_perplexity")
    resources:
        **resources_for("heldout_perplexity"),
    script:
        "../scripts/heldout_perplexity.py"


rule evaluate:
    input:
        [eval_outputs(m) for m in EVAL_MODELS],
        GB_OUTPUTS,
        heldout_outputs(),
