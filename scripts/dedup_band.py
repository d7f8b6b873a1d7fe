"""Duplicate pairs of one MinHash band (per collection, or across collections for one quality label)."""

from amalia_wf.jobs import setup

setup(snakemake)
import logging

from amalia_wf.data.minhash import BandFile, band_pairs
from amalia_wf.data.split import COLLECTION_SHIFT

bands = snakemake.params.bands
offsets = [c << COLLECTION_SHIFT for c in snakemake.params.get("offsets", [])] or [0] * len(snakemake.input)
files = [[BandFile(path, band, offset) for path, offset in zip(snakemake.input, offsets, strict=True)] for band in bands]
rows, slices, pairs = band_pairs(files, snakemake.params.band_shard_docs, snakemake.output[0])
logging.info("bands %d-%d: %d band rows in %d files, %d slices, %d duplicate pairs", bands[0], bands[-1], rows, len(snakemake.input), slices, pairs)
