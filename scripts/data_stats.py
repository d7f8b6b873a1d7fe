"""Funnel, removal reasons, token counts and plots of the data stage."""

from amalia_wf.data import stats
from amalia_wf.jobs import log_to

log_to(snakemake.log[0])
out = snakemake.output
stats.run(
    snakemake.input.shards,
    snakemake.input.labelled,
    snakemake.input.splits,
    {k: getattr(out, k) for k in ("funnel", "reasons", "tokens", "corrupt", "language_plot", "domain_plot")},
)
