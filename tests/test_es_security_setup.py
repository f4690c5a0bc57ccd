"""Least-privilege Elasticsearch users (scripts/es_security_setup.py) and compose's use of them.

Found in the IT walkthrough: docker compose's api-es signed in to Elasticsearch as the ``elastic``
superuser, so a compromised API (or a bug) could delete every index or read any other application's.
The API now signs in as ``medsearch_api`` (read on ``medsearch-*``), the indexers as
``medsearch_indexer``; only the one-shot ``es-setup`` uses ``elastic``.

What is NOT run here: a real Elasticsearch with security on (no Docker here, and the noida-db test
server has no ``_security`` API). The script's requests go to a recording HTTP server that answers as
Elasticsearch would; whether the reader role is enough for every API call was not checked on a cluster.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "es_security_setup.py"
COMPOSE = REPO / "docker-compose.yml"


class _Recorder(BaseHTTPRequestHandler):
    requests: list[tuple[str, str, str, dict]] = []

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = json.loads(self.rfile.read(length)) if length else {}
        type(self).requests.append((self.command, self.path, self.headers.get("authorization", ""), body))
        payload = json.dumps({"role": {"created": True}} if "/role/" in self.path else {"created": True}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("x-elastic-product", "Elasticsearch")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_PUT = do_POST = do_GET = _answer  # noqa: N815

    def log_message(self, *_: object) -> None:
        pass


def _run(env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("MEDSEARCH_", "ELASTIC_"))}
    return subprocess.run([sys.executable, str(SCRIPT)], env={**base, **env}, capture_output=True, text=True, timeout=60)


def test_the_script_creates_a_read_only_api_user_and_a_writer(tmp_path: Path) -> None:
    _Recorder.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        done = _run({"MEDSEARCH_ES_SETUP_URL": f"http://127.0.0.1:{server.server_port}", "ELASTIC_PASSWORD": "su-pw",
                     "MEDSEARCH_ES_API_PASSWORD": "api-pw-1", "MEDSEARCH_ES_INDEXER_PASSWORD": "idx-pw-2",
                     "MEDSEARCH_BACKEND__INDEX_PREFIX": "hopital"})
    finally:
        server.shutdown()
    assert done.returncode == 0, done.stderr
    for secret in ("su-pw", "api-pw-1", "idx-pw-2"):
        assert secret not in done.stdout + done.stderr
    calls = {(method, path.split("?")[0]): body for method, path, _, body in _Recorder.requests}
    assert all(auth == "Basic " + base64.b64encode(b"elastic:su-pw").decode() for *_, auth, _ in _Recorder.requests)
    reader = calls[("PUT", "/_security/role/medsearch_reader")]
    assert reader == {"cluster": ["monitor"], "indices": [{"names": ["hopital-*"], "privileges": ["read", "view_index_metadata"]}]}
    writer = calls[("PUT", "/_security/role/medsearch_writer")]
    assert writer["indices"][0]["names"] == ["hopital-*"] and "manage_index_templates" in writer["cluster"]
    assert {"create_index", "delete_index", "manage", "write", "read"} <= set(writer["indices"][0]["privileges"])
    api = calls[("PUT", "/_security/user/medsearch_api")]
    indexer = calls[("PUT", "/_security/user/medsearch_indexer")]
    assert (api["roles"], api["password"]) == (["medsearch_reader"], "api-pw-1")
    assert (indexer["roles"], indexer["password"]) == (["medsearch_writer"], "idx-pw-2")
    assert len(calls) == 4
    assert [p for _, p, _, _ in _Recorder.requests].index("/_security/role/medsearch_reader") < \
        [p for _, p, _, _ in _Recorder.requests].index("/_security/user/medsearch_api")  # the role exists first


def test_missing_passwords_or_one_password_for_both_are_refused() -> None:
    done = _run({"ELASTIC_PASSWORD": "x", "MEDSEARCH_ES_API_PASSWORD": "a"})
    assert done.returncode == 78 and "MEDSEARCH_ES_INDEXER_PASSWORD" in done.stderr
    done = _run({"ELASTIC_PASSWORD": "x", "MEDSEARCH_ES_API_PASSWORD": "same", "MEDSEARCH_ES_INDEXER_PASSWORD": "same"})
    assert done.returncode == 78


def test_an_unreachable_cluster_is_one_line_exit_69() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    done = _run({"MEDSEARCH_ES_SETUP_URL": f"http://127.0.0.1:{port}", "ELASTIC_PASSWORD": "su-pw",
                 "MEDSEARCH_ES_API_PASSWORD": "a1", "MEDSEARCH_ES_INDEXER_PASSWORD": "b2"})
    assert done.returncode == 69 and len(done.stderr.strip().splitlines()) == 1 and "su-pw" not in done.stderr


def _services() -> dict:
    text = re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:?-([^}]*))?\}", lambda m: "${" + m.group(1) + "}", COMPOSE.read_text(encoding="utf-8"))
    return yaml.safe_load(re.sub(r"!(override|reset)\b", "", text))["services"]


def test_compose_gives_the_api_a_reader_and_only_es_setup_the_superuser() -> None:
    services = _services()
    api = services["api-es"]["environment"]
    assert (api["MEDSEARCH_BACKEND__USERNAME"], api["MEDSEARCH_BACKEND__PASSWORD"]) == ("medsearch_api", "${MEDSEARCH_ES_API_PASSWORD}")
    for name in ("indexer-es", "reindexer-es"):
        env = services[name]["environment"]
        assert (env["MEDSEARCH_BACKEND__USERNAME"], env["MEDSEARCH_BACKEND__PASSWORD"]) == (
            "medsearch_indexer", "${MEDSEARCH_ES_INDEXER_PASSWORD}")
    for name, service in services.items():
        env = service.get("environment") or {}
        assert env.get("MEDSEARCH_BACKEND__USERNAME") != "elastic", name
        if "${ELASTIC_PASSWORD}" in json.dumps(env):
            assert name in ("elasticsearch", "es-setup"), name
    setup = services["es-setup"]
    assert setup["command"] == ["python", "scripts/es_security_setup.py"] and setup["profiles"] == ["elasticsearch"]
    assert setup["depends_on"] == {"elasticsearch": {"condition": "service_healthy"}}
    for name in ("indexer-es", "api-es", "reindexer-es"):
        assert services[name]["depends_on"] == {"es-setup": {"condition": "service_completed_successfully"}}


def test_es_env_generates_the_two_passwords_once(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    for _ in range(2):
        subprocess.run(["bash", str(REPO / "scripts" / "es_env.sh"), str(env_file)], check=True, capture_output=True, timeout=60)
    values = dict(line.split("=", 1) for line in env_file.read_text().splitlines())
    assert {"ELASTIC_PASSWORD", "MEDSEARCH_ES_API_PASSWORD", "MEDSEARCH_ES_INDEXER_PASSWORD"} <= set(values)
    assert len({values["ELASTIC_PASSWORD"], values["MEDSEARCH_ES_API_PASSWORD"], values["MEDSEARCH_ES_INDEXER_PASSWORD"]}) == 3
    assert len(env_file.read_text().splitlines()) == len(values)  # the second run added nothing
