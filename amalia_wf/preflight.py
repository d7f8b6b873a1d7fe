"""`snakemake preflight`: checks a reviewer runs on the cluster before spending any GPU time.

Each check returns one Result (check, status, detail, fix): a problem is a `fail` row that says how
to fix it, never an exception, so one run reports every problem at once. `skip` marks a check that
does not apply (no Slurm named in the config, no judge configured). rules/preflight.smk runs one job
per check and joins the rows into results/preflight.csv; `summary` prints them and fails the run
when any check failed.
"""

from __future__ import annotations

import ast
import csv
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import astuple
from pathlib import Path
from typing import Any

from amalia_wf.config import input_problems, validate
from amalia_wf.cost_plan import gpus
from amalia_wf.genbench.plan import GenbenchPlan
from amalia_wf.io import atomic_path
from amalia_wf.pin_revisions import HubRef, hub_references
from amalia_wf.preflight_node import COLUMNS, Result, verdict

LOCAL_CHECKS = ("archives", "hub", "judge", "slurm", "disk")
JUDGE_PROMPT = "Reply with the single word: ok"


def read_results(paths: Sequence[str | os.PathLike[str]]) -> list[Result]:
    rows = []
    for path in paths:
        with open(path, newline="", encoding="utf-8") as f:
            rows += [Result(**row) for row in csv.DictReader(f)]
    return rows


def write_table(rows: Sequence[Result], path: str | os.PathLike[str]) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(astuple(r) for r in rows)


def summary(rows: Sequence[Result]) -> str:
    lines = [f"Preflight: {sum(r.status == 'pass' for r in rows)} passed, "
             f"{sum(r.status == 'fail' for r in rows)} failed, {sum(r.status == 'skip' for r in rows)} skipped"]
    for r in rows:
        lines.append(f"  {r.status.upper():4}  {r.check}: {r.detail}")
        if r.fix:
            lines.append(f"        fix: {r.fix}")
    return "\n".join(lines)


def _size(n: int | float | None) -> str:
    if n is None:
        return "size unknown"
    return f"{n / 1e9:,.3f} GB" if n >= 1e8 else f"{n / 1e6:,.3f} MB"


# --- archives -------------------------------------------------------------------------------------


def check_archives(config: Mapping[str, Any], base_dir: str = ".") -> Result:
    """Every collection's globs, file count and bytes, and every input file the config names."""
    files = validate(config, base_dir, sizes=True, inputs_required=False)
    ok = []
    for coll in config["data"]["collections"]:
        found = files[coll["name"]]
        source = coll.get("paths") or ("synthetic" if "synthetic" in coll else coll.get("urls"))
        if found:
            size = _size(found.input_bytes) if "paths" in coll else "made by the run"
            ok.append(f"{coll['name']} ({source}): {len(found):,} files, {size}")
    failed = [(p.message, p.fix) for p in input_problems(config, files, base_dir) if not p.key.startswith(("judges.", "genbench.p3b3.models."))]  # the judge check reports keys
    return verdict("archives", ok, failed)


# --- hub ------------------------------------------------------------------------------------------


def _cached_revision(ref: HubRef, cache: Any) -> Any | None:
    """The cached revision (huggingface_hub CachedRevisionInfo) a reference resolves to offline."""
    for repo in cache.repos:
        if repo.repo_id == ref.repo_id and repo.repo_type == ref.repo_type:
            if ref.revision in repo.refs:
                return repo.refs[ref.revision]
            return next((r for r in repo.revisions if r.commit_hash.startswith(ref.revision)), None)
    return None


def _has_file(revision: Any, filename: str | None) -> bool:
    return filename is None or any(f.file_name == filename or str(f.file_path).endswith("/" + filename)
                                   for f in revision.files)


