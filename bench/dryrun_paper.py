"""How long `snakemake -n` takes on the paper config with 200,000 input WARC files (target < 30 s).

Run by hand (not part of the tests):

    .venv/bin/python bench/dryrun_paper.py                    # 200,000 files over 200 folders
    .venv/bin/python bench/dryrun_paper.py --files 20000      # quicker look
    .venv/bin/python bench/dryrun_paper.py --file-gb 0        # empty files (no cost-plan estimates)

What it does, all in temp dirs that are removed at the end:
  1. an archive root with web/ and books/ (half the files each), spread over --folders subfolders,
     holding sparse files named like real segments (web/crawl-017/part-012345.warc.gz) of --file-gb
     each (default 0.975: 200,000 of them are the paper's 195 TB), which use no disk;
  2. a copy of the workflow (Snakefile rules scripts config report envs profiles amalia_wf data), as
     tests/conftest.py's make_workdir does, because snakemake resolves config/ and rules/ against
     the Snakefile; site-specific inputs that paper.yaml names besides the WARCs (e.g. SFT data
     files) are created empty in the copy, found by a fast dry run against a 2-file archive;
  3. baseline, same process run: `snakemake -n --quiet rules` on the embedded default (tiny DAG), so
     the ratio shows what the 200K-file DAG costs on top of snakemake's own start-up;
  4. `snakemake -n --quiet rules --configfile config/paper.yaml` with ARQUIVO_WARC_ROOT pointing at
     the archive root: jobs in the DAG (the "total" line of the job stats) and wall time, and the
     cost plan it prints (amalia_wf/cost_plan.py);
  5. where the time goes: the config work the Snakefile does before the DAG is built, timed
     in-process on the same files (YAML load + merge, amalia_wf.config.validate, which globs every
     collection once and returns the files with their total size, one os.stat each, then shards).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# As tests/conftest.py's make_workdir, plus data/ (bundled inputs of the embedded default) when present.
WORKFLOW_PARTS = ("Snakefile", "rules", "scripts", "config", "report", "envs", "profiles", "amalia_wf", "data")
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")


def make_archive(root: Path, n_files: int, n_folders: int, file_bytes: int = 0) -> None:
    """Sparse files of `file_bytes` named like Arquivo.pt segments, half under web/, half under books/."""
    per_folder = -(-n_files // n_folders)
    made = 0
    for f in range(n_folders):
        kind = "web" if f < n_folders // 2 else "books"
        folder = root / kind / f"crawl-{f:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        for _ in range(min(per_folder, n_files - made)):
            fd = os.open(folder / f"part-{made:06d}.warc.gz", os.O_CREAT | os.O_WRONLY, 0o644)
            os.ftruncate(fd, file_bytes)
            os.close(fd)
            made += 1


def make_workdir(dst: Path) -> Path:
    dst.mkdir(parents=True, exist_ok=True)
    for part in WORKFLOW_PARTS:
        src = REPO / part
        if not src.exists():
            continue
        if src.is_dir():
            shutil.copytree(src, dst / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, dst / part)
    return dst


def fill_site_inputs(workdir: Path, env: dict[str, str], rounds: int = 10) -> list[str]:
    """Create empty stand-ins for site-specific inputs that paper.yaml names (e.g. SFT data files).

    A dry run against a 2-file archive fails fast on each missing input; those inside the workflow
    copy are created empty and the run is retried, so the timed run builds the whole paper DAG.
    """
    created: list[str] = []
    for _ in range(rounds):
        cmd = [SNAKEMAKE, "-n", "--quiet", "rules", "--configfile", "config/paper.yaml"]
        proc = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=600)
        out = proc.stdout + proc.stderr
        if proc.returncode == 0:
            return created
        m = re.search(r"MissingInputException.*?affected files:\n((?:[ \t]+\S[^\n]*\n?)+)", out, re.S)
        if not m:
            raise SystemExit(f"paper dry run fails for another reason than a missing input:\n{out[-4000:]}")
        for name in (line.strip() for line in m.group(1).splitlines() if line.strip()):
            path = Path(name) if os.path.isabs(name) else workdir / name
            if not path.resolve().is_relative_to(workdir.resolve()):
                raise SystemExit(f"paper config needs {name}, outside the workflow copy; not creating it")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
            created.append(name)
    raise SystemExit(f"still missing inputs after {rounds} rounds: {created[-5:]}")


def dry_run(workdir: Path, env: dict[str, str], *extra: str) -> tuple[float, int | None, str]:
    cmd = [SNAKEMAKE, "-n", "--quiet", "rules", "--directory", str(workdir), *extra]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=1800)
    wall = time.perf_counter() - t0
    out = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise SystemExit(f"snakemake failed ({proc.returncode}): {' '.join(cmd)}\n{out[-4000:]}")
    totals = re.findall(r"^total\s+(\d+)\s*$", out, flags=re.M)
    return wall, int(totals[-1]) if totals else None, out


def profile_dry_run(workdir: Path, env: dict[str, str], top: int) -> None:
    """The paper dry run again under cProfile (about 1.5-2x slower): snakemake's own hot spots."""
    import pstats

    prof = workdir / "dryrun.prof"
    cmd = [sys.executable, "-m", "cProfile", "-o", str(prof), SNAKEMAKE, "-n", "--quiet", "rules",
           "--configfile", "config/paper.yaml"]
    subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=3600, check=True)
    stats = pstats.Stats(str(prof)).stats
    pattern = re.compile(r"snakemake/(dag|jobs|rules|io/__init__|output_index|exceptions|workflow)\.py$")
    rows = [(ct, tt, nc, f"{Path(file).parent.name}/{Path(file).name}:{line}({name})")
            for (file, line, name), (_, nc, tt, ct, _) in stats.items() if pattern.search(file)]
    total = max((ct for (_, _, name), (_, _, _, ct, _) in stats.items() if name == "<module>"), default=0.0)
    print(f"\ncProfile of the paper dry run ({total:.1f} profiled s), top {top} snakemake functions by cumulative time:")
    print(f"  {'calls':>9} {'own s':>8} {'cum s':>8}  function")
    for ct, tt, nc, name in sorted(rows, reverse=True)[:top]:
        print(f"  {nc:>9} {tt:>8.2f} {ct:>8.2f}  {name}")


