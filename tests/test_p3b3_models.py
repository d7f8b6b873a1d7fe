"""config/paper.yaml's P3B3 model list against the P3B3 paper (Appendix B, Table 3 there; Tables 2 and 5)."""

from __future__ import annotations

import csv

import yaml

from amalia_wf.pin_revisions import pin_text, unpinned_revisions
from tests.conftest import REPO

# The P3B3 paper's Appendix B (Table 3): provider, model identifier; typed from the paper.
APPENDIX_B = [
    ("BSC-LT", "salamandra-7b-instruct"),
    ("allenai", "Olmo-3-7B-Instruct"),
    ("allenai", "Olmo-3.1-32B-Instruct"),
    ("utter-project", "EuroLLM-22B-Instruct-2512"),
    ("swiss-ai", "Apertus-8B-Instruct-2509"),
    ("swiss-ai", "Apertus-70B-Instruct-2509"),
    ("AMALIA-LLM", "AMALIA-9B-50-1225-DPO"),
    ("meta-llama", "Llama-3.1-8B-Instruct"),
    ("meta-llama", "Llama-3.3-70B-Instruct"),
    ("PORTULAN", "gervasio-8b-portuguese-ptpt-decoder"),
    ("PORTULAN", "gervasio-70b-portuguese-ptpt-decoder"),
    ("mistralai", "Ministral-3-14B-Instruct-2512"),
    ("Qwen", "Qwen3-8B"),
    ("Qwen", "Qwen3.5-9B"),
    ("Qwen", "Qwen3.5-27B"),
    ("google", "gemma-3-12b-it"),
    ("google", "gemma-4-E4B-it"),
    ("google", "gemma-4-31B-it"),
    ("Google API", "gemini-3-flash-preview"),
    ("Maritaca API", "sabia-4"),
]
# Hub organisations that differ from the provider Appendix B names: the authors' annotation script
# names the AMALIA checkpoint's folder carminho-AMALIA-9B-50-1225-DPO (p3b3-benchmark, create_sheet.py).
HUB_ORG = {"AMALIA-LLM": "carminho"}
PAPER = yaml.safe_load((REPO / "config" / "paper.yaml").read_text())
MODELS = PAPER["genbench"]["p3b3"]["models"]


def test_the_p3b3_list_is_appendix_b():
    assert len(MODELS) == 20 and sorted(m["id"] for m in MODELS) == sorted(i for _, i in APPENDIX_B)
    by_id = {m["id"]: m for m in MODELS}
    for provider, identifier in APPENDIX_B:
        model = by_id[identifier]
        if provider.endswith(" API"):
            assert (model["backend"], model["api"]["model"], model["group"]) == ("api", identifier, "closed_source"), identifier
        else:
            assert (model["backend"], model["hub"]) == ("hub", f"{HUB_ORG.get(provider, provider)}/{identifier}"), identifier


def test_every_p3b3_model_is_a_row_of_tables_2_and_5_in_its_group():
    reported: dict[str, dict[tuple[str, str], int]] = {"p3b3_table2": {}, "p3b3_table5": {}}
    with open(REPO / "data" / "reported" / "paper_tables.csv", newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["table"] in reported:
                key = (row["row"], row["group"])
                reported[row["table"]][key] = reported[row["table"]].get(key, 0) + 1
    ours = {(m["paper_row"], m["group"]) for m in MODELS}
    assert ours == set(reported["p3b3_table2"]) == set(reported["p3b3_table5"]) and len(ours) == 20
    # A model named as an evaluated one is that checkpoint (generated once): same hub and revision.
    evaluated = {m["name"]: m for m in PAPER["evaluation"]["models"]}
    for model in MODELS:
        if model["name"] in evaluated:
            assert (model["hub"], model["revision"]) == (evaluated[model["name"]]["hub"], evaluated[model["name"]]["revision"])


def test_judges_and_their_tables():
    roles = {j["name"]: (j["model"], j["roles"]) for j in PAPER["judges"]}
    assert roles == {
        "gemini-2.5-pro": ("gemini-2.5-pro", ["table4"]),  # AMALIA Table 4
        "gemini-3-flash": ("gemini-3-flash-preview", ["p3b3_table1", "p3b3_table2", "p3b3_table5"]),
        "gemma-4-31b": ("google/gemma-4-31B-it", ["p3b3_table1", "p3b3_table5"]),
    }


UNPINNED = """\
evaluation:
  models:
    - {name: A, hub: org/a, revision: main, group: fully_open}   # a comment stays
    - {name: B, hub: "org/b", revision: 0123456789abcdef0123456789abcdef01234567, group: open_weight}
  benchmarks:
    - {task: arc_c, hub: org/data, revision: main, configs: [x]}
genbench:
  p3b3:
    classifiers:
      ptvid:
        hub: org/c
        revision: main
"""


def test_unpinned_revisions_are_listed_and_one_line_entries_rewritten():
    assert unpinned_revisions(yaml.safe_load(UNPINNED)) == [
        "evaluation.models.0 org/a@main", "evaluation.benchmarks.0 org/data@main", "genbench.p3b3.classifiers.ptvid org/c@main"]
    a, d, c = "a" * 40, "d" * 40, "c" * 40
    text, missed = pin_text(UNPINNED, {("org/a", "main"): a, ("org/data", "main"): d, ("org/c", "main"): c})
    assert missed == [("org/c", "main")]  # a block-style entry: left for a hand edit, and said so
    assert f"- {{name: A, hub: org/a, revision: {a}, group: fully_open}}   # a comment stays" in text
    assert f"- {{task: arc_c, hub: org/data, revision: {d}, configs: [x]}}" in text
    assert unpinned_revisions(yaml.safe_load(text)) == ["genbench.p3b3.classifiers.ptvid org/c@main"]
    assert "org/b\", revision: 0123456789abcdef" in text  # an entry already pinned is untouched


def test_paper_config_lists_its_unpinned_entries():
    """Nothing is pinned by hand here (no hub access); every hub entry is listed until pinned."""
    listed = unpinned_revisions(PAPER)
    assert "evaluation.models.0 amalia-llm/AMALIA-9B-0626-SFT@main" in listed
    assert "genbench.p3b3.models.6 carminho/AMALIA-9B-50-1225-DPO@main" in listed
    assert not any("Sabia-4" in e or "gemini-3-flash" in e for e in listed)  # API models have no revision
