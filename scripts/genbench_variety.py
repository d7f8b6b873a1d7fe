"""P3B3 answers scored by the offline pt-PT/pt-BR marker scorer."""

from amalia_wf.jobs import setup

setup(snakemake)
from amalia_wf.genbench.workflow import score_variety

score_variety(snakemake.input[0], snakemake.output[0], snakemake.params.lid)
