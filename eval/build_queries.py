"""Derive the labelled query set ``eval/queries.yaml`` from the demo corpus' ground truth.

Usage (from the repository root)::

    python -m indexer.demo.generate data/demo          # seed 42, 200 patients: the reference corpus
    python -m eval.build_queries data/demo eval/queries.yaml

Deterministic: the same ground truth gives the same file (no randomness, sorted everything).
Relevance comes from ``ground_truth.json`` only, never from an engine's output:

* ``plain`` (French canonical name) and ``cross_lingual`` (English name: most relevant documents of
  this French hospital are French) → documents where the concept is *affirmed* (grade 2) or only
  *hypothetical* (grade 1: a suspicion is worth reading, but less than a diagnosis);
* ``synonym`` → same relevance, asked with a lexicon synonym that appears in **none** of the relevant
  documents (so only query expansion or a dense model can find them);
* ``abbreviation`` → same relevance, asked with an abbreviation (« IDM », "PE"); ambiguous ones are
  kept, flagged ``ambiguous: true`` and judged with the demo corpus' meaning;
* ``negation`` (« pas d'embolie pulmonaire », "no pneumothorax") → documents where the concept is
  *negated* (grade 2);
* ``brief`` → the product brief's example queries, as a physician types them (:data:`BRIEF_QUERIES`:
  « IRM cérébrale AVC ischémique », "pneumothorax after central line", « IDM sans sus-décalage », « idm
  st- »): grade 2 for the documents that are the answer (a brain MRI report affirming the stroke, a
  radiograph after a central line affirming the pneumothorax, an NSTEMI letter), grade 1 for the other
  documents affirming the finding; ``below``: documents that must rank under every relevant one (the
  same exam ruling the finding out, the STEMI letters).

* ``family`` (« antécédents familiaux de cancer du sein », "family history of colon cancer") → documents
  where a relative has the concept (grade 2); ``below``: the documents where only the patient has it
  (a physician asking for the family history wants the relatives' mentions before the patient's own).

Everywhere else family mentions are never relevant: the other categories test the patient's own findings.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from indexer.clinical.lexicon import Lexicon, load_default_lexicon
from indexer.clinical.text import fold, lexicon_key

AFFIRMED, NEGATED, HYPOTHETICAL = "affirmed", "negated", "hypothetical"
MIN_RELEVANT = 3  # fewer relevant documents make a query too noisy to compare engines on
MIN_HYPOTHETICAL = 5  # a "hypothesis" query needs this many documents where the finding is only suspected
_READABLE = {".txt", ".md", ".json", ".xml"}
_H_ASPIRE = ("hernie", "hanche", "haut")
_FR_NEGATIONS = ("pas {de}", "sans {name}", "absence {de}")
_EN_NEGATIONS = ("no {name}", "without {name}", "patients without {name}", "no evidence of {name}")
_FR_FAMILY = ("antécédents familiaux {de}", "ATCD familiaux {de}", "antécédent familial {de}")
_EN_FAMILY = ("family history of {name}", "family hx of {name}")
#: relative queries: the demo's relatives (indexer/demo/vocabulary.RELATIVES, English name) → how a physician
#: names them in a query (French with its article, English)
_RELATIVE_WORDS = {
    "mother": ("la mère", "mother"), "father": ("le père", "father"), "brother": ("le frère", "brother"),
    "sister": ("la sœur", "sister"), "maternal grandmother": ("la grand-mère", "grandmother"),
    "paternal uncle": ("un oncle", "uncle"),
}
_FR_RELATIVE = ("{name} chez {rel}", "{Rel} : {name}")
_EN_RELATIVE = ("{rel} with {name}", "{name} in the {rel}")

# Query wording is curated (relevance never is): true synonyms, not sub-types or complications, in
# preference order; the first one absent from every relevant document is used. Kept here, not taken
# from the lexicon, so that the evaluation does not grade the lexicon with its own vocabulary.
CURATED_SYNONYMS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "atrial_fibrillation": (
        ("fibrillation auriculaire", "arythmie complète par fibrillation auriculaire"),
        ("auricular fibrillation",),
    ),
    "breast_cancer": (("carcinome mammaire", "néoplasie mammaire"), ("breast carcinoma", "mammary carcinoma")),
    "colorectal_cancer": (("cancer du côlon", "adénocarcinome colique"), ("colon cancer", "colorectal carcinoma")),
    "copd": (("bronchite chronique obstructive",), ("chronic obstructive lung disease",)),
    "femoral_neck_fracture": (
        ("fracture du col fémoral", "fracture de hanche"),
        ("hip fracture", "fracture of the neck of femur"),
    ),
    "heart_failure": (("défaillance cardiaque", "décompensation cardiaque"), ("cardiac failure",)),
    "herniated_disc": ((), ("slipped disc", "disc herniation")),
    "hypertension": (("maladie hypertensive",), ("high blood pressure",)),
    "ischemic_stroke": (
        ("infarctus cérébral", "accident vasculaire cérébral ischémique"),
        ("cerebral infarction", "brain infarction", "ischaemic stroke"),
    ),
    "knee_osteoarthritis": (
        ("arthrose du genou", "arthrose fémoro-tibiale"),
        ("osteoarthritis of the knee", "knee arthrosis"),
    ),
    "lung_cancer": (
        ("cancer bronchique", "carcinome bronchique", "cancer bronchopulmonaire"),
        ("lung carcinoma", "bronchogenic carcinoma"),
    ),
    "lung_nodule": (("opacité nodulaire",), ("lung nodule",)),
    "myocardial_infarction": (("infarctus myocardique", "crise cardiaque"), ("heart attack",)),
    # the infarction's type (indexer/demo/coronary.py): typed as physicians do, the sign or « sans » telling them apart
    "nstemi": (("IDM sans sus-décalage",), ("non-ST elevation MI",)),
    "stemi": (("IDM avec sus-décalage",), ("ST elevation MI",)),
    "pleural_effusion": (("pleurésie",), ("pleural fluid", "hydrothorax")),
    "pneumonia": (("pneumonie", "pneumopathie infectieuse"), ("lung infection",)),
    "pneumothorax": ((), ("collapsed lung",)),
    "pulmonary_embolism": ((), ("pulmonary embolus", "pulmonary thromboembolism")),
    "shoulder_dislocation": (
        ("luxation gléno-humérale", "luxation scapulo-humérale"),
        ("glenohumeral dislocation", "dislocated shoulder"),
    ),
    "subarachnoid_hemorrhage": (("hémorragie sous-arachnoïdienne",), ("subarachnoid haemorrhage",)),
    "type2_diabetes": (("diabète non insulinodépendant",), ("type II diabetes", "non-insulin-dependent diabetes")),
}
# Abbreviations physicians type for the concept itself (not for a sub-type such as « CBNPC »).
CURATED_ABBREVIATIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "atrial_fibrillation": (("FA",), ("AF",)),
    "colorectal_cancer": (("CCR",), ("CRC",)),
    "copd": (("BPCO",), ("COPD",)),
    "femoral_neck_fracture": (("FESF",), ()),
    "heart_failure": (("ICC",), ("HF",)),
    "hypertension": (("HTA",), ("HTN",)),
    "ischemic_stroke": (("AVC",), ("CVA",)),
    "multiple_sclerosis": (("SEP",), ("MS",)),
    "myocardial_infarction": (("IDM",), ("MI",)),
    "nstemi": (("IDM ST-",), ("NSTEMI",)),
    "stemi": (("SCA ST+",), ("STEMI",)),
    "pneumonia": (("PAC",), ("CAP",)),
    "pneumothorax": (("PNO",), ("PTX",)),
    "pulmonary_embolism": (("EP",), ("PE",)),
    "subarachnoid_hemorrhage": (("HSA",), ("SAH",)),
    "type2_diabetes": (("DT2",), ("T2DM",)),
}


# The brief's queries (id suffix, language, wording, what they ask): (concept, where the answer is, below)
# "where": a demo exam code (the report's ``exam``), "central_line" (a document affirming the line) or
# None (any document); "below": "negated_there" (the same kind of document with the finding negated) or a
# concept whose affirming documents must come after (the NSTEMI query's STEMI letters).
BRIEF_QUERIES: tuple[tuple[str, str, str, str, str | None, str], ...] = (
    ("mri-ischemic_stroke", "fr", "IRM cérébrale AVC ischémique", "ischemic_stroke", "mr_brain", "negated_there"),
    ("mri-ischemic_stroke", "en", "brain MRI ischemic stroke", "ischemic_stroke", "mr_brain", "negated_there"),
    ("pneumothorax-central_line", "en", "pneumothorax after central line", "pneumothorax", "central_line", "negated_there"),
    ("pneumothorax-central_line", "fr", "pneumothorax après pose de voie centrale", "pneumothorax", "central_line", "negated_there"),
    ("pneumothorax-vvc", "fr", "pneumothorax post-pose de VVC", "pneumothorax", "central_line", "negated_there"),
    ("nstemi", "fr", "IDM sans sus-décalage", "nstemi", None, "stemi"),
    ("nstemi-lower_case", "fr", "idm st-", "nstemi", None, "stemi"),
)


@dataclass
class ConceptTruth:
    """What the ground truth says about one concept across the corpus."""

    concept: str
    fr_name: str
    statuses: dict[str, str] = field(default_factory=dict)  # doc id -> patient status (not family)

    def relevant(self, wanted: dict[str, int]) -> dict[str, int]:
        return {doc: wanted[status] for doc, status in sorted(self.statuses.items()) if status in wanted}


@dataclass
class Query:
    id: str
    query: str
    language: str
    category: str
    concept: str
    relevant: dict[str, int]
    ambiguous: bool = False
    hypothetical: list[str] = field(default_factory=list)
    below: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "query": self.query,
            "language": self.language,
            "category": self.category,
            "concept": self.concept,
        }
        if self.ambiguous:
            data["ambiguous"] = True
        data["relevant"] = self.relevant
        if self.hypothetical:
            data["hypothetical"] = self.hypothetical
        if self.below:
            data["below"] = self.below
        return data


def load_truth(demo_dir: Path) -> tuple[dict[str, Any], dict[str, ConceptTruth]]:
    """The raw ground truth and, per concept, each document's patient-level status."""
    truth = json.loads((demo_dir / "ground_truth.json").read_text(encoding="utf-8"))
    concepts: dict[str, ConceptTruth] = {}
    for doc_id, entry in truth.items():
        for item in entry.get("concepts", []):
            if item["status"] == "family":
                continue  # family_truth
            ct = concepts.setdefault(item["concept"], ConceptTruth(item["concept"], item["name"]))
            ct.statuses[doc_id] = item["status"]
    return truth, dict(sorted(concepts.items()))


