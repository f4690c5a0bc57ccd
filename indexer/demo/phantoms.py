"""Synthetic anatomical phantoms for the demo DICOM images and article figures.

Images are drawn, not random: a chest CT has lungs, mediastinum, spine and ribs in Hounsfield units;
a head CT a skull, brain and ventricles; radiographs show bones as bright shapes; ultrasound is a
sector with a depth gradient. Findings from the exam plan (effusion on the right, 9 mm nodule in the
left upper lobe, stroke in the left MCA territory...) are drawn with the same parameters as the
report text, so an image-finding evaluation has something real to look at. Hypothetical findings are
drawn faintly; negated findings are absent.

Conventions: arrays are (row, column) with coordinates given as fractions of the image size; axial and
frontal views follow the radiological convention (patient's right on the image left); values are in
physical units (HU for CT, arbitrary signal for MR, 0-4095 for radiographs, 0-255 for ultrasound).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import ndimage
from skimage import draw

from indexer.demo.model import AFFIRMED, HYPOTHETICAL

Findings = dict[str, tuple[str, dict[str, Any]]]  # concept -> (status, params)

FIELD_OF_VIEW_MM = {
    "CT": {"CHEST": 380.0, "HEAD": 240.0, "ABDOMEN": 400.0},
    "MR": {"HEAD": 240.0, "SPINE": 300.0},
    "DX": 350.0,
    "CR": 400.0,
}


class Canvas:
    """A float image with drawing helpers in fractional coordinates."""

    def __init__(self, size: int, background: float) -> None:
        self.n = size
        self.a = np.full((size, size), background, dtype=np.float32)

    def _px(self, value: float) -> float:
        return value * self.n

    def ellipse_mask(self, r: float, c: float, rr: float, cr: float, rotation: float = 0.0) -> np.ndarray:
        mask = np.zeros(self.a.shape, dtype=bool)
        rows, cols = draw.ellipse(
            self._px(r),
            self._px(c),
            max(self._px(rr), 0.6),
            max(self._px(cr), 0.6),
            shape=self.a.shape,
            rotation=rotation,
        )
        mask[rows, cols] = True
        return mask

    def ellipse(
        self,
        r: float,
        c: float,
        rr: float,
        cr: float,
        value: float,
        rotation: float = 0.0,
        within: np.ndarray | None = None,
    ) -> np.ndarray:
        mask = self.ellipse_mask(r, c, rr, cr, rotation)
        if within is not None:
            mask &= within
        self.a[mask] = value
        return mask

    def ring(self, r: float, c: float, rr: float, cr: float, thickness: float, value: float) -> None:
        outer = self.ellipse_mask(r, c, rr, cr)
        inner = self.ellipse_mask(r, c, max(rr - thickness, 0.001), max(cr - thickness, 0.001))
        self.a[outer & ~inner] = value

    def polygon(self, rows: list[float], cols: list[float], value: float, within: np.ndarray | None = None) -> None:
        mask = np.zeros(self.a.shape, dtype=bool)
        rr, cc = draw.polygon([self._px(r) for r in rows], [self._px(c) for c in cols], shape=self.a.shape)
        mask[rr, cc] = True
        if within is not None:
            mask &= within
        self.a[mask] = value

    def line(self, r0: float, c0: float, r1: float, c1: float, value: float, width: int = 1) -> None:
        for offset in range(width):
            rr, cc = draw.line(
                int(self._px(r0)) + offset, int(self._px(c0)), int(self._px(r1)) + offset, int(self._px(c1))
            )
            keep = (rr >= 0) & (rr < self.n) & (cc >= 0) & (cc < self.n)
            self.a[rr[keep], cc[keep]] = value


def lateral(side_code: str, offset: float) -> float:
    """Column of a point ``offset`` away from the midline on the patient's side (radiological view)."""
    return 0.5 - offset if side_code == "R" else 0.5 + offset


def _present(findings: Findings, concept: str) -> tuple[bool, float, dict[str, Any]]:
    """(drawn?, intensity factor 1.0 or 0.45 for hypotheses, params)."""
    status, params = findings.get(concept, ("", {}))
    if status == AFFIRMED:
        return True, 1.0, params
    if status == HYPOTHETICAL:
        return True, 0.45, params
    return False, 0.0, params


def _mix(base: float, value: float, k: float) -> float:
    return base + (value - base) * k


