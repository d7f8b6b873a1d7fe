"""The Debian real-text collection: packages, page pairs, held-out split, URLs, WARCs and PT-C mining.

Fixtures are tiny packages built here with dpkg-deb, in the layouts of the real ones
(libreoffice-help-pt[-br], debian-reference-pt[-br]); one test fetches a real pinned package when
this machine's apt sources carry it.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest
import yaml

from amalia_wf.config import DEBIAN_PACKAGES_DIR, ConfigError, benchmark_sources, validate
from amalia_wf.data.debian_docs import debian_reference_pages, is_heldout, pairs, split_collection
from amalia_wf.data.debian_packages import PackageError, fetch, unpack, verify
from amalia_wf.data.debian_urls import page_url
from amalia_wf.data.download import sha256_of
from amalia_wf.data.urls import UrlRules
from amalia_wf.evaluate import suite
from amalia_wf.evaluate.ptc_mining import BLANK, cloze, mine, sentences
from amalia_wf.io import read_jsonl_gz
from tests.conftest import REPO, make_workdir, run_snakemake
from tests.test_config import load, merge

DEFAULT_CONFIG = yaml.safe_load((REPO / "config/config.yaml").read_text(encoding="utf-8"))
DEBIAN_CONFIG = yaml.safe_load((REPO / "config/debian.yaml").read_text(encoding="utf-8"))
DEBIAN_SPEC = DEBIAN_CONFIG["data"]["collections"][1]["debian"]
URLS = DEBIAN_SPEC["urls"]

# pt-PT / pt-BR renderings of one page's sentences: the first two differ in one word or phrase
# (items), the third in a whole clause (no item), the fourth not at all.
PARALLEL = [
    ("Para abrir o ficheiro, escolha o menu Ficheiro na barra de menus.",
     "Para abrir o arquivo, escolha o menu Ficheiro na barra de menus."),
    ("O nome do utilizador aparece no canto superior do ecrã principal.",
     "O nome do usuário aparece no canto superior do ecrã principal."),
    ("Se pretender guardar as alterações, prima o botão Guardar antes de sair.",
     "Caso você queira salvar as mudanças feitas, pressione o botão Salvar ao sair."),
    ("Esta frase é exatamente igual nas duas traduções da página.",
     "Esta frase é exatamente igual nas duas traduções da página."),
]  # fmt: skip


def numbered(i: int) -> list[tuple[str, str]]:
    """PARALLEL as page i says it: the help's pages share no sentence here (the miner drops items
    whose sentence a training page also has)."""
    return [(f"Página {i}: {pt}", f"Página {i}: {br}") for pt, br in PARALLEL]


def lo_page(lang: str, title: str, sentences_: list[str]) -> str:
    body = "".join(f"<p>{s}</p>" for s in sentences_)
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title></head><body>'
        f'<nav>Índice</nav><div id="DisplayArea"><h1>{title}</h1>{body}'
        '<p>Prima <span hidden="true">Comando</span><span>Ctrl</span>+S para continuar o trabalho.</p></div></body></html>'
    )


def dr_chapter(lang: str, sections: list[tuple[str, str, str]]) -> str:
    parts = []
    for anchor, title, text in sections:
        parts.append(
            f'<div class="section"><div class="titlepage"><div><div><h2 class="title"><a id="{anchor}"></a>{title}</h2>'
            f"</div></div></div><p>{text}</p>"
            f'<div class="section"><div class="titlepage"><div><div><h3 class="title"><a id="{anchor}_sub"></a>Sub</h3>'
            f"</div></div></div><p>Texto da subsecção de {title}.</p></div></div>"
        )
    return f'<html lang="{lang}"><head><title>Capítulo</title></head><body><div class="chapter">{"".join(parts)}</div></body></html>'


def variety(pair: tuple[str, str], v: str) -> str:
    return pair[0] if v == "pt_pt" else pair[1]


def build_deb(tmp: Path, package: str, files: dict[str, str]) -> Path:
    root = tmp / f"build-{package}"
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN/control").write_text(
        f"Package: {package}\nVersion: 1.0\nArchitecture: all\nMaintainer: Test <t@example.org>\nDescription: fixture\n"
    )
    deb = tmp / f"{package}.deb"
    subprocess.run(["dpkg-deb", "--build", "--root-owner-group", str(root), str(deb)], check=True, capture_output=True)
    shutil.rmtree(root)
    return deb


def fixture_packages(tmp: Path, n_pages: int = 12) -> dict[str, Path]:
    """Four fake packages: n_pages parallel help pages (plus one only in each translation and a
    navigation stub), and a two-chapter Debian Reference with two sections each."""
    lo = {"pt_pt": ("libreoffice-help-pt", "pt"), "pt_br": ("libreoffice-help-pt-br", "pt-BR")}
    dr = {"pt_pt": ("debian-reference-pt", "pt"), "pt_br": ("debian-reference-pt-br", "pt-br")}
    debs = {}
    for v, (package, lang) in lo.items():
        base = f"usr/share/libreoffice/help/{lang}"
        files = {
            f"{base}/text/shared/guide/page{i:02d}.html": lo_page(
                lang, f"Página {i}", [variety(p, v) for p in numbered(i)] + [f"Esta é a página número {i} da ajuda."]
            )
            for i in range(n_pages)
        }
        files[f"{base}/text/only_{v}.html"] = lo_page(lang, "Só aqui", ["Uma página sem tradução na outra variedade."])
        files[f"{base}/noscript.html"] = "<html><body><p>Ative o JavaScript.</p></body></html>"
        debs[package] = build_deb(tmp, package, files)
    for v, (package, lang) in dr.items():
        base = "usr/share/debian-reference"
        files = {
            f"{base}/ch0{c}.{lang}.html": dr_chapter(
                lang, [(f"_sec_{c}_{s}", f"{c}.{s}. Secção", variety(PARALLEL[s], v)) for s in (0, 1)]
            )
            for c in (1, 2)
        }
        files[f"{base}/index.{lang}.html"] = dr_chapter(lang, [("_toc", "Índice", "Conteúdo do livro.")])
        debs[package] = build_deb(tmp, package, files)
    return debs


@pytest.fixture(scope="module")
def debs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return fixture_packages(tmp_path_factory.mktemp("debs"))


@pytest.fixture(scope="module")
def trees(debs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("trees")
    for package, deb in debs.items():
        unpack(package, deb, root / package)
    return {package: root / package for package in debs}


def fixture_spec(heldout_fraction: float = 0.5, files: int = 2) -> dict:
    return {**DEBIAN_SPEC, "heldout_fraction": heldout_fraction, "files": files}


# --- packages -----------------------------------------------------------------------------------


def test_a_tampered_package_fails_naming_it(debs, tmp_path):
    deb = tmp_path / "libreoffice-help-pt.deb"
    shutil.copy(debs["libreoffice-help-pt"], deb)
    good = sha256_of(deb)
    verify("libreoffice-help-pt", deb, good)
    with deb.open("r+b") as f:
        f.seek(200)
        byte = f.read(1)
        f.seek(200)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(PackageError, match=r"libreoffice-help-pt: .*libreoffice-help-pt\.deb has sha256 .*expected " + good):
        verify("libreoffice-help-pt", deb, good)


def test_without_apt_get_the_fetch_names_the_package_and_the_tool(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no apt-get, no dpkg-deb
    with pytest.raises(PackageError, match=r"debian-reference-pt=2\.100: `apt-get` not found.*config/synthetic\.yaml"):
        fetch("debian-reference-pt", "2.100", "0" * 64, tmp_path / "p.deb", tmp_path / "p")
    assert not (tmp_path / "p.deb").exists() and not (tmp_path / "p").exists()


@pytest.mark.skipif(shutil.which("apt-get") is None, reason="needs apt-get (Debian/Ubuntu)")
def test_a_version_apt_does_not_have_fails_naming_the_package(tmp_path):
    with pytest.raises(PackageError, match=r"debian-reference-pt=0\.0-none: apt-get download failed"):
        fetch("debian-reference-pt", "0.0-none", "0" * 64, tmp_path / "p.deb", tmp_path / "p")
    assert list(tmp_path.iterdir()) == []


def _apt_has(package: str, version: str) -> bool:
    if shutil.which("apt-cache") is None:
        return False
    shown = subprocess.run(["apt-cache", "show", f"{package}={version}"], capture_output=True, text=True)
    return shown.returncode == 0


PIN = DEBIAN_SPEC["packages"]["debian-reference-pt"]


@pytest.mark.skipif(not _apt_has("debian-reference-pt", PIN["version"]), reason="apt sources without the bookworm pin")
def test_the_real_pinned_package_is_fetched_checked_and_unpacked(tmp_path):
    fetch("debian-reference-pt", PIN["version"], PIN["sha256"], tmp_path / "p.deb", tmp_path / "p")
    assert sha256_of(tmp_path / "p.deb") == PIN["sha256"]
    pages = list(debian_reference_pages(tmp_path / "p", "pt", "debian-reference"))
    # 94 top-level sections in the 12 chapters, the preface and the appendix of version 2.100.
    assert len({p.key for p in pages}) == len(pages) == 94 and all(p.blocks for p in pages)


# --- pairs and split ----------------------------------------------------------------------------


def test_pages_pair_by_relative_path_and_the_reference_is_cut_at_its_sections(trees):
    lo, lo_counts = pairs(DEBIAN_SPEC["sources"][0], trees)
    assert [p.key for p in lo] == [f"libreoffice-help/text/shared/guide/page{i:02d}.html" for i in range(12)]
    assert lo_counts == {"only_pt_pt": 1, "only_pt_br": 1, "no_text": 0}
    page = lo[0]
    assert page.pt_pt.blocks[1:3] == (numbered(0)[0][0], numbered(0)[1][0])
    assert page.pt_br.blocks[1:3] == (numbered(0)[0][1], numbered(0)[1][1])
    # Hidden per-platform alternatives are not text; the navigation outside the display area neither.
    assert page.pt_pt.blocks[-1] == "Prima Ctrl+S para continuar o trabalho."
    assert "Índice" not in page.pt_pt.blocks
    dr, dr_counts = pairs(DEBIAN_SPEC["sources"][1], trees)
    assert [p.key for p in dr] == [f"debian-reference/ch0{c}/_sec_{c}_{s}.html" for c in (1, 2) for s in (0, 1)]
    assert dr_counts == {"only_pt_pt": 0, "only_pt_br": 0, "no_text": 0}
    assert dr[0].pt_pt.title == "1.0. Secção"
    assert dr[0].pt_pt.blocks == ("1.0. Secção", PARALLEL[0][0], "Sub", "Texto da subsecção de 1.0. Secção.")
    assert dr[0].pt_br.blocks[1] == PARALLEL[0][1]


def test_the_heldout_split_is_stable_and_has_the_configured_share():
    keys = [f"libreoffice-help/text/page{i}.html" for i in range(20000)]
    held = {k for k in keys if is_heldout(k, 0.2, 1)}
    assert abs(len(held) / len(keys) - 0.2) < 0.01
    # A page's side depends on its own key only: not on which other pages exist, nor their order.
    assert {k for k in reversed(keys[:5000]) if is_heldout(k, 0.2, 1)} == held & set(keys[:5000])
    assert {k for k in keys if is_heldout(k, 0.2, 2)} != held  # the seed reshuffles


def test_both_translations_of_a_pair_stay_on_one_side(trees):
    train, heldout, stats = split_collection(fixture_spec(), trees, seed=1)
    held_keys = {h["key"] for h in heldout}
    train_keys = Counter(p["key"] for p in train)
    assert held_keys and train_keys and not held_keys & set(train_keys)
    assert set(train_keys.values()) == {2}  # pt-PT and pt-BR
    assert len(held_keys) + len(train_keys) == 16
    assert stats["heldout_pairs"] == len(heldout) and stats["train_pages"] == len(train)
    assert {p["file"] for p in train} == {0, 1}
    again, _, _ = split_collection(fixture_spec(), trees, seed=1)
    assert again == train


# --- URLs ---------------------------------------------------------------------------------------


def test_urls_have_the_configured_kinds_and_shares_and_the_url_filter_treats_them_as_the_paper_would():
    keys = [f"libreoffice-help/text/page{i}.html" for i in range(20000)]
    rules = UrlRules(DEFAULT_CONFIG["data"]["url_filter"])  # config/debian.yaml keeps the default's
    for v, kinds in (("pt_pt", {"pt_host": 1 - URLS["pt_pt"]["br_named_share"], "br_named_host": URLS["pt_pt"]["br_named_share"]}),
                     ("pt_br", URLS["pt_br"]["shares"])):  # fmt: skip
        urls = [page_url(v, k, URLS) for k in keys]
        counts = Counter(kind for kind, _ in urls)
        for kind, share in kinds.items():
            assert abs(counts[kind] / len(keys) - share) < 0.015, (v, kind, counts)
        for kind, url in urls[:300]:
            host = url.split("/")[2]
            if v == "pt_pt":
                assert host.endswith(".pt") and ("br" in host) == (kind == "br_named_host")
                assert rules.reason(url) is None  # "br" inside a .pt host name is kept
            elif kind == "br_host":
                assert host.endswith(".br") and rules.reason(url) == "host_suffix"
            elif kind == "br_path":
                assert "/pt-br/" in url and rules.reason(url) == "path_segment"
            else:
                assert not host.endswith((".br", ".pt")) and rules.reason(url) is None  # pt-BR that reaches the corpus
    assert page_url("pt_br", keys[0], URLS) == page_url("pt_br", keys[0], URLS)


# --- PT-C mining --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pt", "br", "option_pt", "option_br"),
    [
        (PARALLEL[0][0], PARALLEL[0][1], "ficheiro", "arquivo"),
        (PARALLEL[1][0], PARALLEL[1][1], "utilizador", "usuário"),
        ("A imagem aparece no ecrã do computador portátil.", "A imagem aparece na tela do computador portátil.", "no ecrã", "na tela"),
        ("Clique aqui para guardar o documento atual.", "Clique aqui para salvar o documento atual.", "guardar", "salvar"),
        ("Abra o seu ficheiro de texto com o editor.", "Abra seu arquivo de texto com o editor.", "o seu ficheiro", "seu arquivo"),
    ],
)
def test_sentences_that_differ_in_one_short_phrase_give_an_item(pt, br, option_pt, option_br):
    item = cloze(pt, br, max_phrase_tokens=3, min_tokens=5)
    assert item is not None and (item.option_pt, item.option_br) == (option_pt, option_br)
    assert item.sentence.replace(BLANK, option_pt) == pt and item.sentence.replace(BLANK, option_br) == br


@pytest.mark.parametrize(
    ("pt", "br"),
    [
        PARALLEL[2],  # a whole clause reworded
        PARALLEL[3],  # identical
        # two differences far apart: the span between them is longer than a short phrase
        ("O ficheiro fica guardado na pasta pessoal de cada utilizador do sistema.",
         "O arquivo fica guardado na pasta pessoal de cada usuário do sistema."),
        ("Escolha Ficheiro para abrir o documento.", "Escolha ficheiro para abrir o documento."),  # case only
        ("Prima 1 vez o botão para abrir o menu.", "Prima 2 vez o botão para abrir o menu."),  # a number
        ("Guardar o ficheiro.", "Salvar o arquivo."),  # too short to be a sentence item
    ],
)  # fmt: skip
def test_sentences_that_differ_in_more_than_a_short_phrase_are_rejected(pt, br):
    assert cloze(pt, br, max_phrase_tokens=3, min_tokens=5) is None


def test_mining_aligns_sentences_dedups_and_writes_ptc_records_the_task_reads(tmp_path):
    page = lambda k: {"key": k, "pt_pt": {"blocks": [" ".join(p[0] for p in PARALLEL)]},  # noqa: E731
                      "pt_br": {"blocks": [" ".join(p[1] for p in PARALLEL)]}}  # fmt: skip
    assert sentences(page("x")["pt_pt"]["blocks"]) == [p[0] for p in PARALLEL]
    items, stats = mine([page("src/a.html"), page("src/b.html")], set(), max_phrase_tokens=3, min_tokens=5)
    # Two items per page, the same on both pages: kept once, at the first page.
    assert [(i["option_pt"], i["option_br"], i["page"]) for i in items] == [
        ("ficheiro", "arquivo", "src/a.html"), ("utilizador", "usuário", "src/a.html")]  # fmt: skip
    assert stats["items"] == 2 and stats["heldout_pages"] == 2 and stats["items_per_source"] == {"src": 2}
    assert stats["dropped_in_training"] == 0
    # A sentence a training page also has (in either variety) gives no item.
    unseen, stats = mine([page("src/a.html")], {PARALLEL[1][1]}, max_phrase_tokens=3, min_tokens=5)
    assert [i["option_pt"] for i in unseen] == ["ficheiro"] and stats["dropped_in_training"] == 1
    assert stats["top_substitutions"][0] == {"pt_pt": "ficheiro", "pt_br": "arquivo", "items": 1}
    raw = tmp_path / "pt_c.jsonl"
    raw.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items), encoding="utf-8")
    prepared = [json.loads(line) for line in suite.prepare("pt_c", raw, tmp_path / "prepared")["test"].read_text().splitlines()]
    assert prepared[0]["context"] == "Para abrir o"
    assert prepared[0]["choices"] == [" ficheiro, escolha o menu Ficheiro na barra de menus.", " arquivo, escolha o menu Ficheiro na barra de menus."]
    assert prepared[0]["label"] == 0


# --- config and workflow ------------------------------------------------------------------------


def test_config_rejects_unpinned_packages_bad_shares_and_unknown_mined_sources():
    def with_debian(spec: dict, pt_c: dict | None = None) -> dict:
        cfg = json.loads(json.dumps(DEFAULT_CONFIG))
        cfg["data"]["collections"] = [{"name": "deb", "debian": spec}]
        if pt_c is not None:
            cfg["evaluation"]["benchmarks"] = [b if b["task"] != "pt_c" else pt_c for b in cfg["evaluation"]["benchmarks"]]
        return cfg

    files = validate(merge(DEFAULT_CONFIG, DEBIAN_CONFIG), REPO)  # config/debian.yaml, as Snakemake merges it
    assert {name: len(f) for name, f in files.items()} == {"synth-a": 4, "debian-docs": 8}
    assert files["debian-docs"][0] == "results/data/raw/debian-docs/debian-00000.warc.gz"
    assert benchmark_sources(DEBIAN_CONFIG["evaluation"])["pt_c"] == {"path": "results/data/debian/debian-docs/ptc/pt_c.jsonl"}
    assert list(validate(with_debian(DEBIAN_SPEC, {"task": "pt_c", "mined_from": "deb"}), REPO)) == ["deb"]
    unpinned = {**DEBIAN_SPEC, "packages": {k: v for k, v in DEBIAN_SPEC["packages"].items() if k != "debian-reference-pt"}}
    with pytest.raises(ConfigError, match=r"data\.collections\.0\.debian\.sources\.1\.pt_pt\.package: 'debian-reference-pt' is not pinned"):
        validate(with_debian(unpinned), REPO)
    shares = json.loads(json.dumps(DEBIAN_SPEC))
    shares["urls"]["pt_br"]["shares"]["neutral"] = 0.5
    with pytest.raises(ConfigError, match=r"urls\.pt_br\.shares: must add up to 1"):
        validate(with_debian(shares), REPO)
    with pytest.raises(ConfigError, match=r"evaluation\.benchmarks\.6\.mined_from: 'other' is no debian collection"):
        validate(with_debian(DEBIAN_SPEC, {"task": "pt_c", "mined_from": "other"}), REPO)


def test_the_data_stage_reads_the_pages_as_a_collection_and_mines_ptc(debs, tmp_path):
    """The workflow on the fixture packages (placed where fetch_debian_package puts them): pairs,
    WARCs, the data stage's URL filter, and PT-C items from the held-out pairs."""
    spec = fixture_spec() | {"packages": {name: {"version": "1.0", "sha256": sha256_of(deb)} for name, deb in debs.items()}}
    # Beside the default's synthetic collections, which give the tiny models enough text to train on.
    collections = load("config.yaml")["data"]["collections"] + [{"name": "deb", "debian": spec}]
    workdir = make_workdir(tmp_path / "wf", {"data": {"collections": collections}})
    for name, deb in debs.items():
        unpack(name, deb, workdir / DEBIAN_PACKAGES_DIR / name)
        shutil.copy(deb, workdir / DEBIAN_PACKAGES_DIR / f"{name}.deb")
    run_snakemake(workdir, "data")
    out = workdir / "results/data"
    train = list(read_jsonl_gz(out / "debian/deb/train_pages.jsonl.gz"))
    excluded = [r for f in sorted((out / "filtered/deb").glob("*.excluded.jsonl.gz")) for r in read_jsonl_gz(f)]
    url_dropped = {r["metadata"]["url"] for r in excluded if r["stage"] == "url_filter"}
    assert url_dropped == {p["url"] for p in train if p["url_kind"] in ("br_host", "br_path")}
    read = [json.loads(f.read_text())["read"] for f in sorted((out / "filtered/deb").glob("*.stats.json"))]
    assert sum(r["responses"] for r in read) == len(train) and not any(r["corrupt"] for r in read)
    items = [json.loads(line) for line in (out / "debian/deb/ptc/pt_c.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {(i["option_pt"], i["option_br"]) for i in items} == {("ficheiro", "arquivo"), ("utilizador", "usuário")}
    heldout = {json.loads(line)["key"] for line in (out / "debian/deb/heldout.jsonl").read_text().splitlines()}
    assert {i["page"] for i in items} <= heldout and not heldout & {p["key"] for p in train}
    seen = {s for p in train for s in sentences(p["blocks"])}
    assert not any(i["sentence"].replace(BLANK, i[o]) in seen for i in items for o in ("option_pt", "option_br"))

    # Each trained model's perplexity on both sides of the held-out pages: a table of its own.
    run_snakemake(workdir, "results/tables/heldout_perplexity.csv")
    table = {(r["model"], r["column"]): r for r in csv.DictReader(open(workdir / "results/tables/heldout_perplexity.csv"))}
    for model in ("amalia-tiny-sft", "amalia-tiny-dpo"):
        result = json.loads((workdir / f"results/eval/{model}/heldout_perplexity.json").read_text())
        assert result["pages"] == len(heldout) and result["pt_pt"] > 1 and result["pt_pt_se"] > 0
        assert float(table[(model, "pt-BR / pt-PT")]["reproduced"]) == round(result["ratio"], 2)
        assert table[(model, "pt-PT perplexity")]["status"] == "not in paper"
