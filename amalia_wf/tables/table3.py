"""Table 3: the lm-eval suite over every configured model, beside the paper's values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from amalia_wf.evaluate.models import ModelSpec
from amalia_wf.evaluate.suite import TASKS
from amalia_wf.io import read_json
from amalia_wf.tables.compare import Cell, Coverage, compare
from amalia_wf.tables.render import write_all

COLUMNS = ["ARC-C", "MMLU", "TQA", "GSM8K", "IFEval", "PT-E (CoT)", "PT-C", "PiQA", "SiQA", "FRMT", "BBH"]
TITLE = "Table 3: results of instruction-tuned models on the pt-PT lm-eval suite"


def coverage(record: Mapping[str, Any], minimum: float) -> Coverage:
    """Items evaluated of the task's items, over every lm-eval (sub)task of the result: lm-eval
    reports both per task ("n-samples": effective < original under `evaluation.limit`)."""
    counts = record["n_samples"].values()
    return Coverage(sum(c["effective"] for c in counts), sum(c["original"] for c in counts), minimum)


def cells(models: Sequence[ModelSpec], results: Mapping[str, Mapping[str, str]], inputs: Mapping[str, str], min_coverage: float) -> list[Cell]:
    """`results`: model name -> task -> result file; `inputs`: model name -> what it was loaded from;
    `min_coverage`: the fraction of a task's items below which its cell is partial."""
    out = []
    for spec in models:
        for task, path in results[spec.name].items():
            record = read_json(path)
            value = record["value"]
            info = TASKS[task]
            stderr = record["stderr"].get(record["lm_eval_task"], {}).get(record["metric"])
            out.append(
                Cell(
                    model=spec.name,
                    group=spec.group,
                    paper_row=spec.paper_row,
                    column=info.column,
                    value=None if value is None else value * info.scale,
                    rule="evaluate_model",
                    paths=(path,),
                    detail=f"model {inputs[spec.name]}, data results/eval_data/{task}/prepared, {record['lm_eval_task']} {record['metric']}",
                    coverage=coverage(record, min_coverage),
                    stderr=None if value is None or stderr is None else stderr * info.scale,
                )
            )
    return out


def build(
    models: Sequence[ModelSpec],
    results: Mapping[str, Mapping[str, str]],
    inputs: Mapping[str, str],
    tolerance: float,
    min_coverage: float,
    out: Mapping[str, str],
    plots_dir: str,
) -> None:
    frame = compare("table3", cells(models, results, inputs, min_coverage), COLUMNS, tolerance)
    write_all(frame, COLUMNS, TITLE, tolerance, out, plots_dir)
