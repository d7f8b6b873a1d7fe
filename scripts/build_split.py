"""Write one quality split of the corpus, without cross-collection duplicates."""

from amalia_wf.jobs import setup

setup(snakemake)
from amalia_wf.data.split import build_split

build_split(
    snakemake.wildcards.label,
    list(zip(snakemake.params.collection_of_shard, snakemake.input.docs, strict=True)),
    snakemake.input.clusters,
    snakemake.config["data"],
    snakemake.output.corpus,
    snakemake.output.excluded,
    snakemake.output.stats,
)
