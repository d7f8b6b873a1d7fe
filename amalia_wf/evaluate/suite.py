"""The pt-PT lm-eval task suite: which task feeds which Table 3 column, and its data.

Every task is a YAML in ``tasks/`` (the ``include_path``) reading PREPARED jsonl files through
``dataset_path: json``. Data flow for one task::

    files = prepare(task, upstream_path, out_dir)           # upstream schema -> {split: jsonl}
    cfg = load_task_config(task, files, overrides)          # the YAML, data_files replaced
    lm_eval.simple_evaluate(model=..., tasks=[cfg], task_manager=task_manager())
    TASKS[task].metric                                      # key in results["results"][cfg["task"]]

Override contract: the ``dataset_kwargs.data_files`` in the YAMLs are placeholders (``test.jsonl``,
``fewshot.jsonl``: the names prepare() writes in its out_dir; a relative path resolves against the
working directory, so they only work from inside that folder). The runner passes the dict from
load_task_config(), which holds absolute paths, and never the bare task name. lm-eval 0.4.13 takes an
inline dict with a ``task`` key as the complete task config (it is not merged with the indexed YAML
of the same name), which is why load_task_config() loads the YAML with lm-eval's own loader: the
``include:`` is merged and ``!function`` references become functions. Do not pass ``num_fewshot``
to simple_evaluate: it would override the per-task shots of Table 2 kept in the YAMLs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from amalia_wf.evaluate.answers import LETTERS, PHEB_SUBJECTS, subject_key

TASKS_DIR = Path(__file__).parent / "tasks"

Records = list[dict[str, Any]]


def _fail(where: str, msg: str) -> ValueError:
    return ValueError(f"{where}: {msg}")


def _files(raw: Path, patterns: tuple[str, ...]) -> list[Path]:
    """`raw` itself, or the files under the folder `raw` matching `patterns`, in sorted order."""
    if raw.is_file():
        return [raw]
    found = sorted({p for pattern in patterns for p in raw.rglob(pattern)})
    if not found:
        raise FileNotFoundError(f"no {' or '.join(patterns)} under {raw}")
    return found


def _read_json_records(raw: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(location, record) for every record of the .jsonl/.json files in `raw` (JSON: a list of records)."""
    for path in _files(raw, ("*.jsonl", "*.json")):
        if path.suffix == ".jsonl":
            with path.open(encoding="utf-8") as fh:
                for n, line in enumerate(fh, 1):
                    if line.strip():
                        yield f"{path}:{n}", json.loads(line)
        else:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, list):
                raise _fail(str(path), "expected a JSON list of records")
            for n, rec in enumerate(data):
                yield f"{path}[{n}]", rec


def _require(where: str, rec: Mapping[str, Any], *fields: str) -> None:
    if missing := [f for f in fields if f not in rec]:
        raise _fail(where, f"missing field(s) {missing}")


def _from_records(convert: Callable[[str, dict[str, Any]], dict[str, Any]]) -> Callable[[Path], dict[str, Records]]:
    """A converter for sets that are one test split of JSON records, one output record per input record."""

    def run(raw: Path) -> dict[str, Records]:
        return {"test": [convert(where, rec) for where, rec in _read_json_records(raw)]}

    return run


# --- per-dataset conversions: upstream record -> prepared record ------------------------------------

_BLANK = re.compile(r"_{3,}")


def _pt_c(where: str, rec: dict[str, Any]) -> dict[str, Any]:
    _require(where, rec, "id", "sentence", "option_pt", "option_br")
    parts = _BLANK.split(rec["sentence"])
    if len(parts) != 2:
        raise _fail(where, "the sentence must contain exactly one blank (_____)")
    before, after = parts
    context = before.rstrip()
    sep = " " if context else ""  # the space before the blank belongs to the continuation
    return {
        "id": rec["id"],
        "sentence": rec["sentence"],
        "context": context,
        "choices": [sep + rec["option_pt"] + after, sep + rec["option_br"] + after],
        "label": 0,  # option A, the pt-PT one, is always right
    }


def _pt_e(where: str, rec: dict[str, Any]) -> dict[str, Any]:
    _require(where, rec, "year", "subject", "question", "choices", "answer")
    if rec["subject"] not in PHEB_SUBJECTS:
        raise _fail(where, f"unknown subject {rec['subject']!r} (known: {PHEB_SUBJECTS})")
    if len(rec["choices"]) != 4 or rec["answer"] not in range(4):
        raise _fail(where, "expected 4 choices and answer 0-3")
    return {**rec, "answer": LETTERS[rec["answer"]]}


