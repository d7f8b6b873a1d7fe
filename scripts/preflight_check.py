"""One preflight check of the submit host (amalia_wf/preflight.py), chosen by its wildcard; writes its row."""

from amalia_wf.jobs import setup

setup(snakemake)
from amalia_wf import preflight as pf
from amalia_wf.preflight_node import write_result

wc, params, cfg = snakemake.wildcards, snakemake.params, snakemake.config
if wc.check == "archives":
    result = pf.check_archives(cfg)
elif wc.check == "hub":
    result = pf.check_hub(cfg)
elif wc.check == "judge":
    result = pf.check_judge(cfg)
elif wc.check == "slurm":
    result = pf.check_slurm(params.requests, snakemake.resources.get("slurm_account"))
else:
    result = pf.check_disk("results", params.plan, params.preflight["disk_margin"], params.preflight["min_free_gb"])
write_result(snakemake.output[0], result)
