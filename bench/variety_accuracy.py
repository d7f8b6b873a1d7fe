"""Accuracy of the pt-PT/pt-BR variety scorer on real translations shipped by Debian packages.

Run by hand (not part of the tests; tests/test_variety.py keeps a floor on part of the same data):

    .venv/bin/python bench/variety_accuracy.py                  # msgstr >= 80 characters
    .venv/bin/python bench/variety_accuracy.py --min-chars 20   # shorter UI strings too
    .venv/bin/python bench/variety_accuracy.py --no-wordlists   # grammar + lexicon markers only

Texts: the gettext catalogues (.mo) installed under /usr/share/locale/pt (pt-PT; Debian's `pt` is
European Portuguese) and /usr/share/locale/pt_BR, for every domain shipped in both. Only parallel
entries are used, the same msgid translated in both varieties, so topic and length are controlled;
published translations by the projects' translation teams, nothing written on this project.
Entries whose two translations are identical carry no variety signal and are dropped (counted), a
msgid found in several domains (gnulib strings) is used once, and GTK mnemonics (`_`) are removed.

Domains are split into `dev` (DEV_DOMAINS) and `held-out`: the marker lists were checked against dev
errors only, so held-out is the number to quote. The man pages (paragraphs of the man-db pages
installed in both varieties, partly untranslated paragraphs dropped) were held out entirely.

Reported per split: texts, coverage (fraction with any evidence, i.e. not abstained), accuracy on
covered texts (score > 0.5 = pt-PT, < 0.5 = pt-BR, exactly 0.5 counts as wrong), accuracy over all
texts (abstentions wrong), precision and recall per variety, mean score per variety, pairwise order
(both sides of a pair covered: score(pt) > score(br)), then the precision of every marker family.
"""

from __future__ import annotations

import argparse
import gettext
import gzip
import re
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from amalia_wf.variety import BR, PT, VarietyScore, VarietyScorer

LOCALE = Path("/usr/share/locale")
MAN = Path("/usr/share/man")
# The domains whose misclassified texts were read while the marker lists were checked (every other
# shared domain of the .mo files with msgstr >= 80 characters, sorted by name); all else is held out.
DEV_DOMAINS = frozenset(
    "Linux-PAM adduser apt bash diffutils findutils gettext-runtime glib20 gsettings-desktop-schemas "
    "gtk20-properties libc man-db psmisc sed software-properties tar xkeyboard-config".split()
)


@dataclass(frozen=True)
class Pair:
    domain: str
    msgid: str
    pt: str
    br: str


def _catalog(path: Path) -> dict[str, str]:
    with open(path, "rb") as f:
        cat = gettext.GNUTranslations(f)._catalog  # the parsed .mo; no public accessor exists
    # plural entries have tuple keys; the header has key ""
    return {k: v for k, v in cat.items() if isinstance(k, str) and k}


def shared_domains(locale: Path = LOCALE) -> list[str]:
    """gettext domains installed in both varieties, without the ISO code-name tables (lists of names)."""
    pt_dir, br_dir = locale / "pt" / "LC_MESSAGES", locale / "pt_BR" / "LC_MESSAGES"
    return sorted(p.stem for p in pt_dir.glob("*.mo") if (br_dir / p.name).is_file() and not p.stem.startswith("iso_"))


def parallel_pairs(
    domains: list[str] | None = None, min_chars: int = 80, locale: Path = LOCALE
) -> tuple[list[Pair], int]:
    """Parallel (pt, pt_BR) msgstrs of the given (default: all shared) domains, and the identical ones dropped."""
    pt_dir, br_dir = locale / "pt" / "LC_MESSAGES", locale / "pt_BR" / "LC_MESSAGES"
    pairs: list[Pair] = []
    seen: set[str] = set()
    identical = 0
    for d in shared_domains(locale) if domains is None else domains:
        pt, br = _catalog(pt_dir / f"{d}.mo"), _catalog(br_dir / f"{d}.mo")
        for msgid in sorted(pt.keys() & br.keys()):
            a, b = pt[msgid].replace("_", ""), br[msgid].replace("_", "")
            if msgid in seen or min(len(a), len(b)) < min_chars:
                continue
            seen.add(msgid)
            if a == b:
                identical += 1
                continue
            pairs.append(Pair(d, msgid, a, b))
    return pairs, identical


