"""Config validation (jsonschema + file checks), collection file lists, shards and URL manifests."""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path
from typing import Any

import pytest
import yaml

from amalia_wf.config import (
    DOWNLOAD_DIR,
    RAW_DIR,
    ConfigError,
    UrlEntry,
    collection_files,
    shards,
    url_manifest,
    validate,
)

REPO = Path(__file__).resolve().parent.parent
SHA_A = hashlib.sha256(b"a").hexdigest()
SHA_B = hashlib.sha256(b"b").hexdigest()


def load(name: str) -> dict[str, Any]:
    return yaml.safe_load((REPO / "config" / name).read_text(encoding="utf-8"))


def merge(base: Any, over: Any) -> Any:
    """Snakemake's --configfile update: dicts merge recursively, every other value replaces."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for key, value in over.items():
            out[key] = merge(base[key], value) if key in base else copy.deepcopy(value)
        return out
    return copy.deepcopy(over)


@pytest.fixture
def config() -> dict[str, Any]:
    return load("config.yaml")


def with_fixtures(base_dir: Path) -> Path:
    """A base directory that also holds the embedded default's benchmark fixtures (data/)."""
    (base_dir / "data").symlink_to(REPO / "data")
    return base_dir


def rejected(cfg: dict[str, Any], base_dir: Path = REPO) -> str:
    with pytest.raises(ConfigError) as info:
        validate(cfg, base_dir)
    return str(info.value)


# --- accepted configs -------------------------------------------------------------------------


def test_default_config_is_valid(config):
    validate(config, REPO)


def test_merge_helper_merges_dicts_and_replaces_lists():
    merged = merge({"a": {"x": 1, "y": [1, 2]}, "b": 1}, {"a": {"y": [3]}, "c": 2})
    assert merged == {"a": {"x": 1, "y": [3]}, "b": 1, "c": 2}


