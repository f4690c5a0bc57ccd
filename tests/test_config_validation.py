"""A configuration mistake stops medsearch with one message naming the setting (exit 78, EX_CONFIG).

Found walking through the README as a hospital IT team would: a typo in a key (``index: {dri: ...}``,
``MEDSEARCH_INDEX__DRI``, a source's ``schedul:``) was ignored and the default used (the index went to
``var/index`` of whatever directory the service started in; the source was never scheduled);
``MEDSEARCH_CONFIG`` pointing at a file that does not exist ran on the defaults; a wrong value printed a
60-line traceback; an OIDC issuer set without its JWKS started an API that answered 401 to every
hospital token. Every check here runs the real ``medsearch`` command (``python -m indexer.cli``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from indexer.settings import DEFAULT_CONFIG, ConfigError, Settings, load_settings

REPO = Path(__file__).resolve().parent.parent


def _medsearch(tmp_path: Path, config: str | None, *args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MEDSEARCH_")}
    environ.update(PYTHONPATH=str(REPO), MEDSEARCH_INDEX__DIR=str(tmp_path / "index"), **env)
    if config is not None:
        path = tmp_path / "medsearch.yaml"
        path.write_text(config, encoding="utf-8")
        environ["MEDSEARCH_CONFIG"] = str(path)
    return subprocess.run([sys.executable, "-m", "indexer.cli", *(args or ("jobs",))], env=environ,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    ("config", "env", "said"),
    [
        ("index:\n  dri: /srv/index\n", {}, "index.dri: unknown setting (a typo?), in "),
        ("sources:\n  - name: radiology\n    paths: [/mnt/x]\n    schedul: '0 2 * * *'\n", {},
         "sources.0.schedul: unknown setting (a typo?)"),
        ("indx:\n  dir: /srv/index\n", {}, "unknown section(s) 'indx'; the sections are: index, backend,"),
        ("backend:\n  kind: embeded\n", {}, "backend.kind = 'embeded': Input should be 'embedded' or 'elasticsearch'"),
        ("index: [\n", {}, "medsearch.yaml cannot be read: while parsing a flow node"),
        (None, {"MEDSEARCH_API__PORT": "80a"}, "api.port = '80a': Input should be a valid integer"),
        (None, {"MEDSEARCH_API__PORT": "70000"}, "api.port = '70000': Input should be less than or equal to 65535"),
        (None, {"MEDSEARCH_ENCODER__NAEM": "usem3"}, "encoder.naem: unknown setting (a typo?), in MEDSEARCH_ENCODER__NAEM (environment)"),
        (None, {"MEDSEARCH_SECURITY__JWT_ISSUER": "https://kc.hopital.local/realms/medsearch", "MEDSEARCH_SECURITY__JWT_AUDIENCE": "medsearch"},
         "security.jwt_issuer is set but neither security.jwks_file nor security.jwks_url is"),
        (None, {"MEDSEARCH_SECURITY__JWT_ISSUER": "https://kc.hopital.local/realms/medsearch",
                "MEDSEARCH_SECURITY__JWKS_URL": "https://kc.hopital.local/realms/medsearch/protocol/openid-connect/certs"},
         "security.jwt_issuer is set but security.jwt_audience is not: a token the hospital's issuer gave any other"),
        (None, {"MEDSEARCH_SECURITY__JWKS_URL": "https://kc.hopital.local/realms/medsearch/protocol/openid-connect/certs"},
         "security.jwks_file / security.jwks_url is set but security.jwt_issuer is not"),
        (None, {"MEDSEARCH_SECURITY__JWT_ALGORITHMS": '["RS256", "HS256"]'}, "security.jwt_algorithms: 'HS256' not accepted"),
        ("backend:\n  kind: elasticsearch\n  url: https://es:9200\n  username: medsearch\n  password: S3cret-pw\n", {},
         "holds backend.password: credentials come only from the environment (MEDSEARCH_BACKEND__PASSWORD)"),
        (None, {"MEDSEARCH_BACKEND__KIND": "elasticsearch"}, "backend.kind is elasticsearch but backend.url is not set"),
        (None, {"MEDSEARCH_CONFIG": "/etc/medsearch/medsearch.yml"},
         "the config file /etc/medsearch/medsearch.yml (MEDSEARCH_CONFIG) does not exist"),
    ],
)
def test_a_wrong_setting_stops_the_command_with_its_name(tmp_path: Path, config: str | None, env: dict, said: str) -> None:
    done = _medsearch(tmp_path, config, **env)
    assert done.returncode == 78, (done.returncode, done.stdout, done.stderr)
    assert done.stderr.startswith("medsearch: configuration error: "), done.stderr
    assert said in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and "╭" not in done.stderr and "S3cret-pw" not in done.stderr


def test_a_wrong_secret_is_named_not_printed(tmp_path: Path) -> None:
    """A typo in a credential's name is an unknown setting; its value never reaches the message."""
    done = _medsearch(tmp_path, None, MEDSEARCH_BACKEND__PASSWROD="S3cret-hunter2")
    assert done.returncode == 78 and "backend.passwrod: unknown setting" in done.stderr
    assert "S3cret-hunter2" not in done.stderr + done.stdout


