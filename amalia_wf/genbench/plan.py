"""What the generation-benchmark rules (rules/genbench.smk) produce and read, from the config alone.

Light on purpose (no pandas, no torch): the Snakefile builds one `GenbenchPlan` at every DAG build.
It knows which scorers are configured, every file of the layout (amalia_wf/genbench/workflow.py)
and, for each table cell, either the file its value comes from or why it has none (the cell specs
of amalia_wf/tables/genbench.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from amalia_wf.evaluate.models import ModelSpec
from amalia_wf.genbench.validation import PAPER_JUDGES, paper_judge

JUDGED = ("pt_e_open", "alba", "p3b3")
SAFETY = ("advbench", "sst", "xstest")
SAFETY_COLUMNS = {"advbench": "ADV-Bench", "sst": "SST", "xstest": "XSTest"}
SETTING_LABELS = {"none": "No-Prompt", "pt-BR": "pt-BR", "pt-PT": "pt-PT"}
JUDGE_CACHE = "results/judge_cache"
NO_JUDGE = "not run: no judge configured"
NO_GUARD = "not run: no guard configured"
NO_CLASSIFIER = "not run: classifier not configured"
NOT_IN_TASKS = "not run: benchmark not in genbench.tasks"
OFFLINE = "scorer: offline variety markers (amalia_wf.variety), NOT the paper's LLM judge"


def aux_spec(name: str, cfg: Mapping[str, Any]) -> ModelSpec:
    """A scoring model (classifier, guard) as a ModelSpec, so hub ones are fetched and pinned like evaluated models."""
    return ModelSpec(name=name, group="scorer", chat_template=False, paper_row=None, hub=cfg.get("hub"), revision=cfg.get("revision"), path=cfg.get("path"))


def gb_path(model: str, bench: str, name: str) -> str:
    return f"results/genbench/{model}/{bench}/{name}"


class GenbenchPlan:
    def __init__(self, config: Mapping[str, Any], models: Mapping[str, ModelSpec]) -> None:
        gb = config["genbench"]
        self.models = models
        self.judge = config["judge"]
        self.judge_name = self.judge["model"] if self.judge else None
        # (row name, Table 5 column) when the judge is one of the P3B3 paper's two, else None.
        self.paper_judge = paper_judge(self.judge_name) if self.judge else None
        self.tasks = list(gb["tasks"])
        self.p3b3 = gb["p3b3"]
        self.variant = self.p3b3["judge_variant"]
        self.classifiers = dict(self.p3b3["classifiers"])
        self.guard = gb["safety"]["guard"]
        self.judged_tasks = [t for t in JUDGED if t in self.tasks] if self.judge else []
        self.safety_tasks = [t for t in SAFETY if t in self.tasks] if self.guard else []
        # The coverage below which a cell is partial (amalia_wf.tables.compare.Coverage): the
        # offline marker scorer abstains by design, so it has a threshold of its own.
        self.min_coverage = config["tables"]["min_coverage"]
        self.min_variety_coverage = config["tables"]["min_variety_coverage"]
        self.aux = {name: aux_spec(name, cfg) for name, cfg in self.classifiers.items()}
        if self.guard:
            self.aux["guard"] = aux_spec("guard", self.guard)
        # The values of each rule's second wildcard (beside {model}): the rule's jobs (`jobs`) and,
        # through them, the benchmark files the report reads.
        self.wildcards = {"bench": self.tasks, "judged_bench": self.judged_tasks, "safety_bench": self.safety_tasks, "classifier": list(self.classifiers) if "p3b3" in self.tasks else []}

    def jobs(self, wildcard: str) -> list[dict[str, str]]:
        """The wildcards of every job of the rule whose jobs are model x `wildcard` (its `benchmark:`)."""
        return [{"model": model, wildcard: value} for model in self.models for value in self.wildcards[wildcard]]

    # -- files ----------------------------------------------------------------------------------

    def aux_input(self, name: str) -> str:
        """A scoring model's input: its fetch marker (hub) or its folder (path)."""
        spec = self.aux[name]
        return f"results/models/genbench/{name}.json" if spec.hub else str(spec.path)

    def hub_aux(self) -> list[str]:
        return [n for n, s in self.aux.items() if s.hub]

    def judge_key(self) -> str:
        return f"judge:{self.variant}"

    def p3b3_scores(self, model: str) -> dict[str, str]:
        """Every scored-row file of one model's P3B3 answers, scorer name -> file."""
        files = {"variety": gb_path(model, "p3b3", "scores/variety.jsonl.gz")}
        files |= {name: gb_path(model, "p3b3", f"scores/{name}.jsonl.gz") for name in self.classifiers}
        if "p3b3" in self.judged_tasks:
            files[self.judge_key()] = gb_path(model, "p3b3", "judged.jsonl.gz")
        return files

    def outputs(self, model: str) -> list[str]:
        """Every answer and score file of one model (the `genbench` target)."""
        out = [gb_path(model, t, "responses.jsonl.gz") for t in self.tasks]
        if "p3b3" in self.tasks:
            out += list(self.p3b3_scores(model).values())
        out += [gb_path(model, t, "judged.summary.json") for t in self.judged_tasks]
        out += [gb_path(model, t, "guarded.summary.json") for t in self.safety_tasks]
        return out

    # -- table cells ----------------------------------------------------------------------------

    def judged_cell(self, model: str, bench: str) -> dict[str, Any]:
        if bench not in self.tasks:
            return {"status": NOT_IN_TASKS}
        if not self.judge:
            return {"status": NO_JUDGE}
        path = gb_path(model, bench, "judged.summary.json")
        return {"kind": "summary", "path": path, "rule": "genbench_judge", "detail": f"judge {self.judge_name}", "min_coverage": self.min_coverage}

    def p3b3_cell(self, model: str, setting: str, scorer: str, label: str) -> dict[str, Any]:
        """The headline mean of one scorer in one setting, or why there is none."""
        if "p3b3" not in self.tasks:
            return {"status": NOT_IN_TASKS}
        if setting not in self.p3b3["settings"]:
            return {"status": f"not run: setting {setting} not in genbench.p3b3.settings"}
        files = self.p3b3_scores(model)
        if scorer not in files:
            return {"status": NO_JUDGE if scorer.startswith("judge:") else NO_CLASSIFIER}
        minimum = self.min_variety_coverage if scorer == "variety" else self.min_coverage
        return {"kind": "p3b3", "path": files[scorer], "setting": setting, "scorer": scorer, "rule": self.scorer_rule(scorer), "detail": label, "min_coverage": minimum}

    def scorer_rule(self, scorer: str) -> str:
        """The rule writing a P3B3 scorer's rows (p3b3_scores)."""
        if scorer == "variety":
            return "p3b3_variety"
        return "genbench_judge" if scorer == self.judge_key() else "p3b3_classify"

    def judge_label(self) -> str:
        return f"scorer: LLM judge {self.judge_name} {self.variant}"

    def table4(self) -> dict[str, dict[str, dict[str, Any]]]:
        """PT-E open and ALBA from the judge; P3B3 (pt-PT setting) from the judge, else the offline scorer."""
        plan = {}
        for model in self.models:
            if self.judge:
                p3b3 = self.p3b3_cell(model, "pt-PT", self.judge_key(), self.judge_label())
            else:
                p3b3 = self.p3b3_cell(model, "pt-PT", "variety", OFFLINE)
            plan[model] = {"PT-Exams Open Questions": self.judged_cell(model, "pt_e_open"), "ALBA": self.judged_cell(model, "alba"), "P3B3": p3b3}
        return plan

    def table4_notes(self) -> list[str]:
        if "p3b3" in self.tasks and not self.judge:
            return [
                "P3B3 column: no judge configured, so it is filled by the offline pt-PT/pt-BR marker scorer (amalia_wf.variety), "
                "not by the paper's LLM judge (Gemini 2.5 Pro): a different instrument on the same 0-100 scale."
            ]
        return []

    def table5(self) -> dict[str, dict[str, dict[str, Any]]]:
        plan: dict[str, dict[str, dict[str, Any]]] = {}
        for model in self.models:
            plan[model] = {}
            for bench, column in SAFETY_COLUMNS.items():
                if bench not in self.tasks:
                    cell = {"status": NOT_IN_TASKS}
                elif not self.guard:
                    cell = {"status": NO_GUARD}
                else:
                    path = gb_path(model, bench, "guarded.summary.json")
                    source = self.guard.get("hub", self.guard.get("path"))
                    cell = {"kind": "summary", "path": path, "rule": "safety_guard", "detail": f"Qwen3Guard {source}", "min_coverage": self.min_coverage}
                plan[model][column] = cell
        return plan

    def table2(self) -> dict[str, dict[str, dict[str, Any]]]:
        """P3B3 Table 2: PV, VId, LLM (the paper's) and offline (ours) per setting."""
        scorers = {
            "PV": ("perovaz", "scorer: PeroVaz classifier"),
            "VId": ("ptvid", "scorer: PtVId classifier"),
            "LLM": (self.judge_key(), self.judge_label()),
            "offline": ("variety", OFFLINE),
        }
        return {
            model: {
                f"{label} {column}": self.p3b3_cell(model, setting, key, text)
                for setting, label in SETTING_LABELS.items()
                for column, (key, text) in scorers.items()
            }
            for model in self.models
        }

    def table2_notes(self) -> list[str]:
        notes = ["offline columns: the offline pt-PT/pt-BR marker scorer (amalia_wf.variety), not in the paper; it abstains on answers without evidence (see p3b3_summary.csv, coverage)."]
        if "p3b3" in self.judged_tasks and self.paper_judge != PAPER_JUDGES["gemini-3-flash"]:
            notes.append(f"LLM columns: judged by {self.judge_name}; the paper's by Gemini-3 Flash (p3b3_table5 sets the paper's Gemma-4-31B judge beside it).")
        return notes

    def p3b3_table5(self) -> dict[str, dict[str, dict[str, Any]]]:
        """P3B3 Table 5 (the paper's two judges per setting): the configured judge fills the columns
        of the paper's judge it is; the other judge's columns say which judge would fill them.
        Without a judge every cell is p3b3_cell's "no judge configured"."""
        plan: dict[str, dict[str, dict[str, Any]]] = {}
        for model in self.models:
            plan[model] = {}
            for setting, label in SETTING_LABELS.items():
                for names in PAPER_JUDGES.values():
                    row_name, column = names
                    if not self.judge or self.paper_judge == names:
                        cell = self.p3b3_cell(model, setting, self.judge_key(), self.judge_label())
                    else:
                        cell = {"status": f"not run: judge.model is {self.judge_name}, not {row_name}"}
                    plan[model][f"{label} {column}"] = cell
        return plan

    def table2_paper_rows(self) -> dict[str, str | None]:
        return {name: self.p3b3["paper_rows"].get(name, spec.paper_row) for name, spec in self.models.items()}

    def plot_scorer(self) -> str:
        return self.judge_key() if "p3b3" in self.judged_tasks else "variety"

    @staticmethod
    def inputs(plan: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> list[str]:
        return sorted({cell["path"] for cells in plan.values() for cell in cells.values() if "path" in cell})
