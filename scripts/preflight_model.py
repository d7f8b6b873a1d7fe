"""One scoring model loaded and given a probe on a node, in its rule's env (amalia_wf/preflight_models.py)."""

from amalia_wf.jobs import setup

setup(snakemake)
from amalia_wf.preflight_models import check_model
from amalia_wf.preflight_node import write_result

wc = snakemake.wildcards
write_result(snakemake.output[0], check_model(f"model:{wc.model}", snakemake.params.model, wc.env))
