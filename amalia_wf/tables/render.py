"""A compared table (amalia_wf.tables.compare) as CSV, Markdown, LaTeX, HTML and one bar chart per column.

Markdown, LaTeX and HTML are rendered by pandas from one wide frame (`table_cells`): one row per
model or paper row in the compared order (the paper's rows in its order, then the rows it does not
have, under "Not in the paper"), under its group (Fully open / Open weight / ...) as the outer index
level, one column per table column. `table_cells` is the one place where a cell's text and its
style classes are decided; each writer applies the classes in its own syntax (Markdown: `**` and
<ins>; LaTeX: \\textbf and \\underline through pandas' Styler; HTML: CSS classes).

The papers' emphasis, computed on the reproduced values: bold ("best") is the best value of a
column, underlined ("best_open") the best of the fully open models where that is not the best
overall (the AMALIA paper's Tables 3-5 underline only then). Only cells whose value stands compete
(a partial or missing cell does not, nor a reference row: compare.REFERENCE_GROUPS), and only where
two or more do; which way is better is the compared frame's `better` column.
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping, Sequence

import pandas as pd
from pandas.io.formats.style import Styler

from amalia_wf.figures import plt, write_csv, write_png
from amalia_wf.io import atomic_path
from amalia_wf.tables.compare import GROUPS, HIGHER, LOWER, PARTIAL, REFERENCE_GROUPS

FLAG = "†"  # outside the tolerance
NO_CELL = "missing / –"  # a column the long frame has no row for
# The header of the row labels (the columns' index name: Styler prints it above them).
ROW_HEADER = "Model"
NOT_IN_PAPER = "Not in the paper"  # the group of the rows the paper does not have
BEST, BEST_OPEN = "best", "best_open"
# Style classes of a cell (table_cells): its look in the HTML page, in LaTeX (Styler's
# "command: --rwrap" wraps the cell in \command{...}) and in Markdown. GitHub keeps <ins> (its
# sanitizer allows it, and browsers underline it) but strips <u>, so Markdown underlines with <ins>.
HTML_STYLES = {
    "differs": "background: #fde2e1;",
    "missing": "color: #999;",
    PARTIAL: "background: #fff4ce;",
    BEST: "font-weight: bold;",
    BEST_OPEN: "text-decoration: underline;",
}
LATEX_STYLES = {BEST: "textbf: --rwrap;", BEST_OPEN: "underline: --rwrap;"}
MARKDOWN_STYLES = {BEST: "**{}**", BEST_OPEN: "<ins>{}</ins>"}
HTML_TABLE_STYLES = [
    {"selector": "", "props": "border-collapse: collapse; font-family: system-ui, sans-serif; font-size: 13px;"},
    {"selector": "caption", "props": "caption-side: top; text-align: left; padding-bottom: 0.5em;"},
    {"selector": "th", "props": "border: 1px solid #ccc; padding: 3px 6px; white-space: nowrap; text-align: left; font-weight: normal;"},
    {"selector": "thead th", "props": "background: #f0f0f0; font-weight: 600;"},
    {"selector": "td", "props": "border: 1px solid #ccc; padding: 3px 6px; white-space: nowrap;"},
    *({"selector": f"td.{name}", "props": props} for name, props in HTML_STYLES.items()),
]


def _label(model: str, paper_row: str) -> str:
    if model and paper_row:
        return f"{model} ({paper_row})"
    return model or paper_row


def _cell(row: pd.Series, decimals: int) -> tuple[str, str]:
    """(text, style classes) of one compared cell: "reproduced† / reported (difference)", its
    status ("missing", "not run: no judge configured") in place of the value, or a partial value
    with its counts and no difference."""
    rep = "–" if pd.isna(row["reported"]) else f"{row['reported']:.{decimals}f}"
    if pd.isna(row["reproduced"]):
        return f"{row['status']} / {rep}", "missing"
    if row["status"] == PARTIAL:
        return f"{row['reproduced']:.{decimals}f} ({PARTIAL}: {row['scored']}/{row['expected']} scored) / {rep}", PARTIAL
    differs = row["status"] == "differs"
    diff = "" if pd.isna(row["difference"]) else f" ({row['difference']:+.{decimals}f})"
    se = "" if pd.isna(row["stderr"]) else f" ±{row['stderr']:.{decimals}f}"
    return f"{row['reproduced']:.{decimals}f}{se}{FLAG if differs else ''} / {rep}{diff}", "differs" if differs else ""


def _emphasis(frame: pd.DataFrame, decimals: int) -> pd.Series:
    """Per row of the long frame: "best", "best_open" or "" (module docstring). Values are compared
    as printed, so cells that read the same are emphasised alike."""
    value = frame["reproduced"].astype(float).round(decimals)
    competes = value.notna() & (frame["status"] != PARTIAL) & frame["better"].isin([HIGHER, LOWER]) & ~frame["group"].isin(REFERENCE_GROUPS)
    competes &= competes.groupby(frame["column"]).transform("sum") > 1  # a lone value is no one's best
    sign = frame["better"].map({HIGHER: 1.0, LOWER: -1.0})
    score = (value * sign).where(competes)  # higher is better for every column now
    best = score == score.groupby(frame["column"]).transform("max")
    open_score = score.where(frame["group"] == "fully_open")
    best_open = (open_score == open_score.groupby(frame["column"]).transform("max")) & ~best
    return pd.Series([BEST if b else BEST_OPEN if o else "" for b, o in zip(best, best_open)], index=frame.index)


def table_cells(frame: pd.DataFrame, columns: Sequence[str], decimals: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The wide table: (cell texts, cell style classes, space-separated), same shape; index (group,
    row label) in the compared order, columns the table's in `columns` order. Every format is
    rendered from these two frames."""
    keys = ["group", "model", "paper_row"]
    decided = [_cell(row, decimals) for _, row in frame.iterrows()]
    classes = [" ".join(filter(None, (c, e))) for (_, c), e in zip(decided, _emphasis(frame, decimals))]
    long = frame[keys + ["column"]].assign(text=[t for t, _ in decided], css=classes)
    order = pd.MultiIndex.from_frame(long[keys].drop_duplicates())
    text = long.pivot(index=keys, columns="column", values="text").reindex(index=order, columns=list(columns))
    css = long.pivot(index=keys, columns="column", values="css").reindex(index=order, columns=list(columns))
    absent = text.isna()
    text, css = text.mask(absent, NO_CELL), css.mask(absent, "missing")
    # A row is the paper's when the paper reports any of its cells (compare puts those first).
    in_paper = frame.groupby(keys, sort=False)["reported"].agg(lambda r: r.notna().any()).reindex(order)
    groups = [GROUPS.get(g, g) if paper else NOT_IN_PAPER for g, paper in zip(order.get_level_values("group"), in_paper)]
    index = pd.MultiIndex.from_arrays([groups, [_label(m, p) for _, m, p in order]])
    header = pd.Index(list(columns), name=ROW_HEADER)
    return text.set_axis(index, axis=0).set_axis(header, axis=1), css.set_axis(index, axis=0).set_axis(header, axis=1)


