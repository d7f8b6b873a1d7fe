"""Funnel, removal reasons, token counts and plots of the data stage."""

from amalia_wf.jobs import setup

setup(snakemake)
from amalia_wf.data import stats

out = snakemake.output
stats.run(
    snakemake.input.shards,
    snakemake.input.labelled,
    snakemake.input.splits,
    {k: getattr(out, k) for k in ("funnel", "reasons", "tokens", "corrupt", "language_plot", "domain_plot")},
)
