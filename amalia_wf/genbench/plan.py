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


def judged_path(model: str, bench: str, judge: str, ext: str) -> str:
    """One judge's verdicts (ext jsonl.gz) or their summary (summary.json) on one model's answers."""
    return gb_path(model, bench, f"judged/{judge}.{ext}")


# The roles a judge may take (judges[].roles): the tables it fills. table4 and p3b3_table2 take one
# judge each (one number per cell); p3b3_table5 and p3b3_table1 take one or more, each in its own
# columns or rows (P3B3 Table 5: one column per paper judge; Tables 1 and 4 there: rows per judge).
ROLES = ("table4", "p3b3_table1", "p3b3_table2", "p3b3_table5")
SINGLE_JUDGE_ROLES = ("table4", "p3b3_table2")


def judge_roles(judges: list[Mapping[str, Any]]) -> dict[str, list[str]]:
    """role -> the names of the judges that take it, in config order."""
    return {role: [j["name"] for j in judges if role in j["roles"]] for role in ROLES}


class GenbenchPlan:
    """`eval_models` answer every benchmark (AMALIA Tables 4 and 5); `p3b3_models` (genbench.p3b3.models,
    the P3B3 paper's list) answer P3B3 only. A name in both is one model (validation checks their
    sources agree), generated once. The P3B3 tables' rows are the P3B3 list and the evaluated models
    named in genbench.p3b3.paper_rows, or, without a list, every evaluated model."""

    def __init__(self, config: Mapping[str, Any], eval_models: Mapping[str, ModelSpec], p3b3_models: Mapping[str, ModelSpec] | None = None) -> None:
        gb = config["genbench"]
        p3b3_models = p3b3_models or {}
        self.eval_models = eval_models
        # Every model that generates; a shared name keeps its evaluated spec (same source), so adding the
        # P3B3 list changes no parameter of a generation job that already ran.
        self.models = {**eval_models, **{n: spec for n, spec in p3b3_models.items() if n not in eval_models}}
        self.tasks = list(gb["tasks"])
        self.p3b3 = gb["p3b3"]
        self.variant = self.p3b3["judge_variant"]
        if p3b3_models:
            named = {n: eval_models[n] for n in self.p3b3["paper_rows"] if n in eval_models and n not in p3b3_models}
            self.p3b3_models = {**p3b3_models, **named}
        else:
            self.p3b3_models = dict(eval_models)
        self.judges = {j["name"]: j for j in config["judges"]}
        self.roles = judge_roles(config["judges"])
        self.classifiers = dict(self.p3b3["classifiers"])
        self.guard = gb["safety"]["guard"]
        self.judged_tasks = [t for t in JUDGED if t in self.tasks] if self.roles["table4"] else []  # Table 4's judged benchmarks
        self.safety_tasks = [t for t in SAFETY if t in self.tasks] if self.guard else []
        # The coverage below which a cell is partial (amalia_wf.tables.compare.Coverage): the
        # offline marker scorer abstains by design, so it has a threshold of its own.
        self.min_coverage = config["tables"]["min_coverage"]
        self.min_variety_coverage = config["tables"]["min_variety_coverage"]
        self.aux = {name: aux_spec(name, cfg) for name, cfg in self.classifiers.items()}
        if self.guard:
            self.aux["guard"] = aux_spec("guard", self.guard)
        # Each rule's jobs beside {model} (its `benchmark:`, the cost plan, the report's run summary).
        p3b3_generators = [m for m in self.models if "p3b3" in self.benches(m)]
        self._jobs = {
            "bench": [{"model": m, "bench": b} for m in self.models if not self.models[m].api for b in self.benches(m)],
            "classifier": [{"model": m, "classifier": c} for m in p3b3_generators for c in self.classifiers],
            "safety_bench": [{"model": m, "safety_bench": b} for m in eval_models for b in self.safety_tasks],
            "judge": [{"model": m, "judged_bench": b, "judge": j} for j in self.judges for m, b in self.judged_pairs(j)],
        }

    def benches(self, model: str) -> list[str]:
        """The benchmarks one model answers: all of genbench.tasks, or P3B3 alone for a P3B3-list-only model."""
        return self.tasks if model in self.eval_models else [t for t in self.tasks if t == "p3b3"]

    def judged_pairs(self, judge: str) -> list[tuple[str, str]]:
        """(model, benchmark) pairs one judge judges: Table 4's three benchmarks of the evaluated models
        (role table4), P3B3 of the P3B3 tables' models (roles p3b3_table2, p3b3_table5)."""
        roles = self.judges[judge]["roles"]
        pairs = []
        if "table4" in roles:
            pairs += [(m, b) for m in self.eval_models for b in self.judged_tasks]
        if {"p3b3_table2", "p3b3_table5"} & set(roles) and "p3b3" in self.tasks:
            pairs += [(m, "p3b3") for m in self.p3b3_models]
        return list(dict.fromkeys(pairs))

    def jobs(self, wildcard: str) -> list[dict[str, str]]:
        """The wildcards of every job of the rule whose jobs are model x `wildcard` (its `benchmark:`)."""
        return self._jobs[wildcard]

    def judged_benches(self) -> list[str]:
        return sorted({job["judged_bench"] for job in self._jobs["judge"]})

    def api_models(self) -> list[str]:
        return [m for m, spec in self.models.items() if spec.api]

    def role_judge(self, role: str) -> str | None:
        """The judge of a single-judge role (validation allows at most one), or None."""
        return next(iter(self.roles[role]), None)

    # -- files ----------------------------------------------------------------------------------

    def aux_input(self, name: str) -> str:
        """A scoring model's input: its fetch marker (hub) or its folder (path)."""
        spec = self.aux[name]
        return f"results/models/genbench/{name}.json" if spec.hub else str(spec.path)

    def hub_aux(self) -> list[str]:
        return [n for n, s in self.aux.items() if s.hub]

    def judge_key(self, judge: str) -> str:
        """The scorer name of one judge's P3B3 rows."""
        return f"judge:{judge}:{self.variant}"

    def p3b3_scores(self, model: str) -> dict[str, str]:
        """Every scored-row file of one model's P3B3 answers, scorer name -> file."""
        files = {"variety": gb_path(model, "p3b3", "scores/variety.jsonl.gz")}
        files |= {name: gb_path(model, "p3b3", f"scores/{name}.jsonl.gz") for name in self.classifiers}
        for job in self._jobs["judge"]:
            if job["model"] == model and job["judged_bench"] == "p3b3":
                files[self.judge_key(job["judge"])] = judged_path(model, "p3b3", job["judge"], "jsonl.gz")
        return files

    def outputs(self, model: str) -> list[str]:
        """Every answer and score file of one model (the `genbench` target)."""
        out = [gb_path(model, t, "responses.jsonl.gz") for t in self.benches(model)]
        if "p3b3" in self.benches(model):
            out += list(self.p3b3_scores(model).values())
        out += [judged_path(model, j["judged_bench"], j["judge"], "summary.json") for j in self._jobs["judge"] if j["model"] == model]
        out += [gb_path(model, t, "guarded.summary.json") for t in self.safety_tasks if model in self.eval_models]
        return out

    # -- table cells ----------------------------------------------------------------------------

    def judge_detail(self, judge: str) -> str:
        return f"judge {judge} ({self.judges[judge]['model']})"

    def judged_cell(self, model: str, bench: str) -> dict[str, Any]:
        judge = self.role_judge("table4")
        if bench not in self.tasks:
            return {"status": NOT_IN_TASKS}
        if judge is None:
            return {"status": NO_JUDGE}
        path = judged_path(model, bench, judge, "summary.json")
        return {"kind": "summary", "path": path, "rule": "genbench_judge", "detail": self.judge_detail(judge), "min_coverage": self.min_coverage}

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

    def judge_cell(self, model: str, setting: str, judge: str | None) -> dict[str, Any]:
        """One judge's P3B3 headline in one setting (no judge: "not run: no judge configured")."""
        if judge is None:
            return {"status": NO_JUDGE} if "p3b3" in self.tasks else {"status": NOT_IN_TASKS}
        return self.p3b3_cell(model, setting, self.judge_key(judge), self.judge_label(judge))

    @staticmethod
    def scorer_rule(scorer: str) -> str:
        """The rule writing a P3B3 scorer's rows (p3b3_scores)."""
        if scorer == "variety":
            return "p3b3_variety"
        return "genbench_judge" if scorer.startswith("judge:") else "p3b3_classify"

    def judge_label(self, judge: str) -> str:
        return f"scorer: LLM {self.judge_detail(judge)} {self.variant}"

    def table4(self) -> dict[str, dict[str, dict[str, Any]]]:
        """PT-E open and ALBA from the table4 judge; P3B3 (pt-PT setting) from that judge, else the offline scorer."""
        judge = self.role_judge("table4")
        plan = {}
        for model in self.eval_models:
            p3b3 = self.judge_cell(model, "pt-PT", judge) if judge else self.p3b3_cell(model, "pt-PT", "variety", OFFLINE)
            plan[model] = {"PT-Exams Open Questions": self.judged_cell(model, "pt_e_open"), "ALBA": self.judged_cell(model, "alba"), "P3B3": p3b3}
        return plan

    def table4_notes(self) -> list[str]:
        if "p3b3" in self.tasks and not self.role_judge("table4"):
            return [
                "P3B3 column: no judge configured, so it is filled by the offline pt-PT/pt-BR marker scorer (amalia_wf.variety), "
                "not by the paper's LLM judge (Gemini 2.5 Pro): a different instrument on the same 0-100 scale."
            ]
        return []

    def table5(self) -> dict[str, dict[str, dict[str, Any]]]:
        plan: dict[str, dict[str, dict[str, Any]]] = {}
        for model in self.eval_models:
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
        """P3B3 Table 2: PV, VId, LLM (the paper's; LLM = the p3b3_table2 judge) and offline (ours) per setting."""
        scorers = {"PV": ("perovaz", "scorer: PeroVaz classifier"), "VId": ("ptvid", "scorer: PtVId classifier"), "offline": ("variety", OFFLINE)}
        judge = self.role_judge("p3b3_table2")
        return {
            model: {
                f"{label} {column}": self.judge_cell(model, setting, judge) if column == "LLM" else self.p3b3_cell(model, setting, *scorers[column])
                for setting, label in SETTING_LABELS.items()
                for column in ("PV", "VId", "LLM", "offline")
            }
            for model in self.p3b3_models
        }

    def table2_notes(self) -> list[str]:
        notes = ["offline columns: the offline pt-PT/pt-BR marker scorer (amalia_wf.variety), not in the paper; it abstains on answers without evidence (see p3b3_summary.csv, coverage)."]
        judge = self.role_judge("p3b3_table2")
        if judge and "p3b3" in self.tasks and paper_judge(self.judges[judge]["model"]) != PAPER_JUDGES["gemini-3-flash"]:
            notes.append(f"LLM columns: judged by {self.judge_detail(judge)}; the paper's by Gemini-3 Flash.")
        return notes

    def p3b3_table5(self) -> dict[str, dict[str, dict[str, Any]]]:
        """P3B3 Table 5 (the paper's two judges per setting): each judge with role p3b3_table5 fills the
        columns of the paper's judge it is (validation checks it is one); a paper judge no configured
        judge stands for has cells that say so."""
        by_paper = {paper_judge(self.judges[j]["model"]): j for j in self.roles["p3b3_table5"]}
        plan: dict[str, dict[str, dict[str, Any]]] = {}
        for model in self.p3b3_models:
            plan[model] = {}
            for setting, label in SETTING_LABELS.items():
                for names in PAPER_JUDGES.values():
                    row_name, column = names
                    if names in by_paper or not by_paper:
                        cell = self.judge_cell(model, setting, by_paper.get(names))
                    else:
                        cell = {"status": f"not run: no judge with role p3b3_table5 is {row_name}"}
                    plan[model][f"{label} {column}"] = cell
        return plan

    def table1_judges(self) -> dict[str, Mapping[str, Any]]:
        """The judges of P3B3 Table 1 (and Table 4 there) by name: they judge the human-rated answers."""
        return {j: self.judges[j] for j in self.roles["p3b3_table1"]}

    def table2_paper_rows(self) -> dict[str, str | None]:
        return {name: self.p3b3["paper_rows"].get(name, spec.paper_row) for name, spec in self.p3b3_models.items()}

    def plot_scorer(self) -> str:
        judge = self.role_judge("p3b3_table2")
        return self.judge_key(judge) if judge and "p3b3" in self.tasks else "variety"

    @staticmethod
    def inputs(plan: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> list[str]:
        return sorted({cell["path"] for cells in plan.values() for cell in cells.values() if "path" in cell})
