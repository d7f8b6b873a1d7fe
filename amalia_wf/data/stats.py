"""The data stage's report: funnel, removal reasons, token counts and plots."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from amalia_wf.data.shard import LANG_BINS
from amalia_wf.figures import plt, write_csv, write_png
from amalia_wf.io import read_json

# Input files and bytes are counted on the first row (warc_read) only: what was read and what was skipped.
FILE_COLUMNS = ["files_in", "files_skipped", "bytes_in", "bytes_skipped"]
FUNNEL_COLUMNS = ["collection", "stage", *FILE_COLUMNS, "docs_in", "docs_out", "chars_in", "chars_out"]
FAULT_COLUMNS = ["collection", "file", "size", "records_skipped", "bytes_skipped", "file_skipped", "reason"]


def _funnel_rows(collection: str, funnel: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"collection": collection, **row} for row in funnel["stages"]]


def _reason_rows(collection: str, funnel: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"collection": collection, **row} for row in funnel["reasons"]]


def collect(shard_stats: Sequence[str], label_stats: Sequence[str], split_stats: Sequence[str]) -> dict[str, Any]:
    funnel: list[dict[str, Any]] = []
    reasons: list[dict[str, Any]] = []
    hist: dict[str, list[int]] = {}
    domains: Counter[str] = Counter()
    corrupt: list[dict[str, Any]] = []
    for path in shard_stats:
        s = read_json(path)
        read = s["read"]
        first_stage = s["funnel"]["stages"][0] if s["funnel"]["stages"] else {"docs_in": 0, "chars_in": 0}
        funnel.append(
            {"collection": s["collection"], "stage": "warc_read",
             "files_in": read["files"], "files_skipped": read["files_skipped"],
             "bytes_in": read["bytes"], "bytes_skipped": read["bytes_skipped"],
             "docs_in": read["records"] + read["corrupt"], "docs_out": first_stage["docs_in"],
             "chars_in": None, "chars_out": first_stage["chars_in"]}
        )
        for reason in ("not_200", "not_html", "undecodable", "corrupt"):
            if read[reason]:
                reasons.append({"collection": s["collection"], "stage": "warc_read", "reason": reason, "docs": read[reason]})
        corrupt += [{"collection": s["collection"], **fault} for fault in read["faults"]]
        funnel += _funnel_rows(s["collection"], s["funnel"])
        reasons += _reason_rows(s["collection"], s["funnel"])
        for lang, counts in s["language_histogram"].items():
            hist[lang] = [a + b for a, b in zip(hist.get(lang, [0] * LANG_BINS), counts)]
        domains.update(s["domains"])
    for path in label_stats:
        s = read_json(path)
        funnel += _funnel_rows(s["collection"], s["funnel"])
        reasons += _reason_rows(s["collection"], s["funnel"])
    tokens = []
    for path in split_stats:
        s = read_json(path)
        tokens.append({k: s[k] for k in ("label", "documents", "characters", "tokens", "unit")})
        for collection, f in s["funnel"].items():
            funnel += _funnel_rows(collection, f)
            reasons += _reason_rows(collection, f)
    return {"funnel": funnel, "reasons": reasons, "tokens": tokens, "language_histogram": hist, "domains": domains, "corrupt": corrupt}


def _sum_by(rows: list[dict[str, Any]], keys: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    order = list(dict.fromkeys(frame[keys].itertuples(index=False, name=None)))  # pipeline order, not alphabetical
    summed = frame.groupby(keys, sort=False, dropna=False).sum(min_count=1).reset_index()
    return summed.set_index(keys).loc[order].reset_index()


def write_outputs(collected: Mapping[str, Any], out: Mapping[str, str], top_domains: int = 25) -> None:
    funnel = _sum_by(collected["funnel"], ["collection", "stage"])
    for column in ("chars_in", *FILE_COLUMNS):
        funnel[column] = funnel[column].astype("Int64")
    write_csv(funnel[FUNNEL_COLUMNS], out["funnel"])
    reasons = pd.DataFrame(collected["reasons"], columns=["collection", "stage", "reason", "docs"])
    write_csv(reasons.groupby(["collection", "stage", "reason"], sort=True).sum().reset_index(), out["reasons"])
    write_csv(pd.DataFrame(collected["tokens"], columns=["label", "documents", "characters", "tokens", "unit"]), out["tokens"])
    write_csv(pd.DataFrame(collected["corrupt"], columns=FAULT_COLUMNS), out["corrupt"])

    fig, ax = plt.subplots(figsize=(7, 4))
    edges = [i / LANG_BINS for i in range(LANG_BINS)]
    for lang, counts in sorted(collected["language_histogram"].items()):
        ax.bar(edges, counts, width=1 / LANG_BINS, align="edge", alpha=0.6, label=lang)
    ax.set_xlabel("language-ID score")
    ax.set_ylabel("documents")
    ax.set_title("Language-ID scores of extracted documents")
    ax.legend()
    write_png(fig, out["language_plot"])

    top = sorted(collected["domains"].items(), key=lambda kv: (-kv[1], kv[0]))[:top_domains]
    fig, ax = plt.subplots(figsize=(7, max(2.5, 0.25 * len(top) + 1)))
    ax.barh([d for d, _ in reversed(top)], [n for _, n in reversed(top)])
    ax.set_xlabel("kept documents")
    ax.set_title(f"Top {len(top)} registered domains after filtering")
    fig.tight_layout()
    write_png(fig, out["domain_plot"])


def run(shard_stats: Sequence[str], label_stats: Sequence[str], split_stats: Sequence[str], out: Mapping[str, str]) -> None:
    for path in out.values():
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    write_outputs(collect(shard_stats, label_stats, split_stats), out)