def finish(image: np.ndarray, rng: np.random.Generator, noise: float, blur: float = 0.8) -> np.ndarray:
    """Slight blur and smooth (low-frequency) plus fine noise, so the phantom does not look vector-drawn."""
    out = ndimage.gaussian_filter(image, blur) if blur else image.copy()
    smooth = ndimage.gaussian_filter(rng.standard_normal(image.shape).astype(np.float32), 6.0)
    smooth /= max(float(smooth.std()), 1e-6)
    out += smooth * noise * 0.6 + rng.standard_normal(image.shape).astype(np.float32) * noise * 0.4
    return out


# --------------------------------------------------------------------------------------------------
# Chest
# --------------------------------------------------------------------------------------------------

_LOBE_ROW = {"upper": -0.55, "middle": -0.1, "lower": 0.5}  # fraction of the lung's half-height (axial: anterior is up)


def chest_ct(size: int, findings: Findings, rng: np.random.Generator, z: int = 0, angio: bool = False) -> np.ndarray:
    cv = Canvas(size, -1000.0)
    shrink = 1.0 - 0.06 * z
    cv.ellipse(0.52, 0.5, 0.36, 0.46, -100.0)  # subcutaneous fat
    body = cv.ellipse(0.52, 0.5, 0.33, 0.43, 40.0)
    for k in range(10):  # ribs along the chest wall
        angle = np.pi * (0.15 + 0.7 * (k % 5) / 4) + (np.pi if k >= 5 else 0)
        cv.ellipse(0.52 + 0.31 * np.sin(angle), 0.5 + 0.41 * np.cos(angle), 0.018, 0.03, 700.0, rotation=angle)
    lungs = {}
    for code, col in (("R", 0.29), ("L", 0.71)):
        lungs[code] = cv.ellipse(0.49, col, 0.25 * shrink, 0.14 * shrink, -850.0, within=body)
        for _ in range(14):  # vessels: lung markings
            dr, dc = rng.uniform(-0.18, 0.18) * shrink, rng.uniform(-0.1, 0.1) * shrink
            cv.ellipse(0.49 + dr, col + dc, 0.006, 0.006, -100.0, within=lungs[code])
    cv.ellipse(0.52, 0.53, 0.14, 0.12, 45.0)  # heart / mediastinum
    cv.ellipse(0.17, 0.5, 0.02, 0.04, 600.0)  # sternum
    cv.ellipse(0.38, 0.58, 0.035, 0.035, 250.0 if angio else 150.0)  # aorta
    artery_value = 320.0 if angio else 120.0
    arteries = {"R": (0.44, 0.39), "L": (0.44, 0.62)}
    cv.ellipse(0.37, 0.47, 0.04, 0.04, artery_value)  # pulmonary trunk
    for r, c in arteries.values():
        cv.ellipse(r, c, 0.025, 0.025, artery_value)
    cv.ellipse(0.79, 0.5, 0.065, 0.07, 900.0)  # vertebral body cortex
    cv.ellipse(0.79, 0.5, 0.05, 0.055, 350.0)
    cv.ellipse(0.88, 0.5, 0.025, 0.025, 20.0)  # spinal canal
    cv.polygon([0.9, 0.97, 0.97, 0.9], [0.48, 0.49, 0.51, 0.52], 700.0)  # spinous process
    _chest_ct_findings(cv, lungs, arteries, findings, rng, shrink)
    return finish(cv.a, rng, noise=12.0)


