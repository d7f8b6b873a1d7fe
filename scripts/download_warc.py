"""Download one archive file listed in a collection's URL manifest (resumable, checksummed)."""

from amalia_wf.jobs import setup

setup(snakemake)
from pathlib import Path

from amalia_wf.config import url_manifest
from amalia_wf.data.download import download

name = snakemake.wildcards.filename
entry = next(e for e in url_manifest(Path(snakemake.params.manifest)) if e.filename == name)
download(entry.url, snakemake.output[0], entry.sha256)
