"""Query polarity: does the physician want mentions of a finding, or its documented absence?

"patients without pleural effusion", « sans épanchement pleural », « pas de fracture » and
"no pneumothorax" ask for documents where the finding is *negated*; the index keeps negated text in
a separate field (see :mod:`indexer.clinical.context`), so the search must know which field to use
and must not search the word « sans » itself.

Explicit syntax — ``NOT:`` — for users and tools that want to be unambiguous:

* ``NOT:pleural effusion`` → negated "pleural effusion";
* ``pneumothorax NOT:épanchement pleural`` → affirmed « pneumothorax » + negated « épanchement
  pleural »; a ``NOT:`` clause runs to the next comma, semicolon or ``NOT:``;
* a leading ``-`` is deliberately *not* interpreted here: it stays the lexical engine's "exclude"
  operator, which means something else (documents that never mention the word).

Natural-language cues are the negation triggers of ``indexer/configs/clinical/context_triggers.yaml`` (French
and English), so a trigger added for documents also works in queries.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, Field

from indexer.clinical.config import ContextStatus, Direction, load_context_config
from indexer.clinical.context import CueScope, TriggerMatch, TriggerScan, cue_scopes
from indexer.clinical.text import Token, detect_language, fold, language_of_tokens, tokenize

__all__ = ["ClinicalQuery", "Polarity", "QueryClause", "parse_clinical_query"]

Polarity = Literal["affirmed", "negated"]

_EXPLICIT_RE = re.compile(r"(?<![^\s,;])NOT\s*:\s*", re.IGNORECASE)
_WORD_RE = re.compile(r"[^\W_]+")
_CLAUSE_BREAKS = frozenset({",", ";", ".", "?", "!"})
# Words that frame a query rather than describe a finding; stripped at clause edges only.
_FILLER = frozenset(
    "patient patients patiente patientes malade malades cas case cases subject subjects sujet sujets "
    "with avec having ayant who qui have has had ont a an the le la les un une des de du of and et or ou "
    "any all tout tous toute toutes some quelque show showing shows montrant montre presentant present "
    "presenting report reports compte comptes rendu rendus cr examen examens dossier dossiers document "
    "documents doc docs find trouver search chercher cherche looking for pour".split()
)


class QueryClause(BaseModel):
    """A part of the query and the polarity it is asked with (``query[start:end]``)."""

    text: str
    polarity: Polarity
    start: int
    end: int
    explicit: bool = Field(default=False, description="Came from the NOT: syntax")


class ClinicalQuery(BaseModel):
    """Parsed query: ``text`` to search, with cues removed, and its ``polarity``.

    ``polarity`` is "negated" only when every clause is negated; mixed queries (« pneumothorax sans
    épanchement ») are "affirmed" overall and list their parts in ``clauses``.
    """

    text: str
    polarity: Polarity
    original: str = ""
    language: str = "fr"
    clauses: list[QueryClause] = Field(default_factory=list)

    @property
    def affirmed_terms(self) -> list[str]:
        return [c.text for c in self.clauses if c.polarity == "affirmed"]

    @property
    def negated_terms(self) -> list[str]:
        return [c.text for c in self.clauses if c.polarity == "negated"]


def parse_clinical_query(q: str, language: str | None = None) -> ClinicalQuery:
    """Split ``q`` into affirmed / negated clauses using the ``NOT:`` syntax and negation cues."""
    whole = tokenize(q)  # once: the language guess, the clauses and the cues of an unmarked query share it
    if not language:
        language = language_of_tokens(whole) if len(q) <= 5000 else detect_language(q)
    clauses: list[QueryClause] = []
    cursor = 0
    for match in _EXPLICIT_RE.finditer(q):
        if match.start() < cursor:
            continue
        clauses.extend(_natural_clauses(q, cursor, match.start(), language))
        end = _explicit_end(q, match.end())
        clause = _clause(q, tokenize_range(q, match.end(), end), "negated", explicit=True)
        if clause is not None:
            clauses.append(clause)
        cursor = end
    clauses.extend(_natural_clauses(q, cursor, len(q), language, whole if cursor == 0 else None))
    if not clauses:  # nothing to search but maybe an empty « NOT: »: the marker is not a word to look for
        return ClinicalQuery(text=_EXPLICIT_RE.sub(" ", q).strip(" ,;"), polarity="affirmed", original=q, language=language)
    polarity: Polarity = "negated" if all(c.polarity == "negated" for c in clauses) else "affirmed"
    text = " ".join(c.text for c in clauses)
    return ClinicalQuery(text=text, polarity=polarity, original=q, language=language, clauses=clauses)


def tokenize_range(text: str, start: int, end: int) -> list[Token]:
    """Tokens of ``text[start:end]`` with offsets in ``text``."""
    return [Token(t.norm, t.start + start, t.end + start) for t in tokenize(text[start:end])]


def _explicit_end(q: str, start: int) -> int:
    """A ``NOT:`` clause runs to the next comma, semicolon or ``NOT:``."""
    ends = [m.start() for m in re.finditer(r"[,;]", q[start:])]
    nxt = _EXPLICIT_RE.search(q, start)
    candidates = [start + e for e in ends[:1]] + ([nxt.start()] if nxt else [])
    return min(candidates, default=len(q))


def _natural_clauses(q: str, start: int, end: int, language: str, local: list[Token] | None = None) -> list[QueryClause]:
    """Clauses of a free-text part of the query, split at negation cues and breaks.

    *local*: ``tokenize(q[start:end])`` when the caller has it."""
    part = q[start:end]
    if not part.strip():
        return []
    local = tokenize(part) if local is None else local
    tokens = [Token(t.norm, t.start + start, t.end + start) for t in local] if start else local
    triggers = _triggers(part, language, start, local)
    negated = [m for m in triggers if m.role == "trigger" and m.status == ContextStatus.NEGATED]
    boundaries = [m for m in triggers if m.role in {"trigger", "termination"}]
    removed = [m for m in boundaries if m.role == "termination" or m.status == ContextStatus.NEGATED]
    labels: list[str | None] = ["affirmed"] * len(tokens)  # None = cue or break, not part of any clause
    for m in removed:
        for i, tok in enumerate(tokens):
            if m.start <= tok.start < m.end:
                labels[i] = None
    for i, tok in enumerate(tokens):
        if tok.norm in _CLAUSE_BREAKS:
            labels[i] = None
    for m in negated:
        for i in _scope(tokens, labels, m):
            labels[i] = "negated"
    clauses = []
    i = 0
    while i < len(tokens):
        label = labels[i]
        j = i + 1
        while j < len(tokens) and labels[j] == label and not _is_boundary_start(tokens[j], boundaries):
            j += 1
        if label is not None:
            clause = _clause(q, tokens[i:j], label)  # type: ignore[arg-type]
            if clause is not None:
                clauses.append(clause)
        i = j
    return clauses


def _triggers(text: str, language: str, offset: int, tokens: list[Token] | None = None) -> list[TriggerMatch]:
    """Trigger matches in the query's language, falling back to the other one (short queries); the
    text is segmented and tokenized once for both (*tokens*: ``tokenize(text)``, if known)."""
    scan = TriggerScan(text, tokens=tokens)
    found = scan.triggers(language)
    if not any(m.status == ContextStatus.NEGATED for m in found):
        other = "en" if language == "fr" else "fr"
        alternative = scan.triggers(other)
        if any(m.status == ContextStatus.NEGATED for m in alternative):
            found = alternative
    return [
        TriggerMatch(m.start + offset, m.end + offset, m.text, m.phrase, m.role, m.status, m.direction) for m in found
    ]


def _is_boundary_start(token: Token, boundaries: list[TriggerMatch]) -> bool:
    return any(m.start == token.start for m in boundaries)


def _scope(tokens: list[Token], labels: list[str | None], m: TriggerMatch) -> list[int]:
    """Token indexes a negation cue applies to: forward for « sans X », backward for « X éliminé »."""
    first = next((i for i, t in enumerate(tokens) if t.start >= m.start), len(tokens))
    after = next((i for i, t in enumerate(tokens) if t.start >= m.end), len(tokens))
    backward: list[int] = []
    i = first - 1
    while i >= 0 and labels[i] == "affirmed":
        backward.insert(0, i)
        i -= 1
    forward: list[int] = []
    i = after
    while i < len(tokens) and labels[i] == "affirmed":
        forward.append(i)
        i += 1
    if m.direction == Direction.POST:
        return backward
    if m.direction == Direction.BOTH and backward and not _all_filler(tokens, backward):
        return backward
    return forward


def _all_filler(tokens: list[Token], indexes: list[int]) -> bool:
    return all(tokens[i].norm in _FILLER for i in indexes)


def _clause(q: str, tokens: list[Token], polarity: Polarity, explicit: bool = False) -> QueryClause | None:
    """A clause from tokens, filler words stripped at both edges; None if nothing is left."""
    words = [t for t in tokens if t.norm not in _CLAUSE_BREAKS]
    while words and words[0].norm in _FILLER:
        words.pop(0)
    while words and words[-1].norm in _FILLER:
        words.pop()
    if not words:
        return None
    start, end = words[0].start, words[-1].end
    return QueryClause(text=q[start:end], polarity=polarity, start=start, end=end, explicit=explicit)


def family_parts(query: ClinicalQuery) -> tuple[list[str], list[str]]:
    """(the affirmed clauses' text about the patient, their text about relatives), cue words out of both.

    A family-history cue of ``context_triggers.yaml`` — the very phrases that put a document's text in
    its family field: « antécédents familiaux de », « ATCD familiaux », « mère », « père », "family history
    of", "mother", a post cue « familial », "in his father" — makes the words it qualifies a question
    about relatives: « antécédents familiaux de cancer du sein » → ``([], ["cancer du sein"])``,
    « diabète, mère atteinte de cancer du sein » → ``(["diabète"], ["atteinte de cancer du sein"])``.
    What a cue qualifies is read by the documents' own scope function
    (:func:`~indexer.clinical.context.cue_scopes`, as :func:`~indexer.clinical.context.split_by_context`
    reads a sentence), with the query's clause breaks (comma, semicolon, full stop) ending scopes too, so
    a query and a document cannot read one phrase differently: a pre cue qualifies what follows it up to
    the end of its clause, a negation cue, a family termination such as « patient »; « avec » / "with"
    do not end it, as in a document (``family_connectors``): "mother with breast cancer" asks about the
    mother's cancer. A post cue qualifies what precedes it in its clause. No cue: ``(affirmed clauses, [])``, the query as before. Cues are looked for in the query's
    language, then in the other one (a short query's language is often misjudged)."""
    affirmed = [c for c in query.clauses if c.polarity == "affirmed"]
    q = query.original
    if not affirmed:
        return [], []
    if not _family_first_words().intersection(_WORD_RE.findall(fold(q))):
        return [c.text for c in affirmed], []  # no word starts a family cue: the usual case, nothing scanned
    tokens = tokenize(q)
    cues = _family_cues(tokens, query.language)
    if not cues:
        return [c.text for c in affirmed], []
    labels: list[str] = ["own"] * len(tokens)
    for cue in cues:
        labels[cue.start : cue.end] = ["cue"] * (cue.end - cue.start)
    for cue in cues:  # what each cue qualifies, as in a document (context.cue_scopes), a comma ending it
        for i in range(cue.first, cue.last):
            if labels[i] != "cue":
                labels[i] = "family"
    own: list[str] = []
    family: list[str] = []
    for clause in affirmed:
        run: list[Token] = []
        label = None
        for i, tok in enumerate(tokens):
            if not clause.start <= tok.start < clause.end:
                continue
            if labels[i] != label and run:
                _keep(q, run, label, own, family)
                run = []
            label = labels[i]
            run.append(tok)
        if run:
            _keep(q, run, label, own, family)
    return own, family


def family_relatives(query: ClinicalQuery) -> tuple[str, ...]:
    """The relatives a query about family history names (« cancer du sein chez la mère » → ``("mother",)``,
    « antécédents familiaux : père » → ``("father",)``, "family history of stroke" → ``()``): its family
    cues' ``relatives`` (context_triggers.yaml), read as :func:`family_parts` reads the query. A search
    restricts its family matches to them (:func:`~indexer.clinical.context.relatives_match` against a
    mention's ``relatives``)."""
    q = query.original
    if not q or not _family_first_words().intersection(_WORD_RE.findall(fold(q))):
        return ()
    cues = _family_cues(tokenize(q), query.language)
    return tuple(dict.fromkeys(cue.relative for cue in cues if cue.relative))


def _keep(q: str, run: list[Token], label: str | None, own: list[str], family: list[str]) -> None:
    if label == "cue":
        return
    clause = _clause(q, run, "affirmed")
    if clause is not None:
        (family if label == "family" else own).append(clause.text)


def _family_cues(tokens: list[Token], language: str) -> list[CueScope]:
    """The family cues of the query and their scopes (:func:`~indexer.clinical.context.cue_scopes`, the
    documents' scope function, with the query's clause breaks), in the query's language, else the other."""
    config = load_context_config()
    for lang in (language, "en" if language == "fr" else "fr"):
        if lang not in config.languages:
            continue
        found = [s for s in cue_scopes(tokens, config.languages[lang], config, _CLAUSE_BREAKS)
                 if s.status == ContextStatus.FAMILY]
        if found:
            return found
    return []


@lru_cache(maxsize=1)
def _family_first_words() -> frozenset[str]:
    """The first word of every family cue of the trigger file, in any language."""
    return frozenset(key[0] for rules in load_context_config().languages.values() for key, rule in rules.rules.items()
                     if rule.role == "trigger" and rule.status == ContextStatus.FAMILY)
