"""Writing rendered reports as .txt, .md or .pdf, byte-identical for a given seed.

All three formats share the same layout: ``Key : value`` header lines, one blank line, then the body
with each section heading alone on its line and ending with « : » (Markdown adds ``## `` in front).
PDFs use fpdf2's core fonts, which only know Latin-1, so text is transliterated first, and their
creation date is pinned so that reruns produce the same bytes.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from indexer.demo.reports import RenderedReport

PDF_CREATION_DATE = datetime(2024, 12, 31, 12, 0, tzinfo=timezone.utc)
_LATIN1_FALLBACKS = {
    "œ": "oe",
    "Œ": "OE",
    "’": "'",
    "‘": "'",
    "“": '"',
    "”": '"',
    "–": "-",
    "—": "-",
    "…": "...",
    "≥": ">=",
    "≤": "<=",
    "\u202f": " ",
    "ı": "i",
}


def _heading_line(title: str, upper: bool, lang: str) -> str:
    text = title.upper() if upper else title
    return f"{text} :" if lang == "fr" else f"{text}:"


def header_text(report: RenderedReport) -> str:
    return "\n".join(f"{key} : {value}" for key, value in report.header)


def to_text(report: RenderedReport, markdown: bool = False) -> str:
    """Plain-text (or Markdown) serialisation: header, blank line, sections separated by blank lines."""
    lang = report.language
    blocks = [header_text(report)]
    for title, lines in report.sections:
        block = []
        if title:
            heading = _heading_line(title, report.upper_headings, lang)
            block.append(f"## {heading}" if markdown else heading)
        block.extend(lines)
        blocks.append("\n".join(block))
    return "\n\n".join(blocks) + "\n"


def latin1(text: str) -> str:
    """Replace the few characters outside Latin-1 that French text uses (œ, typographic quotes)."""
    for char, replacement in _LATIN1_FALLBACKS.items():
        text = text.replace(char, replacement)
    return text.encode("latin-1", errors="replace").decode("latin-1")


def write_pdf(report: RenderedReport, path: Path) -> None:
    """A one-column PDF with a real text layer (so the indexer can extract it)."""
    from fpdf import FPDF

    lang = report.language
    pdf = FPDF(format="A4")
    pdf.set_creation_date(PDF_CREATION_DATE)
    pdf.set_creator("medsearch demo generator")
    pdf.set_author(latin1(report.header[0][1]))
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    for key, value in report.header:
        pdf.multi_cell(0, 5, latin1(f"{key} : {value}"), new_x="LMARGIN", new_y="NEXT")
    for title, lines in report.sections:
        # A line holding one space (not just vertical space) keeps the blank line that separates the
        # header from the body, and sections from each other, in the extracted text layer.
        pdf.multi_cell(0, 5, " ", new_x="LMARGIN", new_y="NEXT")
        if title:
            pdf.set_font("Helvetica", style="B", size=10)
            pdf.multi_cell(
                0, 5, latin1(_heading_line(title, report.upper_headings, lang)), new_x="LMARGIN", new_y="NEXT"
            )
            pdf.set_font("Helvetica", size=10)
        for line in lines:
            pdf.multi_cell(0, 5, latin1(line), new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))


def write_report(report: RenderedReport, path: Path) -> None:
    """Write ``report`` in the format given by the file suffix."""
    if path.suffix == ".pdf":
        write_pdf(report, path)
    else:
        path.write_text(to_text(report, markdown=path.suffix == ".md"), encoding="utf-8")
