"""The patient timeline reads in date order, stays and documents outside them interleaved (cardiologist).

Documents outside every known stay were one « Hors séjour connu » group, placed by its latest document:
a patient with letters of 2016 and 2024 outside a 2021 stay read 2024, 2016, then the 2021 stay (31 of
the demo's 200 timelines were out of order). Each run of such documents between two stays is now its
own group, where its dates fall."""

from __future__ import annotations

import datetime as dt

from search_api.patients import TimelineEntry, _ordered_groups

STAY = {"id": "E1", "label": "hospitalisation", "code": "IMP", "start": "2021-01-12", "end": "2021-01-16",
        "reason": None, "unit": "Cardiologie"}


def _entry(doc: str, day: str | None, stay: str | None = None) -> TimelineEntry:
    return TimelineEntry(id=doc, kind="report", title=doc, date=dt.date.fromisoformat(day) if day else None,
                         stay_id=stay, url=f"/documents/{doc}")


def _layout(groups) -> list[tuple[str | None, list[str]]]:  # noqa: ANN001
    return [(g.stay.id if g.stay else None, [e.id for e in g.entries]) for g in groups]


def test_documents_outside_the_stays_fall_where_their_dates_are() -> None:
    groups = {
        None: [_entry("lettre-2016", "2016-10-06"), _entry("undated", None), _entry("lettre-2024", "2024-05-24"),
               _entry("cs-2023", "2023-02-01")],
        "E1": [_entry("ett-2021", "2021-01-12", "E1"), _entry("sortie-2021", "2021-01-16", "E1")],
    }
    assert _layout(_ordered_groups(groups, [STAY])) == [
        (None, ["lettre-2024", "cs-2023"]),
        ("E1", ["sortie-2021", "ett-2021"]),
        (None, ["lettre-2016", "undated"]),  # undated last, as before
    ]


def test_without_stays_one_group_as_before() -> None:
    groups = {None: [_entry("a", "2020-01-01"), _entry("b", "2022-01-01")]}
    assert _layout(_ordered_groups(groups, [])) == [(None, ["b", "a"])]
