"""Every benchmarked rule's `benchmark:` file pattern and the wildcards of its jobs, in one object.

A rule's `benchmark:` is `BENCHMARK_PLAN.add(rule name, pattern, jobs)` (rules/common.smk builds the
plan and the job lists, from the objects the rules' own inputs and targets use: SHARD_IDS, LABELS,
MIXTURE, EVAL_MODELS, GB_PLAN), so the report's run summary reads exactly the benchmark file of
every job, without asking Snakemake which rules have one. Light on purpose (no pandas): the
Snakefile builds the plan at every DAG build.
"""

from __future__ import annotations

import itertools
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class BenchmarkJob:
    """One job that writes a benchmark file: its rule, its wildcards as text, the file."""

    rule: str
    job: str
    path: str


def wildcard_jobs(**values: Iterable[str]) -> list[dict[str, str]]:
    """The wildcards of every job of a rule whose wildcards take every combination of `values`
    (one job, without wildcards, when none are given)."""
    names = list(values)
    return [dict(zip(names, combo)) for combo in itertools.product(*(list(v) for v in values.values()))]


def _wildcards(pattern: str) -> list[str]:
    """The wildcard names of a benchmark pattern, in the order it names them."""
    return list(dict.fromkeys(field for _, field, _, _ in string.Formatter().parse(pattern) if field))


class BenchmarkPlan:
    def __init__(self) -> None:
        self.patterns: dict[str, str] = {}
        self.rule_jobs: dict[str, list[dict[str, str]]] = {}

    def add(self, rule: str, pattern: str, rule_jobs: Sequence[Mapping[str, str]]) -> str:
        """Registers `rule`'s benchmark file pattern and its jobs' wildcards; returns the pattern
        (the rule's `benchmark:`). Each job must give exactly the pattern's wildcards."""
        if rule in self.patterns:
            raise ValueError(f"rule {rule}: benchmark pattern registered twice")
        names = set(_wildcards(pattern))
        for wildcards in rule_jobs:
            if set(wildcards) != names:
                raise ValueError(f"rule {rule}: a job has wildcards {sorted(wildcards)}, its benchmark {pattern} names {sorted(names)}")
        self.patterns[rule] = pattern
        self.rule_jobs[rule] = [dict(w) for w in rule_jobs]
        return pattern

    def jobs(self) -> list[BenchmarkJob]:
        """The benchmark file of every job, rule by rule in the order they were added."""
        out = []
        for rule, pattern in self.patterns.items():
            names = _wildcards(pattern)
            for wildcards in self.rule_jobs[rule]:
                out.append(BenchmarkJob(rule, ", ".join(f"{n}={wildcards[n]}" for n in names), pattern.format(**wildcards)))
        return out