def styled(frame: pd.DataFrame, columns: Sequence[str], decimals: int, escape: str) -> Styler:
    """The wide table as a Styler, its cells' style classes applied for `escape` ("html": CSS
    classes; "latex": commands wrapping the cell) and every text escaped for it."""
    text, css = table_cells(frame, columns, decimals)
    styler = text.style
    if escape == "latex":
        commands = css.map(lambda classes: "".join(LATEX_STYLES.get(c, "") for c in classes.split()))
        styler = styler.apply(lambda _: commands, axis=None)
    else:
        styler = styler.set_td_classes(css)
    return styler.format(escape=escape).format_index(escape=escape, axis=0).format_index(escape=escape, axis=1)


def legend(tolerance: float) -> str:
    return (
        f"Each cell: reproduced / reported (difference); ±: the reproduced value's standard error, where measured. {FLAG} = more than {tolerance:g} points from the paper. "
        "Bold: the best reproduced value of the column; underlined: the best fully open model's, where it is not the best. "
        f"{PARTIAL}: k/n scored = measured on too few of its items (tables.min_coverage, tables.min_variety_coverage), not compared."
    )


def markdown(frame: pd.DataFrame, columns: Sequence[str], title: str, tolerance: float, decimals: int = 1, notes: Sequence[str] = ()) -> str:
    """`notes`: lines printed under the legend (which scorer filled a column, and the like)."""
    text, css = table_cells(frame, columns, decimals)
    for style, form in MARKDOWN_STYLES.items():
        text = text.mask(css.map(lambda classes, s=style: s in classes.split()), text.map(form.format))
    rows = text.reset_index(names=["Group", ROW_HEADER])
    rows["Group"] = rows["Group"].mask(rows["Group"].duplicated(), "")  # each group named once, on its first row
    head = [f"# {title}", "", legend(tolerance), "", *(f"{note}\n" for note in notes)]
    return "\n".join(head) + "\n" + rows.to_markdown(index=False) + "\n"


