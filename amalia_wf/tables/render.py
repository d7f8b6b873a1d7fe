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


def _cell_text(row: pd.Series, latex: bool = False, decimals: int = 1) -> str:
    rep = "–" if pd.isna(row["reported"]) else f"{row['reported']:.{decimals}f}"
    if pd.isna(row["reproduced"]):
        # "missing", or why there is no value ("not run: no judge configured")
        return f"{_tex_escape(str(row['status'])) if latex else row['status']} / {rep}"
    flag = ("$^\\dagger$" if latex else FLAG) if row["status"] == "differs" else ""
    diff = "" if pd.isna(row["difference"]) else f" ({row['difference']:+.{decimals}f})"
    return f"{row['reproduced']:.{decimals}f}{flag} / {rep}{diff}"


def wide(frame: pd.DataFrame, columns: Sequence[str], latex: bool = False, decimals: int = 1) -> list[tuple[str, str, list[str]]]:
    """(group, row label, cell texts in column order) per table row, in the compared order."""
    out: list[tuple[str, str, list[str]]] = []
    for (group, model, paper_row), rows in frame.groupby(["group", "model", "paper_row"], sort=False):
        by_column = {r["column"]: _cell_text(r, latex, decimals) for _, r in rows.iterrows()}
        out.append((group, _label(model, paper_row), [by_column.get(c, "missing / –") for c in columns]))
    return out


def markdown(frame: pd.DataFrame, columns: Sequence[str], title: str, tolerance: float, decimals: int = 1, notes: Sequence[str] = ()) -> str:
    """`notes`: lines printed under the legend (which scorer filled a column, and the like)."""
    lines = [f"# {title}", "", f"Each cell: reproduced / reported (difference). {FLAG} = more than {tolerance:g} points from the paper.", ""]
    lines += [f"{note}\n" for note in notes]
    lines.append("| Model | " + " | ".join(columns) + " |")
    lines.append("|" + "---|" * (len(columns) + 1))
    current = None
    for group, label, cells in wide(frame, columns, decimals=decimals):
        if group != current:
            lines.append(f"| *{GROUPS.get(group, group)}* |" + " |" * len(columns))
            current = group
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _tex_escape(text: str) -> str:
    for a, b in (("\\", "\\textbackslash{}"), ("&", "\\&"), ("%", "\\%"), ("_", "\\_"), ("#", "\\#")):
        text = text.replace(a, b)
    return text


def latex(frame: pd.DataFrame, columns: Sequence[str], title: str, tolerance: float, decimals: int = 1, notes: Sequence[str] = ()) -> str:
    lines = [
        "\\begin{table}[t]",
        "\\small",
        "\\begin{tabular}{l" + "c" * len(columns) + "}",
        "\\toprule",
        "Model & " + " & ".join(_tex_escape(c) for c in columns) + " \\\\",
        "\\midrule",
    ]
    current = None
    for group, label, cells in wide(frame, columns, latex=True, decimals=decimals):
        if group != current:
            lines.append(f"\\multicolumn{{{len(columns) + 1}}}{{l}}{{\\textit{{{GROUPS.get(group, group)}}}}} \\\\")
            current = group
        lines.append(_tex_escape(label) + " & " + " & ".join(cells) + " \\\\")
    lines += [
        "\\bottomrule",
        "\\end{tabular}",
        f"\\caption{{{_tex_escape(title)}. Reproduced / reported (difference); $^\\dagger$: more than {tolerance:g} points from the paper."
        + "".join(f" {_tex_escape(note)}" for note in notes)
        + "}",
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
    for i, status, value in zip(y, rows["status"], rows["reproduced"]):
        if pd.isna(value):
            ax.text(0, i - 0.2, f" {status}", va="center", fontsize=7)
    ax.set_yticks(list(y), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel(column)
    ax.legend(fontsize=7)
    fig.tight_layout()
    write_png(fig, path)


def write_all(
    frame: pd.DataFrame,
    columns: Sequence[str],
    title: str,
    tolerance: float,
    out: Mapping[str, str],
    plots_dir: str | None = None,
    decimals: int = 1,
    notes: Sequence[str] = (),
) -> None:
    """`out`: csv, md, tex paths; one PNG per column under `plots_dir` when given; `notes` go under
    the Markdown legend and into the LaTeX caption."""
    write_csv(frame, out["csv"])
    texts = (("md", markdown(frame, columns, title, tolerance, decimals, notes)), ("tex", latex(frame, columns, title, tolerance, decimals, notes)))
    for kind, text in texts:
        with atomic_path(out[kind]) as tmp:
            tmp.write_text(text, encoding="utf-8")
    if plots_dir:
        os.makedirs(plots_dir, exist_ok=True)
        for column in columns:
            bar_chart(frame, column, os.path.join(plots_dir, f"{column.replace(' ', '_').replace('(', '').replace(')', '')}.png"))
