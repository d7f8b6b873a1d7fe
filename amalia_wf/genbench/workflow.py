"""The generation-benchmark jobs of the DAG (rules/genbench.smk): one function per rule.

Layout under results/genbench/<model>/<benchmark>/ (every file written atomically):

    responses.jsonl.gz        the model's answers, one record per answered prompt (P3B3: per turn,
                              with its setting); generation.json: model source and revision,
                              settings, counts
    scores/<scorer>.jsonl.gz  P3B3 scored rows: variety (the offline marker scorer), perovaz, ptvid
    judged/<judge>.jsonl.gz   one judge's verdicts (ALBA, PT-E open, P3B3); judged/<judge>.summary.json
    guarded.jsonl.gz          Qwen3Guard verdicts (advbench, sst, xstest); guarded.summary.json (ASR)

A judged item whose call failed for good, or whose answer could not be read, is kept with score
None and counted missing in the summary. Judge answers (and API models' answers) are cached per call
in results/judge_cache/.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from amalia_wf.evaluate.models import ModelSpec
from amalia_wf.evaluate.run import model_location
from amalia_wf.genbench.plan import JUDGED, SAFETY
from amalia_wf.generation import GenerationSettings
from amalia_wf.io import read_jsonl_gz, write_json, write_jsonl_gz

log = logging.getLogger(__name__)

# Which config block (genbench.<block>) holds a benchmark's generation settings.
SETTINGS_BLOCK = {"p3b3": "p3b3", "alba": "alba", "pt_e_open": "pt_e_open", "advbench": "safety", "sst": "safety", "xstest": "safety"}


def generation_settings(genbench: Mapping[str, Any], bench: str) -> dict[str, Any]:
    """What a benchmark's generation depends on (its params: a change reruns only that benchmark)."""
    block = genbench[SETTINGS_BLOCK[bench]]
    out = {"max_new_tokens": block["max_new_tokens"], "max_model_len": block["max_model_len"], "batch_size": genbench["batch_size"]}
    if bench == "p3b3":
        out.update(settings=list(block["settings"]), instructions=dict(block["instructions"]))
    if bench == "alba":
        out.update(expected_per_category=block["expected_per_category"])
    return out


def local_model(spec: ModelSpec, model_input: str) -> tuple[str, str]:
    """(a local directory to load, the revision recorded). Hub models come from the Hugging Face
    cache at the commit their fetch marker recorded (amalia_wf.evaluate.run.model_location)."""
    source, revision = model_location(spec, model_input)
    if spec.hub:
        from huggingface_hub import snapshot_download

        return snapshot_download(source, revision=revision, local_files_only=True), revision
    return source, revision


def context_limit(model_dir: str) -> int | None:
    """The model's own context length (max_position_embeddings of its text config), if it states one."""
    from transformers import AutoConfig

    cfg = AutoConfig.from_pretrained(model_dir)
    text = cfg.get_text_config() if hasattr(cfg, "get_text_config") else cfg
    return getattr(text, "max_position_embeddings", None)


def find_file(root: str | Path, name: str) -> Path:
    """The one file called `name` under a fetched benchmark folder (github sources keep their paths)."""
    hits = sorted(Path(root).rglob(name))
    if len(hits) != 1:
        raise FileNotFoundError(f"expected one {name} under {root}, found {[str(h) for h in hits]}")
    return hits[0]


def csv_dir(root: str | Path) -> Path:
    """The folder holding ALBA's judge-training CSVs under a fetched source."""
    dirs = sorted({p.parent for p in Path(root).rglob("*.csv")})
    if len(dirs) != 1:
        raise FileNotFoundError(f"expected the judge-training CSVs in one folder under {root}, found {[str(d) for d in dirs]}")
    return dirs[0]


# --------------------------------------------------------------------------- generation