def build_queries(demo_dir: Path, lexicon: Lexicon) -> list[Query]:
    """Every query of the set, in a stable order."""
    truth, concepts = load_truth(demo_dir)
    texts = _DocumentTexts(demo_dir, truth)
    queries: list[Query] = []
    # negation wordings cycle with a concept's rank among the demo vocabulary's concepts: one outside it
    # (the infarction's types of indexer/demo/coronary.py) does not reword the queries of those after it
    demo = _demo_concepts()
    ranks = {c: i for i, c in enumerate(c for c in concepts if not demo or c in demo)}
    for ct in concepts.values():
        index = ranks.get(ct.concept, 0)
        names = _names(ct, lexicon)
        graded = ct.relevant({AFFIRMED: 2, HYPOTHETICAL: 1})
        negated = ct.relevant({NEGATED: 2})
        if sum(1 for g in graded.values() if g == 2) >= MIN_RELEVANT:
            queries.append(Query(f"plain-fr-{ct.concept}", names.fr, "fr", "plain", ct.concept, graded))
            queries.append(Query(f"xling-en-{ct.concept}", names.en, "en", "cross_lingual", ct.concept, graded))
            for language, term in _synonyms(ct, names, texts.of(graded)):
                queries.append(Query(f"syn-{language}-{ct.concept}", term, language, "synonym", ct.concept, graded))
            for language, abbreviation, ambiguous in _abbreviations(ct.concept, lexicon):
                queries.append(
                    Query(
                        f"abbr-{language}-{ct.concept}-{_slug(abbreviation)}",
                        abbreviation,
                        language,
                        "abbreviation",
                        ct.concept,
                        graded,
                        ambiguous,
                    )
                )
        affirmed = ct.relevant({AFFIRMED: 2})
        hypothetical = sorted(ct.relevant({HYPOTHETICAL: 1}))
        if len(hypothetical) >= MIN_HYPOTHETICAL and len(affirmed) >= MIN_RELEVANT:
            # the finding typed plainly: affirming documents are relevant, suspected-only ones must come after
            queries.append(Query(f"hyp-fr-{ct.concept}", names.fr, "fr", "hypothesis", ct.concept, affirmed, hypothetical=hypothetical))
            queries.append(Query(f"hyp-en-{ct.concept}", names.en, "en", "hypothesis", ct.concept, affirmed, hypothetical=hypothetical))
        if len(negated) >= MIN_RELEVANT:
            fr = _FR_NEGATIONS[index % len(_FR_NEGATIONS)].format(de=_de(names.fr), name=names.fr)
            en = _EN_NEGATIONS[index % len(_EN_NEGATIONS)].format(name=names.en)
            queries.append(Query(f"neg-fr-{ct.concept}", fr, "fr", "negation", ct.concept, negated))
            queries.append(Query(f"neg-en-{ct.concept}", en, "en", "negation", ct.concept, negated))
    return (queries + brief_queries(truth, concepts) + family_queries(truth, concepts, lexicon)
            + relative_queries(truth, concepts, lexicon))


