"""Scientific article abstracts (JSON export and PubMed XML) and their figures (PNG/JPEG).

Topics rotate over every concept and alternate languages, so each condition has English *and*
French abstracts (cross-lingual targets: "pleural effusion" vs « épanchement pleural »). All
journals, authors and PMIDs are fictional (PMIDs start at 90,000,000, beyond real ones).
"""

from __future__ import annotations

import json
import random
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from indexer.demo import vocabulary as V
from indexer.demo.model import AFFIRMED, sample_params
from indexer.demo.phantoms import render_phantom
from indexer.demo.text import au, cap, de, du, le

LANGUAGE_CYCLE = ["en", "fr", "en", "en", "fr"]  # ~60 % English
PMID_BASE = 90_000_000
_DESIGN_EXAMS = {"breast_cancer": None, "colorectal_cancer": "ct_abdo", "hypertension": None, "type2_diabetes": None}


@dataclass
class Article:
    """One planned article; ``fmt`` is "json" or "xml"."""

    id: str
    concept: str
    language: str
    design: str
    year: int
    journal: str
    authors: list[tuple[str, str]]
    title: str = ""
    sections: list[tuple[str, str]] = field(default_factory=list)  # (label, text)
    keywords: list[str] = field(default_factory=list)
    mesh: list[str] = field(default_factory=list)
    fmt: str = "json"
    pmid: int = 0
    figure: dict[str, Any] | None = None


def _de_phrase(phrase: str) -> str:
    """« de » + a phrase that carries its own article: « du scanner », « des anticoagulants », « de l'IRM »."""
    if phrase.startswith("le "):
        return "du " + phrase[3:]
    if phrase.startswith("les "):
        return "des " + phrase[4:]
    return de(phrase)


def _a_phrase(phrase: str) -> str:
    """« à » + a phrase with its article: « au recours », « aux événements », « à la mortalité »."""
    if phrase.startswith("le "):
        return "au " + phrase[3:]
    if phrase.startswith("les "):
        return "aux " + phrase[4:]
    return "à " + phrase


def _journal(concept: str, design: str, language: str, rng: random.Random) -> str:
    """A journal of the topic's specialty, or a radiology journal for imaging-centred designs."""
    pair = V.JOURNALS_BY_SPECIALTY[V.CONCEPTS[concept].specialty]
    if design in ("diagnostic", "ai") and rng.random() < 0.5:
        pair = V.RADIOLOGY_JOURNALS
    return pair[1] if language == "fr" else pair[0]


def _exam_code(concept: str) -> str | None:
    if concept in _DESIGN_EXAMS:
        return _DESIGN_EXAMS[concept]
    exams = V.CONCEPTS[concept].exams
    return exams[0] if exams else None


