"""A debian collection's page pairs: training pages (with their URLs and WARC file) and held-out pairs."""

from amalia_wf.jobs import setup

setup(snakemake)
import logging
from pathlib import Path

from amalia_wf.data.debian_docs import split_collection
from amalia_wf.io import write_json, write_jsonl, write_jsonl_gz

out = snakemake.output
train, heldout, stats = split_collection(
    snakemake.params.spec, {name: Path(p) for name, p in snakemake.params.trees.items()}, snakemake.params.seed
)
write_jsonl_gz(out.train, train)
write_jsonl(out.heldout, heldout)
write_json(out.stats, stats)
logging.info("%d training pages, %d held-out pairs", len(train), len(heldout))