def family_truth(truth: dict[str, Any]) -> dict[str, set[str]]:
    """Concept → the documents where a relative has it (ground truth status ``family``)."""
    family: dict[str, set[str]] = {}
    for doc_id, entry in truth.items():
        for item in entry.get("concepts", []):
            if item["status"] == "family":
                family.setdefault(item["concept"], set()).add(doc_id)
    return dict(sorted(family.items()))


def family_queries(truth: dict[str, Any], concepts: dict[str, ConceptTruth], lexicon: Lexicon) -> list[Query]:
    """« antécédents familiaux de X » / "family history of X" for every concept a relative has in at least
    :data:`MIN_RELEVANT` documents: those are relevant (grade 2); the documents where only the patient
    affirms it come ``below``. Wordings cycle with the concept's rank among them."""
    queries = []
    for index, (concept, documents) in enumerate(family_truth(truth).items()):
        if len(documents) < MIN_RELEVANT or concept not in concepts:
            continue
        names = _names(concepts[concept], lexicon)
        relevant = {d: 2 for d in sorted(documents)}
        below = sorted(d for d, status in concepts[concept].statuses.items() if status == AFFIRMED and d not in documents)
        fr = _FR_FAMILY[index % len(_FR_FAMILY)].format(de=_de(names.fr), name=names.fr)
        en = _EN_FAMILY[index % len(_EN_FAMILY)].format(name=names.en)
        queries.append(Query(f"family-fr-{concept}", fr, "fr", "family", concept, relevant, below=below))
        queries.append(Query(f"family-en-{concept}", en, "en", "family", concept, relevant, below=below))
    return queries


