# Data stage (AMALIA paper section 3.1): WARC/ARC -> filtered, deduplicated, quality-split pt-PT corpus.


rule synthesize_warc:
    output:
        "results/data/raw/{collection}/synthetic-{index}.warc.gz",
    params:
        spec=lambda wc: COLLECTIONS[wc.collection]["synthetic"],
        seed=config["seed"],
    log:
        "results/logs/data/synthesize_warc/{collection}-{index}.log",
    conda:
        "../envs/data.yaml"
    threads: threads_for("synthesize_warc")
    resources:
        **resources_for("synthesize_warc"),
    script:
        "../scripts/synthesize_warc.py"


rule download_warc:
    output:
        "results/data/download/{collection}/{filename}",
    params:
        manifest=lambda wc: COLLECTIONS[wc.collection]["urls"],
    log:
        "results/logs/data/download_warc/{collection}/{filename}.log",
    conda:
        "../envs/data.yaml"
    threads: threads_for("download_warc")
    resources:
        **resources_for("download_warc"),
    script:
        "../scripts/download_warc.py"


rule filter_shard:
    input:
        shard_files,
    output:
        docs="results/data/filtered/{collection}/{shard}.jsonl.gz",
        excluded="results/data/filtered/{collection}/{shard}.excluded.jsonl.gz",
        signatures="results/data/filtered/{collection}/{shard}.minhash.npz",
        stats="results/data/filtered/{collection}/{shard}.stats.json",
    params:
        files=lambda wc: SHARDS[wc.collection][int(wc.shard)],
        first_file=lambda wc: int(wc.shard) * config["data"]["files_per_shard"],
    log:
        "results/logs/data/filter_shard/{collection}-{shard}.log",
    benchmark:
        BENCHMARK_PLAN.add("filter_shard", "results/benchmarks/data/filter_shard/{collection}-{shard}.tsv", SHARD_JOBS)
    conda:
        "../envs/data.yaml"
    threads: threads_for("filter_shard")
    resources:
        **resources_for("filter_shard"),
    script:
        "../scripts/filter_shard.py"


rule dedup_collection:
    input:
        lambda wc: shard_outputs("results/data/filtered/{collection}/{shard}.minhash.npz", wc.collection),
    output:
        "results/data/dedup/{collection}.clusters.npz",
    params:
        minhash=config["data"]["minhash"]["collection"],
    log:
        "results/logs/data/dedup_collection/{collection}.log",
    benchmark:
        BENCHMARK_PLAN.add(
            "dedup_collection",
            "results/benchmarks/data/dedup_collection/{collection}.tsv",
            wildcard_jobs(collection=SHARD_IDS),
        )
    conda:
        "../envs/data.yaml"
    threads: threads_for("dedup_collection")
    resources:
        **resources_for("dedup_collection"),
    script:
        "../scripts/dedup.py"


rule classify_shard:
    input:
        docs="results/data/filtered/{collection}/{shard}.jsonl.gz",
        clusters="results/data/dedup/{collection}.clusters.npz",
    output:
        docs="results/data/labelled/{collection}/{shard}.jsonl.gz",
        excluded="results/data/labelled/{collection}/{shard}.excluded.jsonl.gz",
        stats="results/data/labelled/{collection}/{shard}.stats.json",
        signatures=expand("results/data/labelled/{{collection}}/{{shard}}.{label}.minhash.npz", label=LABELS),
    log:
        "results/logs/data/classify_shard/{collection}-{shard}.log",
    benchmark:
        BENCHMARK_PLAN.add(
            "classify_shard", "results/benchmarks/data/classify_shard/{collection}-{shard}.tsv", SHARD_JOBS
        )
    conda:
        "../envs/data.yaml"
    threads: threads_for("classify_shard")
    resources:
        **resources_for("classify_shard"),
    script:
        "../scripts/classify_shard.py"


rule dedup_cross:
    input:
        shard_outputs("results/data/labelled/{collection}/{shard}.{{label}}.minhash.npz"),
    output:
        "results/data/dedup/cross/{label}.clusters.npz",
    params:
        minhash=config["data"]["minhash"]["cross"],
        offsets=[collection_index(config)[c] for c in COLLECTIONS for _ in SHARD_IDS[c]],
    log:
        "results/logs/data/dedup_cross/{label}.log",
    benchmark:
        BENCHMARK_PLAN.add(
            "dedup_cross", "results/benchmarks/data/dedup_cross/{label}.tsv", wildcard_jobs(label=LABELS)
        )
    conda:
        "../envs/data.yaml"
    threads: threads_for("dedup_cross")
    resources:
        **resources_for("dedup_cross"),
    script:
        "../scripts/dedup.py"


rule build_split:
    input:
        docs=shard_outputs("results/data/labelled/{collection}/{shard}.jsonl.gz"),
        clusters="results/data/dedup/cross/{label}.clusters.npz",
    output:
        corpus=directory("results/data/corpus/{label}"),
        excluded="results/data/splits/{label}.excluded.jsonl.gz",
        stats="results/data/splits/{label}.stats.json",
    params:
        collection_of_shard=[collection_index(config)[c] for c in COLLECTIONS for _ in SHARD_IDS[c]],
    log:
        "results/logs/data/build_split/{label}.log",
    benchmark:
        BENCHMARK_PLAN.add(
            "build_split", "results/benchmarks/data/build_split/{label}.tsv", wildcard_jobs(label=LABELS)
        )
    conda:
        "../envs/data.yaml"
    threads: threads_for("build_split")
    resources:
        **resources_for("build_split"),
    script:
        "../scripts/build_split.py"


# Reads the stage's small stats files: on the submit host, no cluster job to queue for.
rule data_stats:
    localrule: True
    input:
        shards=shard_outputs("results/data/filtered/{collection}/{shard}.stats.json"),
        labelled=shard_outputs("results/data/labelled/{collection}/{shard}.stats.json"),
        splits=expand("results/data/splits/{label}.stats.json", label=LABELS),
    output:
        funnel=report("results/data/stats/funnel.csv", category="Data", caption="../report/funnel.rst"),
        reasons=report("results/data/stats/removal_reasons.csv", category="Data", caption="../report/reasons.rst"),
        tokens=report("results/data/stats/token_counts.csv", category="Data", caption="../report/tokens.rst"),
        corrupt="results/data/stats/corrupt_files.csv",
        language_plot=report(
            "results/data/stats/language_scores.png", category="Data", caption="../report/language.rst"
        ),
        domain_plot=report("results/data/stats/domains.png", category="Data", caption="../report/domains.rst"),
    log:
        "results/logs/data/data_stats.log",
    conda:
        "../envs/data.yaml"
    threads: threads_for("data_stats")
    resources:
        **resources_for("data_stats"),
    script:
        "../scripts/data_stats.py"


rule data:
    input:
        expand("results/data/corpus/{label}", label=LABELS),
        rules.data_stats.output,
        DEBIAN_TARGETS,
