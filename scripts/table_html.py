"""A result table's Markdown as a self-contained HTML page, shown inline in the report."""

from amalia_wf.jobs import setup

setup(snakemake)
from pathlib import Path

from amalia_wf.io import atomic_path
from amalia_wf.report import markdown_html

with atomic_path(snakemake.output[0]) as tmp:
    tmp.write_text(markdown_html(Path(snakemake.input[0]).read_text(encoding="utf-8")), encoding="utf-8")
