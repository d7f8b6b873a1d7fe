"""The reward model that ranks candidates: a tiny seeded one offline, ArmoRM (or another hub model) in the paper."""

from amalia_wf.jobs import setup

setup(snakemake)
from pathlib import Path

from amalia_wf.train.models import fetch_hub_model
from amalia_wf.train.reward_model import init_tiny_reward_model
from amalia_wf.train.runs import write_provenance

reward, out = snakemake.params.reward, snakemake.output[0]
if reward["source"] == "hub":
    fetch_hub_model(reward["hub"], out, reward.get("revision"))
else:
    init_tiny_reward_model(snakemake.input.tokenizer, reward["init"], snakemake.params.seed, out)
write_provenance(
    out, stage="reward", config=reward, inputs=[snakemake.input.tokenizer], hyperparameters={"seed": snakemake.params.seed},
    state=None, repo=Path(snakemake.scriptdir).parent,
)
