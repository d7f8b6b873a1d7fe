"""Per-core throughput of our shard pipeline against a stock datatrove 0.10.1 pipeline.

Run by hand (not part of the tests):

    .venv/bin/python bench/data_throughput.py                 # 8 WARCs x 60 pages, 2 repeats
    .venv/bin/python bench/data_throughput.py --files 2 --pages 40 --repeats 1   # quick look

Both pipelines run in this one process, back to back and in alternating order per repeat, on the
same synthetic WARCs (amalia_wf.data.synthetic), so machine noise hits both alike and only the
ratios are meant to be read.

ours   ShardProcessor(config["data"]).run(...) exactly as the filter_shard rule calls it
       (documents, exclusions, MinHash signatures and stats are written to a temp dir).
stock  datatrove 0.10.1 steps configured like the authors' published arquivo_processing pipeline,
       chained in-process as generators (`step.run(data, rank=0, world_size=1)`):
         WarcReader (datatrove's own read_file/process_record; see "substitutes" below)
         -> LambdaFilter: published substring test ("/pt-br", "/pt_br/", ".com/br", ".br", "/br/")
         -> URLFilter (UT1 lists, offline TLDExtract)
         -> Trafilatura(favour_precision=True, timeout=30, output_format="json", with_metadata=True)
            (datatrove's default deduplicate=True, as the published call did not set it), then the
            JSON is unpacked into text + title
         -> line cleanup (the fork's PostScraper logic: amalia_wf.data.text_filters.clean_lines)
         -> LanguageFilter(["pt"], 0.799, backend="ft176") with the same lid.176.ftz file as ours
         -> GopherRepetitionFilter / FineWebQualityFilter / GopherQualityFilter (language="por",
            i.e. spaCy words), FineWeb-2 por_Latn values from config.yaml
         -> FTFYFormatter -> PIIFormatter() -> SymbolLinesFormatter(["|"], "\\n") (as published)
         -> MinHash signature per document (MinhashDedupSignature.get_signature(get_shingles(text)),
            14x8 buckets, 5-grams, language por_Latn)
         -> JSONL writer (gzip); filters get exclusion writers, as published.
       Not modelled (in stock's favour): the published run writes JSONL after extraction and reads
       it back in a second job; TokensCounter (needs the GPT-2 tokenizer from the hub) is left out.

Substitutes for packages missing offline: datatrove's WarcReader needs `cchardet` and
`python-magic`; neither is installed. The bench reader is a BaseDiskReader that borrows
WarcReader.read_file and datatrove's own process_record unchanged, with two tiny stand-in modules:
`magic.from_buffer` calls the system libmagic through ctypes (what python-magic does) and
`cchardet.detect` uses charset_normalizer (only reached for payloads that are not UTF-8). JsonlWriter
needs `orjson`: the bench writer is the same DiskWriter with stdlib json.

Measured: documents entering each pipeline (HTML documents produced by its reader), kept documents,
process CPU time (time.process_time, plus the CPU of child processes: datatrove runs trafilatura in a
forked sandbox process), wall time, documents per CPU-second (= per core, both are single-process),
WARC MB (gzip) per CPU-hour (config cost_plan.throughput_mb_per_cpu_hour, the cost plan's rate),
the ours/stock ratio against the 3x target, a per-stage time table for each pipeline, and the
keep/drop agreement on every record with each disagreement put into a documented class.
Per-stage tables: stock from generator taps between steps (exclusive time = time inside a step's
next() minus its upstream's); ours from a separate instrumented run in which the ShardProcessor's
own stage objects are wrapped with perf_counter accounting (the headline runs are not instrumented).
"""

from __future__ import annotations

import argparse
import copy
import ctypes
import ctypes.util
import gzip
import importlib.machinery
import importlib.util
import json
import multiprocessing
import os
import resource
import shutil
import sys
import tempfile
import time
import types
from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

COLLECTION = "bench"
SEED = 1
# The published URL drop (ANCHORS.md section 1): a plain substring test.
BR_SUBSTRINGS = ("/pt-br", "/pt_br/", ".com/br", ".br", "/br/")


# --------------------------------------------------------------------------- stand-ins for missing packages


