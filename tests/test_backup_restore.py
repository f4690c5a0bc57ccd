"""`medsearch backup DEST` and `medsearch restore SRC`: a documented, tested way to keep a site.

Found walking through the README as a hospital IT team would: nothing said what to back up. The audit
chain is several files (rotated ones, the current one, ``<log>.head``) that must be copied together
or ``audit verify`` fails on the copy; ``user_data.sqlite`` and the job history are written while the
API runs (a plain ``cp`` can catch half a transaction); losing ``secrets/pseudonym.key`` changes every
researcher pseudonym; the index takes hours to rebuild.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

from indexer.pipeline import index_paths
from indexer.settings import Settings
from search_api.audit import AuditLog
from search_api.engine_factory import build_engine
from search_api.models import SearchRequest
from search_api.security.secrets import pseudonym_key
from search_api.user_data import UserDataStore

REPO = Path(__file__).resolve().parent.parent
REPORTS = Path(__file__).parent / "fixtures" / "sources" / "reports"


def _site(root: Path) -> tuple[Settings, dict[str, str]]:
    env = {"MEDSEARCH_INDEX__DIR": str(root / "index"), "MEDSEARCH_API__AUDIT_LOG": str(root / "audit" / "audit.log"),
           "MEDSEARCH_API__USER_DATA": str(root / "user_data.sqlite"), "MEDSEARCH_SECURITY__SECRETS_DIR": str(root / "secrets"),
           "MEDSEARCH_SECURITY__AUDIT_ROTATE_MB": "0.001"}
    settings = Settings(index={"dir": root / "index"}, api={"audit_log": root / "audit" / "audit.log",
                        "user_data": root / "user_data.sqlite"}, security={"secrets_dir": root / "secrets", "audit_rotate_mb": 0.001})
    return settings, env


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MEDSEARCH_")}
    environ.update(PYTHONPATH=str(REPO), **env)
    return subprocess.run([sys.executable, "-m", "indexer.cli", *args], env=environ, capture_output=True, text=True, timeout=300)


def test_backup_then_restore_gives_back_the_same_site(tmp_path: Path, encoder) -> None:  # noqa: ANN001
    site = tmp_path / "site"
    settings, env = _site(site)
    index_paths([REPORTS], settings, encoder)
    audit = AuditLog(settings.api.audit_log, rotate_bytes=1000)
    for n in range(12):  # several rotated files
        audit.record("dr.martin", "search", query=f"épanchement {n}", returned=["report:A"])
    store = UserDataStore(settings.api.user_data)
    store.add_search("dr.martin", "EP", {"q": "épanchement pleural"})
    key = pseudonym_key(settings.security.secrets_dir)
    ranking = [r.id for r in build_engine(settings, encoder).search(SearchRequest(q="épanchement pleural")).results]
    assert len(list(settings.api.audit_log.parent.glob("audit.log.*"))) >= 3  # rotated + head

    done = _cli(env, "backup", str(tmp_path / "backup"))
    assert done.returncode == 0, done.stderr
    assert "index_generation: 1" in done.stdout and "user_data: user_data.sqlite" in done.stdout
    assert stat.S_IMODE((tmp_path / "backup").stat().st_mode) == 0o700
    verified = _cli(env, "audit", "verify", str(tmp_path / "backup" / "audit" / "audit.log"))
    assert verified.returncode == 0 and verified.stdout.startswith("OK: 12 entries"), verified.stdout + verified.stderr
    assert _cli(env, "backup", str(tmp_path / "backup")).returncode == 2  # never into a used folder

    refused = _cli(env, "restore", str(tmp_path / "backup"))
    assert refused.returncode == 2 and "would replace" in refused.stderr  # the site is still there

    shutil.rmtree(site)  # the disk is lost
    restored = _cli(env, "restore", str(tmp_path / "backup"))
    assert restored.returncode == 0, restored.stderr
    assert _cli(env, "audit", "verify").stdout.startswith("OK: 12 entries")
    assert pseudonym_key(settings.security.secrets_dir) == key
    assert stat.S_IMODE(settings.security.secrets_dir.stat().st_mode) == 0o700
    assert [s["name"] for s in UserDataStore(settings.api.user_data).searches("dr.martin")] == ["EP"]
    assert [r.id for r in build_engine(settings, encoder).search(SearchRequest(q="épanchement pleural")).results] == ranking
    assert _cli(env, "check").returncode == 0
    # the chain goes on after a restore
    AuditLog(settings.api.audit_log, rotate_bytes=1000).record("dr.martin", "search", query="après restauration")
    assert _cli(env, "audit", "verify").stdout.startswith("OK: 13 entries")