def check_hub(config: Mapping[str, Any]) -> Result:
    """Online: each revision resolves on the hub, with its size to download. Offline (config
    `offline`, or HF_HUB_OFFLINE on nodes without internet): each is in the HF_HOME cache."""
    from huggingface_hub import HfApi, constants, scan_cache_dir

    refs = hub_references(config)
    offline = config["offline"] or constants.HF_HUB_OFFLINE
    cache_dir = Path(constants.HF_HUB_CACHE)
    cache = scan_cache_dir(cache_dir) if cache_dir.is_dir() else None
    ok, failed = [], []
    for ref in refs:
        name = f"{ref.repo_type} {ref.repo_id}@{ref.revision}" + (f"/{ref.filename}" if ref.filename else "")
        cached = _cached_revision(ref, cache) if cache else None
        present = cached is not None and _has_file(cached, ref.filename)
        if offline:
            if present:
                ok.append(f"{name}: in the cache ({_size(cached.size_on_disk)})")
            else:
                failed.append((f"{name} ({ref.key}) is not in the hub cache {cache_dir}",
                               f"on a node with internet, HF_HOME={constants.HF_HOME} huggingface-cli download "
                               f"{ref.repo_id} --revision {ref.revision}"
                               + (" --repo-type dataset" if ref.repo_type == "dataset" else "")
                               + " (or point HF_HOME at a cache that has it)"))
            continue
        try:
            info = HfApi().repo_info(ref.repo_id, repo_type=ref.repo_type, revision=ref.revision, files_metadata=True)
        except Exception as err:  # huggingface_hub raises a dozen kinds (missing, gated, network): all are a row
            failed.append((f"{name} ({ref.key}) does not resolve: {type(err).__name__}: {str(err).splitlines()[0]}",
                           f"fix the id/revision at {ref.key}, accept the repository's terms on the hub, "
                           "or log in (huggingface-cli login / HF_TOKEN)"))
            continue
        siblings = [s for s in info.siblings or [] if ref.filename in (None, s.rfilename)]
        have = {f.file_name for f in cached.files} if cached is not None and cached.commit_hash == info.sha else set()
        to_fetch = sum(s.size or 0 for s in siblings if s.rfilename not in have)
        ok.append(f"{name} -> {info.sha[:12]}: {_size(to_fetch)} to download")
    return verdict("hub", ok, failed, nothing="no hub repository in the config")


# --- judge ----------------------------------------------------------------------------------------


def configured_judges(config: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(config key, client section) of every endpoint the config calls through the judge client: the
    judges, and the P3B3 models that answer through an API."""
    from amalia_wf.genbench.workflow import JUDGE_ROLE_KEYS

    for i, judge in enumerate(config["judges"]):
        yield f"judges.{i}", {k: v for k, v in judge.items() if k not in JUDGE_ROLE_KEYS}
    for i, model in enumerate(config["genbench"]["p3b3"]["models"]):
        if model.get("api"):
            yield f"genbench.p3b3.models.{i}.api", model["api"]


def check_judge(config: Mapping[str, Any]) -> Result:
    """Each judge's key variable is set (its value never shown) and its endpoint answers one short call."""
    from amalia_wf.judge.client import JudgeClient, JudgeConfig

    ok, failed = [], []
    for key, section in configured_judges(config):
        cfg = JudgeConfig.from_dict({**section, "max_retries": 0, "max_tokens": 16})
        variable = cfg.api_key_env
        if variable and not os.environ.get(variable):
            failed.append((f"{key}: the key variable {variable} is not set",
                           f"export {variable}=<the API key of {cfg.base_url}> before running snakemake"))
            continue
        result = JudgeClient(cfg).call([{"role": "user", "content": JUDGE_PROMPT}])
        if result.ok:
            ok.append(f"{key}: {cfg.model} at {cfg.base_url} answered" + (f" (key in ${variable})" if variable else ""))
        else:
            failed.append((f"{key}: {cfg.model} at {cfg.base_url} did not answer: {result.error}",
                           f"start the judge server or fix {key}.base_url / {key}.model"
                           + (f" (and the key in ${variable})" if variable else "")))
    return verdict("judge", ok, failed, nothing="no judge configured (judged cells read 'not run')")


# --- Slurm ----------------------------------------------------------------------------------------


def _minutes(limit: str) -> float | None:
    """Slurm's time format ([days-]hours:minutes:seconds, minutes:seconds, minutes) in minutes; None: no limit."""
    if limit in ("INFINITE", "UNLIMITED"):
        return None
    days, _, rest = limit.rpartition("-")
    parts = [int(p) for p in rest.split(":")]
    if len(parts) == 1:
        h, m, s = 0, parts[0], 0
    elif len(parts) == 2:
        h, (m, s) = 0, parts
    else:
        h, m, s = parts
    return int(days or 0) * 1440 + h * 60 + m + s / 60


def _node_gpus(gres: str) -> int:
    """GPUs per node from sinfo's %G (e.g. `gpu:2`, `gpu:a100:4(S:0-1)`, `(null)`)."""
    return max((int(m) for m in re.findall(r"gpu(?::[\w.]+)?:(\d+)", gres)), default=0)


def _run(cmd: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(cmd), capture_output=True, text=True, timeout=60, check=False)


def _partitions(scontrol_oneliner: str) -> dict[str, dict[str, str]]:
    """`scontrol show partition --oneliner`: partition -> its fields (MaxTime, Default, Nodes, ...)."""
    found = {}
    for line in scontrol_oneliner.splitlines():
        fields = dict(re.findall(r"(\S+?)=(\S*)", line))
        if "PartitionName" in fields:
            found[fields["PartitionName"]] = fields
    return found


def partition_gpus(partition: str) -> int:
    """GPUs per node of a partition (the most any of its nodes has), from sinfo."""
    return _node_gpus(_run(["sinfo", "-h", "-p", partition, "-o", "%G"]).stdout)


def runnable_node_checks(gpu_requests: Mapping[str, int]) -> tuple[set[str], set[str]] | None:
    """The partitions where Slurm would start a node check, and those of them with the GPUs asked for
    (`gpu_requests`: partition -> GPUs per node); None when no Slurm answers (the checks run
    where Snakemake runs them). A job sent to a partition that does not exist, or asking for GPUs
    its nodes lack, would fail to submit or wait forever: the slurm check reports those instead."""
    if not shutil.which("scontrol"):
        return None
    shown = _run(["scontrol", "show", "partition", "--oneliner"])
    if shown.returncode != 0:
        return None
    existing = set(_partitions(shown.stdout))
    return existing, {p for p, n in gpu_requests.items() if p in existing and partition_gpus(p) >= n}


def _last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1] if lines else ""


