# AMALIA: from raw web-archive WARCs to the paper's tables. See README.md.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


include: "rules/common.smk"


wildcard_constraints:
    collection="|".join(map(re.escape, COLLECTIONS)),
    shard=r"\d{5}",
    label="|".join(LABELS),
    index=r"\d{5}",
    band=r"\d+",
    cross_band=r"\d+",
    model="|".join(map(re.escape, GB_MODELS)) or "(?!)",
    task="|".join(map(re.escape, BENCHMARKS)) or "(?!)",


include: "rules/debian.smk"
include: "rules/data.smk"
include: "rules/train.smk"
include: "rules/evaluate.smk"
include: "rules/genbench.smk"
include: "rules/tables.smk"
include: "rules/report.smk"
include: "rules/preflight.smk"  # `snakemake preflight`, not part of `all`
include: "rules/plan.smk"  # last: it reads every rule


rule all:
    default_target: True
    input:
        rules.data.input,
        rules.train.input,
        rules.evaluate.input,
        rules.tables.input,
        rules.run_report.input,
