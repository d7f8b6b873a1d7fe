"""Memory and CPU of the staged MinHash dedup (one job per band, then one clustering job) as the corpus grows,
next to the single-job implementation it replaced (kept below as `baseline_cluster`).

Run by hand (not part of the tests); one process per job, as Snakemake runs them:

    .venv/bin/python bench/dedup_scale.py                          # 0.25M, 1M, 4M, 16M documents
    .venv/bin/python bench/dedup_scale.py --sizes 1000000 --settings 14x8

Input: synthetic signatures with planted near-duplicate clusters (`band_rows`): 12% of documents copy
an earlier document (within the previous 500) in each band with probability 0.3, a quarter of those in
every band (exact copies); copies of copies make chains, so clusters span many bands; 3% of
(document, band) rows share only their first hash with another (the case a band job must not
mistake for a duplicate). Values are skewed towards 0, as minima are.

For each size and setting (buckets x hashes_per_bucket, 14x8 per collection, 40x15 across
collections), staged: each band's shard files (`--shard-docs` documents each, band-major, as
filter_shard/classify_shard write them) are generated, its band job run as a child process on them,
then deleted, so one band's signatures exist on disk at a time; then the clustering job runs on the
pairs. Baseline: every signature written as (keys, sigs) shard files, then one child process that
loads them all (as the old `load_signatures`) and runs the old `cluster()`; skipped where its
estimated peak (twice the signatures: the loaded shards plus their concatenation) exceeds
--baseline-max-gb. Where both run, the clusters are compared (keys, kept keys, sizes).

Columns: peak RSS is the largest of the job kind's processes (ru_maxrss from os.wait4 of each
child); CPU s/M docs is user+system seconds of all the kind's processes per million documents.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from amalia_wf.data.minhash import BandFile, Clusters, band_pairs, cluster_pairs, write_signatures  # noqa: E402

DUP_PERCENT, WINDOW, COPY_PERCENT, DECOY_PERCENT = 12, 500, 30, 3


def mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, on uint64 arrays (wrapping arithmetic)."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def band_rows(docs: np.ndarray, band: int, hashes: int, seed: int = 0) -> np.ndarray:
    """(len(docs), hashes) uint64 band values of the given document numbers; deterministic, so any
    subset (a shard, a band) can be made alone."""
    u = np.uint64

    def draw(d: np.ndarray, salt: int) -> np.ndarray:
        return mix(d * u(0x9E3779B97F4A7C15) + u(seed * 1_000_003 + salt))

    def source(d: np.ndarray) -> np.ndarray:
        return d - u(1) - draw(d, 1) % u(WINDOW)

    def copies(d: np.ndarray) -> np.ndarray:
        r = draw(d, 0)
        dup = (r % u(100) < u(DUP_PERCENT)) & (d > u(WINDOW))
        exact = (r >> u(20)) % u(4) == u(0)
        return dup & (exact | (draw(d, 2 + band) % u(100) < u(COPY_PERCENT)))

    docs = docs.astype(np.uint64)
    own = docs.copy()
    while (step := copies(own)).any():  # a copy of a copy carries the first document's values
        own[step] = source(own[step])
    decoy = ~copies(docs) & (draw(docs, 100 + band) % u(100) < u(DECOY_PERCENT)) & (docs > u(WINDOW))
    out = np.empty((len(docs), hashes), dtype=np.uint64)
    for j in range(hashes):
        of = np.where(decoy, source(docs), own) if j == 0 else own
        v = mix(of * u(0xD6E8FEB86659FD93) + u((band * 64 + j) * 7919 + seed))
        out[:, j] = (v >> u(3)) >> (v & u(15))
    return out


def signatures(docs: np.ndarray, buckets: int, hashes: int) -> np.ndarray:
    return np.concatenate([band_rows(docs, b, hashes) for b in range(buckets)], axis=1)


def baseline_cluster(keys: np.ndarray, sigs: np.ndarray, buckets: int, hashes_per_bucket: int) -> dict[int, tuple[int, int]]:
    """The replaced amalia_wf.data.minhash.cluster(), verbatim but for returning the members dict:
    key -> (kept key, cluster size) for documents in clusters of more than one."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while x != root:  # path compression keeps later finds O(1)-ish
            parent[x], x = root, parent[x]
        return root

    for band in range(buckets):
        cols = np.ascontiguousarray(sigs[:, band * hashes_per_bucket : (band + 1) * hashes_per_bucket])
        rows = cols.view(np.dtype((np.void, cols.dtype.itemsize * hashes_per_bucket))).ravel()
        _, inverse, counts = np.unique(rows, return_inverse=True, return_counts=True)
        shared = counts[inverse] > 1
        if not shared.any():
            continue
        group, member = inverse[shared], keys[shared]
        order = np.lexsort((member, group))
        group, member = group[order], member[order]
        first = np.r_[True, group[1:] != group[:-1]]
        head = member[np.maximum.accumulate(np.where(first, np.arange(len(member)), 0))]
        for a, b in zip(head[~first].tolist(), member[~first].tolist()):
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    roots = {x: find(x) for x in parent}
    for root in set(roots.values()):
        roots[root] = root
    sizes: dict[int, int] = {}
    for root in roots.values():
        sizes[root] = sizes.get(root, 0) + 1
    return {x: (r, sizes[r]) for x, r in roots.items()}