def _chest_ct_findings(
    cv: Canvas,
    lungs: dict[str, np.ndarray],
    arteries: dict[str, tuple[float, float]],
    findings: Findings,
    rng: np.random.Generator,
    shrink: float,
) -> None:
    spacing = FIELD_OF_VIEW_MM["CT"]["CHEST"] / cv.n
    ok, k, p = _present(findings, "pneumothorax")
    if ok:
        side = p["side"]["code"]
        mask = lungs[side]
        cv.a[mask] = _mix(-850.0, -1000.0, k)
        collapse = 0.55 + 0.1 * (1 - p["abund"]["k"])
        lungs[side] = cv.ellipse(
            0.49, lateral(side, 0.12), 0.25 * shrink * collapse, 0.14 * shrink * collapse, -750.0, within=mask
        )
    ok, k, p = _present(findings, "pleural_effusion")
    if ok:
        side = p["side"]["code"]
        rows = np.arange(cv.n)[:, None] / cv.n
        level = 0.49 + 0.25 * shrink * (1 - 2 * p["abund"]["k"] * k)
        cv.a[lungs[side] & (rows > level)] = 15.0
    for concept, value, radius_mm in (
        ("pneumonia", 25.0, None),
        ("lung_nodule", 35.0, "size"),
        ("lung_cancer", 40.0, "size"),
    ):
        ok, k, p = _present(findings, concept)
        if not ok:
            continue
        side = p["side"]["code"]
        col = 0.29 if side == "R" else 0.71
        row = 0.49 + _LOBE_ROW[p["lobe"]["level"]] * 0.25 * shrink
        value = _mix(-850.0, value, k) if concept != "lung_nodule" else _mix(-850.0, value, 0.3 + 0.7 * k)
        if concept == "pneumonia":
            patch = cv.ellipse(row, col, 0.08, 0.07, value, rotation=rng.uniform(0, np.pi), within=lungs[side])
            for _ in range(3):  # air bronchogram
                r0, c0 = row + rng.uniform(-0.04, 0.04), col + rng.uniform(-0.03, 0.03)
                rr, cc = draw.line(int(r0 * cv.n), int(c0 * cv.n), int((r0 + 0.04) * cv.n), int((c0 + 0.02) * cv.n))
                keep = patch[np.clip(rr, 0, cv.n - 1), np.clip(cc, 0, cv.n - 1)]
                cv.a[rr[keep], cc[keep]] = -900.0
        else:
            radius = p[radius_mm] / 2 / spacing / cv.n
            cv.ellipse(row, col + 0.02, radius, radius, value)
            if concept == "lung_cancer":
                for _ in range(5):  # lobulation and spiculation
                    angle = rng.uniform(0, 2 * np.pi)
                    cv.ellipse(
                        row + radius * 0.7 * np.sin(angle),
                        col + 0.02 + radius * 0.7 * np.cos(angle),
                        radius * 0.5,
                        radius * 0.5,
                        value,
                    )
                    cv.line(
                        row,
                        col + 0.02,
                        row + radius * 1.6 * np.sin(angle),
                        col + 0.02 + radius * 1.6 * np.cos(angle),
                        value,
                    )
    ok, k, p = _present(findings, "pulmonary_embolism")
    if ok:
        sides = ["R", "L"] if p["pe_loc"]["n"] == 2 else [p["side"]["code"]]
        for side in sides:
            r, c = arteries[side]
            cv.ellipse(r + 0.005, c, 0.014, 0.012, _mix(320.0, 30.0, k))


def chest_xray(size: int, findings: Findings, rng: np.random.Generator) -> np.ndarray:
    cv = Canvas(size, 150.0)
    body = cv.ellipse(0.55, 0.5, 0.5, 0.46, 1100.0)
    ok_hf, k_hf, _ = _present(findings, "heart_failure")
    lungs = {code: cv.ellipse(0.45, col, 0.3, 0.15, 420.0, within=body) for code, col in (("R", 0.31), ("L", 0.69))}
    cv.ellipse(0.5, 0.5, 0.42, 0.05, 1500.0)  # spine and mediastinum
    heart_width = 0.14 + 0.06 * k_hf if ok_hf else 0.14
    cv.ellipse(0.62, 0.55, 0.12, heart_width, 1450.0)
    for code, col in (("R", 0.31), ("L", 0.69)):
        for k in range(7):  # posterior ribs as bright arcs
            r = 0.2 + k * 0.075
            rr, cc = draw.ellipse_perimeter(
                int(r * cv.n), int(col * cv.n), int(0.04 * cv.n), int(0.17 * cv.n), shape=cv.a.shape
            )
            keep = rr < r * cv.n
            cv.a[rr[keep], cc[keep]] += 500.0
        cv.line(0.14, col, 0.12, 0.5, 1800.0, width=3)  # clavicles
        for _ in range(25):
            dr, dc = rng.uniform(-0.2, 0.2), rng.uniform(-0.1, 0.1)
            cv.ellipse(0.45 + dr, col + dc, 0.004, 0.004, 700.0, within=lungs[code])
    if ok_hf:  # perihilar haze
        for col in (0.4, 0.6):
            haze = cv.ellipse_mask(0.45, col, 0.12, 0.06) & (lungs["R"] | lungs["L"])
            cv.a[haze] += 300.0 * k_hf
    ok, k, p = _present(findings, "pneumothorax")
    if ok:
        side = p["side"]["code"]
        edge = lungs[side] & ~cv.ellipse_mask(0.47, lateral(side, 0.14), 0.26, 0.1 + 0.04 * (1 - p["abund"]["k"]))
        cv.a[edge] = _mix(420.0, 180.0, k)
    ok, k, p = _present(findings, "pleural_effusion")
    if ok:
        side = p["side"]["code"]
        rows = np.arange(cv.n)[:, None] / cv.n
        cols = np.arange(cv.n)[None, :] / cv.n
        distance = np.abs(cols - 0.5)
        level = 0.75 - 0.4 * p["abund"]["k"] * k - (distance - 0.15) * 0.5  # meniscus: higher laterally
        cv.a[lungs[side] & (rows > level)] = 1350.0
    ok, k, p = _present(findings, "pneumonia")
    if ok:
        side = p["side"]["code"]
        row = 0.45 + _LOBE_ROW[p["lobe"]["level"]] * 0.3
        patch = cv.ellipse_mask(row, lateral(side, 0.19), 0.09, 0.08) & lungs[side]
        cv.a[patch] += 550.0 * k
    ok, k, p = _present(findings, "lung_nodule")
    if ok:
        side = p["side"]["code"]
        row = 0.45 + _LOBE_ROW[p["lobe"]["level"]] * 0.3
        radius = max(p["size"] / 2 / (FIELD_OF_VIEW_MM["CR"] / cv.n) / cv.n, 0.008)
        cv.ellipse(row, lateral(side, 0.21), radius, radius, _mix(420.0, 1200.0, k))
    return finish(cv.a, rng, noise=25.0, blur=1.0)


