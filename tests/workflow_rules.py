"""The rules of the real workflow, as Snakemake parses them: which run jobs, which are local rules,
the resources each asks for, and each one's conda env and entry (script or `python -m` module).
Read in a child process (`python -m tests.workflow_rules`): parsing the Snakefile changes the
process's sys.path and environment (rules/common.smk).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def workflow_rules(workdir: Path, *configfiles: str) -> dict[str, dict[str, Any]]:
    """rule name -> {"job": runs a job (not a target-only rule), "local": a localrule,
    "threads", "mem_mb" ("per job": a function of the job's wildcards), "conda": its env file relative to `workdir` (or None), "entry": {"script": path
    relative to `workdir`} or {"module": what its shell command runs with `-m`} (or None)}, for the
    workflow in `workdir` with `configfiles` over its config."""
    proc = subprocess.run(
        [sys.executable, "-m", "tests.workflow_rules", str(workdir), *configfiles],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if proc.returncode != 0:
        raise AssertionError(f"parsing the workflow in {workdir} failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout)


def _main(workdir: Path, configfiles: list[str]) -> None:
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import ConfigSettings, OutputSettings, Quietness, ResourceSettings

    with SnakemakeApi(OutputSettings(quiet={Quietness.ALL})) as api:
        workflow = api.workflow(
            resource_settings=ResourceSettings(),
            config_settings=ConfigSettings(configfiles=[workdir / f for f in configfiles]),
            snakefile=workdir / "Snakefile",
            workdir=workdir,
        )._workflow
        # Workflow.is_local() says True for every rule without a cluster executor; the rules that
        # declare `localrule: True` are in _localrules.
        rules = {
            r.name: {
                "job": not r.norun,
                "local": r.name in workflow._localrules,
                "threads": r.resources["_cores"].value,
                "mem_mb": _mem_mb(r),
                "conda": _relative(workdir, r.snakefile, r.conda_env),
                "entry": _entry(workdir, r),
            }
            for r in workflow.rules
        }
    print(json.dumps(rules))


def _mem_mb(rule: Any) -> int | str | None:
    """The rule's mem_mb, or "per job" where a function of the job's wildcards decides it."""
    if "mem_mb" not in rule.resources:
        return None
    resource = rule.resources["mem_mb"]
    return "per job" if resource.is_evaluable() else resource.value


def _relative(workdir: Path, snakefile: str, path: str | None) -> str | None:
    """A rule's path (relative to its rule file, as written) relative to the workdir."""
    return None if path is None else (Path(snakefile).parent / path).resolve().relative_to(workdir).as_posix()


def _entry(workdir: Path, rule: Any) -> dict[str, str] | None:
    if rule.script:
        return {"script": _relative(workdir, rule.snakefile, rule.script)}
    module = re.search(r"(?:^|\s)-m\s+([\w.]+)", rule.shellcmd or "")
    return {"module": module[1]} if module else None


if __name__ == "__main__":
    _main(Path(sys.argv[1]).resolve(), sys.argv[2:])
