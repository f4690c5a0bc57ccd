"""The researchers' de-identification, on the text shapes the corpus has (letters, signatures,
snippets, DICOM names) and the ones it may have (phones, e-mails, NIR, addresses)."""

from __future__ import annotations

import datetime as dt
import re

from search_api.security.deid import MASK_NAME, Deidentifier, dicom_name_parts, names_in

KEY = b"k" * 32
PID = "P000001"


def _deid(**kw) -> Deidentifier:  # noqa: ANN003
    names = dicom_name_parts("BONNET^DENIS") | names_in("Signé Dr Agathe Mathieu.")
    return Deidentifier(KEY, [PID, "P000002"], names, **kw)


def test_letter_names_birth_date_and_stay_dates() -> None:
    d = _deid()
    text = ("Votre patient M. BONNET Denis, né le 23/08/1945, a été hospitalisé dans le service de Cardiologie "
            "du 22/10/2021 au 28/10/2021. Electronically signed by Dr Agathe Mathieu, radiologist.")
    out = d.text(text, PID)
    for leaked in ("BONNET", "Denis", "23/08/1945", "Agathe", "Mathieu", "22/10/2021"):
        assert leaked not in out, (leaked, out)
    assert f"M. {MASK_NAME}" in out and f"Dr {MASK_NAME}" in out and "Cardiologie" in out
    stay = [dt.datetime.strptime(s, "%d/%m/%Y").date() for s in re.findall(r"\d{2}/\d{2}/\d{4}", out)][1:]
    assert (stay[1] - stay[0]).days == 6  # one offset per patient: intervals are kept


def test_english_letter_iso_dates_and_compact_dicom_dates() -> None:
    d = _deid()
    out = d.text("Mr Denis BONNET, born 1945-08-23, was admitted on 2021-10-22. Study 20211022.", PID)
    assert "BONNET" not in out and "1945-08-23" not in out and "2021-10-22" not in out and "20211022" not in out
    shifted = dt.date(2021, 10, 22) + dt.timedelta(days=d.offset(PID))
    assert shifted.isoformat() in out and shifted.strftime("%Y%m%d") in out


def test_contacts_identifiers_and_addresses() -> None:
    d = _deid()
    out = d.text("Tél : 06 12 34 56 78, +33 4 72 11 22 33, mail jean.dupont@chu-lyon.fr, NIR 1 45 08 69 123 456 78, "
                 "domicile 12 rue de la République, 69002 Lyon. IPP : P000001.", PID)
    for leaked in ("06 12 34 56 78", "72 11 22 33", "jean.dupont", "123 456", "République", "69002", "P000001"):
        assert leaked not in out, (leaked, out)
    assert d.pseudonym(PID) in out


def test_known_names_masked_outside_honorifics_but_medical_words_kept() -> None:
    d = _deid()
    assert d.text("Patient BONNET revu en consultation.", PID) == f"Patient {MASK_NAME} revu en consultation."
    kept = "Petit épanchement pleural droit. IRM cérébrale, TDM thoracique, BPCO."
    assert d.text(kept, PID) == kept
    assert d.text("Denis Bonnet", PID) == f"{MASK_NAME} {MASK_NAME}"


def test_html_snippet_keeps_tags_and_masks_names_split_by_them() -> None:
    d = _deid()
    out = d.html("Votre patient M. <mark>BONNET</mark> Denis, <mark>épanchement</mark> pleural", PID)
    assert "BONNET" not in out and "Denis" not in out and "<mark>épanchement</mark>" in out


def test_pseudonyms_are_stable_keyed_and_reversible_inside_the_api() -> None:
    d = _deid()
    pseudo = d.pseudonym(PID)
    assert pseudo == d.pseudonym("p000001") and pseudo != Deidentifier(b"x" * 32, [PID]).pseudonym(PID)
    assert d.real_patient(pseudo) == PID and d.real_patient("PSN-000000000000") is None
    assert d.doc_id("record:P000001", PID) == f"record:{pseudo}" and d.real_doc_id(f"record:{pseudo}") == "record:P000001"
    assert d.offset(PID) != 0 and d.offset(PID) == d.offset(PID) and abs(d.offset(PID)) <= 365
    assert len({d.offset(f"P{i:06d}") for i in range(50)}) > 10


def test_month_mode_and_documents_without_patient() -> None:
    d = _deid(dates="month")
    assert d.text("né le 23/08/1945", PID) == "né le 08/1945"
    assert d.date(dt.date(1945, 8, 23), PID) == dt.date(1945, 8, 1)
    assert d.text("Dr Agathe Mathieu et al., 2021-10-22", None) == "Dr Agathe Mathieu et al., 2021-10-22"  # an article


def test_researcher_queries_cannot_probe_names_or_ipps() -> None:
    d = _deid()
    assert d.query("BONNET épanchement") == "épanchement"
    assert "P000001" not in d.query("P000001 scanner")
    assert "BONNET" not in d.query("BONNET") and "Denis" not in d.query("M. Denis BONNET")


def test_series_members_uids_and_files_are_dropped_for_researchers() -> None:
    """An image series' ``series_instances`` (SOP Instance UIDs) and ``series_files`` (absolute paths of the
    export: /exports/DUPONT_Jean/...) reached researchers; only its description stays."""
    metadata = {
        "format": "dicom", "rows": 64, "sop_uid": "1.2.3.4", "source_path": "/exports/BONNET_DENIS/IM1",
        "series_instances": ["1.3.6.1.4.1.5962.1.1.4.1.20040826185059.5457"],
        "series_files": ["/exports/BONNET_DENIS/IM1", "/exports/BONNET_DENIS/IM2"],
    }
    assert _deid().value(metadata, PID) == {"format": "dicom", "rows": 64}


def test_duplicate_sources_are_dropped_for_researchers() -> None:
    """A document found in several export folders lists the other files' absolute paths
    (indexer/sources/duplicates.py), patient folder names included: never shown de-identified."""
    metadata = {"report_type": "CR", "duplicate_sources": ["/exports/rattrapage/BONNET_DENIS/CR_123.txt"]}
    assert _deid().value(metadata, PID) == {"report_type": "CR"}
