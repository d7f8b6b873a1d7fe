"""Drop per-collection duplicates from one shard and label its documents high/medium/low."""

from amalia_wf.jobs import setup

setup(snakemake)
from amalia_wf.data.quality import LABELS
from amalia_wf.data.split import classify_shard

out = snakemake.output
classify_shard(
    snakemake.wildcards.collection,
    snakemake.input.docs,
    snakemake.input.clusters,
    snakemake.config["data"],
    {
        "docs": out.docs,
        "excluded": out.excluded,
        "stats": out.stats,
        "signatures": dict(zip(LABELS, out.signatures, strict=True)),
    },
)
