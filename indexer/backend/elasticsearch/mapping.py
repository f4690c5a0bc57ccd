"""Index templates of the Elasticsearch backend: analysis, fields and vector settings.

Four index families, each behind an alias (see :mod:`.generations`):

* ``passages``: one Elasticsearch document per passage. The passage text is split by clinical
  context exactly like the embedded Tantivy index (:mod:`indexer.backend.embedded.lexical`): ``body``
  (affirmed), ``hyp`` (hypothetical), ``neg`` (negated), ``fam`` (family history) and ``title``,
  each analysed twice (French on the field itself, English on its ``.en`` multi-field), so a query
  term matches through whichever analysis fits best. The raw passage text is kept (not indexed) because snippets are computed in Python from it,
  as with the embedded backend. The passage vector is a ``dense_vector`` with int8-quantised HNSW.
* ``documents``: one per document, the full document JSON (not indexed) plus its content hash.
* ``images-descriptor`` and ``images-clip``: one vector per image document, with the key (source
  file size + mtime) it was computed from.

Every family carries the same keyword filter fields (kind, language, the normalised patient /
department / modality keys, ``access``, date) so a :class:`~indexer.backend.filters.DocumentFilter`
is one ``filter`` clause in any of them, evaluated inside the engine (kNN included).

Analysis follows the issue: elision, lower-case, ASCII folding, stop words, light stemmers. It is
not Tantivy's Snowball analysis, so scores differ slightly from the embedded backend (see
BENCHMARKS.md); lower-casing runs *before* elision so « L'épanchement » loses its article on every
engine (``articles_case`` alone is not honoured by every ES-compatible server). Signed abbreviations
(« ST+ », « ST- ») and "non-ST" are rewritten by pattern-replace character filters into the words the
embedded backend gets from :func:`indexer.text.signs.analysis_text` (offsets are kept by the engine).
"""

from __future__ import annotations

from typing import Any

from indexer.backend.base import all_text_prefixes

#: analysis language → Elasticsearch analyzer name
ANALYZERS = {"fr": "medsearch_fr", "en": "medsearch_en"}
#: text fields per language: one per clinical context status, one per relative of a family mention
#: (``famrel_mother``: indexer.backend.base.RELATIVE_FIELDS), plus the title
TEXT_PREFIXES: tuple[str, ...] = (*all_text_prefixes(), "title")
#: value of ``access`` for a document without a patient (access restrictions only concern patients)
OPEN_ACCESS = "open"

_FRENCH_ARTICLES = ["l", "m", "t", "qu", "n", "s", "j", "d", "c", "jusqu", "quoiqu", "lorsqu", "puisqu"]

#: Java-regex twins of :data:`indexer.text.signs.SPECIAL` (``\\p{L}\\p{N}``: Java's ``\\w`` is ASCII only)
_ABBREVIATION = "(?:[A-Z][A-Z0-9]{1,5}|[Ss][Tt])"  # signs._SIGNED: « st » in any case (« idm st- »)
_NOT_AFTER = r"(?![\p{L}\p{N}_/+\-\u2212])"
_CHAR_FILTERS: dict[str, Any] = {
    "medsearch_non_abbreviation": {
        "type": "pattern_replace",
        "pattern": rf"(?<![\p{{L}}\p{{N}}])(?:[Nn]on|NON)-({_ABBREVIATION})(?![\p{{L}}\p{{N}}])",
        "replacement": "non$1",
    },
    "medsearch_plus_abbreviation": {
        "type": "pattern_replace",
        "pattern": rf"(?<![\p{{L}}\p{{N}}])({_ABBREVIATION})\+{_NOT_AFTER}",
        "replacement": "$1plus",
    },
    "medsearch_minus_abbreviation": {
        "type": "pattern_replace",
        "pattern": rf"(?<![\p{{L}}\p{{N}}])({_ABBREVIATION})[\-\u2212]{_NOT_AFTER}",
        "replacement": "$1minus",
    },
}

ANALYSIS: dict[str, Any] = {
    "char_filter": _CHAR_FILTERS,
    "filter": {
        "medsearch_fr_elision": {"type": "elision", "articles_case": True, "articles": _FRENCH_ARTICLES},
        "medsearch_fr_stop": {"type": "stop", "stopwords": "_french_"},
        "medsearch_fr_stem": {"type": "stemmer", "language": "light_french"},
        "medsearch_en_possessive": {"type": "stemmer", "language": "possessive_english"},
        "medsearch_en_stop": {"type": "stop", "stopwords": "_english_"},
        "medsearch_en_stem": {"type": "stemmer", "language": "light_english"},
        "medsearch_long": {"type": "length", "max": 40},
    },
    "analyzer": {
        "medsearch_fr": {
            "type": "custom",
            "char_filter": list(_CHAR_FILTERS),
            "tokenizer": "standard",
            "filter": ["medsearch_long", "lowercase", "medsearch_fr_elision", "asciifolding", "medsearch_fr_stop", "medsearch_fr_stem"],
        },
        "medsearch_en": {
            "type": "custom",
            "char_filter": list(_CHAR_FILTERS),
            "tokenizer": "standard",
            "filter": ["medsearch_long", "medsearch_en_possessive", "lowercase", "asciifolding", "medsearch_en_stop", "medsearch_en_stem"],
        },
    },
}

