"""A compared table (amalia_wf.tables.compare) as CSV, Markdown, LaTeX and one bar chart per column."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import pandas as pd

from amalia_wf.figures import plt, write_csv, write_png
from amalia_wf.io import atomic_path
from amalia_wf.tables.compare import GROUPS

FLAG = "†"  # outside the tolerance


def _label(model: str, paper_row: str) -> str:
    if model and paper_row:
        return f"{model} ({paper_row})"
    return model or paper_row


def _cell_text(row: pd.Series, latex: bool = False) -> str:
    rep = "–" if pd.isna(row["reported"]) else f"{row['reported']:.1f}"
    if row["status"] == "missing":
        return f"missing / {rep}"
    flag = ("$^\\dagger$" if latex else FLAG) if row["status"] == "differs" else ""
    diff = "" if pd.isna(row["difference"]) else f" ({row['difference']:+.1f})"
    return f"{row['reproduced']:.1f}{flag} / {rep}{diff}"


def wide(frame: pd.DataFrame, columns: Sequence[str], latex: bool = False) -> list[tuple[str, str, list[str]]]:
    """(group, row label, cell texts in column order) per table row, in the compared order."""
    out: list[tuple[str, str, list[str]]] = []
    for (group, model, paper_row), rows in frame.groupby(["group", "model", "paper_row"], sort=False):
        by_column = {r["column"]: _cell_text(r, latex) for _, r in rows.iterrows()}
        out.append((group, _label(model, paper_row), [by_column.get(c, "missing / –") for c in columns]))
    return out


def markdown(frame: pd.DataFrame, columns: Sequence[str], title: str, tolerance: float) -> str:
    lines = [f"# {title}", "", f"Each cell: reproduced / reported (difference). {FLAG} = more than {tolerance:g} points from the paper.", ""]
    lines.append("| Model | " + " | ".join(columns) + " |")
    lines.append("|" + "---|" * (len(columns) + 1))
    current = None
    for group, label, cells in wide(frame, columns):
        if group != current:
            lines.append(f"| *{GROUPS.get(group, group)}* |" + " |" * len(columns))
            current = group
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _tex_escape(text: str) -> str:
    for a, b in (("\\", "\\textbackslash{}"), ("&", "\\&"), ("%", "\\%"), ("_", "\\_"), ("#", "\\#")):
        text = text.replace(a, b)
    return text


def latex(frame: pd.DataFrame, columns: Sequence[str], title: str, tolerance: float) -> str:
    lines = [
        "\\begin{table}[t]",
        "\\small",
        "\\begin{tabular}{l" + "c" * len(columns) + "}",
        "\\toprule",
        "Model & " + " & ".join(_tex_escape(c) for c in columns) + " \\\\",
        "\\midrule",
    ]
    current = None
    for group, label, cells in wide(frame, columns, latex=True):
        if group != current:
            lines.append(f"\\multicolumn{{{len(columns) + 1}}}{{l}}{{\\textit{{{GROUPS.get(group, group)}}}}} \\\\")
            current = group
        lines.append(_tex_escape(label) + " & " + " & ".join(cells) + " \\\\")
    lines += [
        "\\bottomrule",
        "\\end{tabular}",
        f"\\caption{{{_tex_escape(title)}. Reproduced / reported (difference); $^\\dagger$: more than {tolerance:g} points from the paper.}}",
        "\\end{table}",
    ]
    return "\n".join(lines) + "\n"


def bar_chart(frame: pd.DataFrame, column: str, path: str | os.PathLike[str]) -> None:
    """Reproduced vs reported for one column; a missing value is an absent bar, never a zero bar."""
    rows = frame[frame["column"] == column]
    labels = [_label(m, p) for m, p in zip(rows["model"], rows["paper_row"])]
    fig, ax = plt.subplots(figsize=(7, max(2.5, 0.35 * len(rows) + 1)))
    y = range(len(rows))
    ax.barh([i - 0.2 for i in y], rows["reproduced"].astype(float), height=0.4, label="reproduced")
    ax.barh([i + 0.2 for i in y], rows["reported"].astype(float), height=0.4, label="reported (paper)")
    for i, status in zip(y, rows["status"]):
        if status == "missing":
            ax.text(0, i - 0.2, " missing", va="center", fontsize=7)
    ax.set_yticks(list(y), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel(column)
    ax.legend(fontsize=7)
    fig.tight_layout()
    write_png(fig, path)


def write_all(frame: pd.DataFrame, columns: Sequence[str], title: str, tolerance: float, out: Mapping[str, str], plots_dir: str | None = None) -> None:
    """`out`: csv, md, tex paths; one PNG per column under `plots_dir` when given."""
    write_csv(frame, out["csv"])
    for kind, text in (("md", markdown(frame, columns, title, tolerance)), ("tex", latex(frame, columns, title, tolerance))):
        with atomic_path(out[kind]) as tmp:
            tmp.write_text(text, encoding="utf-8")
    if plots_dir:
        os.makedirs(plots_dir, exist_ok=True)
        for column in columns:
            bar_chart(frame, column, os.path.join(plots_dir, f"{column.replace(' ', '_').replace('(', '').replace(')', '')}.png"))
