"""The pt-PT lm-eval suite: prepare() on every fixture, and every task through simple_evaluate.

One tiny Llama (BPE tokenizer with the project's chat template) answers all eleven tasks in a single
simple_evaluate call, so the expensive part (imports, model load) is paid once.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from amalia_wf.evaluate import suite
from amalia_wf.evaluate.answers import PHEB_SUBJECTS, subject_key
from tests.conftest import REPO, TINY_LLAMA

FIXTURES = REPO / "data" / "eval_fixtures"
# Test records per fixture (BBH: 2 boolean_expressions + 1 navigate; its hyperbaton example is dropped).
FIXTURE_SIZES = {"arc_c": 3, "mmlu": 3, "truthfulqa": 2, "gsm8k": 3, "ifeval": 3, "pt_e": 4, "pt_c": 4,
                 "piqa": 3, "siqa": 3, "frmt": 3, "bbh": 3}
TABLE3_COLUMNS = {"ARC-C", "MMLU", "TQA", "GSM8K", "IFEval", "PT-E (CoT)", "PT-C", "PiQA", "SiQA", "FRMT", "BBH"}
# Copies of AMALIA-LLM/pheb in the shared folder beside the checkout (not committed).
PHEB_DIRS = [REPO.parent / "shared" / "benchmarks" / "pheb", REPO / "shared" / "benchmarks" / "pheb"]


def _count_lines(path: Path) -> int:
    return sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Path]]:
    out = tmp_path_factory.mktemp("prepared")
    return {task: suite.prepare(task, FIXTURES / task, out / task) for task in suite.TASKS}


def test_registry_covers_table3() -> None:
    assert {t.column for t in suite.TASKS.values()} == TABLE3_COLUMNS
    assert set(FIXTURE_SIZES) == set(suite.TASKS)
    indexed = set(suite.task_manager().all_tasks)
    assert indexed == {t.lm_eval_name for t in suite.TASKS.values()}
    for task, entry in suite.TASKS.items():
        assert entry.lm_eval_name == f"amalia_{task}" == suite.task_yaml(task)["task"]


@pytest.mark.parametrize("task", sorted(FIXTURE_SIZES))
def test_prepare_fixture(task: str, prepared: dict[str, dict[str, Path]]) -> None:
    files = prepared[task]
    assert _count_lines(files["test"]) == FIXTURE_SIZES[task]
    assert set(files) == set(suite.task_yaml(task)["dataset_kwargs"]["data_files"])
    cfg = suite.load_task_config(task, files)
    assert all(Path(p).is_absolute() and Path(p).exists() for p in cfg["dataset_kwargs"]["data_files"].values())


def test_prepared_records(prepared: dict[str, dict[str, Path]]) -> None:
    first = {t: json.loads(f["test"].read_text(encoding="utf-8").splitlines()[0]) for t, f in prepared.items()}
    assert first["pt_c"]["context"] == "Vou à estação de"
    assert first["pt_c"]["choices"] == [" comboios para comprar um bilhete.", " trem para comprar um bilhete."]
    assert first["pt_e"]["answer"] == "B" and first["pt_e"]["subject"] == "Geography"
    assert first["gsm8k"]["target"] == "7"
    assert first["siqa"]["label"] == 0
    assert _count_lines(prepared["frmt"]["fewshot"]) == 5  # exemplars only: dev and pt-BR files are ignored
    bbh = [json.loads(line) for line in prepared["bbh"]["test"].read_text(encoding="utf-8").splitlines()]
    assert {r["subtask"] for r in bbh} == {"boolean_expressions", "navigate"}
    assert bbh[0]["prompt_prefix"].count("a resposta é") == 3


def test_bbh_drops_the_papers_subtasks() -> None:
    assert "hyperbaton" in suite.task_yaml("bbh")["metadata"]["dropped_subtasks"]


def test_pt_e_declares_every_subject_metric() -> None:
    declared = {m["metric"] for m in suite.task_yaml("pt_e")["metric_list"]}
    assert declared == {"acc"} | {subject_key(s) for s in PHEB_SUBJECTS}


def test_bad_input_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "pt_c.jsonl"
    bad.write_text(json.dumps({"id": "x", "sentence": "Sem lacuna.", "option_pt": "a", "option_br": "b"}) + "\n")
    with pytest.raises(ValueError, match=r"pt_c\.jsonl:1: .*one blank"):
        suite.prepare("pt_c", bad, tmp_path / "out")
    with pytest.raises(ValueError, match="data_files splits"):
        suite.load_task_config("frmt", {"test": bad})


@pytest.mark.skipif(not any(p.is_dir() for p in PHEB_DIRS), reason="no PHEB copy in shared/benchmarks")
def test_real_pheb(tmp_path: Path) -> None:
    pheb = next(p for p in PHEB_DIRS if p.is_dir())
    files = suite.prepare("pt_e", pheb, tmp_path)
    records = [json.loads(line) for line in files["test"].read_text(encoding="utf-8").splitlines()]
    counts = {s: sum(r["subject"] == s for r in records) for s in PHEB_SUBJECTS}
    assert len(records) == 1819
    assert counts == {"Geography": 424, "Philosophy": 373, "Bio_Geo": 332, "Portuguese": 306,
                      "Mathematics A": 264, "History A": 120}
    assert {r["answer"] for r in records} == set("ABCD")


# --- through lm-eval ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def evaluation(prepared: dict[str, dict[str, Path]], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    import lm_eval
    from lm_eval.models.huggingface import HFLM

    from amalia_wf.train.models import init_tiny_llama
    from amalia_wf.train.tokenizer import train_bpe

    model_dir = tmp_path_factory.mktemp("tiny_llama")
    texts = [p.read_text(encoding="utf-8") for p in FIXTURES.rglob("*") if p.suffix in {".json", ".jsonl", ".tsv", ".txt"}]
    tokenizer = train_bpe(texts, 600, model_dir)
    # Longer positions than the training tests' model: BBH's and GSM8K's few-shot prompts exceed 256
    # tokens and would otherwise be truncated from the left.
    init_tiny_llama({**TINY_LLAMA, "max_position_embeddings": 4096}, tokenizer, 0, model_dir)

    cache = {"dataset_kwargs": {"cache_dir": str(tmp_path_factory.mktemp("hf_datasets"))}}
    short = {"generation_kwargs": {"max_gen_toks": 8}}  # a few tokens are enough to exercise scoring
    configs = []
    for task, files in prepared.items():
        generative = suite.task_yaml(task)["output_type"] == "generate_until"
        configs.append(suite.load_task_config(task, files, {**cache, **(short if generative else {})}))
    # Chat template on, as for the instruction-tuned models of Table 3.
    return lm_eval.simple_evaluate(
        model=HFLM(pretrained=str(model_dir), device="cpu", batch_size=4),
        tasks=configs,
        task_manager=suite.task_manager(),
        apply_chat_template=True,
        bootstrap_iters=0,
    )


@pytest.mark.parametrize("task", sorted(FIXTURE_SIZES))
def test_task_runs(task: str, evaluation: dict[str, Any]) -> None:
    entry = suite.TASKS[task]
    assert evaluation["n-samples"][entry.lm_eval_name]["effective"] == FIXTURE_SIZES[task]
    results = evaluation["results"][entry.lm_eval_name]
    upper = 100 if entry.scale == 1 else 1  # chrF is reported 0-100, every other metric 0-1
    assert 0 <= results[entry.metric] <= upper


def test_pt_e_reports_each_subject(evaluation: dict[str, Any]) -> None:
    results = evaluation["results"]["amalia_pt_e"]
    for subject in ("Geography", "Philosophy", "Mathematics A"):
        assert 0 <= results[f"{subject_key(subject)},none"] <= 1
    assert f"{subject_key('History A')},none" not in results  # no fixture question: no number


def test_frmt_scores_pairs_as_reference_and_prediction(prepared: dict[str, dict[str, Path]]) -> None:
    """chrF through the task's own process_results and aggregation equals sacrebleu's corpus chrF."""
    from sacrebleu.metrics import CHRF

    cfg = suite.load_task_config("frmt", prepared["frmt"])
    task = suite.task_manager().load([cfg])["tasks"]["amalia_frmt"]
    docs = list(task.test_docs())
    preds = [docs[0]["target"], "O museu", ""]
    items = [task.process_results(doc, [pred])["chrf"] for doc, pred in zip(docs, preds)]
    expected = CHRF().corpus_score(preds, [[d["target"] for d in docs]]).score
    assert task.aggregation()["chrf"](items) == pytest.approx(expected)
    assert 0 < expected < 100