def _mcq_label(where: str, answer: Any, n: int) -> int:
    """An answer given as index or letter (EU20 exports differ) -> index."""
    label = LETTERS.index(answer) if isinstance(answer, str) and answer in LETTERS else int(answer)
    if not 0 <= label < n:
        raise _fail(where, f"answer {answer!r} out of range for {n} choices")
    return label


def _arc(where: str, rec: dict[str, Any]) -> dict[str, Any]:
    _require(where, rec, "question", "choices", "answerKey")
    labels = list(rec["choices"]["label"])
    if rec["answerKey"] not in labels:
        raise _fail(where, f"answerKey {rec['answerKey']!r} not among {labels}")
    return {"id": rec.get("id"), "question": rec["question"], "choices": list(rec["choices"]["text"]),
            "label": labels.index(rec["answerKey"])}


def _mmlu(where: str, rec: dict[str, Any]) -> dict[str, Any]:
    _require(where, rec, "question", "choices", "answer", "subject")
    if len(rec["choices"]) != 4:
        raise _fail(where, "expected 4 choices")
    return {"question": rec["question"], "subject": rec["subject"], "choices": list(rec["choices"]),
            "label": _mcq_label(where, rec["answer"], 4)}


def _truthfulqa(where: str, rec: dict[str, Any]) -> dict[str, Any]:
    _require(where, rec, "question", "mc1_targets")
    labels = list(rec["mc1_targets"]["labels"])
    if labels.count(1) != 1:
        raise _fail(where, "mc1_targets must have exactly one correct answer")
    return {"question": rec["question"], "choices": list(rec["mc1_targets"]["choices"]), "label": labels.index(1)}


def _gsm8k(where: str, rec: dict[str, Any]) -> dict[str, Any]:
    _require(where, rec, "question", "answer")
    if "####" not in rec["answer"]:
        raise _fail(where, "answer without '#### <number>'")
    return {"question": rec["question"], "answer": rec["answer"], "target": rec["answer"].split("####")[-1].strip()}


def _piqa(where: str, rec: dict[str, Any]) -> dict[str, Any]:
    _require(where, rec, "goal", "sol1", "sol2", "label")
    return {"goal": rec["goal"], "choices": [rec["sol1"], rec["sol2"]], "label": _mcq_label(where, rec["label"], 2)}


def _siqa(where: str, rec: dict[str, Any]) -> dict[str, Any]:
    _require(where, rec, "context", "question", "answerA", "answerB", "answerC", "label")
    label = int(rec["label"]) - 1  # upstream labels are "1".."3"
    if label not in range(3):
        raise _fail(where, f"label {rec['label']!r} not in 1-3")
    return {"context": rec["context"], "question": rec["question"],
            "choices": [rec["answerA"], rec["answerB"], rec["answerC"]], "label": label}


def _ifeval(where: str, rec: dict[str, Any]) -> dict[str, Any]:
    _require(where, rec, "key", "prompt", "instruction_id_list", "kwargs")
    if len(rec["kwargs"]) != len(rec["instruction_id_list"]):
        raise _fail(where, "kwargs and instruction_id_list differ in length")
    return {f: rec[f] for f in ("key", "prompt", "instruction_id_list", "kwargs")}


# FRMT (google-research/frmt): dataset/<bucket>_bucket/pt_<bucket>_<split>_en_pt-PT.tsv, two columns
# (English, pt-PT), no header, no quoting. Test = all buckets' test files; shots = exemplar files.
_FRMT_NAME = re.compile(r"pt_(?P<bucket>\w+?)_(?P<split>dev|exemplars|test)_en_pt-PT\.tsv")


def _frmt(raw: Path) -> dict[str, Records]:
    out: dict[str, Records] = {"test": [], "fewshot": []}
    for path in _files(raw, ("pt_*_en_pt-PT.tsv",)):
        m = _FRMT_NAME.fullmatch(path.name)
        split = {"test": "test", "exemplars": "fewshot"}.get(m["split"]) if m else None
        if split is None:
            continue  # dev files (and anything else) are not used
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            cols = line.split("\t")
            if len(cols) != 2:
                raise _fail(f"{path}:{n}", f"expected 2 tab-separated columns, got {len(cols)}")
            out[split].append({"source": cols[0], "target": cols[1], "bucket": m["bucket"]})
    for split, recs in out.items():
        if not recs:
            raise _fail(str(raw), f"no FRMT pt-PT {split} pairs")
    return out


