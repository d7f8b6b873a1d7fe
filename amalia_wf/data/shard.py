"""One data job: a group of WARC/ARC files -> cleaned pt-PT documents, exclusions and stats."""

from __future__ import annotations

import logging
import multiprocessing
from collections import Counter, deque
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from itertools import islice
from typing import Any

from datatrove.pipeline.formatters import FTFYFormatter, SymbolLinesFormatter
from tldextract import TLDExtract

from amalia_wf.data.extract import ExtractionTimeout, Extractor
from amalia_wf.data.funnel import Funnel
from amalia_wf.data.langid import LanguageId
from amalia_wf.data.minhash import SignatureWriter, Signer
from amalia_wf.data.pii import PiiMasker
from amalia_wf.data.text_filters import QUALITY_FILTERS, clean_lines, word_splitter
from amalia_wf.data.urls import UrlRules
from amalia_wf.data.warc import HtmlRecord, ReadCounts, read_html_records
from amalia_wf.io import write_json, write_jsonl_gz

log = logging.getLogger(__name__)

LANG_BINS = 20  # language-score histogram resolution (0.05 wide bins)


class ShardProcessor:
    """Holds the loaded models and filters; `run` processes one shard."""

    def __init__(self, data_cfg: Mapping[str, Any]) -> None:
        self.cfg = data_cfg
        self.urls = UrlRules(data_cfg["url_filter"])
        self.extractor = Extractor(data_cfg["extraction"])
        self.lid = LanguageId(data_cfg["language_id"])
        self.words = word_splitter(data_cfg["filters"]["word_tokenizer"])
        self.ftfy = FTFYFormatter()
        self.pii = PiiMasker(data_cfg["pii"])
        lines_cfg = data_cfg["symbol_lines"]
        self.symbol_lines = SymbolLinesFormatter(lines_cfg["symbols"], lines_cfg["replace_char"])
        self.signer = Signer(data_cfg["minhash"]["collection"])
        self.domains = TLDExtract(suffix_list_urls=())

    def documents(
        self, record: HtmlRecord, funnel: Funnel, excluded: list[dict[str, Any]], lang_hist: dict[str, list[int]]
    ) -> Iterator[dict[str, Any]]:
        """Yield the record's document if it survives every filter; otherwise log why it did not."""
        meta: dict[str, Any] = {"url": record.url, "date": record.date, "source": record.source, "doc_key": record.doc_key}
        values: dict[str, float] = {}

        def drop(stage: str, reason: str, text: str) -> None:
            funnel.drop(stage, reason)
            excluded.append({"id": record.record_id, "stage": stage, "reason": reason, "text": text, "metadata": meta | {"filter_values": values}})

        text = record.html
        funnel.enter("url_filter", len(text))
        if reason := self.urls.reason(record.url):
            return drop("url_filter", reason, "")
        funnel.leave("url_filter", len(text))

        funnel.enter("extraction", len(text))
        try:
            meta["title"], text = self.extractor.extract(record.html)
        except ExtractionTimeout:
            return drop("extraction", "timeout", "")
        if not text.strip():
            return drop("extraction", "no_main_text", "")
        funnel.leave("extraction", len(text))

        line_cfg = self.cfg["line_cleanup"]
        funnel.enter("line_cleanup", len(text))
        text = clean_lines(text, line_cfg["min_letters"], line_cfg["drop_repeated"])
        if not text:
            return drop("line_cleanup", "empty", text)
        funnel.leave("line_cleanup", len(text))

        lid_cfg = self.cfg["language_id"]
        funnel.enter("language_id", len(text))
        meta["language"], meta["language_score"] = self.lid.predict(text)
        hist = lang_hist.setdefault(meta["language"] if meta["language"] == lid_cfg["label"] else "other", [0] * LANG_BINS)
        hist[min(int(meta["language_score"] * LANG_BINS), LANG_BINS - 1)] += 1
        if meta["language"] != lid_cfg["label"]:
            return drop("language_id", meta["language"], text)
        if meta["language_score"] <= lid_cfg["threshold"]:
            return drop("language_id", "low_score", text)
        funnel.leave("language_id", len(text))

        words = self.words(text)
        for name, check in QUALITY_FILTERS:
            funnel.enter(name, len(text))
            reason, measured = check(text, words, self.cfg["filters"][name])
            values.update({k: round(v, 4) for k, v in measured.items()})
            if reason:
                return drop(name, reason, text)
            funnel.leave(name, len(text))

        funnel.enter("ftfy", len(text))
        text = self.ftfy.format(text)
        funnel.leave("ftfy", len(text))
        funnel.enter("pii", len(text))
        text, meta["pii_phones"] = self.pii.mask(text)
        funnel.leave("pii", len(text))
        funnel.enter("symbol_lines", len(text))
        text = self.symbol_lines.format(text)
        if not text.strip():
            return drop("symbol_lines", "empty", text)
        funnel.leave("symbol_lines", len(text))
        meta["filter_values"] = values
        yield {"id": record.record_id, "text": text, "metadata": meta}

    def file_documents(self, collection: str, file_index: int, path: str) -> tuple[list[dict[str, Any]], Tally]:
        """One file's kept documents and its tally."""
        tally = Tally(SignatureWriter(self.signer))
        docs = []
        for record in read_html_records(path, file_index, tally.counts, self.cfg["on_unreadable"] == "skip"):
            for doc in self.documents(record, tally.funnel, tally.excluded, tally.lang_hist):
                doc["metadata"]["collection"] = collection
                tally.domains[self.domains(doc["metadata"]["url"]).top_domain_under_public_suffix or "?"] += 1
                tally.sigs.add(doc["metadata"]["doc_key"], doc["text"])
                docs.append(doc)
        return docs, tally

    def run(self, collection: str, files: list[tuple[int, str]], out: Mapping[str, str], workers: int = 1) -> dict[str, Any]:
        """Process (file index, path) pairs on `workers` processes; write docs, exclusions,
        signatures and stats to `out`. The files' results are joined in file order, so the outputs
        are the same bytes whatever the number of workers."""
        total = Tally(SignatureWriter(self.signer))

        def kept() -> Iterator[dict[str, Any]]:
            for docs, tally in ordered_map(self, collection, files, workers):
                total.merge(tally)
                yield from docs

        n_docs = write_jsonl_gz(out["docs"], kept())
        write_jsonl_gz(out["excluded"], total.excluded)
        total.sigs.write(out["signatures"])
        stats = {
            "collection": collection,
            "files": [path for _, path in files],
            "read": asdict(total.counts),
            "kept": n_docs,
            "funnel": total.funnel.to_json(),
            "language_histogram": total.lang_hist,
            "domains": dict(sorted(total.domains.items())),
        }
        write_json(out["stats"], stats)
        return stats


