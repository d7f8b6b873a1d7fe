"""Config loading and validation, shared by the Snakefile and the tests.

Validation happens once, before Snakemake builds the DAG, so a bad value never costs a job.
"""

from __future__ import annotations

import csv
import glob
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from amalia_wf.train.chat import validate_mixture

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "config" / "schema.yaml"
RAW_DIR = "results/data/raw"
DOWNLOAD_DIR = "results/data/download"
# Debian collections (rules/debian.smk): the pinned packages, and per collection its pairs and PT-C items.
DEBIAN_PACKAGES_DIR = "results/data/debian/packages"
DEBIAN_DIR = "results/data/debian"


class ConfigError(ValueError):
    """A config value that cannot be used; the message names the key."""


def _key(path: Any) -> str:
    return ".".join(str(p) for p in path) or "<root>"


def load_schema() -> dict[str, Any]:
    return yaml.safe_load(SCHEMA_PATH.read_text(encoding="utf-8"))


class CollectionFiles(list[str]):
    """A collection's sorted input files, and the total size in bytes of archives found on disk
    (`paths` collections; None for synthetic and downloaded ones, made by the run, and when not
    measured)."""

    def __init__(self, files: list[str], input_bytes: int | None = None) -> None:
        super().__init__(files)
        self.input_bytes = input_bytes


def validate(
    config: Mapping[str, Any], base_dir: str | os.PathLike[str] = ".", sizes: bool = True, inputs_required: bool = True
) -> dict[str, CollectionFiles]:
    """Raise ConfigError naming the first offending key; return each collection's input files.

    The files are resolved here, once: globbing 200,000 archives twice costs seconds per DAG build.
    With `sizes`, the archives of `paths` collections are measured in the same pass (one os.stat
    each, for the cost plan); a Slurm job's own DAG build, which prints no plan, skips it.
    Without `inputs_required` (`snakemake preflight`, which reports them all) missing inputs
    (input_problems) are not an error.
    """
    validator = jsonschema.Draft202012Validator(load_schema())
    errors = sorted(validator.iter_errors(config), key=lambda e: (len(e.absolute_path), _key(e.absolute_path)))
    if errors:
        err = errors[0]
        raise ConfigError(f"config key {_key(err.absolute_path)}: {err.message}")
    try:
        validate_mixture(config["train"]["sft"]["mixture"])
    except ValueError as err:
        raise ConfigError(f"config key {err}") from None
    names = [c["name"] for c in config["data"]["collections"]]
    if len(set(names)) != len(names):
        raise ConfigError("config key data.collections: collection names must be unique")
    _validate_debian(config["data"]["collections"])
    _validate_evaluation(config["evaluation"], config["data"]["collections"])
    _validate_genbench(config["genbench"], config["judges"])
    _validate_judges(config["judges"])
    _validate_p3b3_models(config["genbench"]["p3b3"]["models"], config["evaluation"])
    files = {}
    for coll in config["data"]["collections"]:
        # A missing URL manifest is one of the input_problems: nothing to list.
        manifest_missing = "urls" in coll and not (Path(base_dir) / coll["urls"]).exists()
        found = [] if manifest_missing else collection_files(coll, base_dir)
        measured = sizes and "paths" in coll
        input_bytes = sum(os.stat(os.path.join(base_dir, f)).st_size for f in found) if measured else None
        files[coll["name"]] = CollectionFiles(found, input_bytes)
    problems = input_problems(config, files, base_dir)
    if problems and inputs_required:
        raise ConfigError(problems[0].message)
    return files


def debian_packages(collections: list[Mapping[str, Any]]) -> dict[str, dict[str, str]]:
    """Package -> its pin ({version, sha256}), over every debian collection."""
    return {name: pin for c in collections if "debian" in c for name, pin in c["debian"]["packages"].items()}


