"""One filter job on 1, 2, ... worker processes (data/shard.py's ShardProcessor.run, as filter_shard
calls it with its `threads`): wall time, speed-up over one process measured in the same run, CPU,
the largest worker's peak RSS (pages shared with the parent after the fork included), and whether
the outputs are the same bytes.

Run by hand (not part of the tests):

    .venv/bin/python bench/filter_workers.py                       # 8 WARCs x 60 pages, workers 1 2
    .venv/bin/python bench/filter_workers.py --files 16 --workers 1 2 4

The inputs are the synthetic generator's WARCs with config.yaml's data settings (--config for
another). A speed-up above the machine's core count cannot be seen here: run it on a node.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from amalia_wf.data.shard import ShardProcessor  # noqa: E402
from amalia_wf.data.synthetic import collection_pages, write_warc  # noqa: E402

OUTPUTS = ("docs", "excluded", "signatures", "stats")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--pages", type=int, default=60)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--config", default=str(REPO / "config" / "config.yaml"))
    args = ap.parse_args()
    data = yaml.safe_load(Path(args.config).read_text())["data"]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        files = []
        for i in range(args.files):
            path = tmp / "warcs" / f"part-{i:05d}.warc.gz"
            write_warc(path, collection_pages("synth", i, 1, args.pages), "synth", i, 1)
            files.append((i, str(path)))
        mb = sum(os.path.getsize(p) for _, p in files) / 1e6
        print(f"filter_workers: {args.files} WARCs x {args.pages} pages ({mb:.1f} MB gzip), {os.cpu_count()} cores")
        processor = ShardProcessor(data)  # loaded once, as in a job; the workers inherit it
        processor.run("synth", files[:1], {n: str(tmp / f"warm.{n}") for n in OUTPUTS})
        print(f"{'workers':>7} {'wall s':>8} {'speed-up':>8} {'CPU s':>8} {'docs kept':>9} {'worker RSS MB':>13}  same bytes")
        base_wall, base_digest = None, None
        for workers in args.workers:
            out = {n: str(tmp / f"w{workers}.{n}") for n in OUTPUTS}
            cpu0 = os.times()
            t0 = time.perf_counter()
            stats = processor.run("synth", files, out, workers)
            wall = time.perf_counter() - t0
            cpu1 = os.times()
            cpu = sum(cpu1[:4]) - sum(cpu0[:4])  # this process and its finished children
            rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024 if workers > 1 else float("nan")
            digest = [hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in out.values()]
            base_wall = base_wall or wall
            base_digest = base_digest or digest
            print(f"{workers:>7} {wall:8.2f} {base_wall / wall:8.2f} {cpu:8.2f} {stats['kept']:>9} {rss:13.0f}  "
                  f"{'yes' if digest == base_digest else 'NO'}")


if __name__ == "__main__":
    main()
