"""Filter one shard of WARC/ARC files (see amalia_wf.data.shard)."""

from amalia_wf.jobs import setup

setup(snakemake)
from amalia_wf.data.shard import ShardProcessor

files = [(snakemake.params.first_file + i, path) for i, path in enumerate(snakemake.params.files)]
ShardProcessor(snakemake.config["data"]).run(snakemake.wildcards.collection, files, snakemake.output, snakemake.threads)
