"""One preflight check (amalia_wf/preflight.py), chosen by the rule and its wildcards; writes its row."""

from amalia_wf.jobs import setup

setup(snakemake)
from amalia_wf import preflight as pf

wc, params, cfg = snakemake.wildcards, snakemake.params, snakemake.config
if snakemake.rule == "preflight_env":
    result = pf.check_imports(f"env:{wc.partition}:{wc.env}", params.modules)
elif snakemake.rule == "preflight_gpu":
    result = pf.check_gpu(f"gpu:{wc.partition}", params.gpus, params.rules)
elif wc.check == "archives":
    result = pf.check_archives(cfg)
elif wc.check == "hub":
    result = pf.check_hub(cfg)
elif wc.check == "judge":
    result = pf.check_judge(cfg)
elif wc.check == "slurm":
    result = pf.check_slurm(params.requests, snakemake.resources.get("slurm_account"))
else:
    result = pf.check_disk("results", params.plan, params.preflight["disk_margin"], params.preflight["min_free_gb"])
pf.write_result(snakemake.output[0], result)