def job_counts(out: str) -> dict[str, int]:
    """The last job-stats table of a snakemake run: rule -> count."""
    block = out.rsplit("Job stats:", 1)[-1]
    counts = {}
    for line in block.splitlines()[3:]:
        m = re.match(r"^(\S+)\s+(\d+)\s*$", line)
        if not m:
            break
        counts[m.group(1)] = int(m.group(2))
    return counts


def config_timings(workdir: Path) -> list[tuple[str, float, str]]:
    """The Snakefile's config work before the DAG, in-process, step by step.

    amalia_wf is imported from the workflow copy, so the schema matches the copied config even while
    the checkout is being edited.
    """
    sys.path.insert(0, str(workdir))
    import jsonschema
    import yaml
    from snakemake.utils import update_config

    from amalia_wf.config import load_schema, shards, validate

    rows = []
    t0 = time.perf_counter()
    config = yaml.safe_load((workdir / "config" / "config.yaml").read_text(encoding="utf-8"))
    update_config(config, yaml.safe_load((workdir / "config" / "paper.yaml").read_text(encoding="utf-8")))
    rows.append(("load + merge config.yaml, paper.yaml", time.perf_counter() - t0, ""))

    t0 = time.perf_counter()
    files = validate(config, workdir)
    tb = sum(f.input_bytes for f in files.values()) / 1e12
    n_files = sum(map(len, files.values()))
    rows.append(("validate() (schema, globs, os.stat of each file)", time.perf_counter() - t0, f"{n_files} files, {tb:.1f} TB"))

    t0 = time.perf_counter()
    validate(config, workdir, sizes=False)
    rows.append(("  of which: without os.stat (a Slurm job's parse)", time.perf_counter() - t0, ""))

    t0 = time.perf_counter()
    errors = list(jsonschema.Draft202012Validator(load_schema()).iter_errors(config))
    rows.append(("  of which: schema check alone", time.perf_counter() - t0, f"{len(errors)} errors"))

    t0 = time.perf_counter()
    n_shards = sum(len(shards(f, config["data"]["files_per_shard"])) for f in files.values())
    rows.append(("shards()", time.perf_counter() - t0, f"{n_shards} shards"))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=200_000, help="input files in total (default 200,000)")
    ap.add_argument("--folders", type=int, default=200, help="subfolders they are spread over (default 200)")
    ap.add_argument("--file-gb", type=float, default=0.975, help="apparent size of each (sparse) file, GB (default 0.975)")
    ap.add_argument("--target", type=float, default=30.0, help="seconds (default 30)")
    ap.add_argument("--cprofile", action="store_true", help="also profile the paper dry run (adds ~1.5-2x its time)")
    args = ap.parse_args()
    if args.folders < 2 or args.files < args.folders:
        ap.error("need at least 2 folders (web/ and books/ each need files) and a file per folder")
    sys.stdout.reconfigure(line_buffering=True)

    tmp = Path(tempfile.mkdtemp(prefix="bench-dryrun-"))
    try:
        archive = tmp / "arquivo"
        t0 = time.perf_counter()
        make_archive(archive, args.files, args.folders, int(args.file_gb * 1e9))
        print(f"dryrun_paper: {args.files} sparse WARC files of {args.file_gb:g} GB in {args.folders} folders under "
              f"web/ and books/ (made in {time.perf_counter() - t0:.1f}s)")
        workdir = make_workdir(tmp / "workflow")
        # paper.yaml's judges' and API models' keys are checked at validation; a dry run never calls them.
        os.environ.update(ARQUIVO_WARC_ROOT=str(archive), GEMINI_API_KEY="unused: dry run", MARITACA_API_KEY="unused: dry run")
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
        small = tmp / "arquivo-small"
        make_archive(small, 2, 2)
        created = fill_site_inputs(workdir, {**env, "ARQUIVO_WARC_ROOT": str(small)})
        if created:
            print(f"paper.yaml names {len(created)} site-specific input(s) absent here, created empty in the "
                  f"workflow copy: {', '.join(created[:3])}{', ...' if len(created) > 3 else ''}")

        base_wall, base_jobs, _ = dry_run(workdir, env)
        paper_wall, paper_jobs, out = dry_run(workdir, env, "--configfile", "config/paper.yaml")
        counts = job_counts(out)

        print(f"\n{'snakemake -n':<44}{'jobs':>8}{'wall s':>10}")
        print(f"{'  embedded default (baseline, tiny DAG)':<44}{base_jobs!s:>8}{base_wall:>10.2f}")
        print(f"{'  paper config, ' + format(args.files, ',') + ' files':<44}{paper_jobs!s:>8}{paper_wall:>10.2f}")
        print(f"  ratio paper / baseline: {paper_wall / base_wall:.2f}x; "
              f"cost above snakemake start-up: {paper_wall - base_wall:.2f}s")
        print("  paper DAG by rule: " + ", ".join(f"{k} {v}" for k, v in counts.items() if k != "total"))
        print("\nThe cost plan the paper dry run printed:")
        print(out[out.index("Cost plan") :].split("\nAssuming", 1)[0])

        print("\nWhere the time goes: config work the Snakefile does before building the DAG (in-process):")
        rows = config_timings(workdir)
        for name, secs, note in rows:
            print(f"  {name:<52}{secs:>8.2f}s  {note}")
        config_total = sum(s for n, s, _ in rows if not n.startswith("  of which"))
        print(f"  {'total':<52}{config_total:>8.2f}s  ({100 * config_total / paper_wall:.0f}% of the paper dry run)")
        print(f"  rest of the paper dry run (start-up, DAG, file checks): {paper_wall - config_total:.2f}s")

        if args.cprofile:
            profile_dry_run(workdir, env, 15)

        verdict = "met" if paper_wall < args.target else "not met"
        print(f"\ntarget < {args.target:g} s: {verdict} ({paper_wall:.2f}s for {paper_jobs} jobs)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
