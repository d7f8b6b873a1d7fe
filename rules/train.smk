# Training stage (AMALIA paper sections 4.1-4.3): tokenizer, continued pretraining, SFT,
# preference pairs and DPO. Checkpoints live in results/checkpoints/<rule>/<run key>/ (not outputs),
# so a rerun after a kill or a time limit resumes from the last one instead of step 0.


rule train_tokenizer:
    input:
        corpus=expand("results/data/corpus/{label}", label=TRAIN["tokenizer"].get("corpus_splits", [])),
        extra=[f for pattern in TRAIN["tokenizer"].get("extra_paths", []) for f in sorted(glob.glob(pattern))],
    output:
        directory("results/models/tokenizer"),
    params:
        cfg=TRAIN["tokenizer"],
        base=TRAIN["base"],
    log:
        "results/logs/train/train_tokenizer.log",
    benchmark:
        BENCHMARK_PLAN.add("train_tokenizer", "results/benchmarks/train/train_tokenizer.tsv", wildcard_jobs())
    conda:
        "../envs/train.yaml"
    threads: threads_for("train_tokenizer")
    resources:
        **resources_for("train_tokenizer"),
    script:
        "../scripts/train_tokenizer.py"


rule base_model:
    input:
        tokenizer="results/models/tokenizer",
    output:
        directory("results/models/base"),
    params:
        base=TRAIN["base"],
        seed=config["seed"],
    log:
        "results/logs/train/base_model.log",
    conda:
        "../envs/train.yaml"
    threads: threads_for("base_model")
    resources:
        **resources_for("base_model"),
    script:
        "../scripts/base_model.py"


rule tokenize_source:
    input:
        tokenizer="results/models/tokenizer",
        texts=mixture_inputs,
    output:
        bin="results/tokens/{source}.bin",
        idx="results/tokens/{source}.idx",
    params:
        budget=lambda wc: (
            f"--budget {MIXTURE[wc.source]['budget_tokens']}" if MIXTURE[wc.source]["budget_tokens"] else ""
        ),
    log:
        "results/logs/train/tokenize_source/{source}.log",
    benchmark:
        BENCHMARK_PLAN.add(
            "tokenize_source", "results/benchmarks/train/tokenize_source/{source}.tsv", wildcard_jobs(source=MIXTURE)
        )
    conda:
        "../envs/train.yaml"
    threads: threads_for("tokenize_source")
    resources:
        **resources_for("tokenize_source"),
    shell:
        "python -m amalia_wf.train.packing --tokenizer {input.tokenizer} --input {input.texts}"
        " --out results/tokens/{wildcards.source} {params.budget} > {log} 2>&1"


rule pretrain:
    input:
        base="results/models/base",
        # ancient: copying or touching a (multi-GB) token shard does not redo training.
        tokens=ancient(expand("results/tokens/{source}.{ext}", source=MIXTURE, ext=["bin", "idx"])),
    output:
        directory("results/models/cpt"),
    params:
        sources=" ".join(f"--source results/tokens/{s} {m['weight']}" for s, m in MIXTURE.items()),
        cfg=json_arg(TRAIN["pretrain"]),
        checkpoints=checkpoints("pretrain"),
        launch=LAUNCH["pretrain"],
    log:
        "results/logs/train/pretrain.log",
    benchmark:
        BENCHMARK_PLAN.add("pretrain", "results/benchmarks/train/pretrain.tsv", wildcard_jobs())
    conda:
        "../envs/train.yaml"
    threads: threads_for("pretrain")
    resources:
        **resources_for("pretrain"),
    shell:
        "{params.launch} -m amalia_wf.train.pretrain --base {input.base} {params.sources} --out {output}"
        " --checkpoints {params.checkpoints} --metrics {params.checkpoints}/metrics.csv --cfg-json {params.cfg} > {log} 2>&1"
        " && cp {params.checkpoints}/metrics.csv {output}/training_metrics.csv"


# Table 1 by tokens, counted with the model's tokenizer: once, for SFT and for the DPO prompts.
rule sft_mixture:
    input:
        tokenizer="results/models/tokenizer",
        data=[e["path"] for e in TRAIN["sft"]["mixture"] if "path" in e],
    output:
        train="results/sft/train.jsonl.gz",
        validation="results/sft/validation.jsonl.gz",
        stats="results/sft/mixture.json",
    params:
        mixture=json_arg(TRAIN["sft"]["mixture"]),
        cfg=json_arg({k: v for k, v in TRAIN["sft"].items() if k != "mixture"}),
    log:
        "results/logs/train/sft_mixture.log",
    benchmark:
        BENCHMARK_PLAN.add("sft_mixture", "results/benchmarks/train/sft_mixture.tsv", wildcard_jobs())
    conda:
        "../envs/train.yaml"
    threads: threads_for("sft_mixture")
    resources:
        **resources_for("sft_mixture"),
    shell:
        "python -m amalia_wf.train.sft_mixture --tokenizer {input.tokenizer} --mixture-json {params.mixture}"
        " --cfg-json {params.cfg} --train {output.train} --validation {output.validation} --stats {output.stats}"
        " > {log} 2>&1"