def _validate_debian(collections: list[Mapping[str, Any]]) -> None:
    pins: dict[str, Mapping[str, str]] = {}
    for i, coll in enumerate(collections):
        if "debian" not in coll:
            continue
        spec, key = coll["debian"], f"data.collections.{i}.debian"
        for j, source in enumerate(spec["sources"]):
            for variety in ("pt_pt", "pt_br"):
                if source[variety]["package"] not in spec["packages"]:
                    raise ConfigError(
                        f"config key {key}.sources.{j}.{variety}.package: {source[variety]['package']!r} is not pinned in {key}.packages"
                    )
        shares = spec["urls"]["pt_br"]["shares"]
        if abs(sum(shares.values()) - 1) > 1e-9:
            raise ConfigError(f"config key {key}.urls.pt_br.shares: must add up to 1, not {sum(shares.values())}")
        for name, pin in spec["packages"].items():
            if pins.setdefault(name, pin) != pin:
                raise ConfigError(f"config key {key}.packages.{name}: pinned differently in two collections")


def mined_ptc_path(collection: str) -> str:
    return f"{DEBIAN_DIR}/{collection}/ptc/pt_c.jsonl"


@dataclass(frozen=True)
class InputProblem:
    key: str  # the config key that names the input
    message: str  # "config key KEY: ..."
    fix: str


def input_problems(
    config: Mapping[str, Any], files: Mapping[str, list[str]], base_dir: str | os.PathLike[str] = "."
) -> list[InputProblem]:
    """Every input the config names that is not there: unset variables, missing files, and
    collections whose globs match nothing (`files`: the collections' files as validate found them)."""
    out = [
        InputProblem(key, f"config key {key}: environment variable {variable} is not set",
                     f"export {variable}=... before running snakemake")
        for key, variable in _required_environment(config) if variable not in os.environ
    ]  # fmt: skip
    out += [
        InputProblem(key, f"config key {key}: file not found: {path}", f"create {path} or point {key} at an existing path")
        for key, path in _required_files(config) if not (Path(base_dir) / path).exists()
    ]  # fmt: skip
    for i, coll in enumerate(config["data"]["collections"]):
        if "paths" in coll and not files[coll["name"]]:
            key = f"data.collections.{i}.paths"
            out.append(InputProblem(
                key, f"config key {key}: no file matches {coll['paths']!r} (are the archives there?)",
                f"mount the archives where the globs point, or fix {key} (site-specific folder names)"))  # fmt: skip
    return out


def _validate_evaluation(evaluation: Mapping[str, Any], collections: list[Mapping[str, Any]]) -> None:
    models = [m["name"] for m in evaluation["models"]] + [m["name"] for m in evaluation["trained"]]
    duplicates = sorted({n for n in models if models.count(n) > 1})
    if duplicates:
        raise ConfigError(f"config key evaluation.models: model names must be unique across models and trained, repeated: {duplicates}")
    sources = [b["task"] for b in evaluation["benchmarks"]]
    if len(set(sources)) != len(sources):
        raise ConfigError("config key evaluation.benchmarks: one source per task")
    missing = [t for t in evaluation["tasks"] if t not in sources]
    if missing:
        raise ConfigError(f"config key evaluation.benchmarks: no source for task(s) {missing}")
    debian = [c["name"] for c in collections if "debian" in c]
    for i, source in enumerate(evaluation["benchmarks"]):
        if "mined_from" in source and source["mined_from"] not in debian:
            raise ConfigError(
                f"config key evaluation.benchmarks.{i}.mined_from: {source['mined_from']!r} is no debian collection (those: {debian})"
            )


def genbench_sources_needed(genbench: Mapping[str, Any], judges: Sequence[Mapping[str, Any]]) -> list[str]:
    """The generation-benchmark sources a run fetches: its tasks, and ALBA's judge few-shot CSVs
    when ALBA is judged (by the judge of Table 4)."""
    needed = list(genbench["tasks"])
    if any("table4" in j["roles"] for j in judges) and "alba" in needed:
        needed.append("alba_judge_train")
    return needed


def _validate_genbench(genbench: Mapping[str, Any], judges: Sequence[Mapping[str, Any]]) -> None:
    sources = [b["task"] for b in genbench["benchmarks"]]
    if len(set(sources)) != len(sources):
        raise ConfigError("config key genbench.benchmarks: one source per task")
    missing = [t for t in genbench_sources_needed(genbench, judges) if t not in sources]
    if missing:
        raise ConfigError(f"config key genbench.benchmarks: no source for task(s) {missing}")


