"""The model continued pretraining starts from: a tiny seeded Llama, or the hub base (EuroLLM-9B)."""

from amalia_wf.jobs import setup

setup(snakemake)
from pathlib import Path

from transformers import AutoTokenizer

from amalia_wf.train.models import fetch_hub_model, init_tiny_llama
from amalia_wf.train.runs import write_provenance

base, out = snakemake.params.base, snakemake.output[0]
if base["source"] == "hub":
    fetch_hub_model(base["hub"], out, base.get("revision"))
else:
    init_tiny_llama(base["init"], AutoTokenizer.from_pretrained(snakemake.input.tokenizer), snakemake.params.seed, out)
write_provenance(
    out, stage="base", config=base, inputs=[snakemake.input.tokenizer], hyperparameters={"seed": snakemake.params.seed},
    state=None, repo=Path(snakemake.scriptdir).parent,
)
