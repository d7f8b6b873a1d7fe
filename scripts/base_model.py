"""The model continued pretraining starts from: a tiny seeded Llama, a hub model or a local checkpoint.

The paper modified EuroLLM-9B's final pretraining phase, so it started from a checkpoint before that
phase, which is not released; `train.base` names the start and provenance.json records it.
"""

from amalia_wf.jobs import setup

setup(snakemake)
import shutil
from pathlib import Path

from transformers import AutoTokenizer

from amalia_wf.train.models import fetch_hub_model, init_tiny_llama
from amalia_wf.train.runs import write_provenance

base, out = snakemake.params.base, snakemake.output[0]
start = dict(base)
if base["source"] == "hub":
    start["resolved_commit"] = fetch_hub_model(base["hub"], out, base.get("revision"))
elif base["source"] == "path":
    shutil.copytree(base["path"], out)
else:
    init_tiny_llama(base["init"], AutoTokenizer.from_pretrained(snakemake.input.tokenizer), snakemake.params.seed, out)
write_provenance(
    out, stage="base", config=start, inputs=[snakemake.input.tokenizer, *([base["path"]] if "path" in base else [])],
    hyperparameters={"seed": snakemake.params.seed}, state=None, repo=Path(snakemake.scriptdir).parent,
)