def relative_truth(truth: dict[str, Any]) -> dict[tuple[str, str], set[str]]:
    """(concept, relative) → the documents where that relative has it (``relatives`` of a ground truth item
    of status ``family``, written by the demo generator since the relatives are searchable)."""
    found: dict[tuple[str, str], set[str]] = {}
    for doc_id, entry in truth.items():
        for item in entry.get("concepts", []):
            if item["status"] == "family":
                for relative in item.get("relatives", []):
                    found.setdefault((item["concept"], relative), set()).add(doc_id)
    return dict(sorted(found.items()))


def relative_queries(truth: dict[str, Any], concepts: dict[str, ConceptTruth], lexicon: Lexicon) -> list[Query]:
    """« cancer du sein chez la mère » / "mother with breast cancer" for every (concept, relative) pair with
    at least :data:`MIN_RELEVANT` documents: those are relevant (grade 2); the documents where another
    relative (only) has it, or only the patient, come ``below``. Wordings cycle with the pair's rank."""
    queries = []
    family = family_truth(truth)
    for index, ((concept, relative), documents) in enumerate(relative_truth(truth).items()):
        if len(documents) < MIN_RELEVANT or concept not in concepts or relative not in _RELATIVE_WORDS:
            continue
        names = _names(concepts[concept], lexicon)
        fr_rel, en_rel = _RELATIVE_WORDS[relative]
        relevant = {d: 2 for d in sorted(documents)}
        others = set(family.get(concept, set())) - documents
        own = {d for d, status in concepts[concept].statuses.items() if status == AFFIRMED} - documents
        below = sorted(others | own)
        fr = _FR_RELATIVE[index % len(_FR_RELATIVE)].format(name=names.fr, rel=fr_rel,
                                                           Rel=fr_rel.split()[-1].capitalize())
        en = _EN_RELATIVE[index % len(_EN_RELATIVE)].format(name=names.en, rel=en_rel)
        slug = _slug(relative)
        queries.append(Query(f"relative-fr-{concept}-{slug}", fr, "fr", "relatives", concept, relevant, below=below))
        queries.append(Query(f"relative-en-{concept}-{slug}", en, "en", "relatives", concept, relevant, below=below))
    return queries


