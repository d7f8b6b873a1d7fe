# The reviewer's report (`snakemake --report results/report.html`): beside the tables, plots and
# curves the stages mark with report(), the run itself (category "Run"): runtime and memory of
# every benchmarked job, the config used, the software versions and, for every table cell, the
# rule and inputs that produced it. The tables' Markdown is also rendered to HTML, which the
# report shows inline (CSV, Markdown and YAML it offers only as downloads).
#
# Tables and benchmarked jobs are found among workflow.rules by input functions, evaluated once
# the whole Snakefile is parsed: those of stages included after this file are found as well.
#
# Benchmark files: the summary takes the exact path of every benchmark file of this DAG's jobs as
# an input. Snakemake counts a benchmark file among its job's products (like outputs and logs), so
# each path resolves to the job that writes it: the summary runs after all of them and reads
# exactly their files. Globbing results/benchmarks/ at run time (behind a dependency on the final
# outputs) would also read files of jobs no longer in the run (shards of an earlier
# `files_per_shard`, a model dropped from the config) and could not tell a missing file from a job
# that did not run. One consequence: a benchmark file deleted by hand makes its job rerun the next
# time the summary is built. The values of each benchmark wildcard are those below; a rule's jobs
# are the product of its wildcards' values.
# A benchmarked rule with a wildcard known to neither stops the DAG build with a message naming it.
from snakemake import __version__ as SNAKEMAKE_VERSION

from amalia_wf.report_inputs import benchmark_jobs, output_patterns, report_flag, report_subcategory, static_inputs, table_files

# A table its rule does not mark for the report is marked here, as an input of run_summary (the
# report shows marked inputs too), beside the rule's other tables: no table is left out. The
# caption is resolved here, at parse time, as Snakemake does for the report() of a rule's files.
UNMARKED_TABLE_CAPTION = workflow.current_basedir.join("../report/table_unmarked.rst")

# Values of the benchmark wildcards, by name ({collection} and {shard} come from SHARD_IDS, in pairs).
REPORT_WILDCARDS = {"label": LABELS, "source": list(MIXTURE), "model": list(EVAL_MODELS)} | GB_PLAN.wildcards


rule run_summary:
    input:
        benchmarks=lambda wc: [
            j["path"] for j in benchmark_jobs(workflow.rules, REPORT_WILDCARDS, SHARD_IDS)
        ],
        tables=lambda wc: [
            path
            if report_flag(workflow.rules, path)
            else report(path, caption=UNMARKED_TABLE_CAPTION, category="Tables", subcategory=report_subcategory(workflow.rules, path, name))
            for name, (path, _) in table_files(workflow.rules, "csv").items()
        ],
        plan=report("results/report/plan.csv", category="Run", caption="../report/plan.rst"),  # rules/plan.smk
    output:
        runtimes=report("results/report/runtimes.csv", category="Run", caption="../report/runtimes.rst"),
        runtimes_plot=report("results/report/runtimes.png", category="Run", caption="../report/runtimes_plot.rst"),
        config=report("results/report/config.yaml", category="Run", caption="../report/config.rst"),
        versions=report("results/report/versions.csv", category="Run", caption="../report/versions.rst"),
        provenance=report("results/report/provenance.csv", category="Run", caption="../report/provenance.rst"),
    params:
        jobs=lambda wc: benchmark_jobs(workflow.rules, REPORT_WILDCARDS, SHARD_IDS),
        tables=lambda wc: {
            n: {"path": p, "rule": r, "inputs": static_inputs(workflow.rules, r)} for n, (p, r) in table_files(workflow.rules, "csv").items()
        },
        # Which rule wrote a file a cell's produced_by names (when it does not name the rule).
        producers=lambda wc: output_patterns(workflow.rules),
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


rule table_html:
    input:
        "results/tables/{table}.md",
    output:
        report(
            "results/report/tables/{table}.html",
            category="Tables",
            # Beside the table's CSV and Markdown.
            subcategory=lambda wc: report_subcategory(workflow.rules, f"results/tables/{wc.table}.md", wc.table),
            caption="../report/table_html.rst",
        ),
    wildcard_constraints:
        table=r"[^/]+",
    log:
        "results/logs/report/table_html/{table}.log",
    conda:
        "../envs/data.yaml"
    threads: threads_for("table_html")
    resources:
        **resources_for("table_html"),
    script:
        "../scripts/table_html.py"


rule run_report:
    input:
        rules.run_summary.output,
        lambda wc: [f"results/report/tables/{name}.html" for name in table_files(workflow.rules, "md")],