def _validate_judges(judges: Sequence[Mapping[str, Any]]) -> None:
    """Unique names; one judge per single-judge role; P3B3 Table 5's judges are the paper's two, once each."""
    from amalia_wf.genbench.plan import SINGLE_JUDGE_ROLES, judge_roles
    from amalia_wf.genbench.validation import PAPER_JUDGES, paper_judge

    names = [j["name"] for j in judges]
    if len(set(names)) != len(names):
        raise ConfigError(f"config key judges: names must be unique, got {names}")
    roles = judge_roles(judges)
    for role in SINGLE_JUDGE_ROLES:
        if len(roles[role]) > 1:
            raise ConfigError(f"config key judges: role {role} takes one judge (one number per cell), got {roles[role]}")
    seen: dict[tuple[str, str], str] = {}
    for i, judge in enumerate(judges):
        if "p3b3_table5" not in judge["roles"]:
            continue
        paper_names = paper_judge(judge["model"])
        if paper_names is None:
            paper = [n[0] for n in PAPER_JUDGES.values()]
            raise ConfigError(f"config key judges.{i}.roles: p3b3_table5 has columns for the paper's judges {paper} only; {judge['model']!r} is neither")
        if paper_names in seen:
            raise ConfigError(f"config key judges.{i}.roles: {seen[paper_names]} already fills P3B3 Table 5's {paper_names[0]} columns")
        seen[paper_names] = judge["name"]


def _validate_p3b3_models(models: Sequence[Mapping[str, Any]], evaluation: Mapping[str, Any]) -> None:
    """Unique names; a name also in evaluation.models is the same model (same source), generated once."""
    names = [m["name"] for m in models]
    if len(set(names)) != len(names):
        raise ConfigError(f"config key genbench.p3b3.models: names must be unique, repeated: {sorted({n for n in names if names.count(n) > 1})}")
    evaluated = {m["name"]: m for m in evaluation["models"]}
    trained = {m["name"] for m in evaluation["trained"]}
    source = ("hub", "revision", "path", "chat_template")
    for i, model in enumerate(models):
        name = model["name"]
        if name in trained or (name in evaluated and model["backend"] == "api"):
            raise ConfigError(f"config key genbench.p3b3.models.{i}: {name!r} is an evaluated model of another kind; rename it")
        if name in evaluated and any(model.get(k) != evaluated[name].get(k) for k in source):
            raise ConfigError(
                f"config key genbench.p3b3.models.{i}: {name!r} is also in evaluation.models with another source "
                f"({ {k: evaluated[name].get(k) for k in source} }); one name is one model"
            )


