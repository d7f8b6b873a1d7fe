# AMALIA: from raw web-archive WARCs to the paper's tables. See README.md.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


include: "rules/common.smk"
include: "rules/data.smk"


rule all:
    default_target: True
    input:
        rules.data.input,
