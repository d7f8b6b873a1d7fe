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


include: "rules/data.smk"
include: "rules/train.smk"


rule all:
    default_target: True
    input:
        rules.data.input,
        rules.train.input,