def benchmark_sources(evaluation: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Task -> its source spec (the list entry without its `task` key). Items the workflow mines
    itself (`mined_from`) are the local path the mining rule writes, so fetching them is a copy and
    the DAG runs the mining first."""
    return {
        b["task"]: {"path": mined_ptc_path(b["mined_from"])} if "mined_from" in b else {k: v for k, v in b.items() if k != "task"}
        for b in evaluation["benchmarks"]
    }


# $NAME or ${NAME}, as os.path.expandvars finds them.
_ENV_REFERENCE = re.compile(r"\$(\w+|\{([^}]*)\})")


def _required_environment(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(config key, variable) for every environment variable the config needs: those its archive
    patterns name ($ARQUIVO_WARC_ROOT), the judges' API keys and the API models' keys. Checked up front,
    so a paper run without them stops before its first job rather than at the judge, hours later."""
    out = []
    for i, coll in enumerate(config["data"]["collections"]):
        for pattern in _path_patterns(coll):
            out += [(f"data.collections.{i}.paths", m[2] or m[1]) for m in _ENV_REFERENCE.finditer(pattern)]
    for i, judge in enumerate(config["judges"]):
        if judge.get("api_key_env"):
            out.append((f"judges.{i}.api_key_env", judge["api_key_env"]))
    for i, model in enumerate(config["genbench"]["p3b3"]["models"]):
        if model.get("api", {}).get("api_key_env"):
            out.append((f"genbench.p3b3.models.{i}.api.api_key_env", model["api"]["api_key_env"]))
    return out


def _required_files(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    data = config["data"]
    out = []
    for i, coll in enumerate(data["collections"]):
        if "urls" in coll:
            out.append((f"data.collections.{i}.urls", coll["urls"]))
    for i, source in enumerate(config["evaluation"]["benchmarks"]):
        if "path" in source and source["task"] in config["evaluation"]["tasks"]:
            out.append((f"evaluation.benchmarks.{i}.path", source["path"]))
    needed = genbench_sources_needed(config["genbench"], config["judges"])
    for i, source in enumerate(config["genbench"]["benchmarks"]):
        if "path" in source and source["task"] in needed:
            out.append((f"genbench.benchmarks.{i}.path", source["path"]))
    if "p3b3" in config["genbench"]["tasks"] and config["genbench"]["p3b3"]["human_ratings"]:
        out.append(("genbench.p3b3.human_ratings", config["genbench"]["p3b3"]["human_ratings"]))
    for name, spec in config["genbench"]["p3b3"]["classifiers"].items():
        if "path" in spec:
            out.append((f"genbench.p3b3.classifiers.{name}.path", spec["path"]))
    guard = config["genbench"]["safety"]["guard"]
    if guard and "path" in guard:
        out.append(("genbench.safety.guard.path", guard["path"]))
    if config["train"]["base"]["source"] == "path":
        out.append(("train.base.path", config["train"]["base"]["path"]))
    lid = data["language_id"]["model"]
    if not lid.startswith(("bundled:", "hub:")):
        out.append(("data.language_id.model", lid))
    return out


def collection_files(coll: Mapping[str, Any], base_dir: str | os.PathLike[str] = ".") -> list[str]:
    """The sorted input files of one collection; the order defines document keys, so it must be stable."""
    name = coll["name"]
    if "synthetic" in coll:
        return [f"{RAW_DIR}/{name}/synthetic-{i:05d}.warc.gz" for i in range(coll["synthetic"]["files"])]
    if "urls" in coll:
        return [f"{DOWNLOAD_DIR}/{name}/{entry.filename}" for entry in url_manifest(Path(base_dir) / coll["urls"])]
    if "debian" in coll:
        return [f"{RAW_DIR}/{name}/debian-{i:05d}.warc.gz" for i in range(coll["debian"]["files"])]
    # Environment variables let one config name a site-specific archive root ($ARQUIVO_WARC_ROOT).
    patterns = [os.path.expandvars(p) for p in _path_patterns(coll)]
    files: set[str] = set()
    for pattern in patterns:
        matches = glob.glob(os.path.join(base_dir, pattern), recursive=True)
        files.update(m if os.path.isabs(pattern) else os.path.relpath(m, base_dir) for m in matches)
    return sorted(files)


def _path_patterns(coll: Mapping[str, Any]) -> list[str]:
    """The glob(s) of a `paths` collection (one string or a list); none for other sources."""
    paths = coll.get("paths", [])
    return paths if isinstance(paths, list) else [paths]


@dataclass(frozen=True)
class UrlEntry:
    url: str
    sha256: str

    @property
    def filename(self) -> str:
        return self.url.rstrip("/").rsplit("/", 1)[-1]


def url_manifest(path: Path) -> list[UrlEntry]:
    """A TSV of `url<TAB>sha256` lines (header optional), as published with a WARC collection."""
    entries = []
    with open(path, encoding="utf-8") as f:
        for lineno, row in enumerate(csv.reader(f, delimiter="\t"), start=1):
            if not row or row[0].startswith("#") or row[0] == "url":
                continue
            if len(row) != 2 or not re.fullmatch(r"[0-9a-fA-F]{64}", row[1]):
                raise ConfigError(f"{path}:{lineno}: expected 'url<TAB>sha256', got {row!r}")
            entries.append(UrlEntry(row[0], row[1].lower()))
    names = [e.filename for e in entries]
    if len(set(names)) != len(names):
        raise ConfigError(f"{path}: two URLs end in the same file name")
    return entries


def shards(files: list[str], files_per_shard: int) -> list[list[str]]:
    """Contiguous groups of the sorted file list, so document order never depends on the grouping."""
    return [files[i : i + files_per_shard] for i in range(0, len(files), files_per_shard)]


def collection_index(config: Mapping[str, Any]) -> dict[str, int]:
    return {c["name"]: i for i, c in enumerate(config["data"]["collections"])}
