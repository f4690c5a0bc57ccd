"""Named saved searches, per user: ``GET/POST /saved-searches``, ``DELETE /saved-searches/{id}``.

A saved search is the query and the filters as the portal puts them in its URL (so opening one is
opening that link); its owner is :func:`search_api.scope.current_user`. Saving under a name the user
already has (case and spacing aside) replaces that search: one entry per name, the new params
(:meth:`search_api.user_data.UserDataStore.add_search`). Saving and deleting are audited (a saved
search may hold a patient's IPP or name); listing is not: it reads only the caller's own bookmarks,
on every portal page, and opening one runs ``/search``, which is.
"""

# No `from __future__ import annotations`: FastAPI must resolve the closures' dependency annotations.
import datetime as dt
from typing import Annotated, Any, get_args

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, Field, ValidationError, field_validator

from indexer.schema import MAX_DATE, MIN_DATE, DocumentKind
from indexer.settings import Settings
from search_api.audit import AuditLog
from search_api.scope import current_user
from search_api.security.identity import client_address
from search_api.user_data import UserDataStore
from search_api.models import MAX_LIMIT, MAX_QUERY_CHARS, RowId, SearchRequest

#: the search fields of the portal's URL (ui/url_state.py SEARCH_FIELDS): what a saved search may hold
SEARCH_PARAMS = frozenset({
    "q", "kinds", "patient_id", "date_from", "date_to", "language", "mode", "limit", "include_negated",
    "include_family", "expand", "departments_text", "modalities_text", "group",
})
MAX_PARAM_CHARS = 200  # any value but q (an IPP, a date, a care unit's name)
MAX_PARAM_ITEMS = 50  # a list's values (document kinds)


class SavedSearchIn(BaseModel):
    name: str = Field(min_length=1, max_length=200, description="Name shown in the user's list")
    params: dict[str, Any] = Field(
        description="Query and filters, as in the portal URL (q, kinds, patient_id, date_from, ...)",
        examples=[{"q": "épanchement pleural", "kinds": ["report"]}],
    )

    @field_validator("name")
    @classmethod
    def _named(cls, name: str) -> str:
        """A name of spaces only was stored as « » (the name is saved with its spacing collapsed): the
        save answered 500 and so did every later ``GET /saved-searches`` of the user, portal included."""
        if not name.strip():
            raise ValueError("le nom de la recherche enregistrée est vide")
        return name

    @field_validator("params")
    @classmethod
    def _search_fields_only(cls, params: dict[str, Any]) -> dict[str, Any]:
        """Checked when saved, not when reopened: a 100 kB query or an unknown field was stored and only
        failed (or was silently dropped) when the user opened it again."""
        unknown = sorted(set(params) - SEARCH_PARAMS)
        if unknown:
            raise ValueError(f"champs inconnus : {', '.join(unknown)} (attendus : {', '.join(sorted(SEARCH_PARAMS))})")
        for key, value in params.items():
            values = value if isinstance(value, list) else [value]
            if len(values) > MAX_PARAM_ITEMS:
                raise ValueError(f"{key} : au plus {MAX_PARAM_ITEMS} valeurs")
            for item in values:
                if item is not None and not isinstance(item, (str, int, float, bool)):
                    raise ValueError(f"{key} : une valeur simple (texte, nombre, booléen) est attendue")
                limit = MAX_QUERY_CHARS if key == "q" else MAX_PARAM_CHARS
                if isinstance(item, str) and len(item) > limit:
                    raise ValueError(f"{key} : trop long ({len(item)} caractères, au plus {limit})")
        _check_filter_values(params)
        return params


#: a filter value the portal could not read back from its URL: passed on so that the model refuses it in its
#: field's turn (the first error is the one reported), never a date the model could read
_UNREADABLE = "unreadable"


def _check_filter_values(params: dict[str, Any]) -> None:
    """The filters a saved search reopens with, checked as ``/search`` checks them. « date_from :
    2023-13-45 » or « kinds : pdf » was stored (201); reopened, the portal dropped the unreadable date
    in silence and ran the search without it, and ``/search`` refused the kind (422).

    One rule: the values are read as the portal reads its URL (``ui/url_state.py``: ISO dates, whole
    numbers), then validated by :class:`SearchRequest` itself (kinds, language, mode, the page size, the
    dates' range and order); only its errors' wording is this module's, in French, first error first."""
    filters: dict[str, Any] = {}
    for key in ("date_from", "date_to"):
        value = params.get(key)
        if value in (None, ""):
            continue
        try:  # the portal's reading (date.fromisoformat): what it cannot read it would drop when reopening
            filters[key] = dt.date.fromisoformat(str(value))
        except ValueError:
            filters[key] = _UNREADABLE  # refused by the model, in its turn
    limit = params.get("limit")  # the portal's URL form sends it as text (« 20 »), read by int()
    if limit not in (None, ""):
        readable = not isinstance(limit, bool) and str(limit).isdigit()
        filters["limit"] = int(limit) if readable else None  # None: refused by the model, in its turn
    kinds = params.get("kinds") or []
    if kinds:
        filters["kinds"] = kinds if isinstance(kinds, list) else [kinds]
    for key in ("language", "mode"):
        if params.get(key) not in (None, ""):
            filters[key] = params[key]
    # the dates (and their order: a model check that runs only when the fields are valid) first, as before
    for keys in (("date_from", "date_to"), tuple(filters)):
        try:
            SearchRequest(q="x", **{k: v for k, v in filters.items() if k in keys})
        except ValidationError as exc:
            error = exc.errors(include_url=False)[0]
            field = str(error["loc"][0]) if error["loc"] else None
            bad = [str(e["input"]) for e in exc.errors() if e["loc"][:1] == ("kinds",)] if field == "kinds" else None
            if field in ("date_from", "date_to") and filters[field] is _UNREADABLE:
                raise ValueError(f"{field} : date invalide « {params[field]} » (attendu : AAAA-MM-JJ)") from None
            raise ValueError(_french_error(field, filters.get(field) if field != "kinds" else bad)) from None


