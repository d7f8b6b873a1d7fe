"""Write one deterministic synthetic WARC file of the embedded default."""

from amalia_wf.jobs import setup

setup(snakemake)
from pathlib import Path

from amalia_wf.data.synthetic import collection_pages, write_warc

spec = snakemake.params.spec
index = int(snakemake.wildcards.index)
collection = snakemake.wildcards.collection
pages = collection_pages(collection, index, snakemake.params.seed, spec["pages_per_file"])
write_warc(
    Path(snakemake.output[0]), pages, collection, index, snakemake.params.seed, truncate_last=index == spec["files"] - 1
)
