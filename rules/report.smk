# The reviewer's report (`snakemake --report results/report.html`): beside the tables, plots and
# curves the stages mark with report(), the run itself (category "Run"): runtime and memory of
# every benchmarked job, the config used, the software versions and, for every table cell, the
# rule and inputs that produced it. Each table rule also writes its table as HTML, which the report
# shows inline (CSV, Markdown and YAML it offers only as downloads).
#
# Benchmark files: the summary takes the exact path of every benchmark file of this DAG's jobs as
# an input: BENCHMARK_PLAN (rules/common.smk) holds each benchmarked rule's pattern and jobs, as
# the rule's `benchmark:` registered them. Snakemake counts a benchmark file among its job's
# products (like outputs and logs), so each path resolves to the job that writes it: the summary
# runs after all of them and reads exactly their files. Globbing results/benchmarks/ at run time
# (behind a dependency on the final outputs) would also read files of jobs no longer in the run
# (shards of an earlier `files_per_shard`, a model dropped from the config) and could not tell a
# missing file from a job that did not run. One consequence: a benchmark file deleted by hand makes
# its job rerun the next time the summary is built.
#
# Tables: every one in amalia_wf.tables.registry this run makes (RUN_TABLES; the registry's entries
# are the table rules' outputs).
# Input functions: evaluated once the whole Snakefile is parsed, so the benchmarked rules of stages
# included after this file are read as well.
from dataclasses import asdict

from snakemake import __version__ as SNAKEMAKE_VERSION

from amalia_wf.tables.registry import html_pages

# A table its rule does not caption for the report is marked here, as an input of run_summary (the
# report shows marked inputs too), beside the rule's other tables: no table is left out. The
# caption is resolved here, at parse time, as Snakemake does for the report() of a rule's files.
UNMARKED_TABLE_CAPTION = workflow.current_basedir.join("../report/table_unmarked.rst")


rule run_summary:
    localrule: True
    input:
        benchmarks=lambda wc: [job.path for job in BENCHMARK_PLAN.jobs()],
        tables=[
            (
                report(
                    table_path(name, "csv"),
                    caption=UNMARKED_TABLE_CAPTION,
                    category="Tables",
                    subcategory=table.subcategory,
                )
                if table.caption is None
                else table_path(name, "csv")
            )
            for name, table in RUN_TABLES.items()
        ],
        plan=report("results/report/plan.csv", category="Run", caption="../report/plan.rst"),  # rules/plan.smk
    output:
        runtimes=report("results/report/runtimes.csv", category="Run", caption="../report/runtimes.rst"),
        runtimes_plot=report("results/report/runtimes.png", category="Run", caption="../report/runtimes_plot.rst"),
        config=report("results/report/config.yaml", category="Run", caption="../report/config.rst"),
        versions=report("results/report/versions.csv", category="Run", caption="../report/versions.rst"),
        provenance=report("results/report/provenance.csv", category="Run", caption="../report/provenance.rst"),
    params:
        jobs=lambda wc: [asdict(job) for job in BENCHMARK_PLAN.jobs()],
        # Each table's CSV, its rule and that rule's input files (what a table not compared cell by
        # cell, a summary, was computed from; input functions left out).
        tables=lambda wc: {
            name: {
                "path": table_path(name, "csv"),
                "rule": table.rule,
                "inputs": [str(f) for f in getattr(rules, table.rule).input if not callable(f)],
            }
            for name, table in RUN_TABLES.items()
        },
        # The config reaches the script as snakemake.config; its digest here reruns the summary
        # whenever the config changes.
        config_origin=[f"merged config of this run (digest {digest(config)}), from:", *map(str, workflow.configfiles)],
        snakemake_version=SNAKEMAKE_VERSION,
    log:
        "results/logs/report/run_summary.log",
    conda:
        "../envs/data.yaml"
    threads: threads_for("run_summary")
    resources:
        **resources_for("run_summary"),
    script:
        "../scripts/run_summary.py"


rule run_report:
    input:
        rules.run_summary.output,
        html_pages(RUN_TABLES),