# --------------------------------------------------------------------------------------------------
# Head
# --------------------------------------------------------------------------------------------------

_TERRITORY_WEDGE = {  # (row offsets, column offsets from the hemisphere centre)
    "mca": ([0.0, -0.12, 0.12], [0.0, 0.2, 0.2]),
    "pca": ([0.08, 0.3, 0.3], [0.0, 0.02, 0.14]),
    "aca": ([-0.05, -0.32, -0.32], [0.0, 0.0, 0.08]),
    "deep": ([-0.03, -0.06, 0.05, 0.06], [0.03, 0.09, 0.09, 0.03]),
}


def head(size: int, findings: Findings, rng: np.random.Generator, modality: str, z: int = 0) -> np.ndarray:
    mr = modality == "MR"
    values = {
        "air": 0.0 if mr else -1000.0,
        "scalp": 700.0 if mr else 30.0,
        "bone": 60.0 if mr else 1100.0,
        "grey": 520.0 if mr else 38.0,
        "white": 430.0 if mr else 28.0,
        "csf": 90.0 if mr else 5.0,
    }
    cv = Canvas(size, values["air"])
    s = 1.0 - 0.05 * z
    cv.ellipse(0.5, 0.5, 0.45 * s, 0.38 * s, values["scalp"])
    cv.ellipse(0.5, 0.5, 0.425 * s, 0.355 * s, values["bone"])
    brain = cv.ellipse(0.5, 0.5, 0.395 * s, 0.325 * s, values["grey"])
    cv.ellipse(0.5, 0.5, 0.31 * s, 0.25 * s, values["white"])
    for col, rot in ((0.455, 0.25), (0.545, -0.25)):  # lateral ventricles
        cv.ellipse(0.46, col, 0.11 * s, 0.03, values["csf"], rotation=rot)
    cv.line(0.12, 0.5, 0.88, 0.5, values["csf"])  # interhemispheric fissure
    for _ in range(18):  # cortical sulci
        angle = rng.uniform(0, 2 * np.pi)
        r0, c0 = 0.5 + 0.37 * s * np.sin(angle), 0.5 + 0.3 * s * np.cos(angle)
        cv.line(r0, c0, 0.5 + 0.33 * s * np.sin(angle), 0.5 + 0.265 * s * np.cos(angle), values["csf"])
    ok, k, p = _present(findings, "ischemic_stroke")
    if ok:
        side = p["side"]["code"]
        centre = (0.5, lateral(side, 0.13))
        rows, cols = _TERRITORY_WEDGE[p["territory"]["key"]]
        sign = -1 if side == "R" else 1
        stroke_value = _mix(values["grey"], 1000.0 if mr else 18.0, k)
        cv.polygon([centre[0] + r for r in rows], [centre[1] + sign * c for c in cols], stroke_value, within=brain)
    ok, k, p = _present(findings, "meningioma")
    if ok:
        side = p["side"]["code"]
        radius = p["size"] / 2 / (FIELD_OF_VIEW_MM["CT"]["HEAD"] / cv.n) / cv.n
        row = 0.2 + 0.6 * p["mening_loc"]["y"]
        angle = np.arcsin(np.clip((row - 0.5) / 0.39, -1, 1))
        col = 0.5 + (-1 if side == "R" else 1) * (0.32 * np.cos(angle) - radius * 0.8)
        cv.ellipse(row, col, radius, radius, _mix(values["grey"], 950.0 if mr else 58.0, k))
    ok, k, p = _present(findings, "multiple_sclerosis")
    if ok:
        for _ in range(min(p.get("lesions", 6), 12)):
            angle = rng.uniform(0, 2 * np.pi)
            dist = rng.uniform(0.06, 0.14)
            cv.ellipse(
                0.46 + dist * np.sin(angle),
                0.5 + dist * np.cos(angle) * 1.3,
                0.012,
                0.02,
                _mix(values["white"], 950.0, k),
                rotation=angle,
            )
    ok, k, p = _present(findings, "subarachnoid_hemorrhage")
    if ok:
        blood = _mix(values["csf"], 900.0 if mr else 70.0, k)
        for angle in np.linspace(0, 2 * np.pi, 7, endpoint=False):  # basal cisterns: star pattern
            cv.line(0.6, 0.5, 0.6 + 0.08 * np.sin(angle), 0.5 + 0.08 * np.cos(angle), blood, width=2)
        side = p["side"]["code"]
        cv.line(0.5, lateral(side, 0.05), 0.42, lateral(side, 0.27), blood, width=2)  # sylvian fissure
    return finish(cv.a, rng, noise=18.0 if mr else 3.0)


