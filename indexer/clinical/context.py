"""NegEx/ConText-style context detection for French and English clinical text.

A keyword engine that indexes « Absence de fracture » under "fracture" returns the wrong patients.
:func:`split_by_context` cuts a text into consecutive spans labelled ``affirmed``, ``negated``,
``hypothetical`` or ``family`` so the indexer can put each kind of text in its own lexical field
(and a normal query only searches the affirmed one).

How a status is decided (trigger lists live in ``indexer/configs/clinical/context_triggers.yaml``):

1. The text is split into sentences and section headings (:mod:`indexer.clinical.sentences`).
2. In each sentence, trigger phrases are found on folded tokens, longest match first, left to right;
   pseudo-triggers (« pas de changement », "not only") win over the triggers they contain.
3. A *pre* trigger's scope runs forward to the end of the sentence, a termination (« mais », "but",
   ";"), a pseudo-trigger, the start of the next trigger's own scope, or ``max_scope_tokens``.
   A family cue's scope also ends at a family termination (« patiente », "the patient"), but not at
   the terminations listed as ``family_connectors`` (« avec », "with", "who", "which"): they attach an
   attribute to the relative (« Mère avec [cancer du sein] », "Mother who had [breast cancer]").
   A *post* trigger's scope runs backward to a comma, colon, termination, previous trigger or
   ``max_post_scope_tokens``; *both* triggers do both, and their forward part also stops at commas.
4. A trigger right after another (``chain_gap_tokens``) does not cut its scope: in « pas
   d'antécédent familial de cancer » both apply and the config's ``priority`` picks « negated ».
5. A cue inside a lexicon name, after its first word (the « sans » of « infarctus sans sus-décalage du
   segment ST », « migraine sans aura »), qualifies that name only: its scope stops at the name's edges
   and it does not end an earlier cue's scope (:mod:`indexer.clinical.named_cues`).
6. Sentences under a family-history heading (« Antécédents familiaux : ») start out ``family``.

Triggers are part of their span (« pas de fracture » is the negated span, not just « fracture »),
so the affirmed field never contains « absence de » or « mère ».
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from indexer.clinical.config import (
    CompiledConfig,
    CompiledLanguage,
    ContextStatus,
    Direction,
    Rule,
    load_context_config,
)
from indexer.clinical.named_cues import cue_forms, named_cue_bounds
from indexer.clinical.sentences import Segment, segment
from indexer.clinical.text import Token, detect_language, tokenize

__all__ = [
    "ContextSpan",
    "ContextStatus",
    "CueScope",
    "TriggerMatch",
    "cue_scopes",
    "relatives_match",
    "find_triggers",
    "TriggerScan",
    "group_by_status",
    "mention_context",
    "mention_reading",
    "reading",
    "split_by_context",
    "split_reading",
    "status_at",
]

_BACKWARD_STOPS = frozenset({",", ";", ":", "(", ")"})


@dataclass(frozen=True, slots=True)
class ContextSpan:
    """A slice ``text[start:end]`` of the input and its status; ``trigger`` is the phrase that set it.

    ``relatives``: for a family-history span, the relatives its cues name (« Mère : cancer du sein » →
    ``("mother",)``, the ``relatives`` of the trigger file), in the order named; empty when no cue
    names one (« antécédents familiaux de diabète », a sentence under a family heading alone)."""

    start: int
    end: int
    text: str
    status: ContextStatus
    trigger: str | None = None
    relatives: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TriggerMatch:
    """A phrase from the trigger file found in a text (``text[start:end]``).

    ``role`` is "trigger", "pseudo", "termination" or "family_termination"; ``status`` and
    ``direction`` are set for triggers only.
    """

    start: int
    end: int
    text: str
    phrase: str
    role: str
    status: ContextStatus | None
    direction: Direction | None


@dataclass(frozen=True, slots=True)
class _Match:
    start: int  # token indexes, end exclusive
    end: int
    rule: Rule


@dataclass(slots=True)
class _Mark:
    rank: int
    status: ContextStatus
    trigger: str | None
    relatives: tuple[str, ...] = ()


def split_by_context(
    text: str,
    language: str | None = None,
    config: CompiledConfig | str | Path | None = None,
) -> list[ContextSpan]:
    """Cut ``text`` into consecutive spans covering all of it, each with a context status.

    ``language`` is 'fr' or 'en'; None (or 'und', or a language without triggers) guesses it from
    the text. ``config`` defaults to ``indexer/configs/clinical/context_triggers.yaml``.
    Concatenating the spans' ``text`` gives back ``text`` exactly.
    """
    compiled = _resolve_config(config)
    if not text:
        return []
    rules = compiled.languages[_resolve_language(text, language, compiled)]
    marks: list[tuple[int, int, _Mark]] = []
    for seg in segment(text, compiled):
        marks.extend(_segment_marks(text, seg, rules, compiled))
    return _assemble(text, marks)


def mention_context(
    text: str,
    start: int,
    end: int,
    language: str | None = None,
    config: CompiledConfig | str | Path | None = None,
) -> tuple[int, ContextStatus]:
    """(start of the sentence holding ``text[start:end]``, that mention's status).

    Same answer as ``status_at(split_by_context(text), start, end)`` — a trigger's scope never
    leaves its sentence — but only the mention's sentence is analysed, which is what a query-time
    snippet needs (ten of them per search request).
    """
    compiled = _resolve_config(config)
    for seg in segment(text, compiled):
        if seg.start <= start < seg.end:
            rules = compiled.languages[_resolve_language(text, language, compiled)]
            return seg.start, status_at(_assemble(text, _segment_marks(text, seg, rules, compiled)), start, end)
    return start, ContextStatus.AFFIRMED


def mention_reading(
    text: str,
    start: int,
    end: int,
    language: str | None = None,
    config: CompiledConfig | str | Path | None = None,
) -> tuple[int, str]:
    """:func:`mention_context` with the relatives of a family mention: (sentence start, its
    :func:`reading` — « family:mother » for « Mère : <mark>cancer du sein</mark> », else the status)."""
    compiled = _resolve_config(config)
    for seg in segment(text, compiled):
        if seg.start <= start < seg.end:
            rules = compiled.languages[_resolve_language(text, language, compiled)]
            return seg.start, reading_at(_assemble(text, _segment_marks(text, seg, rules, compiled)), start, end)
    return start, ContextStatus.AFFIRMED.value


def reading(status: ContextStatus | str, relatives: tuple[str, ...] | list[str] = ()) -> str:
    """A mention's status as a string, with the relatives of a family mention: « family:mother,sister »
    (what stored mentions hold and snippets return; :func:`split_reading` takes it apart)."""
    value = getattr(status, "value", status)
    return f"{value}:{','.join(relatives)}" if relatives else str(value)


def split_reading(value: str | None) -> tuple[str | None, tuple[str, ...]]:
    """(status, relatives) of a :func:`reading` (« family:mother » → ("family", ("mother",)))."""
    if not value or ":" not in value:
        return value, ()
    status, _, relatives = value.partition(":")
    return status, tuple(r for r in relatives.split(",") if r)


def reading_at(spans: list[ContextSpan], start: int, end: int | None = None) -> str:
    """:func:`status_at` as a :func:`reading` (a family mention's relatives included)."""
    end = start + 1 if end is None else end
    best: ContextSpan | None = None
    best_overlap = 0
    for span in spans:
        overlap = min(end, span.end) - max(start, span.start)
        if overlap > 0 and span.status is not ContextStatus.AFFIRMED and overlap > best_overlap:
            best, best_overlap = span, overlap
    return reading(best.status, best.relatives) if best is not None else ContextStatus.AFFIRMED.value


def find_triggers(
    text: str,
    language: str | None = None,
    config: CompiledConfig | str | Path | None = None,
) -> list[TriggerMatch]:
    """Every trigger, pseudo-trigger and termination in ``text``, sentence by sentence.

    Used by query parsing (« sans épanchement pleural ») and handy to explain a status.
    """
    if not text:
        return []
    return TriggerScan(text, config).triggers(language)


class TriggerScan:
    """``text`` segmented into sentences and tokenized once, to look for the cues of one language,
    then maybe of another.

    Why: query parsing looks for negation cues in the query's language and, when there are none, in
    the other one (short queries are often misjudged); segmentation and tokenization do not depend on
    the language, and doing them once per query instead of once per language was ~a quarter of
    :func:`~search_api.query_plan.plan_query` (#14 item 3). *tokens*: ``tokenize(text)``, when the
    caller already has it (used when the whole text is one sentence, the usual query).
    """

    def __init__(
        self, text: str, config: CompiledConfig | str | Path | None = None, tokens: list[Token] | None = None
    ) -> None:
        self.text = text
        self.config = _resolve_config(config)
        segments = segment(text, self.config) if text else []
        if tokens is not None and len(segments) == 1 and (segments[0].start, segments[0].end) == (0, len(text)):
            self.sentences = [tokens]  # the one sentence is the whole text: its tokens are the text's
        else:
            self.sentences = [_segment_tokens(text, seg) for seg in segments]

    def triggers(self, language: str | None = None) -> list[TriggerMatch]:
        """What :func:`find_triggers` returns for this text and *language*."""
        if not self.text:
            return []
        rules = self.config.languages[_resolve_language(self.text, language, self.config)]
        found: list[TriggerMatch] = []
        text = self.text
        for tokens in self.sentences:
            for m in _find_matches(tokens, rules):
                start, end = tokens[m.start].start, tokens[m.end - 1].end
                found.append(
                    TriggerMatch(start, end, text[start:end], m.rule.phrase, m.rule.role, m.rule.status, m.rule.direction)
                )
        return found


def group_by_status(spans: list[ContextSpan], separator: str = "\n") -> dict[ContextStatus, str]:
    """Join the spans' text per status: one string per lexical field (empty statuses omitted)."""
    parts: dict[ContextStatus, list[str]] = {}
    for span in spans:
        if span.text.strip():
            parts.setdefault(span.status, []).append(span.text.strip())
    return {status: separator.join(texts) for status, texts in parts.items()}


def status_at(spans: list[ContextSpan], start: int, end: int | None = None) -> ContextStatus:
    """Status of the mention ``[start, end)``: the non-affirmed status it overlaps most, if any.

    Lets a caller that found a term at some offset (e.g. a lexicon match) ask whether it is negated.
    """
    end = start + 1 if end is None else end
    best, best_overlap = ContextStatus.AFFIRMED, 0
    for span in spans:
        overlap = min(end, span.end) - max(start, span.start)
        if overlap > 0 and span.status is not ContextStatus.AFFIRMED and overlap > best_overlap:
            best, best_overlap = span.status, overlap
    return best


def _resolve_config(config: CompiledConfig | str | Path | None) -> CompiledConfig:
    if isinstance(config, CompiledConfig):
        return config
    return load_context_config() if config is None else load_context_config(config)


def _resolve_language(text: str, language: str | None, config: CompiledConfig) -> str:
    code = (language or "").lower()[:2]
    if code in config.languages:
        return code
    guess = detect_language(text)
    return guess if guess in config.languages else next(iter(config.languages))


def _find_matches(tokens: list[Token], rules: CompiledLanguage) -> list[_Match]:
    """Longest-first, left-to-right, non-overlapping phrase matches.

    A phrase starting with a colon (« Pneumothorax : non », "Effusion: no") only counts when it ends
    its clause: in "Chest X-ray: No pleural effusion" the "No" is an ordinary pre-trigger.
    """
    matches: list[_Match] = []
    norms = [t.norm for t in tokens]
    first_words = rules.first_words
    i = 0
    while i < len(norms):
        if norms[i] not in first_words:  # no rule starts with this word: the usual case
            i += 1
            continue
        for length in range(min(rules.max_len, len(norms) - i), 0, -1):
            rule = rules.rules.get(tuple(norms[i : i + length]))
            if rule is not None and norms[i] == ":" and i + length < len(norms) and not tokens[i + length].is_punct:
                continue
            if rule is not None:
                matches.append(_Match(i, i + length, rule))
                i += length
                break
        else:
            i += 1
    return matches


def _segment_marks(
    text: str, seg: Segment, rules: CompiledLanguage, config: CompiledConfig
) -> list[tuple[int, int, _Mark]]:
    """Character ranges of one sentence that get a non-affirmed status."""
    tokens = _segment_tokens(text, seg)
    if not tokens:
        return []
    matches = _find_matches(tokens, rules)
    token_marks: list[_Mark | None] = [None] * len(tokens)
    if not seg.is_heading and seg.section in config.family_headings:
        family = _Mark(config.priority_rank(ContextStatus.FAMILY), ContextStatus.FAMILY, seg.section)
        token_marks = [family] * len(tokens)
    triggers = [m for m in matches if m.rule.role == "trigger"]
    named = named_cue_bounds(tokens, triggers, cue_forms(rules, _find_matches)) if triggers else {}
    scopes = _trigger_scopes(tokens, matches, config, named)
    for m in triggers:
        first, last = _trim_punct(tokens, *scopes[id(m)], m)
        status = m.rule.status
        assert status is not None
        mark = _Mark(config.priority_rank(status), status, m.rule.phrase, (m.rule.relative,) if m.rule.relative else ())
        for i in range(first, last):
            current = token_marks[i]
            if current is None or mark.rank > current.rank:
                token_marks[i] = mark
            elif mark.relatives and current.status == status and not set(mark.relatives) <= set(current.relatives):
                # a relative named inside a family scope (« Antécédents familiaux : » then « Mère : … »,
                # « Mère et sœur : … »): the mention is about them too
                token_marks[i] = _Mark(current.rank, status, current.trigger,
                                       tuple(dict.fromkeys((*current.relatives, *mark.relatives))))
    return _token_runs(tokens, token_marks)


@dataclass(frozen=True, slots=True)
class CueScope:
    """A trigger found in a token list and the tokens it qualifies: ``tokens[first:last]``, its own
    tokens ``tokens[start:end]`` included (edge punctuation not trimmed)."""

    start: int
    end: int
    first: int
    last: int
    status: ContextStatus
    direction: Direction
    phrase: str
    relative: str | None = None  # a family cue that names a relative (« mère » → mother)


#: a relative a query names → the relatives a mention may name and still be about them: « fratrie »
#: (siblings) asks about brothers, sisters and twins too; « parents » about the mother and the father
RELATIVE_GROUPS: dict[str, frozenset[str]] = {
    "siblings": frozenset({"siblings", "brother", "sister", "twin"}),
    "parents": frozenset({"parents", "mother", "father"}),
    "grandparents": frozenset({"grandparents", "grandmother", "grandfather"}),
    "children": frozenset({"children", "son", "daughter"}),
}


def relatives_match(asked: tuple[str, ...] | list[str], found: tuple[str, ...] | list[str]) -> bool:
    """Whether a family mention about *found* answers a query about *asked* (« antécédents familiaux :
    père » is not answered by « Mère : cancer du sein »). A query naming no relative, or a mention naming
    none (« antécédents familiaux de diabète »: whose is not said), matches; a mention about the
    siblings answers a query about a brother, and the reverse."""
    if not asked or not found:
        return True
    for want in asked:
        for have in found:
            if want == have or have in RELATIVE_GROUPS.get(want, ()) or want in RELATIVE_GROUPS.get(have, ()):
                return True
    return False


def cue_scopes(
    tokens: list[Token],
    rules: CompiledLanguage,
    config: CompiledConfig | str | Path | None = None,
    breaks: frozenset[str] = frozenset(),
) -> list[CueScope]:
    """Every trigger of *rules* in *tokens* and its scope, read as a document's sentence is read
    (:func:`split_by_context`): the one scope function for documents and queries, so that a query's
    reading of « mère atteinte de cancer du sein » (:func:`indexer.clinical.query.family_parts`)
    cannot drift from a document's. *breaks*: token norms that also end every scope, both ways (a
    query has no sentences: its commas part its clauses)."""
    compiled = _resolve_config(config)
    matches = _find_matches(tokens, rules)
    triggers = [m for m in matches if m.rule.role == "trigger"]
    if not triggers:
        return []
    named = named_cue_bounds(tokens, triggers, cue_forms(rules, _find_matches))
    scopes = _trigger_scopes(tokens, matches, compiled, named, breaks)
    return [
        CueScope(m.start, m.end, *scopes[id(m)], m.rule.status, m.rule.direction, m.rule.phrase, m.rule.relative)  # type: ignore[arg-type]
        for m in triggers
    ]


def _trigger_scopes(
    tokens: list[Token],
    matches: list[_Match],
    config: CompiledConfig,
    named: dict[int, tuple[int, int]],
    breaks: frozenset[str] = frozenset(),
) -> dict[int, tuple[int, int]]:
    """``id(trigger)`` → ``(first, last)``: the token range each trigger of *matches* qualifies, its
    own tokens included, before edge punctuation is trimmed."""
    triggers = [m for m in matches if m.rule.role == "trigger"]
    backward = {
        id(m): _backward_start(m, tokens, matches, config, named, breaks)
        for m in triggers
        if m.rule.direction != Direction.PRE
    }
    scopes: dict[int, tuple[int, int]] = {}
    for m in triggers:
        first = backward.get(id(m), m.start)
        last = m.end
        if m.rule.direction != Direction.POST:
            last = _forward_end(m, tokens, matches, backward, config, named, breaks)
        if id(m) in named:  # a word of a name: it qualifies that name, nothing past it
            name_start, name_end = named[id(m)]
            first, last = max(first, name_start), min(last, name_end)
        scopes[id(m)] = (first, last)
    return scopes


def _segment_tokens(text: str, seg: Segment) -> list[Token]:
    return [Token(t.norm, t.start + seg.start, t.end + seg.start) for t in tokenize(text[seg.start : seg.end])]


def _forward_end(
    m: _Match,
    tokens: list[Token],
    matches: list[_Match],
    backward: dict[int, int],
    config: CompiledConfig,
    named: dict[int, tuple[int, int]] | None = None,
    breaks: frozenset[str] = frozenset(),
) -> int:
    """Token index where the forward scope of trigger ``m`` ends (exclusive). *named*: the triggers
    inside a lexicon name (:func:`~indexer.clinical.named_cues.named_cue_bounds`), which end no scope;
    *breaks*: token norms that end it too (a query's clause breaks)."""
    named = named or {}
    settings = config.settings
    limit = min(len(tokens), m.end + settings.max_scope_tokens)
    for other in matches:
        if other.start < m.end:
            continue
        role = other.rule.role
        family = m.rule.status == ContextStatus.FAMILY
        ends_scope = (
            role == "pseudo"
            or (role == "termination" and (other.rule.ends_family or not family))
            or (role == "family_termination" and family)
        )
        if ends_scope:
            limit = min(limit, other.start)
        elif role == "trigger" and id(other) not in named and not _chained(m, other, tokens, settings.chain_gap_tokens):
            limit = min(limit, backward.get(id(other), other.start))
        if other.start >= limit:
            break
    if breaks:
        limit = next((i for i in range(m.end, limit) if tokens[i].norm in breaks), limit)
    if m.rule.direction == Direction.BOTH:
        for i in range(m.end, limit):
            if tokens[i].norm in {",", ";"}:
                return i
    return max(limit, m.end)


def _chained(first: _Match, second: _Match, tokens: list[Token], gap: int) -> bool:
    """True when ``second`` follows ``first`` closely enough to qualify the same words."""
    between = tokens[first.end : second.start]
    return len(between) <= gap and not any(t.is_punct for t in between)


def _backward_start(
    m: _Match,
    tokens: list[Token],
    matches: list[_Match],
    config: CompiledConfig,
    named: dict[int, tuple[int, int]] | None = None,
    breaks: frozenset[str] = frozenset(),
) -> int:
    """Token index where the backward scope of trigger ``m`` starts (a trigger of *named*, inside a
    lexicon name, is no floor; a token of *breaks* stops it, as a comma does)."""
    named = named or {}
    floor = max(0, m.start - config.settings.max_post_scope_tokens)
    for other in matches:
        if other.end <= m.start and other.rule.role in {"trigger", "termination", "pseudo"} and id(other) not in named:
            floor = max(floor, other.end)
    start = m.start
    while start > floor and tokens[start - 1].norm not in _BACKWARD_STOPS and tokens[start - 1].norm not in breaks:
        start -= 1
    return start


def _trim_punct(tokens: list[Token], first: int, last: int, m: _Match) -> tuple[int, int]:
    """Drop punctuation at the edges of a scope, but never the trigger's own tokens (« ? »)."""
    while first < m.start and tokens[first].is_punct:
        first += 1
    while last > m.end and tokens[last - 1].is_punct:
        last -= 1
    return first, last


def _token_runs(tokens: list[Token], marks: list[_Mark | None]) -> list[tuple[int, int, _Mark]]:
    """Merge consecutive tokens with the same status into character ranges (one per relative named)."""
    runs: list[tuple[int, int, _Mark]] = []
    i = 0
    while i < len(tokens):
        mark = marks[i]
        if mark is None:
            i += 1
            continue
        j = i + 1
        while j < len(tokens) and marks[j] is not None and marks[j].status == mark.status:  # type: ignore[union-attr]
            j += 1
        last = j
        while last - 1 > i and tokens[last - 1].is_punct and tokens[last - 1].norm != "?":
            last -= 1
        # one range per relative named within the run (« Mère : … ; frère : … »), cut inside the run's
        # own bounds: the text of each status is what it was without relatives
        first = i
        for k in range(i + 1, last + 1):
            if k == last or marks[k].relatives != marks[first].relatives:  # type: ignore[union-attr]
                runs.append((tokens[first].start, tokens[k - 1].end, marks[first]))  # type: ignore[arg-type]
                first = k
        i = j
    return runs


def _assemble(text: str, marks: list[tuple[int, int, _Mark]]) -> list[ContextSpan]:
    """Turn non-affirmed ranges into a gap-free list of spans covering ``text``."""
    spans: list[ContextSpan] = []
    cursor = 0
    for start, end, mark in sorted(marks, key=lambda r: r[0]):
        if start < cursor:
            start = cursor
        if end <= start:
            continue
        if start > cursor:
            spans.append(ContextSpan(cursor, start, text[cursor:start], ContextStatus.AFFIRMED))
        spans.append(ContextSpan(start, end, text[start:end], mark.status, mark.trigger, mark.relatives))
        cursor = end
    if cursor < len(text):
        spans.append(ContextSpan(cursor, len(text), text[cursor:], ContextStatus.AFFIRMED))
    return spans