def check_slurm(requests: Mapping[str, Mapping[str, Any]], account: str | None) -> Result:
    """Every partition and GPU request in `resources` exists, the account is accepted on each
    partition (`sbatch --test-only`), and every rule's time limit fits its partition's MaxTime.
    `requests`: rule -> its job request (resources.default overlaid with the rule's block)."""
    named = sorted({r["slurm_partition"] for r in requests.values() if r.get("slurm_partition")})
    if not shutil.which("sinfo"):
        if not named:
            return Result("slurm", "skip", "no slurm_partition in resources and no Slurm here (local run)")
        return Result("slurm", "fail", f"resources name partitions {named} but sinfo is not on PATH",
                      "run `snakemake preflight` on the cluster's login node")
    shown = _run(["scontrol", "show", "partition", "--oneliner"])
    if shown.returncode != 0:
        if not named:
            return Result("slurm", "skip", f"no slurm_partition in resources and no Slurm answers here (local run): "
                                           f"{_last_line(shown.stderr)}")
        return Result("slurm", "fail", f"scontrol show partition failed: {_last_line(shown.stderr)}",
                      "run `snakemake preflight` on the cluster's login node (slurmctld must answer)")
    partitions = _partitions(shown.stdout)
    default = next((p for p, f in partitions.items() if f.get("Default") == "YES"), None)
    ok, failed = [], []
    by_partition: dict[str, list[str]] = {}
    for rule, req in requests.items():
        by_partition.setdefault(req.get("slurm_partition") or default or "(no default partition)", []).append(rule)
    for part, rules in sorted(by_partition.items()):
        if part not in partitions:
            failed.append((f"partition {part!r} (rules {', '.join(rules)}) does not exist",
                           f"set resources.<rule>.slurm_partition to one of {sorted(partitions)}"))
            continue
        node_gpus = partition_gpus(part)
        max_minutes = _minutes(partitions[part].get("MaxTime", "INFINITE"))
        for rule in rules:
            req = requests[rule]
            per_node = gpus({**req, "nodes": 1}) if "gres" in req else req.get("gpu", 0)
            if per_node > node_gpus:
                failed.append((f"{rule} asks for {per_node} GPU(s) per node on {part!r}, whose nodes have {node_gpus}",
                               f"set resources.{rule}.slurm_partition to a partition with GPUs, or lower its gpu/gres"))
            if max_minutes is not None and req["runtime"] > max_minutes:
                failed.append((f"{rule} asks for {req['runtime']} min on {part!r}, over its MaxTime of "
                               f"{max_minutes:g} min",
                               f"lower resources.{rule}.runtime to at most {max_minutes:g} (it resumes from "
                               "checkpoints) or use a partition with a longer MaxTime"))
        test = _run(["sbatch", "--test-only", "-p", part, "-t", "1", *(["-A", account] if account else []),
                     "--wrap", "true"])
        if test.returncode != 0:
            failed.append((f"sbatch --test-only on {part!r} refused: {_last_line(test.stderr)}",
                           "pass an account this partition accepts: --default-resources slurm_account=<account>"))
        else:
            limit = "no limit" if max_minutes is None else f"MaxTime {max_minutes:g} min"
            ok.append(f"{part}: {len(rules)} rules, {node_gpus} GPU(s)/node, {limit}, account "
                      f"{account or '(default)'} accepted")
    return verdict("slurm", ok, failed)


