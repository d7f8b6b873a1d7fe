"""The staged MinHash dedup (band jobs, then clustering of their pairs) against the single-job
clustering it replaced, on synthetic signatures with planted near-duplicate chains."""

from __future__ import annotations

import numpy as np
import pytest

from amalia_wf.data.minhash import BandFile, Clusters, band_pairs, cluster_pairs, slice_pairs, write_signatures
from bench.dedup_scale import baseline_cluster, members_to_clusters, signatures


def staged(tmp_path, keys, sigs, hashes, cuts, limit, offsets=None):
    """Signature files cut at `cuts`, one band job per band, then the clustering job."""
    bounds = [0, *cuts, len(keys)]
    paths = []
    for i, (a, b) in enumerate(zip(bounds, bounds[1:])):
        paths.append(tmp_path / f"shard-{i}.npy")
        write_signatures(paths[-1], keys[a:b].astype(np.uint64), sigs[a:b], hashes)
    pairs = []
    for band in range(sigs.shape[1] // hashes):
        pairs.append(tmp_path / f"band-{band}.pairs.npy")
        band_pairs([[BandFile(p, band, o) for p, o in zip(paths, offsets or [0] * len(paths))]], limit, pairs[-1])
    return cluster_pairs(pairs)


def assert_same(new: Clusters, old: Clusters) -> None:
    for field in ("keys", "roots", "sizes"):
        assert np.array_equal(getattr(new, field), getattr(old, field)), field


@pytest.mark.parametrize(("buckets", "hashes"), [(14, 8), (5, 3)])
@pytest.mark.parametrize(("cuts", "limit"), [([], 10**6), ([1000, 1100, 4000], 97), ([2500], 1)])
def test_staged_clusters_equal_the_single_job_clustering(tmp_path, buckets, hashes, cuts, limit):
    docs = np.arange(6000, dtype=np.uint64)
    sigs = signatures(docs, buckets, hashes)
    # Keys need not be in signature order within a shard: a shuffled order checks "minimum key", not "first row".
    keys = np.random.default_rng(0).permutation(6000).astype(np.int64) * 3 + 5
    old = members_to_clusters(baseline_cluster(keys, sigs, buckets, hashes))
    assert 500 < len(old.keys) < 3000 and old.sizes.max() > 3  # planted chains make real clusters
    assert_same(staged(tmp_path, keys, sigs, hashes, cuts, limit), old)


def test_cross_offsets_lift_keys_of_each_file(tmp_path):
    docs = np.arange(3000, dtype=np.uint64)
    sigs = signatures(docs, 4, 5)
    keys = np.r_[np.arange(1500), np.arange(1500)].astype(np.int64)  # two collections, own key spaces
    lifted = keys + np.r_[np.zeros(1500, dtype=np.int64), np.full(1500, 1 << 50)]
    old = members_to_clusters(baseline_cluster(lifted, sigs, 4, 5))
    assert_same(staged(tmp_path, keys, sigs, 5, [1500], 211, offsets=[0, 1 << 50]), old)


def test_rows_sharing_only_the_first_hash_are_not_pairs():
    # Row 2 is not in the slice (index): it would pair with row 0, and be the kept one.
    rows = np.array([[7, 1, 30], [7, 2, 10], [7, 1, 5], [7, 1, 20], [8, 1, 40]], dtype=np.uint64)
    heads, members = slice_pairs(rows, np.array([0, 1, 3, 4]))
    assert heads.tolist() == [20] and members.tolist() == [30]


def test_band_file_without_rows_and_empty_clusters(tmp_path):
    write_signatures(tmp_path / "empty.npy", np.zeros(0, dtype=np.uint64), np.zeros((0, 6), dtype=np.uint64), 3)
    assert band_pairs([[BandFile(tmp_path / "empty.npy", 1)]], 10, tmp_path / "p.npy") == (0, 0, 0)
    assert np.load(tmp_path / "p.npy").shape == (0, 2)
    cluster_pairs([tmp_path / "p.npy"]).save(tmp_path / "c.npy")
    assert Clusters.load(tmp_path / "c.npy").fate(4) == (True, 4, 1)
