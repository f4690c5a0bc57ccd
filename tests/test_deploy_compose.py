"""docker-compose.yml is a valid Compose file (issue #10 item 6, #12 item 6).

`docker compose config` needs the Compose plugin, which no registry here ships; the file is instead
parsed by ``compose-spec`` (the Rust ``compose_spec`` model of the Compose specification, dev extra),
after the two things that the plugin does before validating and that parser does not: ``${VAR:-default}``
interpolation (each variable takes its default, or a placeholder) and the ``!override`` / ``!reset``
merge tags of ``extends``. ``test_deploy_security.py::test_docker_compose_config_is_valid`` runs the
real ``docker compose config`` wherever the plugin is installed.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

compose_spec = pytest.importorskip("compose_spec", reason="compose-spec (dev extra) is not installed")

COMPOSE = Path(__file__).resolve().parent.parent / "docker-compose.yml"


def _as_compose_would_read(text: str) -> str:
    """Interpolate ``${VAR}`` / ``${VAR:-default}`` and drop the ``extends`` merge tags."""
    text = re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:?-([^}]*))?\}", lambda m: m.group(3) if m.group(3) is not None else "x", text)
    return re.sub(r"!(override|reset)\b", "", text)


def test_compose_file_follows_the_compose_specification() -> None:
    compose_spec.PyCompose.from_yaml(_as_compose_would_read(COMPOSE.read_text(encoding="utf-8")))


def test_the_validation_rejects_a_broken_file() -> None:
    broken = COMPOSE.read_text(encoding="utf-8").replace("    build: .\n", "    build: .\n    not_a_compose_key: 1\n", 1)
    with pytest.raises(ValueError, match="not_a_compose_key"):
        compose_spec.PyCompose.from_yaml(_as_compose_would_read(broken))


def test_elasticsearch_service_and_profile() -> None:
    services = yaml.safe_load(_as_compose_would_read(COMPOSE.read_text(encoding="utf-8")))["services"]
    es = services["elasticsearch"]
    assert es["image"].startswith("docker.elastic.co/elasticsearch/elasticsearch:8.")
    env = es["environment"]
    assert env["discovery.type"] == "single-node" and env["xpack.security.enabled"] == "true"
    assert "-Xmx" in env["ES_JAVA_OPTS"] and es["healthcheck"]["test"]
    assert any(v.startswith("esdata:") for v in es["volumes"])
    raw = COMPOSE.read_text(encoding="utf-8")
    assert "ELASTIC_PASSWORD: ${ELASTIC_PASSWORD" in raw  # from the untracked .env, never a literal
    for name in ("indexer-es", "api-es", "reindexer-es"):
        assert services[name]["profiles"] == ["elasticsearch"]
        assert services[name]["environment"]["MEDSEARCH_BACKEND__KIND"] == "elasticsearch"