_GROFF_TEXT = re.compile(r"^\.(?:B|I|BR|RB|IR|RI|BI|IB|SM|SB)\s+(.*)$")
_GROFF_ESC = re.compile(r"\\(?:f(?:\[\w*\]|\(..|.)|\(..|\*(?:\(..|.)|s[-+]?\d|[-&|^%e ])")


def man_paragraphs(page: Path) -> list[str]:
    """Prose paragraphs of a groff man page: font macros keep their text, other requests break paragraphs."""
    paras: list[str] = []
    cur: list[str] = []
    with gzip.open(page, "rt", encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if m := _GROFF_TEXT.match(line):
                line = m.group(1).replace('"', "")
            elif line.startswith((".", "'")) or not line.strip():
                if cur:
                    paras.append(" ".join(cur))
                cur = []
                continue
            cur.append(_GROFF_ESC.sub(lambda m: "-" if m.group(0) == "\\-" else "", line).strip())
    if cur:
        paras.append(" ".join(cur))
    return paras


_PT_WORDS = frozenset("de que o a os as da do dos das em no na um uma para não é com por se ou".split())
_EN_WORDS = frozenset("the of and to is in that this for be are with if".split())


def portuguese(text: str) -> bool:
    """Some man pages are partly untranslated: keep a paragraph only if Portuguese function words dominate."""
    words = re.findall(r"[^\W\d_]+", text.lower())
    pt, en = sum(w in _PT_WORDS for w in words), sum(w in _EN_WORDS for w in words)
    return pt >= 3 and pt > 3 * en


def man_texts(min_chars: int = 200, man: Path = MAN) -> tuple[list[str], list[str], list[str]]:
    """Paragraphs (pt, pt_BR) of the man pages installed in both varieties, and the pages used.

    Not aligned paragraph by paragraph (translators split them differently), so no pairwise order.
    """
    pages = sorted(
        p.relative_to(man / "pt")
        for p in (man / "pt").glob("man*/*.gz")
        if (man / "pt_BR" / p.relative_to(man / "pt")).is_file()
    )
    out: tuple[list[str], list[str]] = ([], [])
    for i, variety in enumerate(("pt", "pt_BR")):
        for page in pages:
            out[i].extend(p for p in man_paragraphs(man / variety / page) if len(p) >= min_chars and portuguese(p))
    return out[0], out[1], [str(p) for p in pages]


def metrics(scored: list[tuple[str, VarietyScore]]) -> dict[str, float]:
    """scored: (true variety, score) per text."""
    n = len(scored)
    covered = [(v, s.score) for v, s in scored if s.score is not None]
    pred = [(v, PT if x > 0.5 else BR if x < 0.5 else None) for v, x in covered]
    right = sum(v == p for v, p in pred)
    out = {
        "texts": n,
        "coverage": len(covered) / n if n else 0.0,
        "accuracy_covered": right / len(covered) if covered else 0.0,
        "accuracy_all": right / n if n else 0.0,
    }
    for var in (PT, BR):
        said = [v for v, p in pred if p == var]
        truly = [p for v, p in pred if v == var]
        out[f"precision_{var}"] = sum(v == var for v in said) / len(said) if said else 0.0
        out[f"recall_{var}"] = sum(p == var for p in truly) / sum(v == var for v, _ in scored)
        xs = [x for v, x in covered if v == var]
        out[f"mean_score_{var}"] = sum(xs) / len(xs) if xs else float("nan")
    return out


def evaluate(pairs: list[Pair], scorer: VarietyScorer) -> tuple[dict[str, float], Counter, Counter]:
    scored: list[tuple[str, VarietyScore]] = []
    ordered = both = 0
    fired: Counter = Counter()  # (family, marker variety) -> firings
    correct: Counter = Counter()
    for p in pairs:
        a, b = scorer.score(p.pt), scorer.score(p.br)
        scored += [(PT, a), (BR, b)]
        if a.score is not None and b.score is not None:
            both += 1
            ordered += a.score > b.score
        for truth, s in ((PT, a), (BR, b)):
            for e in s.evidence:
                fired[e.marker, e.variety] += 1
                correct[e.marker, e.variety] += e.variety == truth
    m = metrics(scored)
    m["pairwise_order"] = ordered / both if both else 0.0
    return m, fired, correct


def package_versions(domains: list[str]) -> list[str]:
    """'package version' of the Debian packages that ship the pt catalogues of `domains`."""
    return package_versions_of([str(LOCALE / "pt" / "LC_MESSAGES" / f"{d}.mo") for d in domains])


def package_versions_of(files: list[str]) -> list[str]:
    if not files:
        return []
    owners = subprocess.run(["dpkg", "-S", *files], capture_output=True, text=True, check=True).stdout
    pkgs = sorted({line.split(":")[0] for line in owners.splitlines()})
    q = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Package} ${Version}\n", *pkgs], capture_output=True, text=True, check=True
    )
    return q.stdout.split("\n")[:-1]


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--min-chars", type=int, default=80, help="shortest msgstr used, both sides (default 80)")
    ap.add_argument("--man-min-chars", type=int, default=200, help="shortest man page paragraph used (default 200)")
    ap.add_argument("--no-wordlists", action="store_true", help="grammar and lexicon markers only")
    ap.add_argument("--errors", type=int, default=0, help="print this many misclassified dev texts")
    args = ap.parse_args()

    scorer = VarietyScorer(wordlists=None) if args.no_wordlists else VarietyScorer()
    pairs, identical = parallel_pairs(min_chars=args.min_chars)
    all_domains = shared_domains()
    dev = DEV_DOMAINS
    splits = {
        "dev": [p for p in pairs if p.domain in dev],
        "held-out": [p for p in pairs if p.domain not in dev],
        "all": pairs,
    }
    man_pt, man_br, pages = man_texts(args.man_min_chars)
    print(
        f"word lists: {'on' if scorer.lists is not None else 'off'}; .mo msgstr >= {args.min_chars} chars: "
        f"{len(pairs)} parallel pairs ({identical} identical pairs dropped); man paragraphs >= "
        f"{args.man_min_chars} chars: {len(man_pt)} pt + {len(man_br)} pt_BR from {len(pages)} pages"
    )
    print(f"dev domains: {' '.join(d for d in all_domains if d in dev)}")
    print(f"held-out domains: {' '.join(d for d in all_domains if d not in dev)}")
    cols = [
        "texts",
        "coverage",
        "accuracy_covered",
        "accuracy_all",
        f"precision_{PT}",
        f"precision_{BR}",
        f"recall_{PT}",
        f"recall_{BR}",
        f"mean_score_{PT}",
        f"mean_score_{BR}",
        "pairwise_order",
    ]
    print("\n| source | " + " | ".join(cols) + " |\n|" + "---|" * (len(cols) + 1))
    fired: Counter = Counter()
    correct: Counter = Counter()
    for name, ps in splits.items():
        m, f, c = evaluate(ps, scorer)
        if name == "all":
            fired, correct = f, c
        print(f"| .mo {name} | " + " | ".join(f"{m[c]:.0f}" if c == "texts" else f"{m[c]:.3f}" for c in cols) + " |")
    man = [(PT, scorer.score(t)) for t in man_pt] + [(BR, scorer.score(t)) for t in man_br]
    m = metrics(man)
    m["pairwise_order"] = float("nan")  # paragraphs are not aligned
    print(
        "| man pages (held out) | " + " | ".join(f"{m[c]:.0f}" if c == "texts" else f"{m[c]:.3f}" for c in cols) + " |"
    )
    print(
        "\nmarker family precision (.mo, all): family, variety it signals, firings, fraction in texts of that variety"
    )
    for key, n in sorted(fired.items(), key=lambda kv: -kv[1]):
        print(f"  {key[0]:<36} {key[1]}  {n:6d}  {correct[key] / n:.3f}")
    if args.errors:
        shown = 0
        for p in splits["dev"]:
            for truth, text in ((PT, p.pt), (BR, p.br)):
                s = scorer.score(text)
                if s.score is not None and (s.score > 0.5) != (truth == PT) and shown < args.errors:
                    shown += 1
                    print(f"\n[{p.domain}] truth {truth} score {s.score:.2f}: {text[:300]!r}")
                    print("   ", [(e.marker, e.variety, e.text) for e in s.evidence])
    print("\n.mo source packages:", "; ".join(package_versions(sorted({p.domain for p in pairs}))))
    print("man page source packages:", "; ".join(package_versions_of([str(MAN / "pt" / p) for p in pages])))


if __name__ == "__main__":
    main()
