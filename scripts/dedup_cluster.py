"""Cluster the duplicate pairs of every band; each cluster keeps its first document."""

from amalia_wf.jobs import setup

setup(snakemake)
import logging

from amalia_wf.data.minhash import cluster_pairs

clusters = cluster_pairs(snakemake.input)
clusters.save(snakemake.output[0])
removed = int((clusters.keys != clusters.roots).sum())
logging.info("%d documents in multi-document clusters, %d to remove", len(clusters.keys), removed)
