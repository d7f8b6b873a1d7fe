"""Functions the task YAMLs reference with `!function utils.<name>` (lm-eval loads this file by path)."""

from __future__ import annotations

from typing import Any

from amalia_wf.evaluate.answers import ensure_punkt_tab, pheb_scores


def pt_e_process_results(doc: dict[str, Any], results: list[str]) -> dict[str, float]:
    return pheb_scores(doc["subject"], doc["answer"], results[0])


def ifeval_process_results(doc: dict[str, Any], results: list[str]) -> dict[str, Any]:
    # Imported here, after ensure_punkt_tab(): importing lm-eval's IFEval module tries to download
    # punkt_tab when NLTK cannot find it.
    ensure_punkt_tab()
    from lm_eval.tasks.ifeval.utils import process_results

    return process_results(doc, results)


def agg_inst_level_acc(items: list[list[bool]]) -> float:
    ensure_punkt_tab()
    from lm_eval.tasks.ifeval.utils import agg_inst_level_acc

    return agg_inst_level_acc(items)
