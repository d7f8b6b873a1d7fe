"""Download one archive file listed in a collection's URL manifest (resumable, checksummed)."""

from pathlib import Path

from amalia_wf.config import url_manifest
from amalia_wf.data.download import download
from amalia_wf.jobs import log_to

log_to(snakemake.log[0])
name = snakemake.wildcards.filename
entry = next(e for e in url_manifest(Path(snakemake.params.manifest)) if e.filename == name)
download(entry.url, snakemake.output[0], entry.sha256)