# --------------------------------------------------------------------------------------------------
# Musculoskeletal radiographs and spine MR
# --------------------------------------------------------------------------------------------------


def hip_xray(size: int, findings: Findings, rng: np.random.Generator) -> np.ndarray:
    cv = Canvas(size, 120.0)
    cv.ellipse(0.55, 0.5, 0.55, 0.5, 900.0)
    bone, cortex = 1900.0, 2500.0
    cv.polygon([0.05, 0.05, 0.35, 0.45, 0.35], [0.42, 0.58, 0.56, 0.5, 0.44], 1800.0)  # sacrum
    ok, k, p = _present(findings, "femoral_neck_fracture")
    for code in ("R", "L"):
        sign = -1 if code == "R" else 1
        cv.ellipse(0.18, 0.5 + sign * 0.24, 0.16, 0.13, bone, rotation=sign * 0.4)  # iliac wing
        cv.ellipse(0.62, 0.5 + sign * 0.1, 0.06, 0.05, 300.0)  # obturator foramen
        cv.ring(0.62, 0.5 + sign * 0.1, 0.085, 0.075, 0.02, bone)  # pubic rami
        head_r, head_c = 0.42, 0.5 + sign * 0.26
        fractured = ok and p["side"]["code"] == code
        displaced = fractured and p["garden"] in ("III", "IV")
        cv.ring(head_r - 0.01, head_c, 0.085, 0.085, 0.02, cortex)  # acetabulum
        cv.ellipse(head_r, head_c, 0.07, 0.07, bone)
        neck_rows = [head_r - 0.02, head_r + 0.04, 0.56, 0.5]
        neck_cols = [head_c + sign * 0.03, head_c - sign * 0.01, 0.5 + sign * 0.31, 0.5 + sign * 0.37]
        cv.polygon(neck_rows, neck_cols, bone)
        cv.ellipse(0.52, 0.5 + sign * 0.37, 0.05, 0.04, bone)  # greater trochanter
        cv.polygon(
            [0.52, 0.52, 1.0, 1.0], [0.5 + sign * 0.29, 0.5 + sign * 0.38, 0.5 + sign * 0.36, 0.5 + sign * 0.28], cortex
        )
        cv.polygon(
            [0.55, 0.55, 1.0, 1.0], [0.5 + sign * 0.31, 0.5 + sign * 0.36, 0.5 + sign * 0.34, 0.5 + sign * 0.3], bone
        )
        if fractured:
            gap = 0.012 + (0.012 if displaced else 0.0)
            mid_r, mid_c = head_r + 0.03, head_c + sign * 0.06
            cv.polygon(
                [mid_r - 0.07, mid_r - 0.07 + gap, mid_r + 0.07 + gap, mid_r + 0.07],
                [mid_c - sign * 0.02, mid_c - sign * 0.02, mid_c + sign * 0.02, mid_c + sign * 0.02],
                _mix(bone, 700.0, k),
            )
    return finish(cv.a, rng, noise=30.0)


