"""Loading and compiling ``indexer/configs/clinical/context_triggers.yaml``.

Trigger lists are data, not code, so clinicians can review and extend them without reading Python.
The YAML is validated with pydantic (unknown keys are rejected: a typo such as ``pre_triggers``
would otherwise silently disable a whole list) and compiled once into token-sequence dictionaries
that the context algorithm matches longest-first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from indexer.clinical.text import fold, token_key

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs" / "clinical"  # package data: found when installed
DEFAULT_TRIGGERS_PATH = CONFIG_DIR / "context_triggers.yaml"


class ContextStatus(str, Enum):
    """How a piece of text relates to the patient the document is about."""

    AFFIRMED = "affirmed"
    NEGATED = "negated"
    HYPOTHETICAL = "hypothetical"
    FAMILY = "family"


class Direction(str, Enum):
    """Which side of the trigger its scope lies on."""

    PRE = "pre"  # « pas de [fracture] »: scope after the trigger
    POST = "post"  # « [embolie pulmonaire] éliminée »: scope before the trigger
    BOTH = "both"  # « [pneumopathie] possible » / « possible [pneumopathie] »


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TriggerLists(_Strict):
    """Triggers of one status, by direction."""

    pre: list[str] = Field(default_factory=list)
    post: list[str] = Field(default_factory=list)
    both: list[str] = Field(default_factory=list)


class LanguageConfig(_Strict):
    """Everything language-specific: triggers, scope breakers and sentence-splitting data."""

    negated: TriggerLists = Field(default_factory=TriggerLists)
    hypothetical: TriggerLists = Field(default_factory=TriggerLists)
    family: TriggerLists = Field(default_factory=TriggerLists)
    pseudo: list[str] = Field(default_factory=list, description="Look like triggers but are not")
    terminations: list[str] = Field(default_factory=list, description="End every open scope")
    family_terminations: list[str] = Field(default_factory=list, description="End family scopes only")
    family_connectors: list[str] = Field(
        default_factory=list,
        description="Terminations that do not end family scopes: they attach an attribute to the relative",
    )
    abbreviations: list[str] = Field(default_factory=list, description="Words whose '.' ends no sentence")
    headings: list[str] = Field(default_factory=list, description="Known section titles")
    family_headings: list[str] = Field(default_factory=list, description="Sections whose content is family")
    relatives: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Which relative a family cue names: relative (mother, father, sister...) → family triggers",
    )
    relative_after: list[str] = Field(
        default_factory=list,
        description="What puts a relative after the disease (« chez le », \"in the\"): each, followed by a one-word "
        "relative cue, is a family post trigger naming that relative (« embolie pulmonaire chez le frère »)",
    )


class ScopeSettings(_Strict):
    """Scope limits; see ``context.py`` for how each one is used."""

    max_scope_tokens: int = Field(default=15, ge=1)
    max_post_scope_tokens: int = Field(default=8, ge=1)
    chain_gap_tokens: int = Field(default=1, ge=0)


class ContextConfig(_Strict):
    """Root of ``context_triggers.yaml``."""

    version: int = 1
    settings: ScopeSettings = Field(default_factory=ScopeSettings)
    priority: list[ContextStatus] = Field(
        default_factory=lambda: [ContextStatus.NEGATED, ContextStatus.FAMILY, ContextStatus.HYPOTHETICAL]
    )
    languages: dict[str, LanguageConfig]


@dataclass(frozen=True, slots=True)
class Rule:
    """What a matched phrase does. ``status`` is None for pseudo-triggers and terminations."""

    role: str  # "trigger" | "pseudo" | "termination" | "family_termination"
    phrase: str
    status: ContextStatus | None = None
    direction: Direction | None = None
    #: a termination listed in ``family_connectors`` (« avec », "with", "who") is False: it ends negation
    #: and hypothesis scopes but not a family cue's (« Mère avec [cancer du sein] »)
    ends_family: bool = True
    #: a family cue that names one relative (« mère », "in his father"): which (``relatives`` of the YAML)
    relative: str | None = None


@dataclass(slots=True)
class CompiledLanguage:
    """Token-sequence → rule dictionary for one language, ready for longest-first matching."""

    rules: dict[tuple[str, ...], Rule] = field(default_factory=dict)
    max_len: int = 1
    #: the first word of every rule: a position whose word is not one starts no match (skipped at once)
    first_words: set[str] = field(default_factory=set)

    def add(self, rule: Rule) -> None:
        key = token_key(rule.phrase)
        if not key:
            raise ValueError(f"context trigger {rule.phrase!r} has no word in it")
        existing = self.rules.get(key)
        if existing is not None and (existing.role, existing.status, existing.direction) != (
            rule.role,
            rule.status,
            rule.direction,
        ):
            raise ValueError(
                f"context trigger {rule.phrase!r} is listed twice with different meanings: "
                f"{_describe(existing)} and {_describe(rule)}"
            )
        self.rules[key] = rule
        self.first_words.add(key[0])
        self.max_len = max(self.max_len, len(key))


def _describe(rule: Rule) -> str:
    if rule.status is None:
        return rule.role
    return f"{rule.status.value}/{rule.direction.value if rule.direction else '?'}"


@dataclass(slots=True)
class CompiledConfig:
    """The validated config plus per-language compiled rule tables and sentence data."""

    config: ContextConfig
    languages: dict[str, CompiledLanguage]
    abbreviations: frozenset[str]
    headings: frozenset[str]
    family_headings: frozenset[str]

    @property
    def settings(self) -> ScopeSettings:
        return self.config.settings

    def priority_rank(self, status: ContextStatus) -> int:
        """Higher wins when scopes overlap; affirmed is always lowest."""
        order = self.config.priority
        return len(order) - order.index(status) if status in order else 0


def after_relatives(lang: LanguageConfig, with_listed: bool = False) -> dict[str, list[str]]:
    """Relative → the post triggers ``relative_after`` × its one-word cues make (« chez le » + « frère »:
    « embolie pulmonaire chez le frère »; "in the" + "mother"), not already a trigger of the language; with
    *with_listed*, after each relative's listed cues.

    Why generated: the trigger file listed a few such phrases by hand (« chez la mère », "in his mother") and
    missed the others (« chez le frère », "in the brother"), so a query or a letter naming the relative after
    the disease read the disease as the patient's own; the grammar is the same for every relative."""
    listed = {token_key(p) for lists in (lang.family.pre, lang.family.post, lang.family.both) for p in lists}
    listed |= {token_key(p) for lists in (lang.negated, lang.hypothetical) for d in Direction for p in getattr(lists, d.value)}
    made: dict[str, list[str]] = {}
    for relative, phrases in lang.relatives.items():
        derived = [f"{before} {cue}" for cue in phrases if " " not in cue.strip() for before in lang.relative_after]
        derived = [p for p in dict.fromkeys(derived) if token_key(p) not in listed]
        made[relative] = [*phrases, *derived] if with_listed else derived
    return made