def brief_queries(truth: dict[str, Any], concepts: dict[str, ConceptTruth]) -> list[Query]:
    """The queries of :data:`BRIEF_QUERIES` whose answer the corpus holds (a corpus without the central-line
    radiographs or the coronary letters simply has fewer)."""
    line = concepts.get("central_venous_catheter")
    with_line = {d for d, status in line.statuses.items() if status == AFFIRMED} if line else set()

    def there(doc_id: str, where: str | None) -> bool:
        return where is None or (doc_id in with_line if where == "central_line" else truth[doc_id].get("exam") == where)

    queries = []
    for suffix, language, text, concept, where, below_rule in BRIEF_QUERIES:
        ct = concepts.get(concept)
        if ct is None:
            continue
        relevant = {d: 2 if there(d, where) else 1 for d, status in sorted(ct.statuses.items()) if status == AFFIRMED}
        if below_rule == "negated_there":
            below = sorted(d for d, status in ct.statuses.items() if status == NEGATED and there(d, where))
        else:
            other = concepts.get(below_rule)
            below = sorted(d for d, status in other.statuses.items() if status == AFFIRMED) if other else []
        if sum(1 for g in relevant.values() if g == 2) >= MIN_RELEVANT and below:
            queries.append(Query(f"brief-{language}-{suffix}", text, language, "brief", concept, relevant, below=below))
    return queries


@dataclass
class _Names:
    fr: str
    en: str


def _demo_concepts() -> dict[str, Any]:
    try:
        from indexer.demo import vocabulary
    except ImportError:  # the generator is optional: fall back to the lexicon
        return {}
    return dict(vocabulary.CONCEPTS)


def _names(ct: ConceptTruth, lexicon: Lexicon) -> _Names:
    """Canonical names: the demo vocabulary's when available (it is what its documents say)."""
    demo = _demo_concepts().get(ct.concept)
    if demo is not None:
        return _Names(demo.fr, demo.en)
    concept = lexicon.get(ct.concept)
    return _Names(ct.fr_name, concept.en.preferred)


def _synonyms(ct: ConceptTruth, names: _Names, relevant_texts: list[str]) -> list[tuple[str, str]]:
    """The first curated French and English synonym that no relevant document contains."""
    french, english = CURATED_SYNONYMS.get(ct.concept, ((), ()))
    canonical = [lexicon_key(names.fr), lexicon_key(names.en)]
    folded_docs = [fold(t) for t in relevant_texts]
    chosen = []
    for language, candidates in (("fr", french), ("en", english)):
        for term in candidates:
            key = lexicon_key(term)
            if any(_contains(key, name) or _contains(name, key) for name in canonical):
                continue  # a plain lexical match would find it
            if any(fold(term) in doc for doc in folded_docs):
                continue  # written in a relevant document: not a synonym test
            chosen.append((language, term))
            break
    return chosen


def _abbreviations(concept_id: str, lexicon: Lexicon) -> list[tuple[str, str, bool]]:
    """The first curated French and English abbreviation; ``ambiguous`` as the lexicon sees it."""
    french, english = CURATED_ABBREVIATIONS.get(concept_id, ((), ()))
    result = []
    for language, terms in (("fr", french), ("en", english)):
        for term in terms[:1]:
            ambiguous = bool(lexicon.expand_query(term, fuzzy=False).ambiguous_sources)
            result.append((language, term, ambiguous))
    return result


