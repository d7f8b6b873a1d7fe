"""PT-C cloze items from a debian collection's held-out parallel pages, and their summary."""

from amalia_wf.jobs import setup

setup(snakemake)
import logging

from amalia_wf.evaluate.ptc_mining import mine, sentences
from amalia_wf.io import read_jsonl, read_jsonl_gz, write_json, write_jsonl

pairs = list(read_jsonl(snakemake.input.heldout))
seen = {s for page in read_jsonl_gz(snakemake.input.train) for s in sentences(page["blocks"])}
items, stats = mine(pairs, seen, **snakemake.params.mining)
if not items:
    raise ValueError(f"{snakemake.input.heldout}: no PT-C item mined from {len(pairs)} held-out pairs")
write_jsonl(snakemake.output.ptc, items)
write_json(snakemake.output.stats, stats)
logging.info("%d PT-C items from %d held-out pairs", len(items), len(pairs))
