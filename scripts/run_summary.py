"""The run for the report: job runtimes and memory, the config used, software versions, cell provenance."""

from amalia_wf.jobs import setup

setup(snakemake)
import yaml

from amalia_wf.figures import write_csv
from amalia_wf.io import atomic_path
from amalia_wf.report import BenchmarkJob, provenance, runtime_chart, runtimes, versions

out = snakemake.output
params = snakemake.params

frame = runtimes([BenchmarkJob(**job) for job in params.jobs])
write_csv(frame, out.runtimes)
runtime_chart(frame, out.runtimes_plot)

with atomic_path(out.config) as tmp:
    header = "".join(f"# {line}\n" for line in params.config_origin)
    tmp.write_text(header + yaml.safe_dump(dict(snakemake.config), sort_keys=False, allow_unicode=True), encoding="utf-8")

write_csv(versions(params.snakemake_version), out.versions)
write_csv(provenance(params.tables), out.provenance)