def _allowed(field: str) -> list[str]:
    """The values :class:`SearchRequest` accepts for a Literal field (``language``, ``mode``)."""
    annotation = SearchRequest.model_fields[field].annotation
    literal = next((a for a in (get_args(annotation) or (annotation,)) if get_args(a)), annotation)
    return sorted(str(v) for v in get_args(literal))


def _french_error(field: str | None, value: Any) -> str:
    """The French message of a saved search's filter that :class:`SearchRequest` refuses (shown in the portal)."""
    if field in ("date_from", "date_to"):
        return f"{field} : date hors de la plage {MIN_DATE.isoformat()} .. {MAX_DATE.isoformat()}"
    if field is None:  # the model's own check across fields: the dates' order
        return "date_from doit précéder date_to"
    if field == "kinds":
        return f"kinds : type de document inconnu {', '.join(value)} (attendus : {', '.join(sorted(k.value for k in DocumentKind))})"
    if field in ("language", "mode"):
        return f"{field} : valeur inconnue « {value} » (attendues : {', '.join(_allowed(field))})"
    return f"limit : un entier de 1 à {MAX_LIMIT} est attendu"


class SavedSearch(BaseModel):
    """A stored saved search as listed: not re-checked (a search saved before a check was added must
    not turn the user's whole list into a 500: the list is on every portal page)."""

    name: str = Field(description="Name shown in the user's list")
    params: dict[str, Any] = Field(description="Query and filters, as in the portal URL")
    id: int
    created_at: str


def saved_search_router(settings: Settings, audit: AuditLog, store: UserDataStore | None = None) -> APIRouter:
    router = APIRouter(tags=["saved searches"])
    holder: dict[str, UserDataStore] = {"store": store} if store else {}

    def data() -> UserDataStore:
        if "store" not in holder:
            holder["store"] = UserDataStore(settings.api.user_data)
        return holder["store"]

    @router.get("/saved-searches", response_model=list[SavedSearch])
    def list_saved(who: Annotated[str, Depends(current_user)]) -> list[dict[str, Any]]:
        """The caller's saved searches, oldest first."""
        return data().searches(who)

    @router.post(
        "/saved-searches", response_model=SavedSearch, status_code=201,
        responses={200: {"model": SavedSearch, "description": "Replaced the caller's saved search of the same name"}},
    )
    def save(
        body: SavedSearchIn, response: Response, http: Request, who: Annotated[str, Depends(current_user)]
    ) -> dict[str, Any]:
        """Save the query and filters under a name.

        Saving under a name the caller already uses (case and spacing aside: « EP test » and « ep  TEST »)
        **replaces** that saved search: it keeps its id and place in the list and takes the name as now
        typed and the new query and filters; the answer is then ``200`` instead of ``201``. A user never
        has two saved searches of the same name; another user's of the same name is not touched."""
        params = {k: v for k, v in body.params.items() if v not in (None, "", [], False) or k == "q"}
        if not str(params.get("q") or "").strip():
            raise HTTPException(status_code=422, detail="une recherche enregistrée doit avoir une question (q)")
        saved, replaced = data().add_search(who, " ".join(body.name.split()), params)
        if replaced:
            response.status_code = 200
        audit.record(who, "saved_search_save", search_id=saved["id"], params=params, replaced=replaced,
                     client=client_address(http))
        return saved

    @router.delete("/saved-searches/{search_id}", status_code=204)
    def delete(search_id: RowId, http: Request, who: Annotated[str, Depends(current_user)]) -> None:
        """Delete one of the caller's saved searches (404 for anyone else's)."""
        if not data().delete_search(who, search_id):
            raise HTTPException(status_code=404, detail=f"aucune recherche enregistrée n° {search_id}")
        audit.record(who, "saved_search_delete", search_id=search_id, client=client_address(http))

    return router
