"""One model's perplexity on both sides of the held-out parallel pages (amalia_wf.evaluate.perplexity)."""

from amalia_wf.jobs import setup

setup(snakemake)
from amalia_wf.evaluate.perplexity import heldout_perplexity, read_heldout
from amalia_wf.genbench.workflow import local_model
from amalia_wf.io import write_json

params = snakemake.params
model_dir, revision = local_model(params.spec, snakemake.input.model)
result = heldout_perplexity(model_dir, read_heldout(snakemake.input.heldout), params.window, params.samples, params.seed)
write_json(snakemake.output[0], {"model": params.spec.name, "model_source": params.spec.hub or model_dir,
                                 "model_revision": revision, **result})