@pytest.fixture
def arquivo_root(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "arquivo"
    (root / "web" / "x").mkdir(parents=True)
    (root / "books").mkdir()
    (root / "web" / "x" / "a.warc.gz").write_bytes(b"")
    (root / "books" / "b.arc.gz").write_bytes(b"")
    monkeypatch.setenv("ARQUIVO_WARC_ROOT", str(root))
    monkeypatch.setenv("GEMINI_API_KEY", "unused: validation only")  # paper.yaml's judges' api_key_env
    monkeypatch.setenv("MARITACA_API_KEY", "unused: validation only")  # its Sabiá-4 (genbench.p3b3.models)
    return root


def test_paper_config_merged_over_default_is_valid(config, arquivo_root):
    paper = merge(config, load("paper.yaml"))
    assert paper["data"]["quality"]["method"] == "hf"
    assert paper["data"]["pii"] == config["data"]["pii"]  # kept from the default
    assert (config["data"]["on_unreadable"], paper["data"]["on_unreadable"]) == ("fail", "skip")
    validate(paper, REPO)
    web, books = paper["data"]["collections"]
    assert collection_files(web, REPO) == [str(arquivo_root / "web" / "x" / "a.warc.gz")]
    assert collection_files(books, REPO) == [str(arquivo_root / "books" / "b.arc.gz")]


def test_paper_config_without_archive_root_names_the_paths_key(config, arquivo_root, monkeypatch):
    monkeypatch.delenv("ARQUIVO_WARC_ROOT")
    message = rejected(merge(config, load("paper.yaml")))
    assert message == "config key data.collections.0.paths: environment variable ARQUIVO_WARC_ROOT is not set"


def test_paper_config_without_judge_key_names_the_judge_key(config, arquivo_root, monkeypatch):
    """Checked at validation, before any job: without it the run would stop at the judge, hours in."""
    monkeypatch.delenv("GEMINI_API_KEY")
    message = rejected(merge(config, load("paper.yaml")))
    assert message == "config key judges.0.api_key_env: environment variable GEMINI_API_KEY is not set"


def test_paper_config_without_api_model_key_names_the_model_key(config, arquivo_root, monkeypatch):
    monkeypatch.delenv("MARITACA_API_KEY")
    message = rejected(merge(config, load("paper.yaml")))
    assert message == "config key genbench.p3b3.models.18.api.api_key_env: environment variable MARITACA_API_KEY is not set"


JUDGE = {"name": "j", "roles": ["table4"], "base_url": "http://localhost:8000/v1", "model": "m"}


@pytest.mark.parametrize(
    ("judges", "message"),
    [
        ([JUDGE, {**JUDGE, "roles": ["p3b3_table1"]}], "config key judges: names must be unique, got ['j', 'j']"),
        ([JUDGE, {**JUDGE, "name": "k"}], "config key judges: role table4 takes one judge (one number per cell), got ['j', 'k']"),
        ([{**JUDGE, "roles": ["p3b3_table5"]}], "config key judges.0.roles: p3b3_table5 has columns for the paper's judges ['Gemma-4-31B', 'Gemini-3 Flash'] only; 'm' is neither"),
        ([{**JUDGE, "roles": ["p3b3_table5"], "model": "gemma-4-31b"}, {**JUDGE, "name": "k", "roles": ["p3b3_table5"], "model": "google/gemma-4-31B-it"}],
         "config key judges.1.roles: j already fills P3B3 Table 5's Gemma-4-31B columns"),
        ([{**JUDGE, "roles": ["table3"]}], "config key judges.0.roles.0: 'table3' is not one of"),
        ([{**JUDGE, "temprature": 0}], "config key judges.0: Unevaluated properties are not allowed ('temprature' was unexpected)"),
    ],
)
def test_bad_judges_are_named(config, judges, message):
    config["judges"] = judges
    assert rejected(config).startswith(message)


def test_a_p3b3_model_named_as_an_evaluated_model_must_be_that_model(config):
    config["evaluation"]["models"] = [{"name": "m", "hub": "org/m", "revision": "main", "group": "open_weight"}]
    entry = {"name": "m", "id": "m", "group": "open_weight", "paper_row": "M", "backend": "hub", "hub": "org/m", "revision": "main"}
    config["genbench"]["p3b3"]["models"] = [entry]
    validate(config, REPO)  # the same model: generated once
    config["genbench"]["p3b3"]["models"] = [{**entry, "revision": "v2"}]
    assert "config key genbench.p3b3.models.0: 'm' is also in evaluation.models with another source" in rejected(config)
    config["genbench"]["p3b3"]["models"] = [{**entry, "backend": "api"}]
    assert rejected(config).startswith("config key genbench.p3b3.models.0:")  # api needs an `api` block, not `hub`


@pytest.mark.parametrize("pattern", ["${WARC_TEST_ROOT}/x/*.warc.gz", "$WARC_TEST_ROOT/*.warc.gz"])
def test_unset_variable_in_paths_is_named(config, tmp_path, monkeypatch, pattern):
    monkeypatch.delenv("WARC_TEST_ROOT", raising=False)
    config["data"]["collections"] = [{"name": "site", "paths": pattern}]
    assert rejected(config) == "config key data.collections.0.paths: environment variable WARC_TEST_ROOT is not set"
    monkeypatch.setenv("WARC_TEST_ROOT", str(tmp_path))
    assert "no file matches" in rejected(config)  # set, the pattern is globbed as before


def test_default_config_needs_no_environment_variable(config, monkeypatch):
    for name in ("ARQUIVO_WARC_ROOT", "GEMINI_API_KEY", "MARITACA_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    assert config["judges"] == [] and config["genbench"]["p3b3"]["models"] == []
    validate(config, REPO)


def test_judge_without_key_variable_needs_none(config):
    config["judges"] = [{**JUDGE, "api_key_env": None}]
    validate(config, REPO)


# --- rejected configs: the message names the key ---------------------------------------------


def test_wrong_type(config):
    config["data"]["language_id"]["threshold"] = "high"
    message = rejected(config)
    assert "config key data.language_id.threshold:" in message
    assert "'high' is not of type 'number'" in message


def test_out_of_range(config):
    config["data"]["language_id"]["threshold"] = 1.5
    message = rejected(config)
    assert "config key data.language_id.threshold:" in message
    assert "maximum" in message


def test_unknown_key(config):
    config["data"]["url_filtr"] = config["data"]["url_filter"]
    message = rejected(config)
    # jsonschema reports additionalProperties at the parent object, naming the stray key.
    assert "config key data:" in message
    assert "'url_filtr' was unexpected" in message


def test_missing_required_key(config):
    del config["data"]["files_per_shard"]
    message = rejected(config)
    assert "config key data:" in message
    assert "'files_per_shard' is a required property" in message


def test_missing_required_top_level_key(config):
    del config["seed"]
    assert "'seed' is a required property" in rejected(config)


def test_unknown_on_unreadable_policy_names_the_key(config):
    config["data"]["on_unreadable"] = "ignore"
    message = rejected(config)
    assert "config key data.on_unreadable:" in message and "'ignore'" in message


def test_bad_enum(config):
    config["data"]["quality"]["method"] = "magic"
    message = rejected(config)
    assert "config key data.quality.method:" in message
    assert "'magic'" in message


def test_hf_method_requires_hf_block(config):
    config["data"]["quality"]["method"] = "hf"
    message = rejected(config)
    assert "config key data.quality:" in message
    assert "'hf' is a required property" in message


def test_missing_local_language_id_model(config):
    config["data"]["language_id"]["model"] = "/nope/model.bin"
    message = rejected(config)
    assert "config key data.language_id.model" in message
    assert "/nope/model.bin" in message


def test_existing_local_language_id_model_is_accepted(config, tmp_path):
    (tmp_path / "lid.bin").write_bytes(b"x")
    config["data"]["language_id"]["model"] = "lid.bin"
    validate(config, with_fixtures(tmp_path))


def test_missing_benchmark_path_names_the_key(config):
    config["evaluation"]["benchmarks"][0]["path"] = "nowhere/arc"
    message = rejected(config)
    assert message == "config key evaluation.benchmarks.0.path: file not found: nowhere/arc"


def test_task_without_source_and_duplicate_models_are_rejected(config):
    config["evaluation"]["benchmarks"] = [b for b in config["evaluation"]["benchmarks"] if b["task"] != "frmt"]
    assert "config key evaluation.benchmarks: no source for task(s) ['frmt']" in rejected(config)
    config = load("config.yaml")
    config["evaluation"]["trained"].append(dict(config["evaluation"]["trained"][0]))
    assert "model names must be unique" in rejected(config)


def test_benchmark_source_with_bad_checksum_is_rejected(config):
    config["evaluation"]["benchmarks"][0] = {"task": "arc_c", "url": "https://x/y.json", "sha256": "abc"}
    assert rejected(config).startswith("config key evaluation.benchmarks.0:")


def test_paths_glob_matching_nothing(config, tmp_path):
    config["data"]["collections"] = [{"name": "web", "paths": "warcs/**/*.warc.gz"}]
    message = rejected(config, with_fixtures(tmp_path))
    assert "config key data.collections.0.paths" in message
    assert "warcs/**/*.warc.gz" in message


def test_missing_url_manifest(config, tmp_path):
    config["data"]["collections"] = [{"name": "web", "urls": "manifest.tsv"}]
    message = rejected(config, with_fixtures(tmp_path))
    assert "config key data.collections.0.urls" in message
    assert "manifest.tsv" in message


def test_duplicate_collection_names(config):
    config["data"]["collections"][1]["name"] = config["data"]["collections"][0]["name"]
    message = rejected(config)
    assert "config key data.collections:" in message
    assert "unique" in message


def test_collection_with_two_sources_is_rejected(config):
    config["data"]["collections"][0]["paths"] = "*.warc.gz"
    assert "config key data.collections.0:" in rejected(config)


def test_unknown_rule_under_resources(config):
    config["resources"]["filter_shards"] = {"threads": 2}
    message = rejected(config)
    assert "config key resources:" in message
    assert "'filter_shards'" in message


def test_bad_resource_value(config):
    config["resources"]["filter_shard"] = {"threads": 0}
    assert "config key resources.filter_shard.threads:" in rejected(config)


# --- collection files and shards ---------------------------------------------------------------


def test_collection_files_from_globs_are_sorted_relative_and_unique(tmp_path):
    names = ["z/3.warc.gz", "a/2.warc.gz", "m/n/1.arc.gz", "a/10.warc.gz", "b.warc.gz"]
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "a" / "notes.txt").write_bytes(b"")
    coll = {"name": "web", "paths": ["**/*.warc.gz", "**/*.arc.gz", "a/*.warc.gz"]}  # overlapping globs
    files = collection_files(coll, tmp_path)
    assert files == sorted(names)
    assert files == ["a/10.warc.gz", "a/2.warc.gz", "b.warc.gz", "m/n/1.arc.gz", "z/3.warc.gz"]
    assert collection_files({"name": "web", "paths": "a/*.warc.gz"}, tmp_path) == ["a/10.warc.gz", "a/2.warc.gz"]


def test_collection_files_of_synthetic_collection():
    files = collection_files({"name": "s", "synthetic": {"files": 3, "pages_per_file": 5}})
    assert files == [f"{RAW_DIR}/s/synthetic-{i:05d}.warc.gz" for i in range(3)]
    assert files == sorted(files)


def test_collection_files_of_url_collection(tmp_path):
    (tmp_path / "m.tsv").write_text(
        f"https://h.pt/a/x-1.warc.gz\t{SHA_A}\nhttps://h.pt/b/x-2.warc.gz\t{SHA_B}\n", encoding="utf-8"
    )
    assert collection_files({"name": "dl", "urls": "m.tsv"}, tmp_path) == [
        f"{DOWNLOAD_DIR}/dl/x-1.warc.gz",
        f"{DOWNLOAD_DIR}/dl/x-2.warc.gz",
    ]


def test_shards_are_contiguous():
    files = [f"f{i}" for i in range(5)]
    assert shards(files, 2) == [["f0", "f1"], ["f2", "f3"], ["f4"]]
    assert shards(files, 5) == [files]
    assert shards(files, 10) == [files]
    assert shards(files, 1) == [[f] for f in files]
    assert shards([], 3) == []
    # concatenating the shards gives the sorted list back, whatever the grouping
    for n in range(1, 7):
        assert [f for shard in shards(files, n) for f in shard] == files


# --- URL manifests ------------------------------------------------------------------------------


def test_url_manifest_with_header_comments_and_blank_lines(tmp_path):
    path = tmp_path / "m.tsv"
    path.write_text(
        "# Arquivo.pt sample\n"
        "url\tsha256\n"
        "\n"
        f"https://h.pt/col/a.warc.gz\t{SHA_A.upper()}\n"
        "# another comment\n"
        f"https://h.pt/col/b.arc.gz/\t{SHA_B}\n",
        encoding="utf-8",
    )
    entries = url_manifest(path)
    assert entries == [UrlEntry("https://h.pt/col/a.warc.gz", SHA_A), UrlEntry("https://h.pt/col/b.arc.gz/", SHA_B)]
    assert [e.filename for e in entries] == ["a.warc.gz", "b.arc.gz"]


def test_url_manifest_rejects_short_sha256_with_file_and_line(tmp_path):
    path = tmp_path / "m.tsv"
    path.write_text(f"url\tsha256\nhttps://h.pt/a.warc.gz\t{SHA_A}\n# c\nhttps://h.pt/b.warc.gz\tdeadbeef\n")
    with pytest.raises(ConfigError) as info:
        url_manifest(path)
    assert f"{path}:4:" in str(info.value)
    assert "deadbeef" in str(info.value)


def test_url_manifest_rejects_missing_column(tmp_path):
    path = tmp_path / "m.tsv"
    path.write_text("https://h.pt/a.warc.gz\n")
    with pytest.raises(ConfigError, match=r"m\.tsv:1:"):
        url_manifest(path)


def test_url_manifest_rejects_duplicate_file_names(tmp_path):
    path = tmp_path / "m.tsv"
    path.write_text(f"https://h.pt/1/a.warc.gz\t{SHA_A}\nhttps://h.pt/2/a.warc.gz\t{SHA_B}\n")
    with pytest.raises(ConfigError, match="same file name"):
        url_manifest(path)


def test_url_manifest_rejects_non_hex_sha256(tmp_path):
    path = tmp_path / "m.tsv"
    path.write_text("url\tsha256\nhttps://h.pt/a.warc.gz\t" + "g" * 64 + "\n")
    with pytest.raises(ConfigError, match=r"m\.tsv:2:"):
        url_manifest(path)
