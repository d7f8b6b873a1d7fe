"""Table 3: the lm-eval suite over every configured model, beside the paper's values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from amalia_wf.evaluate.models import ModelSpec
from amalia_wf.evaluate.suite import TASKS
from amalia_wf.io import read_json
from amalia_wf.tables.compare import Cell, compare
from amalia_wf.tables.render import write_all

COLUMNS = ["ARC-C", "MMLU", "TQA", "GSM8K", "IFEval", "PT-E (CoT)", "PT-C", "PiQA", "SiQA", "FRMT", "BBH"]
TITLE = "Table 3: results of instruction-tuned models on the pt-PT lm-eval suite"


def cells(models: Sequence[ModelSpec], results: Mapping[str, Mapping[str, str]], inputs: Mapping[str, str]) -> list[Cell]:
    """`results`: model name -> task -> result file; `inputs`: model name -> what it was loaded from."""
    out = []
    for spec in models:
        for task, path in results[spec.name].items():
            record = read_json(path)
            value = record["value"]
            out.append(
                Cell(
                    model=spec.name,
                    group=spec.group,
                    paper_row=spec.paper_row,
                    column=TASKS[task].column,
                    value=None if value is None else value * TASKS[task].scale,
                    rule="evaluate_model",
                    paths=(path,),
                    detail=f"model {inputs[spec.name]}, data results/eval_data/{task}/prepared, {record['lm_eval_task']} {record['metric']}",
                )
            )
    return out


def build(models: Sequence[ModelSpec], results: Mapping[str, Mapping[str, str]], inputs: Mapping[str, str], tolerance: float, out: Mapping[str, str], plots_dir: str) -> None:
    frame = compare("table3", cells(models, results, inputs), COLUMNS, tolerance)
    write_all(frame, COLUMNS, TITLE, tolerance, out, plots_dir)