def install_detector_stubs() -> list[str]:
    """Give datatrove's process_record a `magic` and a `cchardet` if the real ones are missing."""
    installed = []
    if importlib.util.find_spec("magic") is None:
        lib = ctypes.CDLL(ctypes.util.find_library("magic") or "libmagic.so.1")
        lib.magic_open.restype = ctypes.c_void_p
        lib.magic_open.argtypes = [ctypes.c_int]
        lib.magic_load.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        lib.magic_buffer.restype = ctypes.c_char_p
        lib.magic_buffer.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
        cookies = {}

        def from_buffer(buffer: bytes, mime: bool = False) -> str:
            flags = 0x10 if mime else 0  # MAGIC_MIME_TYPE
            if flags not in cookies:
                cookie = lib.magic_open(flags)
                if lib.magic_load(cookie, None) != 0:
                    raise RuntimeError("libmagic could not load its database")
                cookies[flags] = cookie
            out = lib.magic_buffer(cookies[flags], buffer, len(buffer))
            return out.decode() if out else ""

        mod = types.ModuleType("magic")
        mod.__spec__ = importlib.machinery.ModuleSpec("magic", None)
        mod.from_buffer = from_buffer
        sys.modules["magic"] = mod
        installed.append("magic -> system libmagic via ctypes")
    if importlib.util.find_spec("cchardet") is None:
        from charset_normalizer import from_bytes

        def detect(data: bytes) -> dict[str, Any]:
            best = from_bytes(data).best()
            return {"encoding": best.encoding if best else None, "confidence": 1.0 if best else None}

        mod = types.ModuleType("cchardet")
        mod.__spec__ = importlib.machinery.ModuleSpec("cchardet", None)
        mod.detect = detect
        sys.modules["cchardet"] = mod
        installed.append("cchardet -> charset_normalizer")
    return installed


# --------------------------------------------------------------------------- input


@dataclass(frozen=True)
class RecordInfo:
    file_index: int
    index: int
    url: str
    status: str
    content_type: str
    kind: str


def generate(folder: Path, n_files: int, n_pages: int) -> list[tuple[int, str]]:
    from amalia_wf.data.synthetic import collection_pages, write_warc

    files = []
    for i in range(n_files):
        path = folder / f"{COLLECTION}-{i:05d}.warc.gz"
        write_warc(path, collection_pages(COLLECTION, i, SEED, n_pages), COLLECTION, i, SEED)
        files.append((i, str(path)))
    return files


def scan(files: list[tuple[int, str]], n_pages: int) -> dict[str, RecordInfo]:
    """Record id -> what the record is (status, type, and the page kind the generator made it as)."""
    from warcio.archiveiterator import ArchiveIterator

    from amalia_wf.data.synthetic import collection_pages

    out = {}
    for file_index, path in files:
        pages = collection_pages(COLLECTION, file_index, SEED, n_pages)
        with open(path, "rb") as f:
            for i, rec in enumerate(ArchiveIterator(f)):
                if rec.rec_type != "response":
                    continue
                http = rec.http_headers
                out[rec.rec_headers.get_header("WARC-Record-ID")] = RecordInfo(
                    file_index,
                    i,
                    rec.rec_headers.get_header("WARC-Target-URI"),
                    http.get_statuscode() if http else "",
                    (http.get_header("Content-Type") or "").split(";")[0] if http else "",
                    pages[i].kind,
                )
    return out


# --------------------------------------------------------------------------- timing helpers


def children_cpu() -> float:
    multiprocessing.active_children()  # reap finished sandbox processes so their CPU is counted
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


@dataclass
class Timing:
    docs_in: int = 0
    kept: int = 0
    cpu_self: float = 0.0
    cpu_children: float = 0.0
    wall: float = 0.0

    @property
    def cpu(self) -> float:
        return self.cpu_self + self.cpu_children


@contextmanager
def measure(t: Timing):
    c0, k0, w0 = time.process_time(), children_cpu(), time.perf_counter()
    yield
    t.wall = time.perf_counter() - w0
    t.cpu_self = time.process_time() - c0
    t.cpu_children = children_cpu() - k0


# --------------------------------------------------------------------------- ours


def run_ours(proc, files, out_dir: Path) -> tuple[Timing, dict[str, Any], dict[str, str]]:
    out = {
        "docs": str(out_dir / "docs.jsonl.gz"),
        "excluded": str(out_dir / "excluded.jsonl.gz"),
        "signatures": str(out_dir / "minhash.npy"),
        "stats": str(out_dir / "stats.json"),
    }
    t = Timing()
    with measure(t):
        stats = proc.run(COLLECTION, files, out)
    read = stats["read"]
    t.docs_in = read["responses"] - read["not_200"] - read["not_html"] - read["undecodable"]  # damaged records are not responses
    t.kept = stats["kept"]
    return t, stats, out