def _context(article: Article, rng: random.Random) -> dict[str, Any]:
    """Every placeholder of the title/abstract templates, with French number formatting when needed."""
    concept = V.CONCEPTS[article.concept]
    topic = V.ARTICLE_TOPICS[article.concept]
    fr = article.language == "fr"
    code = _exam_code(article.concept)
    modality = V.EXAMS[code].modality if code else None
    modality_en, modality_fr = V.MODALITY_TEXT[modality] if modality else ("imaging", "imagerie")

    def num(value: float, decimals: int) -> str:
        text = f"{value:.{decimals}f}"
        return text.replace(".", ",") if fr else text

    hr = rng.uniform(0.55, 1.9)
    ctx: dict[str, Any] = dict(topic)
    ctx.update(
        {
            "concept_en": concept.en,
            "concept_en_cap": cap(concept.en),
            "concept_fr_le": le(concept.fr, concept.gender),
            "concept_fr_cap": cap(le(concept.fr, concept.gender)),
            "concept_fr_de": du(concept.fr, concept.gender),
            "concept_fr_a": au(concept.fr, concept.gender),
            "modality_en": modality_en,
            "modality_fr": modality_fr,
            "de_modality_fr": de(modality_fr),
            "test_en_cap": cap(topic["test_en"]),
            "test_fr_cap": cap(topic["test_fr"]),
            "de_test_fr": _de_phrase(topic["test_fr"]),
            "int_en_cap": cap(topic["int_en"]),
            "int_fr_cap": cap(topic["int_fr"]),
            "out_en_cap": cap(topic["out_en"]),
            "out_fr_cap": cap(topic["out_fr"]),
            "de_out_fr": _de_phrase(topic["out_fr"]),
            "a_out_fr": _a_phrase(topic["out_fr"]),
            "e_c": "e" if concept.gender == "f" else "",
            "n": rng.randint(8, 45) if article.design == "review" else rng.randint(80, 2400),
            "y0": article.year - rng.randint(4, 8),
            "y1": article.year - 1,
            "centres": rng.randint(3, 14),
            "months": rng.randint(12, 60),
            "pct": num(rng.uniform(4, 35), 1),
            "pct2": num(rng.uniform(4, 35), 1),
            "hr": num(hr, 2),
            "ci": f"{num(hr * 0.8, 2)}-{num(hr * 1.2, 2)}",
            "sens": rng.randint(78, 97),
            "spec": rng.randint(70, 96),
            "auc": num(rng.uniform(0.78, 0.97), 2),
            "patients": rng.randint(2000, 90000),
        }
    )
    secondary = rng.choice(V.SECONDARY_OUTCOMES)
    ctx["secondary_en"], ctx["secondary_fr"] = secondary
    design = V.DESIGN_TEXT[article.design]
    for key, template in design.items():
        ctx[key] = _fr_template(template).format_map(ctx)
    return ctx


def _fr_template(template: str) -> str:
    """Use the elided/contracted forms in French templates (« de l'IRM », « du scanner »)."""
    return (
        template.replace("de {test_fr}", "{de_test_fr}")
        .replace("de {modality_fr}", "{de_modality_fr}")
        .replace("de {out_fr}", "{de_out_fr}")
        .replace("à {out_fr}", "{a_out_fr}")
    )


def compose(article: Article, rng: random.Random) -> None:
    """Fill title, labelled abstract sections and keywords."""
    ctx = _context(article, rng)
    fr = article.language == "fr"
    titles = V.ARTICLE_TITLES_FR if fr else V.ARTICLE_TITLES_EN
    article.title = cap(_fr_template(titles[article.design]).format_map(ctx))
    for label, options in (V.ABSTRACT_FR if fr else V.ABSTRACT_EN).items():
        if label in ("METHODS", "MÉTHODES") and article.design == "review":
            options = ("{method_fr}",) if fr else ("{method_en}",)
        article.sections.append((label, cap(_fr_template(rng.choice(options)).format_map(ctx))))
    concept = V.CONCEPTS[article.concept]
    code = _exam_code(article.concept)
    modality = V.EXAMS[code].modality if code else None
    design_mesh = V.DESIGN_MESH[article.design]
    article.mesh = [concept.mesh] + ([V.METHOD_MESH[modality]] if modality else []) + [design_mesh[0], "Humans"]
    if fr:
        article.keywords = (
            [concept.mesh_fr] + ([V.METHOD_MESH_FR[modality]] if modality else []) + [design_mesh[1], "Humains"]
        )
    else:
        article.keywords = list(article.mesh)