#: filter fields shared by every index family (values: :class:`~indexer.backend.filters.DocumentKeys`)
FILTER_FIELDS: dict[str, Any] = {
    "doc_id": {"type": "keyword"},
    "kind": {"type": "keyword"},
    "language": {"type": "keyword"},
    "patient": {"type": "keyword"},
    "department": {"type": "keyword"},
    "modality": {"type": "keyword"},
    "access": {"type": "keyword"},
    "date": {"type": "date", "format": "strict_date"},
}


def field_name(prefix: str, lang: str) -> str:
    """The searchable field of a context prefix in one analysis: one ``_source`` copy of the text,
    analysed twice through a multi-field (``body`` in French, ``body.en`` in English)."""
    return prefix if lang == "fr" else f"{prefix}.{lang}"


def vector_field(dims: int, hnsw_m: int = 16, ef_construction: int = 100) -> dict[str, Any]:
    """An int8-quantised HNSW ``dense_vector``: ~dims + 4 bytes a vector in memory (plus the graph),
    a quarter of float32, with a recall loss measured in BENCHMARKS.md."""
    return {
        "type": "dense_vector",
        "dims": dims,
        "index": True,
        "similarity": "cosine",
        "index_options": {"type": "int8_hnsw", "m": hnsw_m, "ef_construction": ef_construction},
    }


def _settings(shards: int, replicas: int) -> dict[str, Any]:
    # refresh_interval -1: nothing written becomes visible to searches before the backend's own
    # refresh at commit/publish, so a reader never sees half an indexing run.
    return {
        "number_of_shards": shards,
        "number_of_replicas": replicas,
        "refresh_interval": "-1",
        "analysis": ANALYSIS,
    }


def passages_mappings(dims: int, meta: dict[str, Any] | None = None) -> dict[str, Any]:
    properties: dict[str, Any] = {
        **FILTER_FIELDS,
        "pid": {"type": "long"},
        "ordinal": {"type": "integer"},
        "section": {"type": "keyword", "index": False},
        "mentions": {"type": "text", "index": False},  # indexer.clinical.mentions.mention_index: read back only
        "text": {"type": "text", "index": False},
        "vector": vector_field(dims),
    }
    for prefix in TEXT_PREFIXES:
        others = {lang: {"type": "text", "analyzer": a} for lang, a in ANALYZERS.items() if lang != "fr"}
        properties[prefix] = {"type": "text", "analyzer": ANALYZERS["fr"], "fields": others}
    # the float vector is indexed (HNSW + the floats the rescoring reads) but not kept in _source:
    # ~1.5 kB a passage of JSON less on disk; readers never ask for a passage's vector
    return {"dynamic": "strict", "_source": {"excludes": ["vector"]}, "_meta": meta or {}, "properties": properties}


def documents_mappings() -> dict[str, Any]:
    return {
        "dynamic": "strict",
        "properties": {
            **FILTER_FIELDS,
            "content_hash": {"type": "keyword"},
            "source_path": {"type": "keyword"},
            "pids": {"type": "long", "index": False},
            # raw (not normalised) values for DocumentSummary, never searched
            "title": {"type": "text", "index": False},
            "patient_raw": {"type": "text", "index": False},
            "department_raw": {"type": "text", "index": False},
            "modality_raw": {"type": "text", "index": False},
            "body": {"type": "text", "index": False},  # the full Document JSON text, parsed back as SQLite's is
        },
    }


def images_mappings(dims: int, model: str = "") -> dict[str, Any]:
    return {
        "dynamic": "strict",
        "_meta": {"model": model, "dim": dims},
        "properties": {
            **FILTER_FIELDS,
            "key": {"type": "keyword"},
            "model": {"type": "keyword"},
            "vector": vector_field(dims),
        },
    }


def index_body(mappings: dict[str, Any], shards: int = 1, replicas: int = 0) -> dict[str, Any]:
    """Settings + mappings of one index (what ``indices.create`` and the index template take)."""
    return {"settings": _settings(shards, replicas), "mappings": mappings}