# --- environments and GPUs (run on a node of the partition) ------------------------------------


def entry_modules(script: str | None, shell: str | None) -> list[str]:
    """The modules a rule's job starts from: the top-level imports of its script, or the
    `-m module` of its shell command (snakemake's own module, which a script job is given, aside)."""
    if script:
        tree = ast.parse(Path(script).read_text(encoding="utf-8"))
        names = [a.name for n in tree.body if isinstance(n, ast.Import) for a in n.names]
        names += [n.module for n in tree.body if isinstance(n, ast.ImportFrom) and n.module and not n.level]
        return [m for m in dict.fromkeys(names) if m.split(".")[0] != "snakemake"]
    return list(dict.fromkeys(re.findall(r"-m\s+([\w.]+)", shell or "")))


# --- scoring models -------------------------------------------------------------------------------


# The rule that loads each kind of scoring model: its model check runs where and as that rule does.
MODEL_RULES = {"quality": "classify_shard", "classifier": "p3b3_classify", "guard": "safety_guard"}


def scoring_models(quality: Mapping[str, Any], plan: GenbenchPlan) -> dict[str, dict[str, Any]]:
    """The models a run loads on its nodes to score text (EuroFilter, the P3B3 variety classifiers,
    Qwen3Guard) that have jobs in this run, each with the rule that loads it and the config key that
    names it: name -> what preflight_models.check_model loads, as that rule loads it."""
    used = {j["classifier"] for j in plan.jobs("classifier")} | ({"guard"} if plan.jobs("safety_bench") else set())
    models = {}
    if quality["method"] == "hf":
        hf = quality["hf"]
        models["quality"] = {"rule": MODEL_RULES["quality"], "kind": "quality", "key": "data.quality.hf.model",
                             "source": hf["model"], "revision": hf.get("revision"), "hub": not os.path.exists(hf["model"]),
                             "cfg": dict(quality)}
    for name, spec in plan.aux.items():
        if name not in used:
            continue
        guard = name == "guard"
        kind = "guard" if guard else "classifier"
        models[name] = {
            "rule": MODEL_RULES[kind],
            "kind": kind,
            "key": "genbench.safety.guard" if guard else f"genbench.p3b3.classifiers.{name}",
            "source": spec.hub or str(spec.path), "revision": spec.revision, "hub": bool(spec.hub),
            "cfg": dict(plan.guard if guard else plan.classifiers[name]),
        }
    return models


# --- disk -----------------------------------------------------------------------------------------


def planned_storage_bytes(plan_csv: str | os.PathLike[str]) -> float | None:
    """The cost plan's `total` output_gb (results/report/plan.csv, written at this run's start), in bytes."""
    with open(plan_csv, newline="", encoding="utf-8") as f:
        total = next(r for r in csv.DictReader(f) if r["rule"] == "total")
    return float(total["output_gb"]) * 1e9 if total["output_gb"] else None


def check_disk(results_dir: str, plan_csv: str, margin: float, min_free_gb: float) -> Result:
    """Free space under results/ against the plan's storage estimate x `margin` (at least `min_free_gb`)."""
    Path(results_dir).mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(results_dir).free
    estimate = planned_storage_bytes(plan_csv)
    need = max((estimate or 0) * margin, min_free_gb * 1e9)
    basis = (f"plan's storage estimate {_size(estimate)} x {margin:g}" if estimate is not None
             else "no storage estimate (archives made by the run)") + f", at least {min_free_gb:g} GB"
    detail = f"{_size(free)} free under {results_dir}, {_size(need)} needed ({basis})"
    if free < need:
        return Result("disk", "fail", detail, f"free {_size(need - free)} under {results_dir}, or run from a "
                                              "larger file system (results/ lives in the working directory)")
    return Result("disk", "pass", detail)


def main(argv: Sequence[str]) -> int:
    """`python -m amalia_wf.preflight table OUT.csv FRAGMENT.csv...` joins the checks' rows;
    `python -m amalia_wf.preflight summary OUT.csv` prints them and exits 1 if a check failed."""
    command, out, *fragments = argv
    if command == "table":
        write_table(read_results(fragments), out)
        return 0
    if command != "summary":
        raise SystemExit(f"usage: python -m amalia_wf.preflight table|summary OUT.csv [FRAGMENT.csv...], not {command!r}")
    rows = read_results([out])
    print(summary(rows) + f"\nrows in {out}")
    return 1 if any(r.status == "fail" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
