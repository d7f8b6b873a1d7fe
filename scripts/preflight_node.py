"""One preflight check on a node, in the env under test (amalia_wf/preflight_node.py); writes its row."""

from amalia_wf.jobs import setup

setup(snakemake)
from amalia_wf import preflight_node as node

wc, params = snakemake.wildcards, snakemake.params
if snakemake.rule == "preflight_env":
    result = node.check_imports(f"env:{wc.partition}:{wc.env}", params.modules)
else:
    result = node.check_gpu(f"gpu:{wc.partition}", params.gpus, params.rules)
node.write_result(snakemake.output[0], result)