def _latex_text(text: str) -> str:
    """`text` escaped for LaTeX as pandas escapes a cell (Styler leaves captions as they are)."""
    return pd.DataFrame([[text]]).style.hide(axis=0).hide(axis=1).format(escape="latex").to_string().rstrip("\n")


def latex(frame: pd.DataFrame, columns: Sequence[str], title: str, tolerance: float, decimals: int = 1, notes: Sequence[str] = ()) -> str:
    caption = " ".join(_latex_text(t) for t in (f"{title}.", legend(tolerance), *notes))
    return styled(frame, columns, decimals, "latex").to_latex(
        column_format="ll" + "c" * len(columns),
        position="t",
        environment="table",
        hrules=True,
        multirow_align="naive",  # the group on its first row, without the multirow package
        caption=caption,
    )


def html_page(frame: pd.DataFrame, columns: Sequence[str], title: str, tolerance: float, decimals: int = 1, notes: Sequence[str] = ()) -> str:
    """A self-contained page (the report shows HTML inline): red-shaded cells differ from the paper
    by more than the tolerance, yellow ones are partial, grey ones have no value."""
    caption = "<br>".join([f"<strong>{html.escape(title)}</strong>", *map(html.escape, (legend(tolerance), *notes))])
    return styled(frame, columns, decimals, "html").set_caption(caption).set_table_styles(HTML_TABLE_STYLES).to_html(doctype_html=True)


def bar_chart(frame: pd.DataFrame, column: str, path: str | os.PathLike[str]) -> None:
    """Reproduced vs reported for one column; a missing value is an absent bar, never a zero bar, and
    a partial one is labelled with its counts."""
    rows = frame[frame["column"] == column]
    labels = [_label(m, p) for m, p in zip(rows["model"], rows["paper_row"])]
    fig, ax = plt.subplots(figsize=(7, max(2.5, 0.35 * len(rows) + 1)))
    y = range(len(rows))
    ax.barh([i - 0.2 for i in y], rows["reproduced"].astype(float), height=0.4, label="reproduced")
    ax.barh([i + 0.2 for i in y], rows["reported"].astype(float), height=0.4, label="reported (paper)")
    for i, (_, row) in zip(y, rows.iterrows()):
        if pd.isna(row["reproduced"]):
            ax.text(0, i - 0.2, f" {row['status']}", va="center", fontsize=7)
        elif row["status"] == PARTIAL:
            ax.text(row["reproduced"], i - 0.2, f" {PARTIAL}: {row['scored']}/{row['expected']} scored", va="center", fontsize=7)
    ax.set_yticks(list(y), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel(column)
    ax.legend(fontsize=7)
    fig.tight_layout()
    write_png(fig, path)


FORMATS = {"md": markdown, "tex": latex, "html": html_page}


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
    """`out`: csv, md, tex and html paths; one PNG per column under `plots_dir` when given; `notes`
    go under the legend (Markdown, HTML) and into the caption (LaTeX)."""
    write_csv(frame, out["csv"])
    for kind, render in FORMATS.items():
        with atomic_path(out[kind]) as tmp:
            tmp.write_text(render(frame, columns, title, tolerance, decimals, notes), encoding="utf-8")
    if plots_dir:
        os.makedirs(plots_dir, exist_ok=True)
        for column in columns:
            bar_chart(frame, column, os.path.join(plots_dir, f"{column.replace(' ', '_').replace('(', '').replace(')', '')}.png"))
