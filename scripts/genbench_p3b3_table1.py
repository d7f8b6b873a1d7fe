"""P3B3 Table 1 (and Table 4): agreement of the offline scorer, the classifiers and the judges with human ratings."""

from amalia_wf.jobs import setup

setup(snakemake)
from amalia_wf.genbench.bert_variety import VarietyClassifier
from amalia_wf.genbench.workflow import judge_client, local_model
from amalia_wf.tables.genbench import table1
from amalia_wf.tables.registry import written

params, out = snakemake.params, snakemake.output
classifiers = {
    name: VarietyClassifier(local_model(spec, model_input)[0], pt_pt_label=cfg.get("pt_pt_label"), batch_size=cfg.get("batch_size", 16))
    for name, (spec, cfg, model_input) in params.classifiers.items()
}
judges = {name: (judge_client(cfg, params.cache), cfg["model"]) for name, cfg in params.judges.items()}
table1(snakemake.input.ratings, classifiers, judges, params.variants, params.tolerance, written(out), params.min_coverage,
       params.min_variety_coverage, fixture=params.fixture)
