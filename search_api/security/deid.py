"""The researchers' de-identified view of patient documents.

What is masked, in titles, snippets, document text and sections, linked reports and DICOM header
fields (``metadata``):

* names: « M./Mme/Mr/Mrs/Dr/Pr/Docteur... Nom Prénom » by pattern, and every name the index knows
  (DICOM ``PatientName``, and the names those patterns find anywhere in the corpus, collected once
  per index version) wherever they appear in capitals, or capitalised next to another known name;
* patient ids (IPP) → stable keyed pseudonyms (``PSN-`` + HMAC-SHA256, so a researcher can still
  group and filter by patient: :meth:`Deidentifier.real_patient` maps a pseudonym back inside the API);
* NIR (social security numbers), phone numbers, e-mail addresses, street addresses and postcodes;
* dates: shifted by a per-patient offset (1 to 365 days either way, keyed like the pseudonyms, so the
  same patient's documents keep their intervals) or, with ``deid_dates: month``, cut to month/year.

Documents without a patient (articles, their figures) are not patient data and are left as they are.
The measured leak rate on the demo corpus is in BENCHMARKS.md (``eval/deid_leak.py``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import html
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

from indexer.backend.filters import normalise_key

MASK_NAME, MASK_NIR, MASK_PHONE, MASK_EMAIL, MASK_ADDRESS, MASK_ID = "[NOM]", "[NIR]", "[TÉL]", "[EMAIL]", "[ADRESSE]", "[ID]"
PSEUDONYM_PREFIX = "PSN-"

_UPPER = "A-ZÀÂÄÇÉÈÊËÎÏÔÖÙÛÜŸÆŒ"
_LOWER = "a-zàâäçéèêëîïôöùûüÿæœß"
_NAME_TOKEN = rf"[{_UPPER}][{_UPPER}{_LOWER}'’-]*"
_HONORIFIC = re.compile(
    r"\b(?P<title>M\.|MM\.|Mme|Mmes|Mlle|Melle|Mr\.?|Mrs\.?|Ms\.?|Miss|Dr\.?|Drs\.?|Pr\.?|Prof\.?|Docteur|Professeur|"
    r"Madame|Monsieur|Mademoiselle|Doctor|Professor)"
    rf"(?P<sep>\s+)(?P<name>{_NAME_TOKEN}(?:[ \t]+{_NAME_TOKEN}){{0,2}})"
)
_NIR = re.compile(r"\b[12][ .]?\d{2}[ .]?(?:0[1-9]|1[0-2]|[2-9]\d)[ .]?(?:\d{2}|2[AB])[ .]?\d{3}[ .]?\d{3}(?:[ .]?\d{2})?\b")
_PHONE = re.compile(r"(?<![\w+])(?:\+33[ .]?|0033[ .]?|0)[1-9](?:[ .-]?\d{2}){4}\b")
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_STREET = re.compile(
    r"\b\d{1,4}(?:\s?(?:bis|ter))?,?\s+(?:rue|avenue|av\.|boulevard|bd|place|chemin|allée|impasse|quai|route|cours|"
    r"street|st\.|road|rd\.|lane)\s+[^\n,;]{2,60}",
    re.IGNORECASE,
)
_CITY = rf"(?:[{_UPPER}][{_LOWER}][{_LOWER}'’-]+|[{_UPPER}]{{4,}})"
_POSTCODE_CITY = re.compile(rf"\b(?:0[1-9]|[1-8]\d|9[0-8])\d{{3}}[ \t]+{_CITY}(?:[ \t-]+{_CITY})*")
_IPP_LABEL = re.compile(r"\b(IPP|NIP|N°\s*patient|Patient\s+ID)(\s*[:=]?\s*)([A-Za-z0-9-]{4,})", re.IGNORECASE)
_TAG = re.compile(r"(<[^>]*>)")

_FR_MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"]
_EN_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
_FR_MONTH_RE = "|".join(_FR_MONTHS + ["fevrier", "aout", "decembre"])
_EN_MONTH_RE = "|".join(_EN_MONTHS)
_DATES = re.compile(
    r"(?P<iso>\b(?P<iy>(?:19|20)\d{2})-(?P<im>0[1-9]|1[0-2])-(?P<id>0[1-9]|[12]\d|3[01])(?![\d]))"
    r"|(?P<dmy>\b(?P<dd>0?[1-9]|[12]\d|3[01])(?P<ds>[/.-])(?P<dm>0?[1-9]|1[0-2])(?P=ds)(?P<dy>(?:19|20)\d{2})\b)"
    r"|(?P<compact>\b(?P<cy>(?:19|20)\d{2})(?P<cm>0[1-9]|1[0-2])(?P<cd>0[1-9]|[12]\d|3[01])\b)"
    rf"|(?P<fr>\b(?P<fd>1er|0?[1-9]|[12]\d|3[01])\s+(?P<fm>{_FR_MONTH_RE})\s+(?P<fy>(?:19|20)\d{{2}})\b)"
    rf"|(?P<en>\b(?P<em>{_EN_MONTH_RE})\s+(?P<ed>0?[1-9]|[12]\d|3[01]),?\s+(?P<ey>(?:19|20)\d{{2}})\b)"
    rf"|(?P<en2>\b(?P<e2d>0?[1-9]|[12]\d|3[01])\s+(?P<e2m>{_EN_MONTH_RE})\s+(?P<e2y>(?:19|20)\d{{2}})\b)",
    re.IGNORECASE,
)
#: metadata keys never shown to researchers: identifiers that link back to the hospital's systems.
#: A series' image document also lists its instances' SOP UIDs and files (indexer/linking.py,
#: indexer/streaming.py): they were shown, absolute paths of the PACS export included. A DICOM SR lists
#: the SOP UIDs of the images it cites (indexer/sources/dicom_sr.py). A document found in several files
#: lists the other files' absolute paths (indexer/sources/duplicates.py).
_DROPPED_METADATA = {
    "identifying", "study_uid", "series_uid", "sop_uid", "accession", "source_path", "series_instances", "series_files",
    "referenced_sop_uids", "duplicate_sources",
}
#: where a document id may start (« report:… ») and end (a separator, or « / » before « thumbnail »)
_DOC_ID_START = re.compile(r"(?<![\w:.-])[a-z]+:(?=\S)")
_QUOTED_DOC_ID = re.compile(r"[a-z]+%3A[^/?#\s\"'<>]+")
_DOC_ID_END = re.compile(r"[\s/?#\"'<>,;)\]]")
_COMMON_WORDS = {"le", "la", "les", "de", "du", "des", "the", "and", "et"}


def _month_index(name: str) -> int:
    folded = name.casefold().replace("é", "e").replace("û", "u")
    for i, month in enumerate(_FR_MONTHS):
        if month.replace("é", "e").replace("û", "u") == folded:
            return i + 1
    for i, month in enumerate(_EN_MONTHS):
        if month.casefold() == folded:
            return i + 1
    raise ValueError(name)


class Deidentifier:
    """Masks one patient's texts and fields consistently (same pseudonym, same date offset everywhere)."""

    def __init__(
        self, key: bytes, patient_ids: Iterable[str] = (), names: Iterable[str] = (), dates: str = "shift",
        documents: Iterable[str] = (),
    ) -> None:
        self._key = key
        self.dates_mode = dates
        self._patients = {normalise_key(p): p for p in patient_ids if p}
        self._by_pseudonym = {self.pseudonym(p): p for p in self._patients.values()}
        self._names = {n.upper() for n in names if len(n) >= 2 and n.casefold() not in _COMMON_WORDS}
        # patient documents whose id names a hospital system's identifier (accession number
        # « report:ACC0000114 », DICOM UID « image:1.2.826… », a source path): shown under a keyed id
        self._doc_shown = {real: self._keyed_doc(real) for real in documents if real}
        self._doc_real = {shown: real for real, shown in self._doc_shown.items()}
        self._doc_quoted = {quote(real, safe=""): quote(shown, safe="") for real, shown in self._doc_shown.items()}
        self._patient_re = (
            re.compile(r"\b(" + "|".join(sorted((re.escape(p) for p in self._patients.values()), key=len, reverse=True)) + r")\b", re.IGNORECASE)
            if self._patients else None
        )

    # -- keyed mappings ------------------------------------------------------------------------
    def _mac(self, purpose: str, patient_id: str) -> bytes:
        return hmac.new(self._key, f"{purpose}:{normalise_key(patient_id)}".encode(), hashlib.sha256).digest()

    def pseudonym(self, patient_id: str | None) -> str | None:
        if not patient_id:
            return None
        return PSEUDONYM_PREFIX + self._mac("pseudonym", patient_id).hex()[:12].upper()

    def stay_id(self, stay_id: str, patient_id: str | None) -> str:
        """A stay (encounter) id as researchers see it: keyed per patient, since hospital encounter
        ids are visit numbers (NDA) or embed the IPP (« ENC-P000123-1 »)."""
        if not patient_id:
            return stay_id
        return "SEJ-" + self._mac("stay", f"{normalise_key(patient_id)}:{stay_id}").hex()[:10].upper()

    def _keyed_doc(self, real_id: str) -> str:
        kind = real_id.split(":", 1)[0] if ":" in real_id else "doc"
        digest = hmac.new(self._key, f"document:{real_id}".encode(), hashlib.sha256).hexdigest()[:12].upper()
        return f"{kind}:DOC-{digest}"

    def _replace_docs(self, text: str) -> str:
        """Every known document id inside *text* (an id, a URL « /images/<id>/thumbnail », a section
        title « Compte rendu <id> ») replaced by its keyed id; the longest id wins at each position."""
        if not self._doc_shown:
            return text
        if "%3A" in text:  # an id inside a URL (« /images/image%3A1.2.826…/thumbnail »)
            text = _QUOTED_DOC_ID.sub(lambda m: self._doc_quoted.get(m.group(0), m.group(0)), text)
        if ":" not in text:
            return text
        if text in self._doc_shown:
            return self._doc_shown[text]
        out, i = [], 0
        for match in _DOC_ID_START.finditer(text):
            start = match.start()
            if start < i:
                continue
            ends = [m.start() for m in _DOC_ID_END.finditer(text, start)] + [len(text)]
            found = next((end for end in sorted(set(ends), reverse=True) if text[start:end] in self._doc_shown), None)
            if found is not None:
                out.append(text[i:start] + self._doc_shown[text[start:found]])
                i = found
        return "".join(out) + text[i:] if out else text

    def real_patient(self, pseudonym: str) -> str | None:
        """The patient behind a pseudonym (None when it is not one of this index's pseudonyms)."""
        return self._by_pseudonym.get(pseudonym.strip().upper())

    def offset(self, patient_id: str | None) -> int:
        """Days to shift this patient's dates by: never 0, at most a year either way."""
        if not patient_id:
            return 0
        value = int.from_bytes(self._mac("dates", patient_id)[:4], "big") % 730
        return value - 365 if value < 365 else value - 364

    # -- values --------------------------------------------------------------------------------
    def date(self, value: dt.date | None, patient_id: str | None) -> dt.date | None:
        if value is None or not patient_id:
            return value
        if self.dates_mode == "month":
            return value.replace(day=1)
        return value + dt.timedelta(days=self.offset(patient_id))

    def doc_id(self, doc_id: str, patient_id: str | None) -> str:
        """A document id with any patient id inside it replaced by its pseudonym (records are named by IPP)."""
        return self._replace_docs(self._replace_patients(doc_id)) if patient_id else doc_id

    def real_doc_id(self, doc_id: str) -> str:
        """Inverse of :meth:`doc_id` for the ids researchers send back."""
        def back(match: re.Match[str]) -> str:
            return self.real_patient(match.group(0)) or match.group(0)

        doc_id = self._doc_real.get(doc_id.strip(), doc_id)
        return re.sub(rf"{PSEUDONYM_PREFIX}[0-9A-F]{{12}}", back, doc_id, flags=re.IGNORECASE)

    def _replace_patients(self, text: str) -> str:
        if self._patient_re is None:
            return text
        return self._patient_re.sub(lambda m: self.pseudonym(m.group(0)) or MASK_ID, text)

    # -- text ----------------------------------------------------------------------------------
    def text(self, text: str, patient_id: str | None) -> str:
        """Plain text with names, identifiers, contacts and addresses masked and dates shifted."""
        if not text or not patient_id:
            return text
        out = _EMAIL.sub(MASK_EMAIL, text)
        out = _IPP_LABEL.sub(lambda m: f"{m.group(1)}{m.group(2)}{self.pseudonym(m.group(3))}", out)
        out = self._replace_docs(self._replace_patients(out))
        out = _NIR.sub(MASK_NIR, out)
        out = self._shift_dates(out, patient_id)
        out = _PHONE.sub(MASK_PHONE, out)
        out = _STREET.sub(MASK_ADDRESS, out)
        out = _POSTCODE_CITY.sub(MASK_ADDRESS, out)
        out = _HONORIFIC.sub(lambda m: f"{m.group('title')}{m.group('sep')}{MASK_NAME}", out)
        return self._mask_known_names(out)

    def html(self, fragment: str, patient_id: str | None) -> str:
        """An HTML snippet (escaped text with ``<mark>`` tags): text masked, tags kept.

        A name split by tags (« M. <mark>Dupont</mark> ») is caught by masking the tag-free text
        first and writing the masks back over the text segments.
        """
        if not fragment or not patient_id:
            return fragment
        parts = _TAG.split(fragment)
        plain = "".join(html.unescape(p) for p in parts if not _TAG.fullmatch(p))
        masked = self.text(plain, patient_id)
        if masked == plain:
            return fragment
        # Re-align: mask each text segment on its own, then also mask any name the pattern found across tags.
        out = []
        for part in parts:
            out.append(part if _TAG.fullmatch(part) or not part else html.escape(self.text(html.unescape(part), patient_id), quote=False))
        joined = "".join(out)
        for name in set(self._honorific_names(plain)):
            for token in name.split():
                joined = re.sub(rf"(?<![\w]){re.escape(html.escape(token, quote=False))}(?![\w])", MASK_NAME, joined)
        return joined

    def _honorific_names(self, text: str) -> list[str]:
        return [m.group("name") for m in _HONORIFIC.finditer(text)]

    def _mask_known_names(self, text: str) -> str:
        if not self._names:
            return text
        tokens = list(re.finditer(rf"{_NAME_TOKEN}", text))
        spans = []
        for i, token in enumerate(tokens):
            word = token.group(0)
            upper = word.upper()
            if upper not in self._names:
                continue
            if word == upper and len(word) >= 3:
                spans.append(token.span())
                continue
            neighbours = [
                tokens[j].group(0).upper() for j in (i - 1, i + 1) if 0 <= j < len(tokens)
                and (token.start() - tokens[j].end() if j < i else tokens[j].start() - token.end()) <= 2
            ]  # a capitalised known name counts only next to another one (« Denis Bonnet »)
            if any(n in self._names for n in neighbours):
                spans.append(token.span())
        for start, end in reversed(spans):
            text = text[:start] + MASK_NAME + text[end:]
        return text

    def _shift_dates(self, text: str, patient_id: str) -> str:
        def shift(match: re.Match[str]) -> str:
            try:
                original, render = _parse_date(match)
            except ValueError:
                return match.group(0)
            moved = self.date(original, patient_id)
            assert moved is not None
            if self.dates_mode == "month":
                return f"{moved.month:02d}/{moved.year}"
            return render(moved)

        return _DATES.sub(shift, text)

    # -- structures ----------------------------------------------------------------------------
    def value(self, value: Any, patient_id: str | None) -> Any:
        """Any JSON-like value (metadata): strings masked, identifiers dropped, recursively."""
        if isinstance(value, str):
            return self.text(value, patient_id)
        if isinstance(value, dict):
            return {k: self.value(v, patient_id) for k, v in value.items() if k not in _DROPPED_METADATA}
        if isinstance(value, list):
            return [self.value(v, patient_id) for v in value]
        return value

    def query(self, text: str) -> str:
        """A researcher's query without the names and patient ids it may probe for, nor the direct
        identifiers and real dates: the index holds the real text, so « 11/02/1962 », a phone number, a
        NIR, an e-mail or an address used to find the one patient born that day or reachable there (and
        a visit's real date), which the de-identified view shifts or masks everywhere else."""
        out = text
        for pattern in (_EMAIL, _NIR, _DATES, _PHONE, _STREET, _POSTCODE_CITY):
            out = pattern.sub(" ", out)
        out = _HONORIFIC.sub(lambda m: m.group("title"), out)
        out = self._replace_patients(out)
        tokens = [t for t in out.split() if t.upper().strip(".,;:") not in self._names]
        return " ".join(tokens) or MASK_NAME  # a query made only of names searches for nothing in particular


