"""What the report rules (rules/report.smk) read, found among the workflow's rules at DAG-build time:
the result tables any rule writes and the benchmark file of every job. Light on purpose (no pandas):
the Snakefile imports it at every DAG build. The jobs' side is amalia_wf.report.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

TABLE_PATH = re.compile(r"results/tables/([^/{}]+)\.([A-Za-z]+)")
# Wildcards whose values come in pairs, from the shard layout: collection -> its shard ids.
SHARD_WILDCARDS = ("collection", "shard")


class RuleLike(Protocol):
    """The parts of snakemake.rules.Rule used here."""

    name: str
    input: Iterable[Any]
    output: Iterable[Any]
    benchmark: Any
    wildcard_names: set[str]

    def expand_benchmark(self, wildcards: Mapping[str, str]) -> Any: ...


class WildcardError(ValueError):
    """A benchmarked rule has a wildcard whose values are not known."""


def table_files(rules: Iterable[RuleLike], ext: str) -> dict[str, tuple[str, str]]:
    """table name -> (path, rule name) of every wildcard-free `results/tables/<name>.<ext>` a rule
    writes, sorted by name."""
    found: dict[str, tuple[str, str]] = {}
    for rule in rules:
        for f in rule.output:
            match = TABLE_PATH.fullmatch(str(f))
            if match and match[2] == ext:
                found[match[1]] = (str(f), rule.name)
    return dict(sorted(found.items()))


def output_patterns(rules: Iterable[RuleLike]) -> list[tuple[str, str]]:
    """(rule name, regular expression of one of its outputs) for every output of every rule: which
    rule wrote a file named in a table's `produced_by`."""
    out = []
    for rule in rules:
        for f in rule.output:
            regex = f.regex().pattern if hasattr(f, "regex") else _regex(str(f))
            out.append((rule.name, regex))
    return out


def _regex(pattern: str) -> str:
    """A Snakemake file pattern as a regular expression ({name} and {name,constraint})."""
    parts, last = [], 0
    for m in re.finditer(r"\{\s*(\w+)\s*(?:,\s*((?:[^{}]|\{\d+(?:,\d*)?\})*))?\}", pattern):
        parts += [re.escape(pattern[last : m.start()]), f"(?:{m[2]})" if m[2] else ".+"]
        last = m.end()
    return "".join(parts) + re.escape(pattern[last:])


def static_inputs(rules: Iterable[RuleLike], name: str) -> list[str]:
    """The input files of rule `name` given as paths (not those an input function returns)."""
    rule = next(r for r in rules if r.name == name)
    return [str(f) for f in getattr(rule, "input", []) if not callable(f)]


def report_flag(rules: Iterable[RuleLike], path: str) -> Any:
    """How the rule writing `path` marks it for the report (Snakemake's ReportObject), or None."""
    for rule in rules:
        for f in rule.output:
            if str(f) == path:
                return getattr(f, "flags", {}).get("report")
    return None


def report_subcategory(rules: Iterable[RuleLike], path: str, default: str) -> str:
    """The subcategory the rule writing `path` gives it, else that of the rule's other outputs in
    the report (a table its rule did not mark goes beside the rule's other tables), else `default`."""
    for rule in rules:
        if any(str(f) == path for f in rule.output):
            flags = [getattr(f, "flags", {}).get("report") for f in rule.output]
            own = [getattr(flag, "subcategory", None) for f, flag in zip(rule.output, flags) if str(f) == path]
            others = [getattr(flag, "subcategory", None) for flag in flags]
            for subcategory in own + others:
                if isinstance(subcategory, str) and subcategory:
                    return subcategory
    return default


def benchmark_jobs(
    rules: Iterable[RuleLike],
    values: Mapping[str, Sequence[str]],
    shard_ids: Mapping[str, Sequence[str]],
) -> list[dict[str, str]]:
    """{"rule", "job" (its wildcards as text), "path"} of the benchmark file of every job the rules
    with a `benchmark:` have: their wildcards take every value in `values` (by wildcard name), and
    {collection} and {shard} the pairs in `shard_ids`. A benchmark wildcard with no known values
    raises WildcardError naming the rule."""
    jobs = []
    for rule in rules:
        if rule.benchmark is None or callable(rule.benchmark):
            continue
        # In the order the benchmark path names them.
        names = sorted(rule.wildcard_names, key=lambda n: (str(rule.benchmark).find("{" + n), n))
        unknown = set(names) - set(values) - set(SHARD_WILDCARDS)
        if unknown:
            raise WildcardError(
                f"rule {rule.name}: no values for benchmark wildcard(s) {', '.join(sorted(unknown))}; "
                "add them to the values rules/report.smk passes to benchmark_jobs()"
            )
        paired = [n for n in SHARD_WILDCARDS if n in names]
        pairs = [{"collection": c, "shard": s} for c, ids in shard_ids.items() for s in ids]
        # Only {collection}: one job per collection, not per shard.
        bases = list({tuple((n, p[n]) for n in paired): None for p in pairs}) if paired else [()]
        others = [n for n in names if n not in SHARD_WILDCARDS]
        for base in bases:
            for combo in itertools.product(*(values[n] for n in others)):
                wildcards = {**dict(base), **dict(zip(others, combo))}
                jobs.append(
                    {
                        "rule": rule.name,
                        "job": ", ".join(f"{n}={wildcards[n]}" for n in names),
                        "path": str(rule.expand_benchmark(wildcards)),
                    }
                )
    return jobs