def plan_articles(seed: int, n_articles: int, n_xml: int, n_figures: int) -> list[Article]:
    rng = random.Random(f"medsearch-demo:{seed}:articles")
    concepts = list(V.CONCEPTS)
    rng.shuffle(concepts)
    articles = []
    for i in range(n_articles):
        concept = concepts[i % len(concepts)]
        # 24 concepts and a 5-long cycle are coprime: every concept gets 3 English and 2 French abstracts
        # per 120 articles, and even a tiny corpus has both languages.
        language = LANGUAGE_CYCLE[i % len(LANGUAGE_CYCLE)]
        design = rng.choice(V.ARTICLE_DESIGNS)
        journal = _journal(concept, design, language, rng)
        authors = rng.sample(V.AUTHOR_NAMES, rng.randint(3, 7))
        article = Article(f"ART-{i + 1:04d}", concept, language, design, rng.randint(2015, 2024), journal, authors)
        compose(article, rng)
        articles.append(article)
    order = list(range(n_articles))
    rng.shuffle(order)
    for rank, index in enumerate(order):
        article = articles[index]
        if rank < n_xml:
            article.fmt = "xml"
            article.pmid = PMID_BASE + 1000 + index * 7
            article.id = f"PMID-{article.pmid}"
    with_figures = [articles[i] for i in order[n_xml : n_xml + n_figures]]
    for rank, article in enumerate(with_figures):
        article.figure = {
            "index": rank,
            "ext": "jpg" if rank % 5 == 4 else "png",
            "kind": "image" if _exam_code(article.concept) and rank % 2 == 0 else "chart",
        }
    return articles


def abstract_text(article: Article) -> str:
    sep = " : " if article.language == "fr" else ": "
    return "\n".join(f"{label.capitalize()}{sep}{text}" for label, text in article.sections)


def article_json(article: Article) -> dict[str, Any]:
    figures = []
    if article.figure:
        figures.append({"file": figure_path(article), "caption": figure_caption(article)})
    return {
        "id": article.id,
        "title": article.title,
        "authors": [f"{last} {initial}" for last, initial in article.authors],
        "journal": article.journal,
        "year": article.year,
        "language": article.language,
        "abstract": abstract_text(article),
        "keywords": article.keywords,
        "figures": figures,
    }


def article_xml(article: Article) -> bytes:
    """PubMed ``PubmedArticleSet`` with one ``PubmedArticle`` (labelled abstract, authors, MeSH)."""
    root = ET.Element("PubmedArticleSet")
    citation = ET.SubElement(ET.SubElement(root, "PubmedArticle"), "MedlineCitation", Status="MEDLINE", Owner="NLM")
    ET.SubElement(citation, "PMID", Version="1").text = str(article.pmid)
    art = ET.SubElement(citation, "Article", PubModel="Print")
    journal = ET.SubElement(art, "Journal")
    issue = ET.SubElement(journal, "JournalIssue", CitedMedium="Internet")
    ET.SubElement(ET.SubElement(issue, "PubDate"), "Year").text = str(article.year)
    ET.SubElement(journal, "Title").text = article.journal
    ET.SubElement(art, "ArticleTitle").text = article.title
    abstract = ET.SubElement(art, "Abstract")
    categories = ["BACKGROUND", "METHODS", "RESULTS", "CONCLUSIONS"]
    for (label, text), category in zip(article.sections, categories, strict=True):
        ET.SubElement(abstract, "AbstractText", Label=label, NlmCategory=category).text = text
    authors = ET.SubElement(art, "AuthorList", CompleteYN="Y")
    for last, initial in article.authors:
        author = ET.SubElement(authors, "Author", ValidYN="Y")
        ET.SubElement(author, "LastName").text = last
        ET.SubElement(author, "ForeName").text = V.AUTHOR_FORENAMES.get(initial, initial)
        ET.SubElement(author, "Initials").text = initial
    ET.SubElement(art, "Language").text = "fre" if article.language == "fr" else "eng"
    mesh_list = ET.SubElement(citation, "MeshHeadingList")
    for term in article.mesh:
        ET.SubElement(ET.SubElement(mesh_list, "MeshHeading"), "DescriptorName", MajorTopicYN="N").text = term
    ET.indent(root)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8") + b"\n"


# --------------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------------


def figure_stem(article: Article) -> str:
    return f"{article.id}-fig1"


def figure_path(article: Article) -> str:
    assert article.figure is not None
    return f"figures/{figure_stem(article)}.{article.figure['ext']}"