# BIG-Bench-Hard layout: bbh/<subtask>.json = {"examples": [{"input", "target"}]} and
# cot-prompts/<subtask>.txt = [canary header "\n-----\n"] description, then the 3 CoT exemplars,
# all separated by blank lines (the parsing of lm-eval's bbh/_generate_configs.py).
BBH_SHOTS = 3
_BBH_SHOT = re.compile(r"P: .*\nR: Vamos pensar passo a passo\.\n.*[Aa] resposta é .+", re.DOTALL)


def _bbh(raw: Path) -> dict[str, Records]:
    dropped = set(task_yaml("bbh")["metadata"]["dropped_subtasks"])
    records: Records = []
    for path in _files(raw, ("*.json",)):
        subtask = path.stem
        if subtask in dropped:
            continue
        prompt_file = next(raw.rglob(f"cot-prompts/{subtask}.txt"), None) if raw.is_dir() else None
        if prompt_file is None:
            raise FileNotFoundError(f"no cot-prompts/{subtask}.txt under {raw} for {path}")
        description, *shots = prompt_file.read_text(encoding="utf-8").split("\n-----\n")[-1].strip().split("\n\n")
        if len(shots) != BBH_SHOTS or not all(_BBH_SHOT.fullmatch(s) for s in shots):
            raise _fail(str(prompt_file), f"expected a description and {BBH_SHOTS} exemplars "
                        "'P: ...\\nR: Vamos pensar passo a passo.\\n... a resposta é X.'")
        prefix = "\n\n".join([description, *shots]) + "\n\n"
        examples = json.loads(path.read_text(encoding="utf-8"))["examples"]
        for n, ex in enumerate(examples):
            _require(f"{path}[{n}]", ex, "input", "target")
            records.append({"subtask": subtask, "input": ex["input"], "target": ex["target"], "prompt_prefix": prefix})
    return {"test": records}


# --- the registry -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EvalTask:
    lm_eval_name: str  # task name in tasks/<name>.yaml and in lm-eval's results
    column: str  # the Table 3 column it feeds
    metric: str  # key in results["results"][lm_eval_name], "<metric>,<filter>"
    scale: float  # Table 3 number = value x scale (fractions -> percent; chrF is already 0-100)
    source: str  # upstream data and its schema, which prepare() reads
    convert: Callable[[Path], dict[str, Records]]
    extra_metrics: tuple[str, ...] = ()  # further keys worth reporting (PT-E per subject)


