"""Held-out perplexity (not in the paper): each evaluated model on the pt-PT and the pt-BR side of
the parallel pages no training set saw, and their ratio, each with its bootstrap standard error
(amalia_wf.evaluate.perplexity)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from amalia_wf.evaluate.models import ModelSpec
from amalia_wf.io import read_json
from amalia_wf.tables.compare import Cell, compare
from amalia_wf.tables.render import write_all

# column -> the result's key (its standard error: key + "_se")
COLUMNS = {"pt-PT perplexity": "pt_pt", "pt-BR perplexity": "pt_br", "pt-BR / pt-PT": "ratio"}
TITLE = "Held-out perplexity: each model on both translations of pages held out of training"


def cells(models: Sequence[ModelSpec], results: Mapping[str, str]) -> list[Cell]:
    out = []
    for spec in models:
        record = read_json(results[spec.name])
        detail = (f"model {record['model_source']}, {record['pages']} held-out page pairs "
                  f"({record['tokens']['pt_pt']} pt-PT, {record['tokens']['pt_br']} pt-BR tokens), "
                  f"± bootstrap standard error over pages ({record['bootstrap']['samples']} samples)")
        for column, key in COLUMNS.items():
            out.append(Cell(model=spec.name, group=spec.group, paper_row=None, column=column, value=record[key],
                            rule="heldout_perplexity", paths=(results[spec.name],), detail=detail, stderr=record[f"{key}_se"]))
    return out


def build(models: Sequence[ModelSpec], results: Mapping[str, str], tolerance: float, out: Mapping[str, str]) -> None:
    frame = compare("heldout_perplexity", cells(models, results), list(COLUMNS), tolerance)
    notes = ["A model that learnt pt-PT finds its side less surprising: pt-BR / pt-PT above 1."]
    write_all(frame, list(COLUMNS), TITLE, tolerance, out, decimals=2, notes=notes)