OURS_STAGES = (
    "read (warcio, status/type check, decode)",
    "url_filter",
    "extraction (trafilatura + lxml title)",
    "line_cleanup",
    "language_id",
    "word split (fast)",
    "gopher_repetition",
    "fineweb_quality",
    "gopher_quality",
    "ftfy",
    "pii",
    "symbol_lines",
    "domain (tldextract)",
    "minhash signature",
)


@contextmanager
def instrument_ours(proc, clock: dict[str, float], capture: dict[str, dict[str, str]]):
    """Wrap the ShardProcessor's stage objects (this instance and this process only) with timers."""
    from amalia_wf.data import shard as shard_mod

    pc = time.perf_counter
    current = [""]
    saved_module = {n: getattr(shard_mod, n) for n in ("read_html_records", "clean_lines", "QUALITY_FILTERS")}
    patched_instance: list[tuple[object, str, object, bool]] = []

    def timed(name: str, fn, keep: str | None = None, pick=lambda r: r):
        def wrapper(*a, **k):
            t = pc()
            r = fn(*a, **k)
            clock[name] += pc() - t
            if keep:
                capture[keep][current[0]] = pick(r)
            return r

        return wrapper

    def patch(obj: object, attr: str, new: object) -> None:
        had = attr in vars(obj)
        patched_instance.append((obj, attr, getattr(obj, attr), had))
        setattr(obj, attr, new)

    orig_read = saved_module["read_html_records"]

    def read_html_records(path, file_index, counts, skip_unreadable=False):
        gen = orig_read(path, file_index, counts, skip_unreadable)
        while True:
            t = pc()
            try:
                rec = next(gen)
            except StopIteration:
                clock[OURS_STAGES[0]] += pc() - t
                return
            clock[OURS_STAGES[0]] += pc() - t
            current[0] = rec.record_id
            yield rec

    shard_mod.read_html_records = read_html_records
    shard_mod.clean_lines = timed("line_cleanup", saved_module["clean_lines"], keep="cleaned")
    shard_mod.QUALITY_FILTERS = tuple((n, timed(n, f)) for n, f in saved_module["QUALITY_FILTERS"])
    patch(proc.urls, "reason", timed("url_filter", proc.urls.reason))
    patch(proc.extractor, "extract", timed(OURS_STAGES[2], proc.extractor.extract))
    patch(proc.lid, "predict", timed("language_id", proc.lid.predict))
    patch(proc, "words", timed("word split (fast)", proc.words))
    patch(proc.ftfy, "format", timed("ftfy", proc.ftfy.format))
    patch(proc.pii, "mask", timed("pii", proc.pii.mask, keep="after_pii", pick=lambda r: r[0]))
    patch(proc.symbol_lines, "format", timed("symbol_lines", proc.symbol_lines.format, keep="final"))
    patch(proc, "domains", timed("domain (tldextract)", proc.domains))
    patch(proc.signer, "signature", timed("minhash signature", proc.signer.signature))
    try:
        yield
    finally:
        for name, value in saved_module.items():
            setattr(shard_mod, name, value)
        for obj, attr, old, had in reversed(patched_instance):
            if had:
                setattr(obj, attr, old)
            else:
                delattr(obj, attr)