@dataclass
class Tally:
    """What a shard counts besides its documents, per file, then summed in file order."""

    sigs: SignatureWriter
    counts: ReadCounts = field(default_factory=ReadCounts)
    funnel: Funnel = field(default_factory=Funnel)
    excluded: list[dict[str, Any]] = field(default_factory=list)
    lang_hist: dict[str, list[int]] = field(default_factory=dict)
    domains: Counter[str] = field(default_factory=Counter)

    def merge(self, other: Tally) -> None:
        self.sigs.extend(other.sigs)
        self.counts.merge(other.counts)
        self.funnel.merge(other.funnel)
        self.excluded += other.excluded
        for language, bins in other.lang_hist.items():
            mine = self.lang_hist.setdefault(language, [0] * LANG_BINS)
            mine[:] = [a + b for a, b in zip(mine, bins, strict=True)]
        self.domains.update(other.domains)


# The processor of a pool's workers: set before the fork, so each worker inherits the loaded models.
_WORKER: ShardProcessor | None = None


def _work(collection: str, file_index: int, path: str) -> tuple[list[dict[str, Any]], Tally]:
    assert _WORKER is not None
    return _WORKER.file_documents(collection, file_index, path)


def ordered_map(
    processor: ShardProcessor, collection: str, files: list[tuple[int, str]], workers: int
) -> Iterator[tuple[list[dict[str, Any]], Tally]]:
    """Each file's (documents, tally), in file order, computed by `workers` forked processes. At
    most 2 x workers files are in flight or waiting to be joined, so a slow file holds back a
    bounded number of finished ones, not the whole shard."""
    if workers <= 1:
        for file_index, path in files:
            yield processor.file_documents(collection, file_index, path)
        return
    global _WORKER
    _WORKER = processor
    # fork: a job's script is not an importable module (spawn would re-run it), and the workers share
    # the parent's loaded models instead of loading them again.
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        todo = iter(files)
        pending: deque[Future[tuple[list[dict[str, Any]], Tally]]] = deque(
            pool.submit(_work, collection, i, path) for i, path in islice(todo, 2 * workers)
        )
        while pending:
            yield pending.popleft().result()
            pending.extend(pool.submit(_work, collection, i, path) for i, path in islice(todo, 1))
