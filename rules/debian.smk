# Real text (issue 12): documentation Debian ships translated into pt-PT and pt-BR, from pinned
# packages, paired page by page. Training pairs become WARC files the data stage reads as a
# collection; held-out pairs are used only for evaluation (PT-C items mined from them).


# apt-get reads the machine's apt sources (network): on the submit host.
rule fetch_debian_package:
    localrule: True
    output:
        deb=f"{DEBIAN_PACKAGES_DIR}/{{package}}.deb",
        tree=directory(f"{DEBIAN_PACKAGES_DIR}/{{package}}"),
    params:
        pin=lambda wc: DEBIAN_PACKAGES[wc.package],
    wildcard_constraints:
        package="|".join(map(re.escape, DEBIAN_PACKAGES)) or "(?!)",
    log:
        "results/logs/data/fetch_debian_package/{package}.log",
    conda:
        "../envs/data.yaml"
    threads: threads_for("fetch_debian_package")
    resources:
        **resources_for("fetch_debian_package"),
    script:
        "../scripts/fetch_debian_package.py"


rule pair_debian_pages:
    input:
        lambda wc: list(debian_trees(wc).values()),
    output:
        train=f"{DEBIAN_DIR}/{{collection}}/train_pages.jsonl.gz",
        heldout=f"{DEBIAN_DIR}/{{collection}}/heldout.jsonl",
        stats=f"{DEBIAN_DIR}/{{collection}}/pairs.stats.json",
    params:
        spec=lambda wc: DEBIAN[wc.collection],
        trees=debian_trees,
        seed=config["seed"],
    log:
        "results/logs/data/pair_debian_pages/{collection}.log",
    conda:
        "../envs/data.yaml"
    threads: threads_for("pair_debian_pages")
    resources:
        **resources_for("pair_debian_pages"),
    script:
        "../scripts/pair_debian_pages.py"


rule debian_warc:
    input:
        f"{DEBIAN_DIR}/{{collection}}/train_pages.jsonl.gz",
    output:
        "results/data/raw/{collection}/debian-{index}.warc.gz",
    params:
        seed=config["seed"],
    log:
        "results/logs/data/debian_warc/{collection}-{index}.log",
    conda:
        "../envs/data.yaml"
    threads: threads_for("debian_warc")
    resources:
        **resources_for("debian_warc"),
    script:
        "../scripts/debian_warc.py"


rule mine_ptc:
    input:
        heldout=f"{DEBIAN_DIR}/{{collection}}/heldout.jsonl",
        train=f"{DEBIAN_DIR}/{{collection}}/train_pages.jsonl.gz",
    output:
        ptc=mined_ptc_path("{collection}"),
        stats=f"{DEBIAN_DIR}/{{collection}}/ptc.stats.json",
    params:
        mining=lambda wc: DEBIAN[wc.collection]["mining"],
    log:
        "results/logs/data/mine_ptc/{collection}.log",
    conda:
        "../envs/data.yaml"
    threads: threads_for("mine_ptc")
    resources:
        **resources_for("mine_ptc"),
    script:
        "../scripts/mine_ptc.py"