def ours_outcome(out: dict[str, str]) -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    """(kept id -> final text, dropped id -> (stage, reason)) from the written files."""
    kept, dropped = {}, {}
    with gzip.open(out["docs"], "rt", encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            kept[d["id"]] = d["text"]
    with gzip.open(out["excluded"], "rt", encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            dropped[d["id"]] = (d["stage"], d["reason"])
    return kept, dropped


# --------------------------------------------------------------------------- stock


class Tap:
    """Wraps a step's output generator: wall time spent inside next(), ids (and texts) that pass."""

    def __init__(self, name: str, inner, snapshot: bool = False) -> None:
        self.name, self.inner, self.snapshot = name, inner, snapshot
        self.inclusive = 0.0
        self.ids: set[str] = set()
        self.texts: dict[str, str] = {}

    def __iter__(self):
        pc = time.perf_counter
        it = iter(self.inner)
        while True:
            t = pc()
            try:
                doc = next(it)
            except StopIteration:
                self.inclusive += pc() - t
                return
            self.inclusive += pc() - t
            self.ids.add(doc.id)
            if self.snapshot:
                self.texts[doc.id] = doc.text
            yield doc


SNAPSHOT_STAGES = {"line_cleanup": "cleaned", "pii": "after_pii", "symbol_lines": "final"}


def build_stock(cfg: dict[str, Any], lid_model, deduplicate: bool) -> list[tuple[str, Any]]:
    """The steps after the reader and before the writer (those are per run: they hold paths)."""
    from datatrove.data import Document
    from datatrove.pipeline.base import PipelineStep
    from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupSignature
    from datatrove.pipeline.extractors import Trafilatura
    from datatrove.pipeline.filters import LambdaFilter, LanguageFilter, URLFilter
    from datatrove.pipeline.filters.base_filter import BaseFilter
    from datatrove.pipeline.formatters import FTFYFormatter, PIIFormatter, SymbolLinesFormatter
    from datatrove.utils.hashing import HashConfig
    from datatrove.utils.typeshelper import Languages
    from tldextract import TLDExtract

    from amalia_wf.data.text_filters import clean_lines, datatrove_filters

    class TrafilaturaJson(PipelineStep):
        """The published TrafilaturaMetadata output: JSON with metadata -> text, title in metadata."""

        name = "JSON unpack"

        def run(self, data, rank=0, world_size=1):
            for doc in data:
                j = json.loads(doc.text)
                doc.text = j.get("text") or ""
                doc.metadata["title"] = j.get("title")
                if doc.text:
                    yield doc

    class PostScraper(BaseFilter):
        """The fork's post-scrape cleanup: lines with < min letters and repeated lines go."""

        name = "PostScraper"

        def __init__(self, min_letters: int, exclusion_writer=None):
            super().__init__(exclusion_writer)
            self.min_letters = min_letters

        def filter(self, doc: Document) -> bool:
            doc.text = clean_lines(doc.text, self.min_letters, True)
            return bool(doc.text)

    class MinhashSignatureCost(PipelineStep):
        """Stage 1 of the published MinHash dedup, per document (signatures are computed, not saved)."""

        name = "MinHash signature"

        def __init__(self, mh: dict[str, Any], folder: str):
            super().__init__()
            config = MinhashConfig(
                hash_config=HashConfig(hash_fc="xxhash", precision=64),
                num_buckets=mh["buckets"],
                hashes_per_bucket=mh["hashes_per_bucket"],
                n_grams=mh["ngrams"],
                seed=mh["seed"],
            )
            self.step = MinhashDedupSignature(output_folder=folder, config=config, language=Languages.portuguese__latn)
            self.n = 0

        def run(self, data, rank=0, world_size=1):
            for doc in data:
                shingles = self.step.get_shingles(doc.text)
                if shingles.size:
                    self.step.get_signature(shingles)
                    self.n += 1
                yield doc

    d = cfg["data"]
    url_filter = URLFilter()
    url_filter.tldextractor = TLDExtract(suffix_list_urls=())
    lang = LanguageFilter(languages=["pt"], language_threshold=d["language_id"]["threshold"], backend="ft176")
    lang.model._model = lid_model  # same lid.176.ftz object as ours; datatrove would download lid.176.bin
    return [
        ("url_substring (.br etc.)", LambdaFilter(lambda doc: not any(s in doc.metadata["url"] for s in BR_SUBSTRINGS))),
        ("url_filter (UT1)", url_filter),
        (
            "trafilatura json+metadata (sandbox)",
            Trafilatura(favour_precision=True, timeout=30, deduplicate=deduplicate, output_format="json", with_metadata=True),
        ),
        ("json unpack", TrafilaturaJson()),
        ("line_cleanup", PostScraper(d["line_cleanup"]["min_letters"])),
        ("language_id", lang),
        *datatrove_filters(d["filters"]),
        ("ftfy", FTFYFormatter()),
        ("pii", PIIFormatter()),
        ("symbol_lines", SymbolLinesFormatter(symbols_to_remove=["|"], replace_char="\n")),
        ("minhash signature", MinhashSignatureCost(d["minhash"]["collection"], tempfile.gettempdir())),
    ]


EXCLUDING = ("line_cleanup", "language_id", "gopher_repetition", "fineweb_quality", "gopher_quality")


def make_writer(folder: str):
    from datatrove.pipeline.writers.disk_base import DiskWriter
    from datatrove.pipeline.writers.jsonl import _json_default

    class StdJsonlWriter(DiskWriter):
        """datatrove's JsonlWriter with stdlib json instead of orjson (not installed)."""

        default_output_filename = "${rank}.jsonl"
        name = "Jsonl (stdlib json)"

        def __init__(self, output_folder):
            super().__init__(output_folder, compression="gzip", mode="wb")

        def _write(self, document, file_handler, _filename):
            file_handler.write(json.dumps(document, ensure_ascii=False, default=_json_default).encode() + b"\n")

    return StdJsonlWriter(folder)


def make_reader(folder: str):
    from datatrove.pipeline.readers import WarcReader
    from datatrove.pipeline.readers.base import BaseDiskReader

    class BenchWarcReader(BaseDiskReader):
        """datatrove's WarcReader.read_file/process_record without its pip-distribution check."""

        name = WarcReader.name
        read_file = WarcReader.read_file

        def __init__(self, data_folder):
            self.compression = "infer"
            super().__init__(data_folder, glob_pattern="*.warc.gz")

    return BenchWarcReader(folder)


@dataclass
class StockRun:
    timing: Timing
    taps: list[Tap] = field(default_factory=list)

    def stage_table(self) -> list[tuple[str, float]]:
        out, prev = [], 0.0
        for tap in self.taps:
            out.append((tap.name, tap.inclusive - prev))
            prev = tap.inclusive
        return out


def run_stock(steps, warc_dir: Path, out_dir: Path) -> StockRun:
    reader = make_reader(str(warc_dir))
    writer = make_writer(str(out_dir / "output"))
    for name, step in steps:
        if name in EXCLUDING:
            step.exclusion_writer = make_writer(str(out_dir / "removed" / name))
    run = StockRun(Timing())
    with measure(run.timing):
        data = Tap("read (warcio, libmagic sniff, decode)", reader.run(None, rank=0, world_size=1))
        run.taps.append(data)
        for name, step in steps:
            data = Tap(name, step.run(data, rank=0, world_size=1), snapshot=name in SNAPSHOT_STAGES)
            run.taps.append(data)
        data = Tap("writer (json + gzip)", writer.run(data, rank=0, world_size=1))
        run.taps.append(data)
        for _ in data:
            pass
    run.timing.docs_in = len(run.taps[0].ids)
    run.timing.kept = len(run.taps[-1].ids)
    return run


# --------------------------------------------------------------------------- agreement

CLASSES = {
    "a": "non-200 page: stock reads it (no HTTP status check) and keeps it",
    "b": "URL rule: published substring test vs our host-suffix/path-segment test",
    "c": "word splitter: spaCy (stock) vs fast splitter (ours) in the quality filters",
    "d": "PII: datatrove cycles replacements / we also mask PT phones (text only)",
    "e": "extraction: trafilatura JSON+metadata (dedup on) vs plain extract + lxml title",
    "f": "reader content sniffing: stock's libmagic says text/xml for an XHTML page, drops it",
    "g": "fork rule: top-n-gram test skipped when the top n-gram occurs once (ours), stock has no skip",
    "h": "symbol lines: published removes only '|' lines (-> newline), ours every punctuation-only line",
}


def quality_verdict(text: str, splitter, cfg: dict[str, Any]) -> str | None:
    from amalia_wf.data.text_filters import QUALITY_FILTERS

    words = splitter(text)
    for name, check in QUALITY_FILTERS:
        reason, _ = check(text, words, cfg[name])
        if reason:
            return f"{name}:{reason}"
    return None


def agreement(records, ours_kept, ours_dropped, ours_cap, stock: StockRun, filters_cfg) -> None:
    from amalia_wf.data.text_filters import word_splitter

    stock_last = stock.taps[-1].ids
    snap = {SNAPSHOT_STAGES[t.name]: t.texts for t in stock.taps if t.name in SNAPSHOT_STAGES}
    spacy = word_splitter("spacy")
    fast = word_splitter(filters_cfg["word_tokenizer"])
    noskip = copy.deepcopy(filters_cfg)
    noskip["gopher_repetition"]["skip_unique_top_ngram"] = False

    def stock_stage(rid: str) -> str | None:
        if rid not in stock.taps[0].ids:
            return "read"
        for tap in stock.taps[1:]:
            if rid not in tap.ids:
                return tap.name
        return None

    def ours_stage(rid: str) -> str | None:
        if rid in ours_kept:
            return None
        stage, reason = ours_dropped.get(rid, ("read", "not HTTP-200 HTML"))
        return f"{stage}:{reason}"

    html_ids = [rid for rid, r in records.items() if r.status == "200" and r.content_type in ("text/html", "application/xhtml+xml")]
    other_ids = [rid for rid, r in records.items() if rid not in set(html_ids) and rid in stock.taps[0].ids]
    by_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    classes: Counter[str] = Counter()
    rows = []
    for rid in html_ids + other_ids:
        r = records[rid]
        ok, sk = rid in ours_kept, rid in stock_last
        by_kind[r.kind][0] += 1
        by_kind[r.kind][1] += ok
        by_kind[r.kind][2] += sk
        if ok == sk:
            continue
        os_, ss = ours_stage(rid), stock_stage(rid)
        if r.status != "200":
            cls = "a"
        elif (os_ or "").startswith("url_filter:") or (ss or "").startswith("url_"):
            stock_substring = (ss or "").startswith("url_substring")
            ours_br_rule = (os_ or "").split(":")[-1] in ("host_suffix", "path_segment")
            cls = "b" if stock_substring or ours_br_rule else "?"
        elif ss == "read":
            cls = "f"
        elif ours_cap["cleaned"].get(rid) != snap["cleaned"].get(rid):
            cls = "e"
        elif (os_ or "").split(":")[0] in ("gopher_repetition", "fineweb_quality", "gopher_quality") or ss in (
            "gopher_repetition",
            "fineweb_quality",
            "gopher_quality",
        ):
            text = ours_cap["cleaned"][rid]
            v_fast, v_spacy = quality_verdict(text, fast, filters_cfg), quality_verdict(text, spacy, filters_cfg)
            v_noskip = quality_verdict(text, spacy, noskip)
            if (v_fast is None) != (v_spacy is None):
                cls = "c"
            elif (v_spacy is None) != (v_noskip is None):
                cls = "g"
            else:
                cls = "?"
        elif (os_ or "").startswith("symbol_lines"):
            cls = "h"
        else:
            cls = "?"
        classes[cls] += 1
        rows.append((cls, r.kind, ok, sk, os_, ss, r.url))

    print("\nKeep/drop by page kind (generator's ground truth):")
    print(f"  {'kind':<20}{'records':>8}{'ours kept':>11}{'stock kept':>12}")
    for kind in sorted(by_kind):
        n, a, b = by_kind[kind]
        print(f"  {kind:<20}{n:>8}{a:>11}{b:>12}")
    n_html = len(html_ids)
    agree = sum(1 for rid in html_ids if (rid in ours_kept) == (rid in stock_last))
    print(f"\nKeep/drop agreement on the {n_html} HTTP-200 HTML records: {agree}/{n_html} agree; "
          f"plus {len(other_ids)} non-200 HTML records only stock reads")
    print("Disagreements by class:")
    for cls in sorted(classes):
        print(f"  ({cls}) {classes[cls]:>4}  {CLASSES.get(cls, 'UNEXPLAINED')}")
    if not classes:
        print("  none")
    for cls, kind, ok, sk, os_, ss, url in sorted(rows, key=lambda x: (x[0], x[1], x[6])):
        who = "ours keeps" if ok else "stock keeps"
        print(f"    ({cls}) {kind:<18} {who:<12} ours:{os_ or 'kept'}  stock:{ss or 'kept'}  {url}")
    unexplained = classes.get("?", 0)

    both = [rid for rid in html_ids if rid in ours_kept and rid in stock_last]
    text_cls: Counter[str] = Counter()
    for rid in both:
        if ours_kept[rid] == snap["final"].get(rid):
            text_cls["identical"] += 1
        elif ours_cap["cleaned"].get(rid) != snap["cleaned"].get(rid):
            text_cls["e"] += 1
        elif ours_cap["after_pii"].get(rid) != snap["after_pii"].get(rid):
            text_cls["d"] += 1
        else:
            text_cls["h"] += 1
    print(f"\nText of the {len(both)} documents kept by both:")
    for cls in ("identical", "d", "e", "h"):
        if text_cls[cls]:
            print(f"  {text_cls[cls]:>4}  {'identical' if cls == 'identical' else f'({cls}) ' + CLASSES[cls]}")
    print(f"Unexplained keep/drop disagreements: {unexplained}")


# --------------------------------------------------------------------------- report


def stage_print(title: str, rows: list[tuple[str, float]], total: float, docs: int) -> None:
    print(f"\n{title} (wall s, share of run, ms/doc over {docs} docs in):")
    for name, secs in sorted(rows, key=lambda r: -r[1]):
        print(f"  {name:<42}{secs:>8.3f}s {100 * secs / total:>6.1f}% {1000 * secs / max(docs, 1):>8.2f}")
    print(f"  {'total':<42}{total:>8.3f}s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=8, help="synthetic WARC files (default 8)")
    ap.add_argument("--pages", type=int, default=60, help="pages per file (default 60)")
    ap.add_argument("--repeats", type=int, default=2, help="timed runs of each pipeline, alternating order (default 2)")
    ap.add_argument("--config", default=str(REPO / "config" / "config.yaml"))
    ap.add_argument("--stock-deduplicate", choices=("on", "off"), default="on",
                    help="trafilatura deduplicate in the stock pipeline (datatrove's default, on)")
    ap.add_argument("--target", type=float, default=3.0)
    args = ap.parse_args()

    import logging

    from datatrove.utils.logging import logger as dt_logger

    dt_logger.remove()  # datatrove's loguru INFO lines would drown the report
    logging.basicConfig(level=logging.ERROR)
    # The sandbox's warm-up extract("") makes trafilatura log "empty HTML tree" errors.
    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
    sys.stdout.reconfigure(line_buffering=True)

    stubs = install_detector_stubs()
    cfg = yaml.safe_load(Path(args.config).read_text(encoding="utf-8"))
    tmp = Path(tempfile.mkdtemp(prefix="bench-throughput-"))
    try:
        print(f"data_throughput: {args.files} files x {args.pages} pages, {args.repeats} repeat(s), "
              f"python {sys.version.split()[0]}, {os.cpu_count()} cores")
        if stubs:
            print("stand-ins (packages missing offline): " + "; ".join(stubs) + "; orjson -> stdlib json writer")
        warc_dir, warm_dir = tmp / "warcs", tmp / "warm"
        files = generate(warc_dir, args.files, args.pages)
        # Warm-up input: a different collection name so no record is shared with the timed input.
        from amalia_wf.data.synthetic import collection_pages, write_warc

        warm_path = warm_dir / "warm-00000.warc.gz"
        write_warc(warm_path, collection_pages("warmup", 0, SEED, 30), "warmup", 0, SEED)
        records = scan(files, args.pages)
        mb = sum(os.path.getsize(p) for _, p in files) / 1e6
        print(f"input: {len(files)} WARC files, {mb:.1f} MB gzip, {len(records)} response records")

        # One-off costs (per process, i.e. per Snakemake job): model loads and first-use initialisation.
        from amalia_wf.data.shard import ShardProcessor

        t0 = time.perf_counter()
        proc = ShardProcessor(cfg["data"])
        run_ours(proc, [(0, str(warm_path))], tmp / "ours-warm")
        setup_ours = time.perf_counter() - t0
        t0 = time.perf_counter()
        steps = build_stock(cfg, proc.lid.model, args.stock_deduplicate == "on")
        run_stock(steps, warm_dir, tmp / "stock-warm")
        setup_stock = time.perf_counter() - t0

        ours_t: list[Timing] = []
        stock_runs: list[StockRun] = []
        ours_out = {}
        for r in range(args.repeats):
            order = ("ours", "stock") if r % 2 == 0 else ("stock", "ours")
            for which in order:
                if which == "ours":
                    t, last_ours_stats, ours_out = run_ours(proc, files, tmp / f"ours-{r}")
                    ours_t.append(t)
                else:
                    stock_runs.append(run_stock(steps, warc_dir, tmp / f"stock-{r}"))
                    t = stock_runs[-1].timing
                print(f"  run {r + 1} {which:<5}: {t.docs_in} docs in, {t.kept} kept, CPU {t.cpu:7.2f}s "
                      f"(self {t.cpu_self:.2f} + children {t.cpu_children:.2f}), wall {t.wall:7.2f}s")

        # Instrumented run of ours for the stage table and the texts at each point.
        clock: dict[str, float] = defaultdict(float)
        capture: dict[str, dict[str, str]] = defaultdict(dict)
        with instrument_ours(proc, clock, capture):
            inst, _, inst_out = run_ours(proc, files, tmp / "ours-instrumented")

        best_o = min(ours_t, key=lambda t: t.cpu)
        best_s = min((s.timing for s in stock_runs), key=lambda t: t.cpu)
        o_cpu_rate, s_cpu_rate = best_o.docs_in / best_o.cpu, best_s.docs_in / best_s.cpu
        o_wall_rate, s_wall_rate = best_o.docs_in / best_o.wall, best_s.docs_in / best_s.wall
        print("\nThroughput (best of the repeats, by CPU time):")
        rows = [
            ("HTML documents entering (reader out)", best_o.docs_in, best_s.docs_in, "d"),
            ("documents kept", best_o.kept, best_s.kept, "d"),
            ("CPU s, this process", best_o.cpu_self, best_s.cpu_self, "f"),
            ("CPU s, child processes", best_o.cpu_children, best_s.cpu_children, "f"),
            ("CPU s, total", best_o.cpu, best_s.cpu, "f"),
            ("wall s", best_o.wall, best_s.wall, "f"),
            ("docs / CPU-second (per core)", o_cpu_rate, s_cpu_rate, "f"),
            ("docs / wall-second", o_wall_rate, s_wall_rate, "f"),
            # The unit of data.throughput_mb_per_cpu_hour (the cost plan's filter_shard estimate).
            ("WARC MB (gzip) / CPU-hour (per core)", mb * 3600 / best_o.cpu, mb * 3600 / best_s.cpu, "f"),
            ("one-off setup + warm-up, wall s", setup_ours, setup_stock, "f"),
        ]
        read = last_ours_stats["read"]
        stock_read = stock_runs[-1].taps[0].ids
        non200 = sum(1 for rid in stock_read if records[rid].status != "200")
        print(f"  ours read: {read['records']} records, {read['responses']} responses, {read['not_200']} non-200 and "
              f"{read['not_html']} non-HTML skipped -> {best_o.docs_in} HTTP-200 HTML documents")
        html_200 = sum(1 for r in records.values() if r.status == "200" and r.content_type in ("text/html", "application/xhtml+xml"))
        print(f"  stock read: {len(stock_read)} documents = {len(stock_read) - non200} HTTP-200 + {non200} non-200 "
              f"(no status check); libmagic type sniffing skipped {html_200 - (len(stock_read) - non200)} HTTP-200 HTML record(s)")
        print(f"  {'':<38}{'ours':>12}{'stock':>12}")
        for name, a, b, fmt in rows:
            print(f"  {name:<38}{a:>12}{b:>12}" if fmt == "d" else f"  {name:<38}{a:>12.2f}{b:>12.2f}")
        ratio = o_cpu_rate / s_cpu_rate
        same_input = best_s.cpu / best_o.cpu
        print(f"  ratio ours/stock, docs per CPU-second : {ratio:.2f}x")
        print(f"  ratio ours/stock, docs per wall-second: {o_wall_rate / s_wall_rate:.2f}x")
        print(f"  ratio stock/ours, CPU for the same input files: {same_input:.2f}x")
        cpu_ratios = [s.timing.cpu / o.cpu for o, s in zip(ours_t, stock_runs)]
        print("  per-repeat CPU ratio (stock/ours, same input): " + ", ".join(f"{x:.2f}" for x in cpu_ratios))

        # Where the time goes.
        o_rows = [(name, clock.get(name, 0.0)) for name in OURS_STAGES]
        o_rows.append(("other (json/gzip writing, funnel, bookkeeping)", inst.wall - sum(s for _, s in o_rows)))
        stage_print("Where the time goes, ours (instrumented run)", o_rows, inst.wall, inst.docs_in)
        last = stock_runs[-1]
        s_rows = last.stage_table()
        s_rows.append(("other (sandbox teardown, outside the taps)", last.timing.wall - last.taps[-1].inclusive))
        stage_print("Where the time goes, stock (last timed run; trafilatura CPU is in the sandbox child)",
                    s_rows, last.timing.wall, last.timing.docs_in)

        ours_kept, ours_dropped = ours_outcome(inst_out)
        timed_kept, _ = ours_outcome(ours_out)
        if set(timed_kept) != set(ours_kept):
            print("WARNING: instrumented and timed runs of ours kept different documents")
        for s in stock_runs[:-1]:
            if s.taps[-1].ids != last.taps[-1].ids:
                print("WARNING: stock runs kept different documents from one repeat to the next")
        agreement(records, ours_kept, ours_dropped, capture, last, cfg["data"]["filters"])

        print(f"\ntarget {args.target:g}x docs per CPU-second: {'met' if ratio >= args.target else 'not met'} ({ratio:.2f}x)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
