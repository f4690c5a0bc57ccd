"""Image -> image retrieval benchmark for ``indexer.imaging.descriptor``.

Run from the repository root:  ``python -m bench.image_similarity [--demo-dir D]``

Images: pydicom's test files (bundled, plus the ``pydicom-data`` package when
installed), scikit-image's sample pictures, and the demo corpus
``data/demo/images/*.dcm`` when it exists. Files the loader refuses are listed
with the reason and skipped.

Many pydicom files are the same picture in another encoding; those copies are
grouped into *families* by content (32x32 thumbnail correlation), so that a
query is never rewarded for finding its own re-encoding.

Two tasks, each searched with a FAISS ``IndexFlatIP`` over L2-normalised
vectors (inner product = cosine):

* ``category``: one image per family; relevant = same modality (and same body
  part for the demo corpus, whose headers carry it); skimage pictures are
  distractors only.
* ``near-dup``: each family image plus three perturbed copies (noise; crop +
  noise; rotation + gamma); queries are the copies, relevant = same family.

recall@k is the share of queries with at least one relevant image in the top
k; mAP is the mean average precision over the whole ranking.

With ``--ground-truth`` (default ``data/demo/ground_truth.json``, used when it
exists), two more tasks run on the demo images alone, labelled by the demo
corpus's exam plan rather than by their headers:

* ``demo exam``: relevant = the other images of the same exam (``ct_chest``,
  ``mr_brain``, ``cxr``...);
* ``demo finding``: queries are images with an affirmed finding; relevant =
  images of the same exam sharing an affirmed finding (the phantoms draw the
  findings: an effusion, a nodule, an infarct...). ``random`` is the same
  ranking by a random vector, i.e. chance level.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import faiss
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from indexer.imaging import ImageFrame, ImageReadError, load_dicom_frame, load_raster, to_uint8  # noqa: E402
from indexer.imaging.descriptor import DEFAULT_WEIGHTS, combine, describe_blocks  # noqa: E402

KS = (1, 5, 10)
MAX_SIDE = 512  # frames are shrunk first: descriptors work at <= 128 px anyway


@dataclass
class Item:
    name: str
    label: str | None  # None: distractor, never relevant
    frame: ImageFrame
    family: int = -1


# --- corpus ---------------------------------------------------------------------------


def dicom_files() -> list[Path]:
    import pydicom

    folders = [Path(pydicom.__file__).parent / "data" / "test_files"]
    try:
        import data_store  # the pydicom-data package

        folders.append(Path(data_store.__file__).parent / "data")
    except ImportError:
        pass
    return sorted(p for folder in folders for p in folder.glob("*.dcm"))


def load_items(demo_dir: Path, skipped: list[str]) -> list[Item]:
    import pydicom
    import skimage

    items: list[Item] = []
    for path in dicom_files():
        frame = _try(load_dicom_frame, path, skipped)
        if frame is not None and frame.modality:
            items.append(Item(path.name, frame.modality, _shrink(frame)))
        elif frame is not None:
            skipped.append(f"{path.name}: no Modality, no label")
    for path in sorted(demo_dir.glob("*.dcm")) if demo_dir.is_dir() else []:
        frame = _try(load_dicom_frame, path, skipped)
        if frame is not None:
            header = pydicom.dcmread(path, stop_before_pixels=True)
            label = f"demo:{header.get('Modality', '')}/{header.get('BodyPartExamined', '')}"
            items.append(Item(f"demo/{path.name}", label, _shrink(frame)))
    sample_dir = Path(skimage.__file__).parent / "data"
    for path in sorted(sample_dir.glob("*.png")) + sorted(sample_dir.glob("*.jpg")):
        frame = _try(load_raster, path, skipped)
        if frame is not None:
            items.append(Item(f"skimage/{path.name}", None, _shrink(frame)))
    return items


def _try(load: Callable[[Path], ImageFrame], path: Path, skipped: list[str]) -> ImageFrame | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return load(path)
    except ImageReadError as exc:
        skipped.append(f"{path.name}: {exc.reason}")
        return None


def _shrink(frame: ImageFrame) -> ImageFrame:
    step = int(np.ceil(max(frame.height, frame.width) / MAX_SIDE))
    if step <= 1:
        return frame
    return replace(frame, pixels=np.ascontiguousarray(frame.pixels[::step, ::step]))


def assign_families(items: list[Item], threshold: float = 0.97) -> None:
    """Union images whose 32x32 renders correlate above ``threshold``."""
    from PIL import Image

    vectors = []
    for item in items:
        grey = to_uint8(item.frame)
        grey = grey.mean(axis=2) if grey.ndim == 3 else grey
        small = np.asarray(Image.fromarray(grey.astype(np.uint8)).resize((32, 32)), np.float64).ravel()
        small -= small.mean()
        vectors.append(small / (np.linalg.norm(small) or 1.0))
    sims = np.stack(vectors) @ np.stack(vectors).T
    parent = list(range(len(items)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in zip(*np.nonzero(np.triu(sims, 1) > threshold), strict=True):
        if items[i].label == items[j].label:
            parent[root(i)] = root(j)
    for i, item in enumerate(items):
        item.family = root(i)


# --- perturbations --------------------------------------------------------------------


def perturbations(frame: ImageFrame, rng: np.random.Generator) -> list[ImageFrame]:
    from skimage.transform import rotate

    pixels = frame.pixels
    low, high = np.percentile(pixels, (0.5, 99.5))
    spread = float(high - low) or 1.0
    noisy = pixels + rng.normal(0, 0.04 * spread, pixels.shape).astype(np.float32)
    h, w = pixels.shape[:2]
    dy, dx = int(h * 0.08), int(w * 0.08)
    cropped = pixels[dy : h - dy or h, dx : w - dx or w]
    cropped = cropped + rng.normal(0, 0.02 * spread, cropped.shape).astype(np.float32)
    turned = rotate(pixels, 6.0, mode="edge", preserve_range=True).astype(np.float32)
    unit = np.clip((turned - low) / spread, 0, 1)
    gamma = (low + spread * unit**0.8).astype(np.float32)
    return [replace(frame, pixels=np.ascontiguousarray(p)) for p in (noisy, cropped, gamma)]


# --- evaluation -----------------------------------------------------------------------


def evaluate(
    db: np.ndarray, queries: np.ndarray, relevant: list[np.ndarray], exclude: list[int | None]
) -> dict[str, float]:
    index = faiss.IndexFlatIP(db.shape[1])
    index.add(db.astype(np.float32))
    _, ranking = index.search(queries.astype(np.float32), db.shape[0])
    hits = {k: 0 for k in KS}
    aps = []
    for row, rel, skip in zip(ranking, relevant, exclude, strict=True):
        order = [i for i in row if i != skip and i >= 0]
        is_rel = np.isin(order, rel)
        for k in KS:
            hits[k] += bool(is_rel[:k].any())
        positions = np.flatnonzero(is_rel) + 1
        aps.append(float(np.mean(np.arange(1, len(positions) + 1) / positions)) if len(positions) else 0.0)
    n = len(relevant)
    return {**{f"R@{k}": hits[k] / n for k in KS}, "mAP": float(np.mean(aps)), "queries": n}


def category_task(items: list[Item], vectors: np.ndarray) -> dict[str, float]:
    reps = _family_representatives(items)
    labels = [items[i].label for i in reps]
    queries, relevant, exclude = [], [], []
    for qi, label in enumerate(labels):
        if label is None:
            continue
        rel = np.array([j for j, other in enumerate(labels) if other == label and j != qi])
        if rel.size:
            queries.append(qi)
            relevant.append(rel)
            exclude.append(qi)
    return evaluate(vectors[reps], vectors[reps][queries], relevant, exclude)


def near_dup_task(
    items: list[Item], vectors: np.ndarray, copies: np.ndarray, copy_family: list[int]
) -> dict[str, float]:
    db = np.concatenate([vectors, copies])
    families = [item.family for item in items] + copy_family
    relevant, exclude = [], []
    for qi, family in enumerate(copy_family):
        own = len(items) + qi
        relevant.append(np.array([j for j, f in enumerate(families) if f == family and j != own]))
        exclude.append(own)
    return evaluate(db, copies, relevant, exclude)


def _family_representatives(items: list[Item]) -> list[int]:
    seen: set[int] = set()
    reps = []
    for i, item in enumerate(items):
        if item.family not in seen:
            seen.add(item.family)
            reps.append(i)
    return reps


# --- variants -------------------------------------------------------------------------


def baseline_vector(frame: ImageFrame) -> np.ndarray:
    """Raw 16x16 thumbnail of the rendered grey image, L2-normalised."""
    from PIL import Image

    grey = to_uint8(frame)
    grey = grey.mean(axis=2).astype(np.uint8) if grey.ndim == 3 else grey
    small = np.asarray(Image.fromarray(grey).resize((16, 16), Image.Resampling.BOX), np.float64).ravel()
    return (small / (np.linalg.norm(small) or 1.0)).astype(np.float32)


VARIANTS: dict[str, dict[str, float] | None] = {
    "baseline: raw 16x16 thumbnail": None,
    "hist only": {"hist": 1},
    "lbp only": {"lbp": 1},
    "hog only": {"hog": 1},
    "sig (centred 16x16) only": {"sig": 1},
    "hist+lbp+hog+sig, equal": {"hist": 1, "lbp": 1, "hog": 1, "sig": 1},
    "all 5 blocks, equal": {"hist": 1, "lbp": 1, "hog": 1, "sig": 1, "color": 1},
    "DEFAULT (hog 1.5, color .5)": dict(DEFAULT_WEIGHTS),
    "default, hog 2": {**DEFAULT_WEIGHTS, "hog": 2},
    "default, lbp .5": {**DEFAULT_WEIGHTS, "lbp": 0.5},
    "default, lbp 1.5": {**DEFAULT_WEIGHTS, "lbp": 1.5},
    "default, sig .5": {**DEFAULT_WEIGHTS, "sig": 0.5},
    "default, hist .5": {**DEFAULT_WEIGHTS, "hist": 0.5},
    "default, no color": {**DEFAULT_WEIGHTS, "color": 0},
}


def vectors_for(weights: dict[str, float] | None, frames: Iterable[ImageFrame], blocks: list[dict]) -> np.ndarray:
    if weights is None:
        return np.stack([baseline_vector(f) for f in frames])
    return np.stack([combine(b, weights) for b in blocks])


def demo_tasks(demo_dir: Path, truth_path: Path, skipped: list[str]) -> None:
    """Image->image on the demo corpus with its ground truth (exam, affirmed findings); prints a table."""
    import json

    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    names, frames, exams, findings = [], [], [], []
    for path in sorted(demo_dir.glob("*.dcm")):
        entry = truth.get(path.stem)
        frame = _try(load_dicom_frame, path, skipped) if entry else None
        if frame is not None:
            names.append(path.stem)
            frames.append(_shrink(frame))
            exams.append(entry["exam"])
            findings.append(set(entry["findings"]["affirmed"]))
    if len(frames) < 2:
        return
    started = time.perf_counter()
    blocks = [describe_blocks(frame) for frame in frames]
    per_image_ms = 1000 * (time.perf_counter() - started) / len(frames)
    n = len(frames)
    exam_rel = [np.array([j for j in range(n) if j != i and exams[j] == exams[i]]) for i in range(n)]
    finding_q = [i for i in range(n) if findings[i]]
    finding_rel = [
        np.array([j for j in range(n) if j != i and exams[j] == exams[i] and findings[j] & findings[i]])
        for i in finding_q
    ]
    keep = [k for k, rel in enumerate(finding_rel) if rel.size]
    finding_q, finding_rel = [finding_q[k] for k in keep], [finding_rel[k] for k in keep]
    exam_q = [i for i in range(n) if exam_rel[i].size]
    exam_rel = [exam_rel[i] for i in exam_q]
    variants: dict[str, np.ndarray] = {
        "random (chance)": _l2_rows(np.random.default_rng(0).normal(size=(n, 64)).astype(np.float32)),
        "baseline: raw 16x16 thumbnail": vectors_for(None, frames, blocks),
        "DEFAULT descriptor": vectors_for(dict(DEFAULT_WEIGHTS), frames, blocks),
        "hog only": vectors_for({"hog": 1}, frames, blocks),
        "sig only": vectors_for({"sig": 1}, frames, blocks),
    }
    print(f"\ndemo corpus: {n} images, {len(set(exams))} exams, {len(finding_q)} finding queries; "
          f"descriptor {per_image_ms:.1f} ms/image")
    print("| variant | exam R@1 | exam R@5 | exam mAP | finding R@1 | finding R@5 | finding R@10 | finding mAP "
          "| finding mAP within exam |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, vectors in variants.items():
        exam = evaluate(vectors, vectors[exam_q], exam_rel, exam_q)
        finding = evaluate(vectors, vectors[finding_q], finding_rel, finding_q)
        cells = [exam["R@1"], exam["R@5"], exam["mAP"], finding["R@1"], finding["R@5"], finding["R@10"], finding["mAP"]]
        cells.append(_within_exam_map(vectors, exams, findings, finding_q))
        print(f"| {name} | " + " | ".join(f"{c:.3f}" for c in cells) + " |")


def _within_exam_map(vectors: np.ndarray, exams: list[str], findings: list[set[str]], queries: list[int]) -> float:
    """mAP of finding queries ranked among the *same exam's* images only: does the descriptor see the finding?"""
    aps = []
    for qi in queries:
        pool = [j for j in range(len(exams)) if exams[j] == exams[qi] and j != qi]
        relevant = np.array([k for k, j in enumerate(pool) if findings[j] & findings[qi]])
        if relevant.size and len(pool) > relevant.size:
            aps.append(evaluate(vectors[pool], vectors[[qi]], [relevant], [None])["mAP"])
    return float(np.mean(aps)) if aps else float("nan")


