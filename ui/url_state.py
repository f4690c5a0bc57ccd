"""The search in the portal's URL: a link (or a saved search) reopens the same results.

The query and every filter live in Streamlit's session state under their widget keys; this module
converts them to and from URL query parameters (``?q=...&kinds=report&kinds=image&date_from=...``),
leaving out defaults so links stay short. Pure functions over mappings: no Streamlit import, so the
round trip is unit-tested.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

#: widget key → (type, default). Types: str, list (repeated parameter), date (ISO), bool, int.
SEARCH_FIELDS: dict[str, tuple[str, Any]] = {
    "q": ("str", ""),
    "kinds": ("list", []),
    "patient_id": ("str", ""),
    "date_from": ("date", None),
    "date_to": ("date", None),
    "language": ("str", ""),
    "mode": ("str", "hybrid"),
    "limit": ("int", 10),
    "include_negated": ("bool", False),
    "include_family": ("bool", False),
    "expand": ("bool", True),
    "departments_text": ("str", ""),
    "modalities_text": ("str", ""),
    "group": ("str", "documents"),
}
#: URL parameters that are navigation, not search (kept as they are)
NAVIGATION = ("doc", "patient", "page", "cohort")


def defaults() -> dict[str, Any]:
    """Every search field at its default (lists copied: session state must not share them)."""
    return {key: list(default) if isinstance(default, list) else default for key, (_, default) in SEARCH_FIELDS.items()}


def _parse(kind: str, values: list[str], default: Any) -> Any:
    if kind == "list":
        return [v for v in values if v]
    value = values[-1] if values else ""
    if kind == "str":
        return value
    if kind == "bool":
        return value.lower() in ("1", "true", "oui", "yes")
    if kind == "int":
        try:
            return int(value)
        except ValueError:
            return default
    if kind == "date":
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    raise ValueError(kind)


#: the API's names of the filters (``/search?modalities=MR&departments=Cardiologie``, as the README
#: documents them): a link written by hand with them was opened unfiltered (« modalities » was ignored)
ALIASES = {"modalities_text": "modalities", "departments_text": "departments"}


def from_params(params: Mapping[str, list[str]]) -> dict[str, Any]:
    """Search fields found in URL parameters (``name → all its values``), parsed; others ignored."""
    found: dict[str, Any] = {}
    for key, (kind, default) in SEARCH_FIELDS.items():
        values = [str(v) for v in params.get(key, [])]
        if not values and key in ALIASES:
            values = [", ".join(str(v) for v in params.get(ALIASES[key], []) if str(v).strip())]
            values = values if values[0] else []
        if values:
            found[key] = _parse(kind, values, default)
    return found


def to_params(state: Mapping[str, Any]) -> dict[str, str | list[str]]:
    """URL parameters for the search fields in *state* that differ from their defaults."""
    out: dict[str, str | list[str]] = {}
    for key, (kind, default) in SEARCH_FIELDS.items():
        value = state.get(key, default)
        if value == default or value in (None, "", []):
            continue
        if kind == "list":
            out[key] = [str(v) for v in value]
        elif kind == "bool":
            out[key] = "1" if value else "0"
        elif kind == "date":
            out[key] = value.isoformat() if isinstance(value, date) else str(value)
        else:
            out[key] = str(value)
    return out


def saved_params(state: Mapping[str, Any]) -> dict[str, Any]:
    """What a saved search stores: the URL form of the search (JSON-friendly)."""
    return dict(to_params(state))


def from_saved(params: Mapping[str, Any]) -> dict[str, Any]:
    """Session-state values of a saved search: every field set (defaults for the missing ones)."""
    as_lists = {k: v if isinstance(v, list) else [v] for k, v in params.items() if v is not None}
    return {**defaults(), **from_params({k: [str(x) for x in v] for k, v in as_lists.items()})}
