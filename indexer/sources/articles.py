"""Scientific articles: our JSON export format, PubMed/MEDLINE XML, or a PDF's text layer.

JSON shape: ``{"id", "title", "authors": [...], "journal", "year", "language", "abstract",
"keywords": [...], "figures": [{"file", "caption"}]}``. Figures stay in ``metadata`` so the image
side can link a figure to its caption and article.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from indexer.schema import Document, DocumentKind, Section
from indexer.sources.common import parse_date, read_pdf_text, warn
from indexer.sources.errors import SourceError
from indexer.sources.identity import document_id
from indexer.text.language import detect_language

_PUBMED_LANGUAGES = {"eng": "en", "fre": "fr", "fra": "fr"}


class Figure(BaseModel):
    file: str
    caption: str = ""


class ArticleRecord(BaseModel):
    """The JSON article export, validated so a malformed file names its bad field."""

    id: str = Field(min_length=1)
    title: str = Field(min_length=1)
    abstract: str = ""
    authors: list[str] = Field(default_factory=list)
    journal: str = ""
    year: int | None = None
    language: str | None = None
    keywords: list[str] = Field(default_factory=list)
    figures: list[Figure] = Field(default_factory=list)


def _article_document(record: ArticleRecord, path: Path, sections: list[Section] | None = None) -> Document:
    if sections is None:
        sections = [Section(title="Abstract", text=record.abstract)] if record.abstract else []
    keywords = ", ".join(record.keywords)
    if keywords:
        sections = [*sections, Section(title="Keywords", text=keywords)]
    text = "\n\n".join(s.text for s in sections) or record.title
    return Document(
        id=document_id(DocumentKind.ARTICLE, record.id),
        kind=DocumentKind.ARTICLE,
        title=record.title,
        text=text,
        date=parse_date(str(record.year)) if record.year else None,
        language=record.language or detect_language(f"{record.title} {text}"),
        source_path=str(path),
        sections=sections,
        metadata={
            "authors": record.authors,
            "journal": record.journal,
            "year": record.year,
            "keywords": record.keywords,
            "figures": [f.model_dump() for f in record.figures],
        },
    )


def article_from_json(path: Path, raw: Any, key: str | None = None) -> list[Document]:
    """One article, or a list of them: in a list, an invalid item is skipped with a note and the
    valid ones are kept (one bad record must not lose a whole export); the file is rejected only
    when no item is valid."""
    items = raw if isinstance(raw, list) else [raw]
    documents = []
    errors: list[str] = []
    for position, item in enumerate(items):
        try:
            record = ArticleRecord.model_validate(item)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ()))
            errors.append(f"field '{where}': {first.get('msg')}" + (f" (item {position})" if isinstance(raw, list) else ""))
            continue
        documents.append(_article_document(record, path))
    if not documents:
        raise SourceError(path, f"invalid article JSON: {errors[0]}" if errors else "empty article list")
    for error in errors:
        warn(f"invalid article skipped: {error}")
    return documents


def _text(element: ET.Element | None) -> str:
    return "".join(element.itertext()).strip() if element is not None else ""


def parse_pubmed_xml(path: Path, key: str | None = None) -> list[Document]:
    """Parse a PubMed ``PubmedArticleSet`` XML file (one document per ``PubmedArticle``)."""
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise SourceError(path, f"malformed XML ({exc})") from exc
    if root.tag == "eCitation":  # an Open-i radiology report export (Indiana University chest X-rays)
        from indexer.sources.reports import report_from_openi

        return [report_from_openi(root, path, key)]
    articles = root.iter("PubmedArticle") if root.tag != "PubmedArticle" else [root]
    documents = []
    for node in articles:
        pmid = _text(node.find(".//PMID"))
        title = _text(node.find(".//ArticleTitle"))
        if not title:
            warn(f"PubMed article {pmid or '?'} without ArticleTitle: skipped")
            continue
        sections = [
            Section(title=(a.get("Label") or "Abstract").capitalize(), text=_text(a))
            for a in node.iter("AbstractText")
        ]
        authors = [
            f"{_text(a.find('ForeName'))} {_text(a.find('LastName'))}".strip() for a in node.iter("Author")
        ]
        year = _text(node.find(".//PubDate/Year"))
        language = _PUBMED_LANGUAGES.get(_text(node.find(".//Language")).lower())
        record = ArticleRecord(
            id=f"PMID-{pmid}" if pmid else (key or path.name),
            title=title,
            abstract="\n".join(s.text for s in sections),
            authors=[a for a in authors if a],
            journal=_text(node.find(".//Journal/Title")),
            year=int(year) if year.isdigit() else None,
            language=language,
            keywords=[_text(d) for d in node.iter("DescriptorName")],
        )
        documents.append(_article_document(record, path, sections=sections))
    if not documents:
        raise SourceError(path, "XML file contains no readable PubmedArticle")
    return documents


def parse_article_pdf(path: Path, key: str | None = None) -> list[Document]:
    """An article PDF: first non-empty line as title, the rest as body; id from its relative path."""
    text = read_pdf_text(path)
    lines = [line for line in text.splitlines() if line.strip()]
    record = ArticleRecord(id=key or path.name, title=lines[0][:300], abstract="\n".join(lines[1:]))
    return [_article_document(record, path)]
