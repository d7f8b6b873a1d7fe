"""One WARC file of a debian collection: the training pages assigned to it, as HTTP 200 responses."""

from amalia_wf.jobs import setup

setup(snakemake)
from pathlib import Path

from amalia_wf.data.synthetic import Page, write_warc
from amalia_wf.io import read_jsonl_gz

index = int(snakemake.wildcards.index)
pages = [
    Page(f"debian_{p['variety']}", p["url"], 200, "text/html; charset=utf-8", p["html"].encode("utf-8"))
    for p in read_jsonl_gz(snakemake.input[0])
    if p["file"] == index
]
write_warc(Path(snakemake.output[0]), pages, snakemake.wildcards.collection, index, snakemake.params.seed)