def knee_xray(size: int, findings: Findings, rng: np.random.Generator) -> np.ndarray:
    cv = Canvas(size, 120.0)
    cv.ellipse(0.5, 0.5, 0.6, 0.33, 900.0)
    bone, cortex = 1900.0, 2500.0
    ok, k, p = _present(findings, "knee_osteoarthritis")
    cv.polygon([0.0, 0.0, 0.38, 0.38], [0.4, 0.6, 0.62, 0.38], cortex)  # femur shaft
    cv.polygon([0.0, 0.0, 0.38, 0.38], [0.43, 0.57, 0.59, 0.41], bone)
    for col in (0.4, 0.6):  # condyles
        cv.ellipse(0.43, col, 0.075, 0.095, bone)
    cv.polygon([0.53, 0.53, 0.62, 1.0, 1.0, 0.62], [0.3, 0.7, 0.62, 0.6, 0.4, 0.38], bone)  # tibia
    cv.polygon([0.58, 0.58, 1.0, 1.0], [0.71, 0.76, 0.75, 0.71], bone)  # fibula
    if ok:
        # medial compartment: image right for a right knee, image left for a left knee
        medial = 0.6 if p["side"]["code"] == "R" else 0.4
        narrowing = 0.025 * k * (p.get("kl", 3) - 1) / 3
        cv.polygon(
            [0.53 - narrowing, 0.53 - narrowing, 0.54, 0.54],
            [medial - 0.1, medial + 0.1, medial + 0.1, medial - 0.1],
            cortex,
        )  # subchondral sclerosis
        tip = 0.7 if medial > 0.5 else 0.3
        out = 0.05 if medial > 0.5 else -0.05
        cv.polygon([0.5, 0.53, 0.56], [tip, tip + out * k, tip], cortex)  # osteophytes
        cv.polygon([0.44, 0.47, 0.5], [medial + (0.08 if medial > 0.5 else -0.08)] * 2 + [tip], cortex)
    return finish(cv.a, rng, noise=30.0)


def shoulder_xray(size: int, findings: Findings, rng: np.random.Generator) -> np.ndarray:
    cv = Canvas(size, 120.0)
    ok, k, p = _present(findings, "shoulder_dislocation")
    side = p["side"]["code"] if p else "R"
    sign = 1 if side == "R" else -1  # +1: medial structures on the image right
    cv.ellipse(0.55, 0.5, 0.6, 0.6, 900.0)
    bone, cortex = 1900.0, 2400.0
    for i in range(5):  # ribs of the chest wall
        cv.line(0.35 + i * 0.12, 0.5 + sign * 0.15, 0.45 + i * 0.12, 0.5 + sign * 0.5, 1300.0, width=3)
    cv.line(0.12, 0.5 - sign * 0.2, 0.18, 0.5 + sign * 0.5, cortex, width=6)  # clavicle
    cv.polygon([0.3, 0.25, 0.85], [0.5 + sign * 0.05, 0.5 + sign * 0.3, 0.5 + sign * 0.25], 1500.0)  # scapula
    cv.ellipse(0.38, 0.5 + sign * 0.05, 0.07, 0.025, cortex)  # glenoid
    cv.ellipse(0.16, 0.5 - sign * 0.08, 0.03, 0.12, bone)  # acromion
    head_r, head_c = 0.38, 0.5 - sign * 0.07
    if ok:
        head_r += 0.16 * k
        head_c += sign * 0.12 * k
    cv.ellipse(head_r, head_c, 0.11, 0.11, bone)
    cv.ring(head_r, head_c, 0.11, 0.11, 0.012, cortex)
    cv.polygon([head_r, head_r, 1.0, 1.0], [head_c - 0.06, head_c + 0.06, head_c + 0.05, head_c - 0.05], bone)
    return finish(cv.a, rng, noise=30.0)