TASKS: dict[str, EvalTask] = {
    "arc_c": EvalTask("amalia_arc_c", "ARC-C", "acc,none", 100,
                      "openGPT-X/arcx, config challenge_PT (EU20): jsonl of {id, question, "
                      "choices: {text, label}, answerKey}", _from_records(_arc)),
    "mmlu": EvalTask("amalia_mmlu", "MMLU", "acc,none", 100,
                     "openGPT-X/mmlux, PT configs (EU20), all subjects: jsonl of {question, choices[4], "
                     "answer (0-3 or A-D), subject}", _from_records(_mmlu)),
    "truthfulqa": EvalTask("amalia_truthfulqa", "TQA", "acc,none", 100,
                           "openGPT-X/truthfulqax, config mc_PT (EU20): jsonl of {question, "
                           "mc1_targets: {choices, labels}}", _from_records(_truthfulqa)),
    "gsm8k": EvalTask("amalia_gsm8k", "GSM8K", "exact_match,flexible-extract", 100,
                      "openGPT-X/gsm8kx, config PT (EU20): jsonl of {question, answer ending '#### N'}",
                      _from_records(_gsm8k)),
    "ifeval": EvalTask("amalia_ifeval", "IFEval", "prompt_level_strict_acc,none", 100,
                       "IFEval (google/IFEval schema), pt-PT translation: jsonl of {key, prompt, "
                       "instruction_id_list, kwargs}", _from_records(_ifeval)),
    "pt_e": EvalTask("amalia_pt_e", "PT-E (CoT)", "acc,none", 100,
                     "AMALIA-LLM/pheb@7e01ace713b3ca9d8f5370eb12d1578f102c7f44: <subject>.json lists of "
                     "{year, phase, subject, question_group, question_number, question, choices[4], "
                     "answer 0-3, is_completion}", _from_records(_pt_e),
                     tuple(f"{subject_key(s)},none" for s in PHEB_SUBJECTS)),
    "pt_c": EvalTask("amalia_pt_c", "PT-C", "acc,none", 100,
                     "PT-C (not public; schema defined here): jsonl of {id, sentence with one '_____' blank, "
                     "option_pt, option_br}", _from_records(_pt_c)),
    "piqa": EvalTask("amalia_piqa", "PiQA", "acc,none", 100,
                     "PIQA, pt-PT translation: jsonl of {goal, sol1, sol2, label 0/1}", _from_records(_piqa)),
    "siqa": EvalTask("amalia_siqa", "SiQA", "acc,none", 100,
                     "Social IQa, pt-PT translation: jsonl of {context, question, answerA, answerB, answerC, "
                     "label '1'-'3'}", _from_records(_siqa)),
    "frmt": EvalTask("amalia_frmt", "FRMT", "chrf,first-line", 1,
                     "google-research/frmt: dataset/<bucket>_bucket/pt_<bucket>_{test,exemplars}_en_pt-PT.tsv, "
                     "English<TAB>pt-PT, no header", _frmt),
    "bbh": EvalTask("amalia_bbh", "BBH", "exact_match,get-answer", 100,
                    "BIG-Bench-Hard layout, pt-PT translation: bbh/<subtask>.json {examples: [{input, target}]} "
                    "+ cot-prompts/<subtask>.txt", _bbh),
}


def _task(task: str) -> EvalTask:
    if task not in TASKS:
        raise KeyError(f"unknown evaluation task {task!r} (known: {sorted(TASKS)})")
    return TASKS[task]


def prepare(task: str, raw_path_or_dir: str | Path, out_dir: str | Path) -> dict[str, Path]:
    """Convert upstream files of `task` into the jsonl files its YAML reads: {split: out_dir/<split>.jsonl}."""
    raw = Path(raw_path_or_dir)
    if not raw.exists():
        raise FileNotFoundError(f"{task}: {raw} does not exist")
    splits = _task(task).convert(raw)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for split, records in splits.items():
        if not records:
            raise ValueError(f"{task}: no {split} records in {raw}")
        path = out / f"{split}.jsonl"
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
        written[split] = path
    return written


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Recursive dict merge, so an override such as {"generation_kwargs": {"max_gen_toks": 8}} keeps `until`."""
    merged = dict(base)
    for key, value in over.items():
        nested = isinstance(value, Mapping) and isinstance(merged.get(key), dict)
        merged[key] = _merge(merged[key], value) if nested else value
    return merged


def task_yaml(task: str) -> dict[str, Any]:
    """The task's YAML with its `include:` merged and `!function` references resolved (lm-eval's loader)."""
    from lm_eval.tasks._yaml_loader import load_yaml

    return load_yaml(TASKS_DIR / f"{_task(task).lm_eval_name}.yaml", resolve_func=True)


def load_task_config(
    task: str, data_files: Mapping[str, str | Path], overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The task's YAML as the dict simple_evaluate(tasks=[...]) accepts, reading `data_files` ({split: path}).

    `data_files` must name exactly the splits of the YAML's placeholder (what prepare() returned);
    paths are made absolute. `overrides` are merged recursively (e.g. a smaller max_gen_toks).
    """
    cfg = task_yaml(task)
    expected = set(cfg["dataset_kwargs"]["data_files"])
    if set(data_files) != expected:
        raise ValueError(f"{task}: data_files splits {sorted(data_files)} != {sorted(expected)}")
    files = {split: str(Path(p).resolve()) for split, p in data_files.items()}
    cfg = _merge(cfg, {"dataset_kwargs": {"data_files": files}})
    return _merge(cfg, overrides or {})


def task_manager() -> Any:
    """lm-eval's TaskManager over this suite only (include_defaults=False skips indexing lm-eval's ~6 s of tasks)."""
    from lm_eval.tasks import TaskManager

    return TaskManager(include_path=str(TASKS_DIR), include_defaults=False)