def generate(
    bench: str,
    spec: ModelSpec,
    model_input: str | None,
    data_dir: str,
    out: str,
    info_out: str,
    settings: Mapping[str, Any],
    backend: str,
    cache_dir: str | None = None,
) -> int:
    """Answer one benchmark with one model (greedy, chat template); returns the number of records.
    An API model (spec.api) answers P3B3 through its endpoint (`generate_api`); `cache_dir` is its call cache."""
    from amalia_wf.genbench import alba, p3b3, ptexams_open, safety

    if spec.api is not None:
        assert cache_dir is not None
        return generate_api(bench, spec, data_dir, out, info_out, settings, cache_dir)
    assert model_input is not None
    model_dir, revision = local_model(spec, model_input)
    limit = context_limit(model_dir)
    max_model_len = settings["max_model_len"] if not limit else min(settings["max_model_len"], limit)
    if max_model_len < settings["max_model_len"]:
        log.info("max_model_len %d capped at the model's own context, %d", settings["max_model_len"], max_model_len)
    generation = GenerationSettings(
        max_new_tokens=settings["max_new_tokens"],
        backend=backend,
        chat_template=spec.chat_template,
        batch_size=settings["batch_size"],
        max_model_len=max_model_len,
    )
    log.info("%s on %s (%s @ %s): %s", spec.name, bench, model_dir, revision, generation)
    if bench == "p3b3":
        prompts = p3b3.load_prompts(find_file(data_dir, "all_prompts.json"))
        records = p3b3.generate_p3b3(model_dir, spec.name, prompts, generation, settings=settings["settings"], instruction_overrides=settings["instructions"])
    elif bench == "alba":
        records = alba.generate_responses(model_dir, alba.load_prompts(data_dir, settings["expected_per_category"]), generation)
    elif bench == "pt_e_open":
        records = ptexams_open.generate_responses(model_dir, ptexams_open.load_questions(data_dir), generation)
    elif bench in SAFETY:
        records = safety.generate_responses(model_dir, safety.load_prompts(bench, data_dir), generation)
    else:
        raise ValueError(f"unknown generation benchmark {bench!r}")
    info = {"model_source": spec.hub or model_input, "model_revision": revision, "chat_template": spec.chat_template, "backend": backend}
    return _write_generation(spec, bench, records, out, info_out, info, {**dict(settings), "max_model_len": max_model_len})


def generate_api(bench: str, spec: ModelSpec, data_dir: str, out: str, info_out: str, settings: Mapping[str, Any], cache_dir: str) -> int:
    """P3B3 answered by an API-only model through its OpenAI-compatible endpoint (amalia_wf.genbench.api):
    greedy, cached per call; a call failing after its retries is a missing answer (response None)."""
    from amalia_wf.genbench import p3b3
    from amalia_wf.genbench.api import APIGenerator

    assert spec.api is not None
    if bench != "p3b3":
        raise ValueError(f"{spec.name}: an API model answers P3B3 only, not {bench!r}")
    client = judge_client({"max_tokens": settings["max_new_tokens"], **spec.api}, cache_dir)
    log.info("%s on %s through %r", spec.name, bench, client)
    prompts = p3b3.load_prompts(find_file(data_dir, "all_prompts.json"))
    records = p3b3.run_p3b3(APIGenerator(client), spec.name, prompts, settings["settings"], settings["instructions"])
    failed = sum(r["response"] is None for r in records)
    if failed:
        log.error("%s: %d of %d turns have no answer (%d calls failed for good; later turns of their dialogues not asked)",
                  spec.name, failed, len(records), len(client.failures))
    info = {"model_source": f"{spec.api['base_url']} {spec.api['model']}", "model_revision": None, "backend": "api",
            "api_calls_failed": len(client.failures), "n_missing": failed}
    return _write_generation(spec, bench, records, out, info_out, info, settings)


def _write_generation(spec: ModelSpec, bench: str, records: list[dict[str, Any]], out: str, info_out: str,
                      info: Mapping[str, Any], settings: Mapping[str, Any]) -> int:
    records = [{**r, "model": spec.name, "benchmark": bench} for r in records]
    write_jsonl_gz(out, records)
    write_json(info_out, {"model": spec.name, "benchmark": bench, **info, "settings": dict(settings), "n_records": len(records)})
    log.info("%d records -> %s", len(records), out)
    return len(records)


# --------------------------------------------------------------------------- P3B3 scorers


def _language_flags(records: list[dict[str, Any]], lid_cfg: Mapping[str, Any]) -> list[bool]:
    from amalia_wf.data.langid import LanguageId
    from amalia_wf.genbench.p3b3 import answer_text, not_portuguese

    return not_portuguese([answer_text(r["response"]) for r in records], LanguageId(lid_cfg))


def score_variety(responses: str, out: str, lid_cfg: Mapping[str, Any]) -> None:
    """P3B3 records -> rows of the offline marker scorer (abstains without pt-PT/pt-BR evidence)."""
    from amalia_wf.genbench.p3b3 import score_answered, variety_rows

    records = list(read_jsonl_gz(responses))
    rows = score_answered(records, "variety", lambda answered: variety_rows(answered, _language_flags(answered, lid_cfg)))
    write_jsonl_gz(out, rows)
    log.info("variety scorer: %d rows, %d abstained", len(rows), sum(r["status"] != "ok" for r in rows))