rule sft:
    input:
        model="results/models/cpt",
        train="results/sft/train.jsonl.gz",
        validation="results/sft/validation.jsonl.gz",
        stats="results/sft/mixture.json",
    output:
        directory("results/models/sft"),
    params:
        cfg=json_arg({k: v for k, v in TRAIN["sft"].items() if k != "mixture"}),
        checkpoints=checkpoints("sft"),
        launch=LAUNCH["sft"],
    log:
        "results/logs/train/sft.log",
    benchmark:
        BENCHMARK_PLAN.add("sft", "results/benchmarks/train/sft.tsv", wildcard_jobs())
    conda:
        "../envs/train.yaml"
    threads: threads_for("sft")
    resources:
        **resources_for("sft"),
    shell:
        "{params.launch} -m amalia_wf.train.sft --model {input.model} --train {input.train}"
        " --validation {input.validation} --mixture-stats {input.stats} --out {output}"
        " --checkpoints {params.checkpoints} --metrics {params.checkpoints}/metrics.csv --cfg-json {params.cfg}"
        " > {log} 2>&1 && cp {params.checkpoints}/metrics.csv {output}/training_metrics.csv"


rule reward_model:
    input:
        tokenizer="results/models/tokenizer",
    output:
        directory("results/models/reward"),
    params:
        reward=TRAIN["preferences"]["reward"],
        seed=config["seed"],
    log:
        "results/logs/train/reward_model.log",
    conda:
        "../envs/train.yaml"
    threads: threads_for("reward_model")
    resources:
        **resources_for("reward_model"),
    script:
        "../scripts/reward_model.py"


rule generate_candidates:
    input:
        sft="results/models/sft",
        # On-policy prompts come from the whole mixture, hub sources (tulu-3) included.
        data=["results/sft/train.jsonl.gz", "results/sft/validation.jsonl.gz"],
        strategies=strategy_inputs("persona", "two_model"),
    output:
        "results/prefs/generated.jsonl",
    params:
        cfg=json_arg(TRAIN["preferences"]),
    log:
        "results/logs/train/generate_candidates.log",
    benchmark:
        BENCHMARK_PLAN.add("generate_candidates", "results/benchmarks/train/generate_candidates.tsv", wildcard_jobs())
    conda:
        "../envs/gpu/vllm.yaml" if TRAIN["preferences"]["backend"] == "vllm" else "../envs/train.yaml"
    threads: threads_for("generate_candidates")
    resources:
        **resources_for("generate_candidates"),
    shell:
        "python -m amalia_wf.train.preferences generate --sft {input.sft} --sft-data {input.data}"
        " --cfg-json {params.cfg} --out {output} > {log} 2>&1"


rule score_candidates:
    input:
        generated="results/prefs/generated.jsonl",
        reward="results/models/reward",
    output:
        "results/prefs/scored.jsonl",
    params:
        cfg=json_arg(TRAIN["preferences"]),
    log:
        "results/logs/train/score_candidates.log",
    benchmark:
        BENCHMARK_PLAN.add("score_candidates", "results/benchmarks/train/score_candidates.tsv", wildcard_jobs())
    conda:
        "../envs/gpu/reward.yaml" if TRAIN["preferences"]["reward"]["source"] == "hub" else "../envs/train.yaml"
    threads: threads_for("score_candidates")
    resources:
        **resources_for("score_candidates"),
    shell:
        "python -m amalia_wf.train.preferences score --reward {input.reward} --generated {input.generated}"
        " --cfg-json {params.cfg} --out {output} > {log} 2>&1"


rule preference_pairs:
    input:
        scored="results/prefs/scored.jsonl",
        extra=strategy_inputs("extra"),
    output:
        pairs="results/prefs/pairs.jsonl",
        stats="results/prefs/stats.json",
    params:
        cfg=json_arg(TRAIN["preferences"]),
    log:
        "results/logs/train/preference_pairs.log",
    conda:
        "../envs/train.yaml"
    threads: threads_for("preference_pairs")
    resources:
        **resources_for("preference_pairs"),
    shell:
        "python -m amalia_wf.train.preferences pairs --scored {input.scored} --cfg-json {params.cfg}"
        " --out {output.pairs} --stats {output.stats} > {log} 2>&1"


rule dpo:
    input:
        sft="results/models/sft",
        pairs="results/prefs/pairs.jsonl",
    output:
        directory("results/models/dpo"),
    params:
        cfg=json_arg(TRAIN["dpo"]),
        checkpoints=checkpoints("dpo"),
        launch=LAUNCH["dpo"],
    log:
        "results/logs/train/dpo.log",
    benchmark:
        BENCHMARK_PLAN.add("dpo", "results/benchmarks/train/dpo.tsv", wildcard_jobs())
    conda:
        "../envs/train.yaml"
    threads: threads_for("dpo")
    resources:
        **resources_for("dpo"),
    shell:
        "{params.launch} -m amalia_wf.train.dpo --sft {input.sft} --pairs {input.pairs} --out {output}"
        " --checkpoints {params.checkpoints} --metrics {params.checkpoints}/metrics.csv --cfg-json {params.cfg}"
        " > {log} 2>&1 && cp {params.checkpoints}/metrics.csv {output}/training_metrics.csv"


# Plots the metrics CSVs: on the submit host, no cluster job to queue for.
rule training_curves:
    localrule: True
    input:
        expand("results/models/{stage}", stage=["cpt", "sft", "dpo"]),
    output:
        curves=report("results/train/curves.png", category="Training", caption="../report/curves.rst"),
        throughput=report("results/train/throughput.csv", category="Training", caption="../report/throughput.rst"),
    log:
        "results/logs/train/training_curves.log",
    conda:
        "../envs/data.yaml"
    threads: threads_for("training_curves")
    resources:
        **resources_for("training_curves"),
    script:
        "../scripts/training_curves.py"


rule train:
    input:
        expand("results/models/{stage}", stage=["cpt", "sft", "dpo"]),
        rules.training_curves.output,