def _contains(haystack: tuple[str, ...], needle: tuple[str, ...]) -> bool:
    n = len(needle)
    return n > 0 and any(haystack[i : i + n] == needle for i in range(len(haystack) - n + 1))


def _looks_abbreviated(term: str) -> bool:
    letters = term.replace("+", "").replace("-", "")
    return 2 <= len(letters) <= 6 and letters.isalnum() and sum(c.isupper() for c in letters) >= 2


def _de(name: str) -> str:
    """« de X » with French elision: « d'embolie », « de hernie » (h aspiré), « de BPCO »."""
    folded = fold(name)
    if folded[:1] in "aeiouy" or (folded.startswith("h") and not folded.startswith(_H_ASPIRE)):
        return f"d'{name}"
    return f"de {name}"


def _slug(term: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in fold(term)).strip("_")


class _DocumentTexts:
    """Lazy reader of the demo files (text-like formats only: PDF and DICOM are skipped)."""

    def __init__(self, demo_dir: Path, truth: dict[str, Any]) -> None:
        self.demo_dir = demo_dir
        self.truth = truth
        self.cache: dict[str, str] = {}

    def of(self, doc_ids: Iterable[str]) -> list[str]:
        return [self._read(doc_id) for doc_id in doc_ids]

    def _read(self, doc_id: str) -> str:
        if doc_id not in self.cache:
            path = self.demo_dir / self.truth[doc_id].get("file", "")
            readable = path.suffix in _READABLE and path.is_file()
            self.cache[doc_id] = path.read_text(encoding="utf-8", errors="replace") if readable else ""
        return self.cache[doc_id]


def render(queries: list[Query], demo_dir: Path) -> str:
    """The YAML file: a provenance header, then one entry per query (relevance maps in flow style)."""
    truth_bytes = (demo_dir / "ground_truth.json").read_bytes()
    header = {
        "version": 1,
        "generated_by": "python -m eval.build_queries data/demo eval/queries.yaml",
        "corpus": "python -m indexer.demo.generate data/demo (seed 42, 200 patients)",
        "ground_truth_sha256": hashlib.sha256(truth_bytes).hexdigest(),
        "grades": "2 = concept affirmed (negated for negation queries), 1 = only hypothetical; hypothesis "
        "queries: relevant = affirmed, hypothetical = documents that only suspect it (must rank below); family "
        "queries: relevant = a relative has it, below = only the patient has it; relatives queries (« cancer du sein "
        "chez la mère »): relevant = that relative has it, below = only another relative or the patient",
        "counts": _counts(queries),
    }
    lines = [
        "# Labelled evaluation queries for medsearch, derived from data/demo/ground_truth.json.",
        "# GENERATED by eval/build_queries.py: do not edit by hand, regenerate instead.",
        yaml.safe_dump(header, allow_unicode=True, sort_keys=False, width=120).rstrip(),
        "queries:",
    ]
    for query in queries:
        for n, (key, value) in enumerate(query.as_dict().items()):
            prefix = "  - " if n == 0 else "    "
            lines.append(f"{prefix}{key}: {json.dumps(value, ensure_ascii=False)}")
    return "\n".join(lines) + "\n"


def _counts(queries: list[Query]) -> dict[str, int]:
    counts: dict[str, int] = {"total": len(queries)}
    for query in queries:
        counts[query.category] = counts.get(query.category, 0) + 1
        counts[f"lang_{query.language}"] = counts.get(f"lang_{query.language}", 0) + 1
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Derive eval/queries.yaml from the demo ground truth.")
    parser.add_argument("demo_dir", type=Path, nargs="?", default=Path("data/demo"))
    parser.add_argument("output", type=Path, nargs="?", default=Path("eval/queries.yaml"))
    args = parser.parse_args(argv)
    if not (args.demo_dir / "ground_truth.json").is_file():
        print(
            f"{args.demo_dir}/ground_truth.json not found: run python -m indexer.demo.generate first", file=sys.stderr
        )
        return 2
    queries = build_queries(args.demo_dir, load_default_lexicon())
    args.output.write_text(render(queries, args.demo_dir), encoding="utf-8")
    print(f"{len(queries)} queries written to {args.output}: {_counts(queries)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
