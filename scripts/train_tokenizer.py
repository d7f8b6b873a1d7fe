"""The tokenizer: trained on the corpus (embedded default) or the base model's own (paper)."""

from amalia_wf.jobs import setup

setup(snakemake)
from amalia_wf.train.packing import read_texts
from amalia_wf.train.tokenizer import copy_base_tokenizer, train_bpe

cfg, out = snakemake.params.cfg, snakemake.output[0]
if cfg["source"] == "base":
    base = snakemake.params.base  # a hub model or a local checkpoint (train.base.source: path)
    copy_base_tokenizer(base.get("hub") or base["path"], out, base.get("revision"))
else:
    train_bpe(read_texts([*snakemake.input.corpus, *snakemake.input.extra]), cfg["vocab_size"], out)