def compile_config(config: ContextConfig) -> CompiledConfig:
    """Turn the validated YAML into lookup tables (raises ValueError on contradictory entries)."""
    languages: dict[str, CompiledLanguage] = {}
    abbreviations: set[str] = set()
    headings: set[str] = set()
    family_headings: set[str] = set()
    for code, lang in config.languages.items():
        compiled = CompiledLanguage()
        for status in (ContextStatus.NEGATED, ContextStatus.HYPOTHETICAL, ContextStatus.FAMILY):
            lists: TriggerLists = getattr(lang, status.value)
            for direction in Direction:
                for phrase in getattr(lists, direction.value):
                    compiled.add(Rule("trigger", phrase, status, direction))
        for phrase in lang.pseudo:
            compiled.add(Rule("pseudo", phrase))
        for phrase in lang.terminations:
            compiled.add(Rule("termination", phrase))
        for phrase in lang.family_connectors:
            key = token_key(phrase)
            existing = compiled.rules.get(key)
            if existing is None or existing.role != "termination":
                raise ValueError(f"family connector {phrase!r} ({code}) is not one of the language's terminations")
            compiled.rules[key] = Rule("termination", existing.phrase, ends_family=False)
        for phrase in lang.family_terminations:
            compiled.add(Rule("family_termination", phrase))
        for relative, phrases in after_relatives(lang).items():
            for phrase in phrases:
                compiled.add(Rule("trigger", phrase, ContextStatus.FAMILY, Direction.POST))
        for relative, phrases in after_relatives(lang, with_listed=True).items():
            for phrase in phrases:
                key = token_key(phrase)
                existing = compiled.rules.get(key)
                if existing is None or existing.role != "trigger" or existing.status != ContextStatus.FAMILY:
                    raise ValueError(f"relative cue {phrase!r} ({code}) is not one of the language's family triggers")
                if existing.relative not in (None, relative):
                    raise ValueError(f"relative cue {phrase!r} ({code}) names both {existing.relative} and {relative}")
                compiled.rules[key] = Rule("trigger", existing.phrase, existing.status, existing.direction, relative=relative)
        languages[code] = compiled
        abbreviations.update(fold(a).rstrip(".") for a in lang.abbreviations)
        headings.update(_heading_key(h) for h in lang.headings + lang.family_headings)
        family_headings.update(_heading_key(h) for h in lang.family_headings)
    return CompiledConfig(
        config=config,
        languages=languages,
        abbreviations=frozenset(abbreviations),
        headings=frozenset(headings),
        family_headings=frozenset(family_headings),
    )


def _heading_key(title: str) -> str:
    return " ".join(token_key(title))


@lru_cache(maxsize=4096)
def heading_key(title: str) -> str:
    """Normalised form of a section title, as stored in ``CompiledConfig.headings``."""
    return _heading_key(title)


@lru_cache(maxsize=32)
def load_context_config(path: str | Path = DEFAULT_TRIGGERS_PATH) -> CompiledConfig:
    """Read, validate and compile a trigger file (cached per path: the file is read once).

    Cached on the argument too: query-time snippets ask for the default config many times per
    request, and resolving the path (``realpath`` syscalls) cost more than the context detection.
    """
    return _load_cached(str(Path(path).resolve()))


@lru_cache(maxsize=8)
def _load_cached(path: str) -> CompiledConfig:
    with open(path, encoding="utf-8") as handle:
        raw = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # a safe loader
    return compile_config(ContextConfig.model_validate(raw))