def figure_caption(article: Article) -> str:
    concept = V.CONCEPTS[article.concept]
    fr = article.language == "fr"
    code = _exam_code(article.concept)
    assert article.figure is not None
    if article.figure["kind"] == "image" and code:
        title = V.EXAMS[code].title_fr if fr else V.EXAMS[code].title_en
        return (
            f"Figure 1. {title} : exemple {de(concept.fr)} (cas illustratif)."
            if fr
            else f"Figure 1. {title} showing {concept.en} (illustrative case)."
        )
    return (
        f"Figure 1. Résultats selon le groupe pour {le(concept.fr, concept.gender)} (pourcentages)."
        if fr
        else f"Figure 1. Results by group for {concept.en} (percentages)."
    )


def _chart(rng: random.Random, size: tuple[int, int] = (480, 320)) -> Image.Image:
    """A simple bar chart with axes and value labels (no plotting library needed)."""
    image = Image.new("RGB", size, "white")
    pen = ImageDraw.Draw(image)
    width, height = size
    left, bottom, top = 50, height - 40, 30
    pen.line([(left, top - 10), (left, bottom), (width - 20, bottom)], fill="black", width=2)
    for tick in range(0, 101, 25):
        y = bottom - (bottom - top) * tick / 100
        pen.line([(left - 5, y), (left, y)], fill="black")
        pen.text((left - 35, y - 6), f"{tick}%", fill="black")
    colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"]
    groups = rng.randint(2, 4)
    bar = (width - left - 60) // (groups * 2)
    for g in range(groups):
        value = rng.uniform(20, 95)
        x0 = left + 20 + g * 2 * bar
        y0 = bottom - (bottom - top) * value / 100
        pen.rectangle([x0, y0, x0 + bar, bottom], fill=colours[g])
        pen.text((x0, y0 - 14), f"{value:.0f}%", fill="black")
        pen.text((x0, bottom + 8), f"G{g + 1}", fill="black")
    return image


def _figure_image(article: Article, seed: int, rng: random.Random) -> Image.Image:
    """A phantom of the article's topic, windowed to 8 bits like a journal figure."""
    code = _exam_code(article.concept)
    assert code is not None
    params = sample_params(article.concept, rng)
    findings = {article.concept: (AFFIRMED, params)} if article.concept in V.EXAMS[code].checks else {}
    array = render_phantom(code, findings, np.random.default_rng([seed, 7, article.figure["index"]]), size=256)
    modality, body = V.EXAMS[code].modality, V.EXAMS[code].body_part
    centre, width = {
        ("CT", "CHEST"): (-500, 1500),
        ("CT", "HEAD"): (40, 90),
        ("CT", "ABDOMEN"): (50, 400),
        ("MR", "HEAD"): (500, 1000),
        ("MR", "SPINE"): (500, 1000),
        ("US", "ABDOMEN"): (128, 256),
        ("US", "HEART"): (128, 256),
    }.get((modality, body), (2048, 4096))
    scaled = np.clip((array - (centre - width / 2)) / width * 255, 0, 255).astype(np.uint8)
    return Image.fromarray(scaled, mode="L")


def write_figure(article: Article, out_dir: Path, seed: int) -> str:
    assert article.figure is not None
    rng = random.Random(f"medsearch-demo:{seed}:{article.id}:figure")
    image = _figure_image(article, seed, rng) if article.figure["kind"] == "image" else _chart(rng)
    path = out_dir / figure_path(article)
    if article.figure["ext"] == "jpg":
        image.convert("RGB").save(path, format="JPEG", quality=90)
    else:
        image.save(path, format="PNG")
    return figure_stem(article)


def write_article(article: Article, articles_dir: Path) -> Path:
    if article.fmt == "xml":
        path = articles_dir / f"{article.id}.xml"
        path.write_bytes(article_xml(article))
    else:
        path = articles_dir / f"{article.id}.json"
        path.write_text(json.dumps(article_json(article), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path
