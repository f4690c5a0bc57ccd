"""Deployment files of the security layer: the Keycloak service and realm export in docker-compose,
and no secret committed anywhere in them (issue #12 item 6)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


class _ComposeLoader(yaml.SafeLoader):
    """Compose's own tags (``!override``, ``!reset``) read as their plain value."""


_ComposeLoader.add_multi_constructor("!", lambda loader, tag, node: (
    loader.construct_sequence(node) if isinstance(node, yaml.SequenceNode)
    else loader.construct_mapping(node) if isinstance(node, yaml.MappingNode) else loader.construct_scalar(node)
))


def test_compose_has_keycloak_with_the_realm_and_every_volume_defined() -> None:
    compose = yaml.load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"), Loader=_ComposeLoader)  # noqa: S506
    services = compose["services"]
    keycloak = services["keycloak"]
    assert "--import-realm" in keycloak["command"]
    mounts = [v.split(":")[0] for v in keycloak["volumes"]]
    assert "./deploy/keycloak/medsearch-realm.json" in mounts
    assert all(value in ("admin",) or str(value).startswith("${") for value in keycloak["environment"].values())
    named = {v.split(":")[0] for s in services.values() for v in s.get("volumes", []) if not v.startswith((".", "/", "$"))}
    assert named <= set(compose["volumes"])
    assert services["api"]["environment"]["MEDSEARCH_SECURITY__JWT_AUDIENCE"] == "medsearch"


def test_realm_export_has_the_client_three_roles_two_users_and_no_secret() -> None:
    realm = json.loads((ROOT / "deploy" / "keycloak" / "medsearch-realm.json").read_text(encoding="utf-8"))
    assert {r["name"] for r in realm["roles"]["realm"]} == {"clinician", "researcher", "admin", "auditor"}
    (client,) = [c for c in realm["clients"] if c["clientId"] == "medsearch"]
    assert re.fullmatch(r"\$\{[A-Z_]+\}", client["secret"])
    mappers = {m["protocolMapper"] for m in client["protocolMappers"]}
    assert {"oidc-audience-mapper", "oidc-usermodel-attribute-mapper"} <= mappers
    users = {u["username"]: u for u in realm["users"]}
    assert users["clinicien"]["realmRoles"] == ["clinician"] and users["chercheur"]["realmRoles"] == ["researcher"]
    assert all(re.fullmatch(r"\$\{[A-Z_]+\}", c["value"]) for u in users.values() for c in u["credentials"])


def test_docker_compose_config_is_valid() -> None:
    docker = shutil.which("docker")
    if not docker or subprocess.run([docker, "compose", "version"], capture_output=True).returncode != 0:
        pytest.skip("docker compose is not installed here (the YAML checks above still ran)")
    result = subprocess.run([docker, "compose", "config", "-q"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_secrets_are_ignored_by_git() -> None:
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    assert "var/" in ignored and ".streamlit/secrets.toml" in ignored and ".env" in ignored
