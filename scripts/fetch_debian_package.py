"""One pinned Debian package: apt-get download, sha256 check, dpkg-deb -x."""

from amalia_wf.jobs import setup

setup(snakemake)
from amalia_wf.data.debian_packages import fetch

pin = snakemake.params.pin
fetch(snakemake.wildcards.package, pin["version"], pin["sha256"], snakemake.output.deb, snakemake.output.tree)