def test_the_shipped_config_and_the_readme_overrides_are_accepted(tmp_path: Path) -> None:
    done = _medsearch(tmp_path, None, "jobs", MEDSEARCH_SEARCH__CANDIDATES="150", MEDSEARCH_UI__API_URL="http://x",
                      MEDSEARCH_ENCODER__NAME="usem3", MEDSEARCH_BACKEND__USERNAME="medsearch",
                      MEDSEARCH_BACKEND__PASSWORD="pw")
    assert done.returncode == 0, done.stderr  # MEDSEARCH_UI__* is the portal's: not a setting, not an error
    settings = load_settings()
    assert settings.index.dir == Path("var/index") and DEFAULT_CONFIG.is_file()


def test_load_settings_raises_config_error_naming_each_setting() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(index={"dri": "/x"}, dense={"nprobe": "many"})
    assert caught.value.exit_code == 78
    message = str(caught.value)
    assert message.startswith("2 invalid setting(s) (config file ")
    assert "index.dri: unknown setting" in message and "dense.nprobe = 'many': Input should be a valid integer" in message


def _compose_env(service: dict, services: dict) -> dict[str, str]:
    """The MEDSEARCH_* environment a Compose service runs with (its ``extends`` chain, then its own)."""
    env: dict[str, str] = {}
    base = service.get("extends", {}).get("service")
    if base:
        env.update(_compose_env(services[base], services))
    env.update({k: str(v) for k, v in (service.get("environment") or {}).items()})
    return env


def test_every_compose_service_environment_is_a_valid_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    """docker-compose.yml and the Dockerfile set settings through MEDSEARCH_* variables: each service's
    set must load (a renamed setting in the code would otherwise make it ignored, or now refused)."""
    text = (REPO / "docker-compose.yml").read_text(encoding="utf-8")
    text = re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:?-([^}]*))?\}", lambda m: m.group(3) or "", text)
    services = yaml.safe_load(re.sub(r"!(override|reset)\b", "", text))["services"]
    dockerfile_env = dict(re.findall(r"(MEDSEARCH_\w+)=(\S+)", (REPO / "Dockerfile").read_text(encoding="utf-8")))
    checked = 0
    for name, service in services.items():
        env = {**dockerfile_env, **_compose_env(service, services)} if service.get("build") or service.get("extends") else {}
        if not any(k.startswith("MEDSEARCH_") for k in env):
            continue
        for key in [k for k in os.environ if k.startswith("MEDSEARCH_")]:
            monkeypatch.delenv(key)
        for key, value in env.items():
            if key.startswith("MEDSEARCH_") and not key.startswith("MEDSEARCH_UI__"):
                monkeypatch.setenv(key, value)
        settings = load_settings()
        assert isinstance(settings, Settings), name
        checked += 1
    assert checked >= 6


def test_an_unwritable_audit_log_stops_the_api_at_start_up(tmp_path: Path) -> None:
    """It used to start, report ready, and answer 503 « the audit log cannot be written » to every request."""
    done = _medsearch(tmp_path, None, "serve", "--port", "1", MEDSEARCH_API__AUDIT_LOG="/proc/medsearch/audit.log")
    assert done.returncode == 78, done.stderr
    assert done.stderr.startswith("medsearch: configuration error: api.audit_log = /proc/medsearch/audit.log "
                                  "(MEDSEARCH_API__AUDIT_LOG): cannot be written"), done.stderr
    from search_api.app import create_app

    with pytest.raises(ConfigError, match=r"^api.user_data = /proc/medsearch/user_data.sqlite"):
        create_app(load_settings(api={"audit_log": tmp_path / "audit.log", "user_data": "/proc/medsearch/user_data.sqlite"}))
