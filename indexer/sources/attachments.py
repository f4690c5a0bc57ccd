"""The text of a FHIR ``Attachment``: a clinical letter carried inside a bundle.

Real FHIR exports (and the French DMP / FHIR FR Core profiles) do not put discharge letters, operative
reports or consultation letters in Observations: they attach them to a ``DocumentReference``
(``content[].attachment``) or to a ``DiagnosticReport`` (``presentedForm``), either inline (``data``,
base64, already decoded to bytes by ``fhir.resources``) or by ``url`` to a ``Binary`` resource of the
same bundle. This module turns one attachment into plain text, the way the file readers read the same
formats, so a letter reads the same whether it came as a ``.pdf`` file or inside a bundle:

* ``text/plain`` (and ``text/markdown``): the declared ``charset``, else UTF-8 / Windows-1252 as for a
  ``.txt`` report (:func:`indexer.sources.common.decode_text`). A declared ISO-8859-1 is read as
  Windows-1252, as browsers do: French Windows tools label cp1252 that way, and its « ’ œ » would
  otherwise become control characters;
* ``text/html`` / ``application/xhtml+xml``: parsed with lxml, scripts and styles dropped, one line
  per block element (paragraph, heading, list item, table row, ``<br>``), so « Conclusion : » stays a
  heading of its own;
* ``application/pdf``: the PDF reader of the ``.pdf`` files (:func:`indexer.sources.common.pdf_text`);
* an HL7 CDA R2 document (``application/hl7-v3+xml``, ``text/xml``), as the DMP stores letters: its
  ``nonXMLBody`` (« CDA N1 », a base64 PDF or text) read as above, or its ``structuredBody`` sections
  (« N3 »), each title a heading. Parsed without entities nor network (no XXE from an export).

Anything else (a scanned image, RTF, a CDA) raises :class:`AttachmentError` with the reason: the caller
skips that one document with a warning and keeps the rest of the bundle.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from indexer.sources.common import decode_text, looks_binary, pdf_text
from indexer.sources.errors import SourceError
from indexer.text.ligatures import spell_ligatures

#: content types read as plain text, as HTML, as PDF
_PLAIN = frozenset({"text/plain", "text/markdown", "text/x-markdown"})
_HTML = frozenset({"text/html", "application/xhtml+xml"})
_PDF = frozenset({"application/pdf"})
#: an HL7 CDA R2 document: what the French DMP carries (« CDA N1 »: a PDF in ``nonXMLBody``; N3: sections)
_CDA = frozenset({"application/hl7-v3+xml", "application/hl7-cda+xml", "text/xml", "application/xml"})
_HL7 = "{urn:hl7-org:v3}"
#: what a declared charset is read as (the WHATWG « encoding » rule: Latin-1 labels mean Windows-1252)
_CHARSET_ALIASES = {"iso-8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252", "us-ascii": "cp1252", "ascii": "cp1252"}
_BLOCKS = ("p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "section",
           "article", "header", "footer", "pre", "blockquote", "dt", "dd")
_BINARY_REFERENCE = re.compile(r"(?:^|/)Binary/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")


class AttachmentError(Exception):
    """An attachment whose text cannot be read; the message is the reason shown in the run report."""


def media_type(content_type: str | None) -> tuple[str, str | None]:
    """(« text/plain », « iso-8859-1 ») from « text/plain; charset=ISO-8859-1 »; ("", None) when absent."""
    if not content_type:
        return "", None
    kind, *params = [part.strip() for part in content_type.split(";")]
    charset = None
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip('"').lower()
    return kind.lower(), charset


def resolve_binary(url: str, binaries: Mapping[str, Any]) -> Any:
    """The ``Binary`` resource of the bundle an attachment's ``url`` names: by the entry's ``fullUrl``
    (« urn:uuid:… »), else by its relative or absolute reference (« Binary/b1 », « https://…/Binary/b1 »).
    A URL to outside the bundle cannot be fetched by an offline indexer: an error saying so."""
    url = url.strip()
    if url in binaries:
        return binaries[url]
    match = _BINARY_REFERENCE.search(url)
    if match and f"Binary/{match.group(1)}" in binaries:
        return binaries[f"Binary/{match.group(1)}"]
    raise AttachmentError(f"its url {url!r} is not a Binary resource of this bundle (the indexer reads no server)")


def attachment_payload(attachment: Any, binaries: Mapping[str, Any]) -> tuple[bytes, str, str | None]:
    """(bytes, media type, charset) of an attachment: its inline ``data``, else the Binary its ``url``
    names (whose own ``contentType`` is used when the attachment gives none)."""
    kind, charset = media_type(getattr(attachment, "contentType", None))
    data = getattr(attachment, "data", None)
    if data is None and getattr(attachment, "url", None):
        binary = resolve_binary(attachment.url, binaries)
        data = getattr(binary, "data", None)
        if not kind:
            kind, charset = media_type(getattr(binary, "contentType", None))
    if data is None:
        raise AttachmentError("no data and no url to a Binary of the bundle")
    if isinstance(data, str):  # a model that kept the base64 text: decode it as the wire format says
        import base64
        import binascii

        try:
            data = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise AttachmentError(f"data is not valid base64 ({exc})") from exc
    return bytes(data), kind, charset


def attachment_text(attachment: Any, binaries: Mapping[str, Any], path: Path) -> tuple[str, str]:
    """(plain text, media type read) of *attachment* (see the module docstring); :class:`AttachmentError`
    with the reason when there is none to read. *path* is the bundle's, for the PDF reader's messages."""
    data, kind, charset = attachment_payload(attachment, binaries)
    if not data.strip():
        raise AttachmentError("empty attachment")
    if not kind:  # no declared type: a PDF says so in its first bytes, anything else is tried as text
        kind = "application/pdf" if data.lstrip()[:5] == b"%PDF-" else "text/plain"
    if kind in _PDF:
        try:
            text = pdf_text(data, path)
        except SourceError as exc:
            raise AttachmentError(exc.reason) from exc
    elif kind in _HTML:
        text = html_text(data, charset)
    elif kind in _CDA:
        text = cda_text(data, path)
    elif kind in _PLAIN:
        text = _decoded(data, charset)
        if looks_binary(text):
            raise AttachmentError(f"binary content declared as {kind}")
    else:
        raise AttachmentError(f"content type {kind!r} is not read (read: text/plain, text/html, application/pdf, HL7 CDA)")
    text = text.strip()
    if not text:
        raise AttachmentError(f"no text in the {kind} attachment")
    return text, kind


def _decoded(data: bytes, charset: str | None) -> str:
    """*data* in its declared *charset*; without one, or with a wrong one, as a ``.txt`` report is read."""
    if charset:
        encoding = _CHARSET_ALIASES.get(charset, charset)
        try:
            codecs.lookup(encoding)
            return spell_ligatures(data.decode(encoding))
        except (LookupError, UnicodeDecodeError):
            pass  # a label no codec knows, or bytes that are not in it: the file readers' guess below
    return decode_text(data)


def html_text(data: bytes, charset: str | None = None) -> str:
    """The text of an HTML letter, one line per block element (headings as « ## Titre »), without
    scripts, styles or comments."""
    import lxml.html
    from lxml import etree

    # Declared charset: decoded here and handed over as UTF-8. None: lxml reads the <meta charset>.
    parser = lxml.html.HTMLParser(encoding="utf-8") if charset else None
    source = _decoded(data, charset).encode("utf-8") if charset else data
    try:
        root = lxml.html.fromstring(source, parser=parser)
    except (etree.ParserError, ValueError) as exc:
        raise AttachmentError(f"unreadable HTML ({exc})") from exc
    for element in list(root.iter(etree.Comment, "script", "style", "head", "title")):
        if element.getparent() is not None:
            element.drop_tree()
    for element in root.iter(*_BLOCKS):
        element.tail = "\n" + (element.tail or "")
        if element.tag == "br":
            continue
        # a heading becomes a Markdown one, so the report reader cuts the letter into its sections
        heading = "## " if element.tag in ("h1", "h2", "h3", "h4", "h5", "h6") else ""
        element.text = "\n" + heading + (element.text or "")
    lines = (" ".join(line.split()) for line in root.text_content().splitlines())
    return spell_ligatures("\n".join(line for line in lines if line))


def cda_text(data: bytes, path: Path) -> str:
    """The text of an HL7 CDA R2 document: its ``nonXMLBody`` (a base64 PDF or plain text), else its
    ``structuredBody`` sections as « ## Titre » and their text; :class:`AttachmentError` otherwise."""
    import base64
    import binascii

    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(data, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise AttachmentError(f"unreadable XML ({exc})") from exc
    if root.tag != f"{_HL7}ClinicalDocument":
        raise AttachmentError(f"XML that is not an HL7 CDA document (root {etree.QName(root).localname!r})")
    body = root.find(f".//{_HL7}nonXMLBody/{_HL7}text")
    if body is not None:
        payload = "".join(body.itertext()).strip()
        if (body.get("representation") or "TXT").upper() == "B64":
            try:
                raw = base64.b64decode("".join(payload.split()), validate=True)
            except (binascii.Error, ValueError) as exc:
                raise AttachmentError(f"CDA nonXMLBody is not valid base64 ({exc})") from exc
        else:
            raw = payload.encode("utf-8")
        inner, charset = media_type(body.get("mediaType") or "text/plain")
        if inner in _PDF:
            try:
                return pdf_text(raw, path)
            except SourceError as exc:
                raise AttachmentError(f"CDA nonXMLBody: {exc.reason}") from exc
        if inner in _PLAIN:
            return _decoded(raw, charset)
        raise AttachmentError(f"CDA nonXMLBody of type {inner!r} is not read")
    lines: list[str] = []
    for section in root.iter(f"{_HL7}section"):
        title = " ".join("".join(section.findtext(f"{_HL7}title") or "").split())
        text_node = section.find(f"{_HL7}text")
        if title:
            lines.append(f"## {title}")
        if text_node is not None:
            lines += [" ".join(line.split()) for line in _block_text(text_node).splitlines() if line.strip()]
    if not any(not line.startswith("## ") for line in lines):  # titles alone are no letter
        raise AttachmentError("CDA document with neither nonXMLBody nor section text")
    return spell_ligatures("\n".join(lines))


def _block_text(node: Any) -> str:
    """A CDA narrative block's text, one line per paragraph, list item, table row or line break."""
    parts: list[str] = []

    def walk(element: Any) -> None:
        local = element.tag.split("}")[-1] if isinstance(element.tag, str) else ""
        if not local:  # a comment or processing instruction: its tail only
            parts.append(element.tail or "")
            return
        if local in ("paragraph", "item", "tr", "br", "caption", "list", "table"):
            parts.append("\n")
        parts.append(element.text or "")
        for child in element:
            walk(child)
        if element is not node:
            parts.append(element.tail or "")

    walk(node)
    return "".join(parts)
