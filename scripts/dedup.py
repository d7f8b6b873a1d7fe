"""Cluster MinHash signatures (per collection, or across collections for one quality label)."""

from amalia_wf.jobs import setup

setup(snakemake)
import logging

from amalia_wf.data.minhash import cluster, load_signatures
from amalia_wf.data.split import COLLECTION_SHIFT

offsets = [c << COLLECTION_SHIFT for c in snakemake.params.get("offsets", [])] or None
keys, sigs = load_signatures(snakemake.input, offsets)
cfg = snakemake.params.minhash
clusters = cluster(keys, sigs, cfg["buckets"], cfg["hashes_per_bucket"])
clusters.save(snakemake.output[0])
removed = sum(1 for k, (root, _) in clusters.members.items() if k != root)
logging.info("%d signed documents, %d in multi-document clusters, %d to remove", len(keys), len(clusters.members), removed)