def _parse_date(match: re.Match[str]) -> tuple[dt.date, Callable[[dt.date], str]]:
    g = match.groupdict()
    if g["iso"]:
        return dt.date(int(g["iy"]), int(g["im"]), int(g["id"])), lambda d: d.isoformat()
    if g["dmy"]:
        sep, width = g["ds"], len(g["dd"])
        return (
            dt.date(int(g["dy"]), int(g["dm"]), int(g["dd"])),
            lambda d: f"{d.day:0{width}d}{sep}{d.month:02d}{sep}{d.year}",
        )
    if g["compact"]:
        return dt.date(int(g["cy"]), int(g["cm"]), int(g["cd"])), lambda d: d.strftime("%Y%m%d")
    if g["fr"]:
        day = 1 if g["fd"] == "1er" else int(g["fd"])
        return dt.date(int(g["fy"]), _month_index(g["fm"]), day), lambda d: f"{d.day} {_FR_MONTHS[d.month - 1]} {d.year}"
    if g["en"]:
        return (
            dt.date(int(g["ey"]), _month_index(g["em"]), int(g["ed"])),
            lambda d: f"{_EN_MONTHS[d.month - 1]} {d.day}, {d.year}",
        )
    return (
        dt.date(int(g["e2y"]), _month_index(g["e2m"]), int(g["e2d"])),
        lambda d: f"{d.day} {_EN_MONTHS[d.month - 1]} {d.year}",
    )


def names_in(text: str) -> set[str]:
    """Name tokens that follow an honorific in *text* (« Dr Agathe Mathieu » → AGATHE, MATHIEU)."""
    return {token.upper() for m in _HONORIFIC.finditer(text) for token in m.group("name").split()}


def dicom_name_parts(value: str | None) -> set[str]:
    """« BONNET^DENIS » → {BONNET, DENIS}."""
    if not value:
        return set()
    return {part.upper() for part in re.split(r"[\^\s]+", value) if len(part) >= 2}
