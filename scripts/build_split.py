"""Write one quality split of the corpus, without cross-collection duplicates."""

from amalia_wf.data.split import build_split
from amalia_wf.jobs import log_to

log_to(snakemake.log[0])
build_split(
    snakemake.wildcards.label,
    list(zip(snakemake.params.collection_of_shard, snakemake.input.docs, strict=True)),
    snakemake.input.clusters,
    snakemake.config["data"],
    snakemake.output.corpus,
    snakemake.output.excluded,
    snakemake.output.stats,
)
