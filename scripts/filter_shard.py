"""Filter one shard of WARC/ARC files (see amalia_wf.data.shard)."""

from amalia_wf.data.shard import ShardProcessor
from amalia_wf.jobs import log_to

log_to(snakemake.log[0])
files = [(snakemake.params.first_file + i, str(path)) for i, path in enumerate(snakemake.input)]
ShardProcessor(snakemake.config["data"]).run(snakemake.wildcards.collection, files, snakemake.output)
