"""The config's `resources` blocks and the workflow's rules agree: the schema names exactly the rules
that run jobs, and each of them asks for what the block named after it says."""

from __future__ import annotations

import pytest

from amalia_wf.config import load_schema
from tests.conftest import make_workdir
from tests.workflow_rules import workflow_rules

RESOURCE_NAMES = load_schema()["properties"]["resources"]["propertyNames"]["enum"]
# The rules that run on the submit host (localrule): fetches, API generation and the judges (network), the light
# ones (stats, curves, tables, report) and the preflight's checks that are not about a node.
LOCAL_RULES = {
    "fetch_benchmark", "prepare_benchmark", "fetch_eval_model", "genbench_fetch_model", "genbench_generate_api", "genbench_judge",
    "fetch_debian_package",
    "data_stats", "training_curves", "table3", "heldout_table", "table4", "table5", "p3b3_table1", "p3b3_table2", "p3b3_table5",
    "run_summary", "preflight_check", "preflight_table", "preflight",
}  # fmt: skip


@pytest.fixture(scope="module")
def rules(tmp_path_factory):
    """Every rule parsed with its own resources block: mem_mb and threads unique to the rule."""
    blocks = {name: {"mem_mb": 1001 + i, "threads": 1 + i} for i, name in enumerate(RESOURCE_NAMES) if name != "default"}
    workdir = make_workdir(tmp_path_factory.mktemp("rules"), {"resources": blocks})
    return workflow_rules(workdir, "override.yaml"), blocks


def test_schema_names_exactly_the_rules_that_run_jobs(rules):
    parsed, _ = rules
    jobs = {name for name, rule in parsed.items() if rule["job"]}
    names = set(RESOURCE_NAMES) - {"default"}
    assert not jobs - names, f"rules without a resources name in config/schema.yaml: {sorted(jobs - names)}"
    assert not names - jobs, f"resources names in config/schema.yaml that are no rule with a job: {sorted(names - jobs)}"
    assert len(RESOURCE_NAMES) == len(set(RESOURCE_NAMES))


# A model check asks for the memory of the rule that loads its model (rules/common.smk's
# model_check_resources): its threads are its own, its mem_mb that rule's, per job.
BORROWED_MEMORY = {"preflight_model"}


def test_every_rule_reads_the_block_named_after_it(rules):
    parsed, blocks = rules
    asked = {name: {k: parsed[name][k] for k in ("mem_mb", "threads")} for name in blocks}
    assert {n: a["mem_mb"] for n, a in asked.items() if n in BORROWED_MEMORY} == dict.fromkeys(BORROWED_MEMORY, "per job")
    for name in BORROWED_MEMORY:
        asked[name]["mem_mb"] = blocks[name]["mem_mb"]
    assert asked == blocks


def test_only_the_light_rules_are_local(rules):
    parsed, _ = rules
    assert {name for name, rule in parsed.items() if rule["local"]} == LOCAL_RULES