def members_to_clusters(members: dict[int, tuple[int, int]]) -> Clusters:
    keys = np.array(sorted(members), dtype=np.int64)
    return Clusters(keys, np.array([members[k][0] for k in keys.tolist()], dtype=np.int64), np.array([members[k][1] for k in keys.tolist()], dtype=np.int64))


# --- job processes ------------------------------------------------------------------------------
# Everything that allocates runs in a child: a child's ru_maxrss starts from its parent's RSS at the
# fork (Linux carries it over exec), so the parent must stay small for the numbers to be the job's.


def shard_ranges(n: int, shard_docs: int) -> list[np.ndarray]:
    return [np.arange(a, min(n, a + shard_docs), dtype=np.uint64) for a in range(0, n, shard_docs)]


def job_gen(work: str, n: str, band: str, hashes: str, shard_docs: str) -> None:
    """One band's shard files, band-major with that band only (as a band job reads them)."""
    for i, docs in enumerate(shard_ranges(int(n), int(shard_docs))):
        write_signatures(Path(work) / f"sig-{i:05d}.npy", docs, band_rows(docs, int(band), int(hashes)), int(hashes))


def job_gen_old(work: str, n: str, buckets: str, hashes: str, shard_docs: str) -> None:
    for i, docs in enumerate(shard_ranges(int(n), int(shard_docs))):
        with open(Path(work) / f"old-{i:05d}.npz", "wb") as f:
            np.savez(f, keys=docs.astype(np.int64), sigs=signatures(docs, int(buckets), int(hashes)))


def job_band(out: str, limit: str, *paths: str) -> None:
    band_pairs([[BandFile(p, 0) for p in paths]], int(limit), out)


def job_cluster(out: str, *paths: str) -> None:
    cluster_pairs(paths).save(out)


def job_baseline(out: str, buckets: str, hashes: str, *paths: str) -> None:
    keys, sigs = [], []
    for path in paths:  # as the old load_signatures: every shard, then their concatenation
        with np.load(path) as z:
            keys.append(z["keys"])
            sigs.append(z["sigs"])
    members = baseline_cluster(np.concatenate(keys), np.concatenate(sigs), int(buckets), int(hashes))
    members_to_clusters(members).save(out)


def job_compare(new: str, old: str) -> None:
    a, b = np.load(new, mmap_mode="r"), np.load(old, mmap_mode="r")
    print("yes" if np.array_equal(a, b) else "NO")


def job_summary(path: str) -> None:
    table = np.load(path, mmap_mode="r")
    print(f"{table.shape[1]:,} documents in multi-document clusters, {int((table[0] != table[1]).sum()):,} removed")


JOBS = {
    "gen": job_gen, "gen_old": job_gen_old, "band": job_band, "cluster": job_cluster, "baseline": job_baseline,
    "compare": job_compare, "summary": job_summary,
}


def run_job(kind: str, *args: str) -> tuple[float, float, str]:
    """(peak RSS in MB, CPU seconds, stdout) of one job run as a child process."""
    proc = subprocess.Popen([sys.executable, __file__, "--job", kind, *args], env={**os.environ, "OMP_NUM_THREADS": "1"},
                            stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"{kind} job failed ({proc.returncode}): {args[:3]}")
    return usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime, out.strip()