def spine_mr(size: int, findings: Findings, rng: np.random.Generator) -> np.ndarray:
    """Sagittal T2 lumbar spine: anterior on the image left."""
    cv = Canvas(size, 0.0)
    cv.polygon([0.0, 0.0, 1.0, 1.0], [0.12, 0.95, 0.95, 0.12], 250.0)
    cv.polygon([0.0, 0.0, 1.0, 1.0], [0.82, 0.95, 0.95, 0.82], 800.0)  # posterior fat
    cv.polygon([0.0, 0.0, 1.0, 1.0], [0.58, 0.66, 0.66, 0.58], 950.0)  # CSF in the canal
    cv.polygon([0.0, 0.0, 0.3, 0.3], [0.6, 0.63, 0.63, 0.6], 380.0)  # conus
    ok, k, p = _present(findings, "herniated_disc")
    level = p["level"]["idx"] if ok else -1
    top = 0.04
    for i in range(6):  # L1..L5, S1
        cv.polygon([top, top, top + 0.12, top + 0.12], [0.32, 0.56, 0.56, 0.32], 380.0)
        cv.polygon([top + 0.01, top + 0.01, top + 0.11, top + 0.11], [0.68, 0.8, 0.82, 0.7], 330.0)  # spinous process
        if i < 5:
            disc_top = top + 0.12
            cv.polygon(
                [disc_top, disc_top, disc_top + 0.035, disc_top + 0.035],
                [0.33, 0.55, 0.55, 0.33],
                650.0 if i != level else 320.0,
            )
            if i == level:
                cv.ellipse(disc_top + 0.018, 0.575, 0.025, 0.035 * (0.5 + 0.5 * k), 300.0)
        top += 0.155
    return finish(cv.a, rng, noise=15.0)


# --------------------------------------------------------------------------------------------------
# Abdomen, ultrasound, echocardiography
# --------------------------------------------------------------------------------------------------


def abdomen_ct(size: int, findings: Findings, rng: np.random.Generator, z: int = 0) -> np.ndarray:
    cv = Canvas(size, -1000.0)
    cv.ellipse(0.52, 0.5, 0.38, 0.46, -100.0)
    body = cv.ellipse(0.52, 0.5, 0.35, 0.43, 30.0)
    cv.ellipse(0.45, 0.3, 0.2, 0.17 - 0.01 * z, 105.0, within=body)  # liver (patient right)
    cv.ellipse(0.5, 0.76, 0.1, 0.06, 110.0)  # spleen
    for col in (0.36, 0.64):
        cv.ellipse(0.68, col, 0.07, 0.045, 160.0)  # kidneys
    cv.ellipse(0.62, 0.53, 0.025, 0.025, 170.0)  # aorta
    cv.ellipse(0.62, 0.45, 0.03, 0.025, 120.0)  # IVC
    cv.ellipse(0.78, 0.5, 0.06, 0.065, 900.0)
    cv.ellipse(0.78, 0.5, 0.047, 0.052, 300.0)
    for _ in range(8):  # bowel loops with air or fluid
        r, c = rng.uniform(0.35, 0.72), rng.uniform(0.45, 0.7)
        cv.ellipse(r, c, 0.035, 0.035, 60.0)
        cv.ellipse(r, c, 0.02, 0.02, -900.0 if rng.random() < 0.5 else 15.0)
    ok, k, p = _present(findings, "cholecystitis")
    cv.ellipse(0.6, 0.3, 0.05, 0.035, 10.0)  # gallbladder
    if ok:
        wall = p.get("wall", 6) / (FIELD_OF_VIEW_MM["CT"]["ABDOMEN"] / cv.n) / cv.n
        cv.ellipse(
            0.6, 0.3, 0.09, 0.07, _mix(-100.0, 10.0, k * 0.6), within=cv.ellipse_mask(0.6, 0.3, 0.09, 0.07) & (cv.a < 0)
        )
        cv.ring(0.6, 0.3, 0.05 + wall, 0.035 + wall, wall * 1.5, _mix(30.0, 70.0, k))
    ok, k, p = _present(findings, "appendicitis")
    if ok:
        radius = p.get("diam", 11) / 2 / (FIELD_OF_VIEW_MM["CT"]["ABDOMEN"] / cv.n) / cv.n
        cv.ellipse(0.78, 0.28, 0.06, 0.06, _mix(-100.0, 15.0, k * 0.6))  # fat stranding
        cv.ellipse(0.78, 0.28, radius, radius, _mix(30.0, 90.0, k))
        cv.ellipse(0.78, 0.28, radius * 0.45, radius * 0.45, 20.0)
    return finish(cv.a, rng, noise=10.0)


def _sector(cv: Canvas, half_angle: float = 0.6) -> np.ndarray:
    rows, cols = np.mgrid[0 : cv.n, 0 : cv.n] / cv.n
    radius = np.hypot(rows - 0.02, cols - 0.5)
    angle = np.arctan2(cols - 0.5, rows - 0.02)
    sector = (radius < 0.96) & (np.abs(angle) < half_angle) & (radius > 0.04)
    cv.a[sector] = np.clip(140.0 - 70.0 * radius[sector], 0, 255)  # depth attenuation gradient
    return sector


