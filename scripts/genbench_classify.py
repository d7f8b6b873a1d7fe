"""P3B3 answers scored by one encoder classifier (PtVId or PeroVaz)."""

from amalia_wf.jobs import setup

setup(snakemake)
from amalia_wf.genbench.workflow import score_classifier

score_classifier(
    snakemake.wildcards.classifier,
    snakemake.params.spec,
    snakemake.params.cfg,
    snakemake.input.classifier,
    snakemake.input.responses,
    snakemake.output[0],
    snakemake.params.lid,
)
