"""Sentence and section segmentation for clinical text.

Context scopes stop at sentence boundaries, so the splitter decides how far « Absence de » reaches.
Clinical reports are not prose: they have header lines (``IPP : 123``), section headings on their own
line (« Conclusion : », ``## Findings``, « ANTÉCÉDENTS FAMILIAUX »), bullet lists, abbreviations
(« Dr. », "e.g.") and decimals (« 3.5 cm »). The rules, in order:

* each line is looked at first: a heading line is a segment of its own; a bullet, a blank line, a
  heading or a line starting with a capital letter or digit starts a new sentence; a line starting
  in lower case continues the previous one (hard-wrapped text);
* inside a block, ``. ! ? …`` end a sentence when followed by a space and a capital, a digit, a bullet
  or the end of the text, unless the word before the dot is a known abbreviation or one letter.

Each segment also carries the section it belongs to, which is how « Antécédents familiaux : »
makes its whole block family history.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from indexer.clinical.config import CompiledConfig, heading_key, load_context_config
from indexer.clinical.text import fold

_BULLET_RE = re.compile(r"^(\s*)(?:[-*•·–—▪►>]+|\d{1,2}[.)](?=\s)|[a-zA-Z][)](?=\s))\s*")
_MARKDOWN_HEADING_RE = re.compile(r"^\s*#{1,6}\s+(?P<title>.+?)\s*:?\s*$")
#: Longer lines are never headings (headings have ≤ 6 normalised words); checked before normalising.
_MAX_HEADING_WORDS = 12
_INLINE_HEADING_RE = re.compile(r"^(?P<indent>\s*)(?P<title>[^\W\d_][^:\n]{0,60}?)\s*:(?P<rest>.*)$")
_SENTENCE_END_RE = re.compile(r"[.!?…]+[\"»”')\]]*")
_WORD_BEFORE_DOT_RE = re.compile(r"([^\W\d_][\w.]*)\.$")


@dataclass(frozen=True, slots=True)
class Segment:
    """A sentence or a heading, with the (normalised) title of the section it belongs to."""

    start: int
    end: int
    is_heading: bool = False
    section: str | None = None


def sentences(text: str, config: CompiledConfig | None = None) -> list[tuple[int, int]]:
    """(start, end) offsets of each sentence and heading of ``text``, whitespace trimmed."""
    return [(s.start, s.end) for s in segment(text, config)]


def segment(text: str, config: CompiledConfig | None = None) -> list[Segment]:
    """Split ``text`` into sentences and headings, each tagged with its section."""
    config = config or load_context_config()
    segments: list[Segment] = []
    section: str | None = None
    section_has_content = False
    block: list[tuple[int, int]] = []  # consecutive line pieces forming one run of sentences

    def flush() -> None:
        if block:
            segments.extend(_split_block(text, block[0][0], block[-1][1], section, config))
            block.clear()

    for line_start, line_end in _lines(text):
        line = text[line_start:line_end]
        if not line.strip():
            flush()
            if section_has_content:
                section, section_has_content = None, False  # a blank line after content ends a section
            continue
        heading = _heading(line, config)
        if heading is not None:
            flush()
            title, title_end, rest_start = heading
            abs_title_start = line_start + len(line) - len(line.lstrip())
            segments.append(Segment(abs_title_start, line_start + title_end, True, title))
            section, section_has_content = title, False
            if rest_start is not None and line[rest_start:].strip():
                block.append((line_start + rest_start, line_end))
                section_has_content = True
            continue
        bullet = _BULLET_RE.match(line)
        content_start = line_start + (bullet.end() if bullet else 0)
        first_char = text[content_start : content_start + 1]
        continues = block and not bullet and first_char.islower() and not _ends_sentence(text, block[-1][1])
        if not continues:
            flush()
        block.append((content_start, line_end))
        section_has_content = True
    flush()
    return [s for s in segments if s.end > s.start]


def _lines(text: str) -> list[tuple[int, int]]:
    """(start, end) of each line, end excluding the newline."""
    spans = []
    start = 0
    for match in re.finditer(r"\r\n|\n|\r", text):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(text)))
    return spans


def _ends_sentence(text: str, end: int) -> bool:
    stripped = text[:end].rstrip()
    return bool(stripped) and stripped[-1] in ".!?…:;"


def _heading(line: str, config: CompiledConfig) -> tuple[str, int, int | None] | None:
    """If ``line`` starts with a section heading: (normalised title, end of heading, start of rest).

    Recognised: Markdown headings; « Known title : rest » for titles listed in the config; any
    short « Title : » alone on its line; a short ALL-CAPS line or a known title alone on its line.
    « Pneumothorax : non » is not a heading (unknown title followed by text).
    """
    markdown = _MARKDOWN_HEADING_RE.match(line)
    if markdown:
        return heading_key(markdown.group("title")), len(line.rstrip()), None
    inline = _INLINE_HEADING_RE.match(line)
    if inline:
        title = heading_key(inline.group("title"))
        rest = inline.group("rest")
        words = title.split()
        if title in config.headings or (not rest.strip() and 0 < len(words) <= 6):
            return title, line.index(":", inline.end("title")) + 1, inline.start("rest")
        return None
    stripped = line.strip().rstrip(":").strip()
    if len(stripped.split()) > _MAX_HEADING_WORDS:  # a sentence: not worth normalising (most lines)
        return None
    title = heading_key(stripped)
    if not title or stripped[-1:] in ".!?":
        return None
    letters = [c for c in stripped if c.isalpha()]
    is_caps = len(letters) >= 3 and all(c.isupper() for c in letters) and len(title.split()) <= 6
    if title in config.headings or is_caps:
        return title, len(line.rstrip()), None
    return None


def _split_block(text: str, start: int, end: int, section: str | None, config: CompiledConfig) -> list[Segment]:
    """Split one block (possibly several wrapped lines) at sentence-final punctuation."""
    segments: list[Segment] = []
    sentence_start = start
    for match in _SENTENCE_END_RE.finditer(text, start, end):
        boundary = match.end()
        if not _is_boundary(text, match, end, config):
            continue
        segments.append(_trimmed(text, sentence_start, boundary, section))
        sentence_start = boundary
    segments.append(_trimmed(text, sentence_start, end, section))
    return segments


def _is_boundary(text: str, match: re.Match[str], end: int, config: CompiledConfig) -> bool:
    after = text[match.end() : end]
    following = after.lstrip()
    if following and len(following) == len(after):
        return False  # no space after the dot: « 3.5 », « e.g. », « www.chu.fr »
    if following:
        first = following[0]
        if not (first.isupper() or first.isdigit() or first in '-*•·«"(['):
            return False
    if match.group().startswith(".") and len(match.group().rstrip("\"»”')]")) == 1:
        window = text[max(0, match.start() - 40) : match.start() + 1]
        word = _WORD_BEFORE_DOT_RE.search(window)
        if word:
            last = fold(word.group(1))
            if len(last.replace(".", "")) == 1 or last in config.abbreviations:
                return False
    return True


def _trimmed(text: str, start: int, end: int, section: str | None) -> Segment:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return Segment(start, end, False, section)