def _l2_rows(matrix: np.ndarray) -> np.ndarray:
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo-dir", type=Path, default=Path("data/demo/images"))
    parser.add_argument("--ground-truth", type=Path, default=Path("data/demo/ground_truth.json"))
    parser.add_argument("--demo-only", action="store_true", help="only the demo-corpus tasks")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    skipped: list[str] = []
    if args.demo_only:
        demo_tasks(args.demo_dir, args.ground_truth, skipped)
        return
    started = time.perf_counter()
    items = load_items(args.demo_dir, skipped)
    assign_families(items)
    rng = np.random.default_rng(args.seed)
    reps = _family_representatives(items)
    copy_frames, copy_family = [], []
    for i in reps:
        for frame in perturbations(items[i].frame, rng):
            copy_frames.append(frame)
            copy_family.append(items[i].family)
    loaded = time.perf_counter()
    blocks = [describe_blocks(item.frame) for item in items]
    copy_blocks = [describe_blocks(frame) for frame in copy_frames]
    per_image_ms = 1000 * (time.perf_counter() - loaded) / (len(blocks) + len(copy_blocks))

    labelled = sum(item.label is not None for item in items)
    print(
        f"images: {len(items)} ({labelled} labelled DICOM, {len(items) - labelled} distractors), "
        f"{len(reps)} families, {len(copy_frames)} perturbed copies; "
        f"descriptor {per_image_ms:.1f} ms/image; load {loaded - started:.1f}s"
    )
    print(f"skipped {len(skipped)} files:")
    for line in skipped:
        print(f"  - {line}")
    print()
    print("| variant | cat R@1 | cat R@5 | cat R@10 | cat mAP | dup R@1 | dup R@5 | dup R@10 | dup mAP |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, weights in VARIANTS.items():
        vectors = vectors_for(weights, (item.frame for item in items), blocks)
        copies = vectors_for(weights, copy_frames, copy_blocks)
        cat = category_task(items, vectors)
        dup = near_dup_task(items, vectors, copies, copy_family)
        cells = [f"{cat[m]:.3f}" for m in ("R@1", "R@5", "R@10", "mAP")]
        cells += [f"{dup[m]:.3f}" for m in ("R@1", "R@5", "R@10", "mAP")]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print(f"\ncategory queries: {cat['queries']}, near-dup queries: {dup['queries']}")
    if args.ground_truth.is_file():
        demo_tasks(args.demo_dir, args.ground_truth, skipped)


if __name__ == "__main__":
    main()
