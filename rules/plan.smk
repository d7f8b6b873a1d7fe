# The cost plan (amalia_wf/cost_plan.py): per rule, jobs x per-job request = GPU and CPU hours, the
# data stage's CPU hours estimated from the archives' size, and its outputs' storage. Included last,
# once every rule is defined: which rules run as cluster jobs
# is read off workflow.rules. Printed and written (results/report/plan.csv, which run_summary shows in
# the report) at every start, dry runs included, by the main process only: a job's own DAG build
# does not measure the archives.
from amalia_wf.cost_plan import CostPlan, job_counts, write_csv

if workflow.is_main_process:
    PLAN = CostPlan.build(
        config,
        FILES,
        job_counts(config["data"]["collections"], FILES, SHARDS, LABELS, BANDS, MIXTURE, EVAL_MODELS, GB_PLAN),
        submitted=[r.name for r in cluster_rules()],
    )
    logger.info(PLAN.table())
    write_csv(PLAN.records(), "results/report/plan.csv")
