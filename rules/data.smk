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
        signatures="results/data/filtered/{collection}/{shard}.minhash.npy",
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


# MinHash in datatrove's stages: one job per band finds that band's duplicate pairs from every
# shard's signatures (memory: one slice of `band_shard_docs` rows, whatever the corpus size), then one
# job clusters the pairs.
MINHASH = config["data"]["minhash"]
# The band jobs of the two passes, by the wildcard naming them: each job takes `bands_per_job` bands
# and is named by its first.
BANDS = {
    wildcard: list(map(str, range(0, MINHASH[p]["buckets"], MINHASH["bands_per_job"])))
    for wildcard, p in (("band", "collection"), ("cross_band", "cross"))
}


rule dedup_collection_band:
    input:
        lambda wc: shard_outputs("results/data/filtered/{collection}/{shard}.minhash.npy", wc.collection),
    output:
        "results/data/dedup/{collection}/band-{band}.pairs.npy",
    params:
        bands=lambda wc: job_bands(int(wc.band), "collection"),
        band_shard_docs=MINHASH["band_shard_docs"],
    log:
        "results/logs/data/dedup_collection_band/{collection}-{band}.log",
    benchmark:
        BENCHMARK_PLAN.add(
            "dedup_collection_band",
            "results/benchmarks/data/dedup_collection_band/{collection}-{band}.tsv",
            wildcard_jobs(collection=SHARD_IDS, band=BANDS["band"]),
        )
    conda:
        "../envs/data.yaml"
    threads: threads_for("dedup_collection_band")
    resources:
        **resources_for("dedup_collection_band"),
    script:
        "../scripts/dedup_band.py"


rule dedup_collection:
    input:
        expand("results/data/dedup/{{collection}}/band-{band}.pairs.npy", band=BANDS["band"]),
    output:
        "results/data/dedup/{collection}.clusters.npy",
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
        "../scripts/dedup_cluster.py"


rule classify_shard:
    input:
        docs="results/data/filtered/{collection}/{shard}.jsonl.gz",
        clusters="results/data/dedup/{collection}.clusters.npy",
    output:
        docs="results/data/labelled/{collection}/{shard}.jsonl.gz",
        excluded="results/data/labelled/{collection}/{shard}.excluded.jsonl.gz",
        stats="results/data/labelled/{collection}/{shard}.stats.json",
        signatures=expand("results/data/labelled/{{collection}}/{{shard}}.{label}.minhash.npy", label=LABELS),
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


rule dedup_cross_band:
    input:
        shard_outputs("results/data/labelled/{collection}/{shard}.{{label}}.minhash.npy"),
    output:
        "results/data/dedup/cross/{label}/band-{cross_band}.pairs.npy",
    params:
        bands=lambda wc: job_bands(int(wc.cross_band), "cross"),
        band_shard_docs=MINHASH["band_shard_docs"],
        offsets=[collection_index(config)[c] for c in COLLECTIONS for _ in SHARD_IDS[c]],
    log:
        "results/logs/data/dedup_cross_band/{label}-{cross_band}.log",
    benchmark:
        BENCHMARK_PLAN.add(
            "dedup_cross_band",
            "results/benchmarks/data/dedup_cross_band/{label}-{cross_band}.tsv",
            wildcard_jobs(label=LABELS, cross_band=BANDS["cross_band"]),
        )
    conda:
        "../envs/data.yaml"
    threads: threads_for("dedup_cross_band")
    resources:
        **resources_for("dedup_cross_band"),
    script:
        "../scripts/dedup_band.py"


rule dedup_cross:
    input:
        expand("results/data/dedup/cross/{{label}}/band-{cross_band}.pairs.npy", cross_band=BANDS["cross_band"]),
    output:
        "results/data/dedup/cross/{label}.clusters.npy",
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
        "../scripts/dedup_cluster.py"


rule build_split:
    input:
        docs=shard_outputs("results/data/labelled/{collection}/{shard}.jsonl.gz"),
        clusters="results/data/dedup/cross/{label}.clusters.npy",
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