def abdomen_us(size: int, findings: Findings, rng: np.random.Generator) -> np.ndarray:
    cv = Canvas(size, 0.0)
    sector = _sector(cv)
    cv.ellipse(0.35, 0.5, 0.25, 0.45, 120.0, within=sector)  # liver parenchyma
    ok, k, p = _present(findings, "cholecystitis")
    thickness = 0.012 + (0.03 * k if ok else 0.0)
    cv.ring(0.48, 0.5, 0.1 + thickness, 0.2 + thickness, thickness, 170.0)
    cv.ellipse(0.48, 0.5, 0.1, 0.2, 8.0)  # anechoic bile
    if ok:
        cv.ellipse(0.55, 0.55, 0.025, 0.03, 230.0)  # gallstone
        cv.polygon([0.57, 0.57, 0.96, 0.96], [0.53, 0.57, 0.59, 0.51], 10.0, within=sector)  # acoustic shadow
    ok, k, p = _present(findings, "appendicitis")
    if ok:
        cv.ellipse(0.8, 0.35, 0.07, 0.07, _mix(60.0, 150.0, k), within=sector)  # target sign
        cv.ellipse(0.8, 0.35, 0.045, 0.045, 40.0, within=sector)
        cv.ellipse(0.8, 0.35, 0.02, 0.02, 110.0, within=sector)
    image = finish(cv.a, rng, noise=4.0, blur=1.2)
    image[~sector] = 0.0
    return image


def echo_heart(size: int, findings: Findings, rng: np.random.Generator) -> np.ndarray:
    """Apical four-chamber view: ventricles at the top (near the probe), atria below."""
    cv = Canvas(size, 0.0)
    sector = _sector(cv, 0.7)
    ok_hf, k_hf, _ = _present(findings, "heart_failure")
    dilation = 1.0 + 0.35 * k_hf if ok_hf else 1.0
    cv.ellipse(0.45, 0.5, 0.36, 0.36 * dilation, 150.0, within=sector)  # myocardium
    lv = cv.ellipse(0.38, 0.6, 0.25, 0.1 * dilation, 12.0, within=sector)
    cv.ellipse(0.4, 0.37, 0.22, 0.08, 12.0, within=sector)  # RV
    cv.ellipse(0.75, 0.6, 0.1, 0.1 * dilation, 12.0, within=sector)  # LA
    cv.ellipse(0.75, 0.37, 0.09, 0.08, 12.0, within=sector)  # RA
    ok, k, p = _present(findings, "myocardial_infarction")
    if ok:
        thin = cv.ellipse_mask(0.18, 0.6, 0.06, 0.08) & ~lv & sector
        cv.a[thin] = _mix(150.0, 60.0, k)
    image = finish(cv.a, rng, noise=5.0, blur=1.2)
    image[~sector] = 0.0
    return image


Renderer = Callable[[int, Findings, np.random.Generator, int], np.ndarray]

PHANTOMS: dict[str, Renderer] = {
    "ct_chest": lambda n, f, rng, z: chest_ct(n, f, rng, z),
    "ctpa": lambda n, f, rng, z: chest_ct(n, f, rng, z, angio=True),
    "cxr": lambda n, f, rng, z: chest_xray(n, f, rng),
    "ct_head": lambda n, f, rng, z: head(n, f, rng, "CT", z),
    "mr_brain": lambda n, f, rng, z: head(n, f, rng, "MR", z),
    "xr_hip": lambda n, f, rng, z: hip_xray(n, f, rng),
    "xr_knee": lambda n, f, rng, z: knee_xray(n, f, rng),
    "xr_shoulder": lambda n, f, rng, z: shoulder_xray(n, f, rng),
    "mr_spine": lambda n, f, rng, z: spine_mr(n, f, rng),
    "ct_abdo": lambda n, f, rng, z: abdomen_ct(n, f, rng, z),
    "us_abdo": lambda n, f, rng, z: abdomen_us(n, f, rng),
    "echo_heart": lambda n, f, rng, z: echo_heart(n, f, rng),
}


def render_phantom(
    exam_code: str, findings: Findings, rng: np.random.Generator, size: int = 256, z: int = 0
) -> np.ndarray:
    """Float image (physical units) for one slice of one exam."""
    return PHANTOMS[exam_code](size, findings, rng, z)