def score_classifier(name: str, spec: ModelSpec, cfg: Mapping[str, Any], model_input: str, responses: str, out: str, lid_cfg: Mapping[str, Any]) -> None:
    """P3B3 records -> rows of one encoder classifier (PtVId, PeroVaz): P(pt-PT) x 100."""
    from amalia_wf.genbench.bert_variety import VarietyClassifier, classifier_rows
    from amalia_wf.genbench.p3b3 import score_answered

    model_dir, revision = local_model(spec, model_input)
    log.info("classifier %s: %s @ %s", name, model_dir, revision)
    classifier = VarietyClassifier(model_dir, pt_pt_label=cfg.get("pt_pt_label"), batch_size=cfg.get("batch_size", 16))
    records = list(read_jsonl_gz(responses))
    rows = score_answered(records, name, lambda answered: classifier_rows(answered, classifier, name, _language_flags(answered, lid_cfg)))
    write_jsonl_gz(out, rows)


# --------------------------------------------------------------------------- judge and guard


# Keys of a `judges` entry that say what it judges, not how it is called.
JUDGE_ROLE_KEYS = ("name", "roles")


def judge_client(judge: Mapping[str, Any], cache_dir: str) -> Any:
    """The client of a `judges` entry or an API model's `api` block (the JudgeConfig keys)."""
    from amalia_wf.judge.client import JudgeClient, JudgeConfig

    return JudgeClient(JudgeConfig.from_dict({**{k: v for k, v in judge.items() if k not in JUDGE_ROLE_KEYS}, "cache_dir": cache_dir}))


def alba_fewshots(train_raw: str, out: str, objective: str) -> None:
    """ALBA's judge few-shots (upstream's fewshot_samples.csv), regenerated from the graded CSVs."""
    from amalia_wf.figures import write_csv
    from amalia_wf.genbench.alba import fewshot_table

    write_csv(fewshot_table(csv_dir(train_raw), objective=objective), out)


def judge(
    bench: str,
    responses: str,
    out: str,
    summary_out: str,
    judge_cfg: Mapping[str, Any],
    cache_dir: str,
    fewshots: str | None = None,
    variant: str = "PT-C-ST",
    scorer: str | None = None,
) -> dict[str, Any]:
    """Judge one model's answers to one benchmark with one judge (a `judges` entry); write the verdicts
    and the summary (missing counted). `scorer`: the name of P3B3's scored rows (default judge:<variant>)."""
    from amalia_wf.genbench import alba, p3b3_aggregate, p3b3_judge, ptexams_open
    from amalia_wf.genbench.p3b3 import score_answered

    client = judge_client(judge_cfg, cache_dir)
    records = list(read_jsonl_gz(responses))
    if bench == "alba":
        assert fewshots is not None
        judged = alba.judge(records, alba.fewshots_by_category(fewshots), client)
        summary = alba.summarize_alba(judged)
    elif bench == "pt_e_open":
        judged = ptexams_open.judge(records, client)
        summary = ptexams_open.summarize_open(judged)
    elif bench == "p3b3":
        name = scorer or f"judge:{variant}"
        judged = score_answered(records, name, lambda answered: p3b3_judge.judge_p3b3(answered, client, variant, name))
        summary = {"benchmark": "p3b3", "variant": variant, "summary": p3b3_aggregate.summary(judged).to_dict("records")}
    else:
        raise ValueError(f"{bench} is not a judged benchmark ({JUDGED})")
    summary["judge"] = {"name": judge_cfg.get("name"), "base_url": judge_cfg["base_url"], "model": judge_cfg["model"],
                        "calls": len(records), "failed": len(client.failures)}
    write_jsonl_gz(out, judged)
    write_json(summary_out, summary)
    log.info("judged %d %s answers with %s: %d calls failed for good (counted missing)", len(records), bench, judge_cfg["model"], len(client.failures))
    return summary


def guard(bench: str, spec: ModelSpec, cfg: Mapping[str, Any], model_input: str, responses: str, out: str, summary_out: str) -> dict[str, Any]:
    """Qwen3Guard verdicts on one model's safety answers, and the attack success rate."""
    from amalia_wf.genbench.safety import guard_responses, summarize_safety

    model_dir, revision = local_model(spec, model_input)
    log.info("guard %s @ %s on %s", model_dir, revision, responses)
    classified = guard_responses(model_dir, list(read_jsonl_gz(responses)), batch_size=cfg.get("batch_size", 8))
    summary = {**summarize_safety(classified, bench), "guard": {"source": spec.hub or model_input, "revision": revision}}
    write_jsonl_gz(out, classified)
    write_json(summary_out, summary)
    return summary
