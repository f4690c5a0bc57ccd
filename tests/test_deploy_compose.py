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


def _service_env(services: dict, name: str) -> dict[str, str]:
    service = services[name]
    env = _service_env(services, service["extends"]["service"]) if "extends" in service else {}
    return {**env, **{k: str(v) for k, v in (service.get("environment") or {}).items()}}


def _service_volumes(services: dict, name: str) -> list[str]:
    service = services[name]
    return service.get("volumes") or (_service_volumes(services, service["extends"]["service"]) if "extends" in service else [])


def test_every_path_a_service_writes_is_on_a_volume_shared_with_the_others() -> None:
    """The API kept ``api.user_data`` (saved searches, cohorts, rights snapshots) in the container's own
    /app/var: gone at the next ``docker compose up`` of a new image. The re-indexer, whose cohort watch
    refreshes those cohorts after each run, had neither that file (so it refreshed nothing), nor the
    audit volume (its audit lines went to a chain of its own, lost with the container), nor the secrets
    (owners' accounts and keys, and the pseudonym key a researcher's cohort is written with)."""
    from indexer.settings import Settings

    raw = COMPOSE.read_text(encoding="utf-8")
    services = yaml.safe_load(_as_compose_would_read(raw))["services"]
    dockerfile = (COMPOSE.parent / "Dockerfile").read_text(encoding="utf-8")
    image_env = dict(re.findall(r"(MEDSEARCH_\w+)=(\S+)", dockerfile))
    workdir = re.search(r"^WORKDIR (\S+)", dockerfile, re.M).group(1)
    defaults = Settings.model_construct()
    where: dict[str, dict[str, str]] = {}
    for name, service in services.items():
        command = service.get("command") or services.get(service.get("extends", {}).get("service"), {}).get("command") or []
        if command[:1] != ["medsearch"] or not ({"index", "serve", "schedule", "run-jobs"} & set(command)):
            continue
        env = {**image_env, **_service_env(services, name)}
        mounts = {m.split(":")[1]: m.split(":")[0] for m in _service_volumes(services, name) if not m.startswith((".", "/", "$"))}
        paths = {
            "index.dir": env.get("MEDSEARCH_INDEX__DIR", str(defaults.index.dir)),
            "api.audit_log": env.get("MEDSEARCH_API__AUDIT_LOG", str(defaults.api.audit_log)),
            "api.user_data": env.get("MEDSEARCH_API__USER_DATA", str(defaults.api.user_data)),
            "security.secrets_dir": env.get("MEDSEARCH_SECURITY__SECRETS_DIR", str(defaults.security.secrets_dir)),
        }
        for setting, path in paths.items():
            path = path if path.startswith("/") else f"{workdir}/{path}"
            volume = next((f"{vol}:{path[len(target):]}" for target, vol in mounts.items()
                           if path == target or path.startswith(target.rstrip("/") + "/")), None)
            assert volume, f"{name}: {setting} = {path} is on no named volume (lost when the container is recreated)"
            where.setdefault(setting, {})[name] = volume
    assert {"api", "indexer", "reindexer", "api-es", "reindexer-es"} <= set(where["api.user_data"])
    for setting, by_service in where.items():
        assert len(set(by_service.values())) == 1, f"{setting} differs between services: {by_service}"