# --- the measurement ------------------------------------------------------------------------------


def staged(n: int, buckets: int, hashes: int, shard_docs: int, limit: int, work: Path) -> tuple[dict, float]:
    stats = {"band": [0.0, 0.0, 0], "cluster": [0.0, 0.0, 0]}
    pairs, gen = [], 0.0
    for band in range(buckets):
        start = time.perf_counter()
        run_job("gen", str(work), str(n), str(band), str(hashes), str(shard_docs))
        gen += time.perf_counter() - start
        shard_paths = sorted(str(p) for p in work.glob("sig-*.npy"))
        pairs.append(str(work / f"band-{band}.pairs.npy"))
        rss, cpu, _ = run_job("band", pairs[-1], str(limit), *shard_paths)
        stats["band"] = [max(stats["band"][0], rss), stats["band"][1] + cpu, stats["band"][2] + 1]
        for path in shard_paths:
            os.unlink(path)
    rss, cpu, _ = run_job("cluster", str(work / "clusters.npy"), *pairs)
    stats["cluster"] = [rss, cpu, 1]
    for path in pairs:
        os.unlink(path)
    return stats, gen


def baseline(n: int, buckets: int, hashes: int, shard_docs: int, work: Path) -> dict:
    run_job("gen_old", str(work), str(n), str(buckets), str(hashes), str(shard_docs))
    paths = sorted(str(p) for p in work.glob("old-*.npz"))
    rss, cpu, _ = run_job("baseline", str(work / "old.npy"), str(buckets), str(hashes), *paths)
    for path in paths:
        os.unlink(path)
    return {"single job (old)": [rss, cpu, 1]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--job", choices=JOBS, help=argparse.SUPPRESS)
    ap.add_argument("--sizes", default="250000,1000000,4000000,16000000")
    ap.add_argument("--settings", default="14x8,40x15")
    ap.add_argument("--band-shard-docs", type=int, default=1_000_000, help="data.minhash.band_shard_docs")
    ap.add_argument("--shard-docs", type=int, default=250_000, help="documents per signature file")
    ap.add_argument("--baseline-max-gb", type=float, default=5.0)
    ap.add_argument("--workdir", default=None, help="scratch folder (default: a temp dir, removed at the end)")
    args, rest = ap.parse_known_args()
    if args.job:
        JOBS[args.job](*rest)
        return
    work = Path(tempfile.mkdtemp(prefix="dedup_scale_", dir=args.workdir))
    print("| documents | setting | job kind | jobs | peak RSS (MB) | CPU s / M docs | clusters equal the old |")
    print("|---|---|---|---|---|---|---|")
    try:
        for setting in args.settings.split(","):
            buckets, hashes = map(int, setting.split("x"))
            for n in map(int, args.sizes.split(",")):
                stats, gen = staged(n, buckets, hashes, args.shard_docs, args.band_shard_docs, work)
                # Measured: 2.2 GB at 1M and 8.5 GB at 4M documents of 14x8 (signatures: 0.9 and 3.6 GB).
                estimate_gb = 2.4 * n * buckets * hashes * 8 / 1e9
                if estimate_gb <= args.baseline_max_gb:
                    stats |= baseline(n, buckets, hashes, args.shard_docs, work)
                    verdict = run_job("compare", str(work / "clusters.npy"), str(work / "old.npy"))[2]
                else:
                    verdict = "old not run"
                    stats[f"single job (old): not run, est. {estimate_gb:.0f} GB"] = None
                for kind, value in stats.items():
                    if value is None:
                        print(f"| {n:,} | {setting} | {kind} | | | | |")
                        continue
                    rss, cpu, jobs = value
                    print(f"| {n:,} | {setting} | {kind} | {jobs} | {rss:,.0f} | {cpu / (n / 1e6):.2f} | {verdict} |", flush=True)
                summary = run_job("summary", str(work / "clusters.npy"))[2]
                print(f"<!-- {n:,} {setting}: {summary}; signature generation {gen:.0f} s (not counted) -->", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
