"""Clinical report rendering: radiology reports, operative reports and discharge letters (FR/EN).

Each renderer turns one planned event (:mod:`indexer.demo.model`) into a header (``Key : value``
pairs) and titled sections, recording every concept statement in a :class:`Mentions`. Randomness comes
from an RNG seeded by the document id, so one document's wording does not depend on the others.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from indexer.demo import vocabulary as V
from indexer.demo.model import (
    AFFIRMED,
    CONTROL,
    DIAGNOSIS,
    FAMILY,
    FOLLOWUP,
    HYPOTHETICAL,
    NEGATED,
    RULEOUT,
    WORKUP,
    Encounter,
    Exam,
    Finding,
    Operation,
    Patient,
    ReportDoc,
)
from indexer.demo.text import (
    Mentions,
    cap,
    concept_context,
    de,
    exam_definite_fr,
    fill,
    fr_date,
    fr_number,
    lower_first,
    patient_context,
)


@dataclass
class RenderedReport:
    """A report ready to be written in any file format."""

    header: list[tuple[str, str]]
    sections: list[tuple[str, list[str]]]  # (heading without colon, lines); "" = text before any heading
    mentions: Mentions = field(default_factory=Mentions)
    upper_headings: bool = True
    language: str = "fr"


def doc_rng(seed: int, doc_id: str, part: str = "") -> random.Random:
    """Independent RNG for one document (or one part of it, e.g. the conclusion reused in a letter)."""
    return random.Random(f"medsearch-demo:{seed}:{doc_id}:{part}")


def doctor(rng: random.Random) -> str:
    first = rng.choice(V.FIRST_NAMES_F + V.FIRST_NAMES_M)
    return f"Dr {first} {rng.choice(V.LAST_NAMES)}"


def _pick(rng: random.Random, options: Any, modality: str) -> str:
    """Choose a template from a tuple, or from a dict keyed by modality ("*" = any)."""
    if isinstance(options, dict):
        options = options.get(modality) or options.get("*") or next(iter(options.values()))
    return rng.choice(options)


def narrative_context(
    patient: Patient,
    lang: str,
    rng: random.Random,
    params: dict[str, Any] | None = None,
    labs: dict[str, float] | None = None,
) -> dict[str, Any]:
    """Numbers and agreement forms for free-text templates (consistent with the FHIR lab values)."""
    labs = labs or {}
    decimal = (lambda v, d: fr_number(v, d)) if lang == "fr" else (lambda v, d: f"{v:.{d}f}")
    nihss = rng.randint(4, 18)
    drug = rng.choice(V.HTA_DRUGS)
    ctx: dict[str, Any] = dict(params or {})
    ctx.update(patient_context(patient.sex, lang))
    ctx.update(
        {
            "days": rng.randint(2, 10),
            "kg": rng.randint(2, 8),
            "nihss": nihss,
            "nihss_out": rng.randint(0, nihss - 2),
            "score": rng.randint(2, 5),
            "ml": rng.randrange(600, 1550, 50),
            "pa": patient.pack_years or rng.randint(15, 40),
            "walk": rng.randrange(100, 550, 50),
            "years": rng.randint(2, 15),
            "gold": rng.randint(1, 3),
            "contrast": rng.randrange(60, 110, 10),
            "dlp": rng.randint(150, 600),
            "head": rng.randrange(42, 54, 2),
            "temp": decimal(labs.get("temp", rng.uniform(38.2, 39.4)), 1),
            "hba1c": decimal(labs.get("hba1c", rng.uniform(6.8, 8.9)), 1),
            "drug": drug[0],
            "drug_en": drug[1],
            "gp": rng.choice(V.LAST_NAMES),
        }
    )
    ctx.setdefault("lvef", rng.randint(25, 40))
    ctx.setdefault("lvef_n", rng.randint(56, 68))
    return ctx


def _heading(title: str, upper: bool) -> str:
    return title.upper() if upper else title


# --------------------------------------------------------------------------------------------------
# Concept sentences
# --------------------------------------------------------------------------------------------------


def concept_sentence(
    finding: Finding, lang: str, part: str, modality: str, rng: random.Random, mentions: Mentions, control: bool = False
) -> str:
    """One sentence stating ``finding`` with its status; ``part`` is "found" (results) or "concl"."""
    phrases = dict(V.RADIOLOGY_PHRASES.get(finding.concept, {}).get(lang, {}))
    if control and "neg_control" in phrases:
        phrases["neg"] = phrases["neg_control"]
    ctx = {**finding.params, **concept_context(finding.concept, lang, rng)}
    if finding.status == AFFIRMED and part in phrases:
        template = _pick(rng, phrases[part], modality)
    elif finding.status == AFFIRMED:
        template = "{Name}."
    elif finding.status == NEGATED:
        generic = V.NEGATION_FR if lang == "fr" else V.NEGATION_EN
        template = (
            _pick(rng, phrases["neg"], modality) if "neg" in phrases and rng.random() < 0.7 else rng.choice(generic)
        )
    else:
        template = rng.choice(V.HYPOTHESIS_FR if lang == "fr" else V.HYPOTHESIS_EN)
    mentions.add(finding.concept, finding.status)
    return fill(template, ctx)


def _header(
    doc: ReportDoc, service: tuple[str, str], type_: str, title: str, accession: str | None
) -> list[tuple[str, str]]:
    """The ``Key : value`` header block, with the exact French or English key names."""
    if doc.language == "fr":
        rows = [
            ("Établissement", V.HOSPITAL),
            ("Service", service[0]),
            ("IPP", doc.patient.ipp),
            ("Date", fr_date(doc.day)),
        ]
        if accession:
            rows.append(("N° d'examen", accession))
        return rows + [("Type", type_), ("Titre", title)]
    rows = [
        ("Institution", V.HOSPITAL),
        ("Department", service[1]),
        ("Patient ID", doc.patient.ipp),
        ("Date", doc.day.isoformat()),
    ]
    if accession:
        rows.append(("Accession", accession))
    return rows + [("Type", type_), ("Title", title)]


def exam_service(exam: Exam) -> tuple[str, str]:
    if exam.code == "echo_heart":
        return V.CARDIO_IMAGING_SERVICE
    if exam.type.modality == "MR" and exam.type.body_part in {"HEAD", "SPINE"}:
        return V.NEURORADIOLOGY_SERVICE
    return V.RADIOLOGY_SERVICE


def exam_title(exam: Exam, lang: str) -> str:
    return exam.type.title_fr if lang == "fr" else exam.type.title_en


# --------------------------------------------------------------------------------------------------
# Radiology
# --------------------------------------------------------------------------------------------------


def _indication(exam: Exam, lang: str, rng: random.Random, mentions: Mentions) -> list[str]:
    patient = exam.patient
    age = patient.age_at(exam.when.date())
    pctx = patient_context(patient.sex, lang)
    lines = [f"{pctx['Patient']} de {age} ans." if lang == "fr" else f"{age}-year-old {pctx['man']}."]
    enc = exam.encounter
    if enc is not None and exam.purpose in (DIAGNOSIS, RULEOUT, WORKUP):
        clinical = V.CLINICAL[enc.concept]
        ctx = narrative_context(patient, lang, rng, enc.problem.params, enc.labs)
        lines[0] += " " + fill(rng.choice(clinical[f"symptom_{lang}"]), ctx) + "."
    tctx = concept_context(exam.target, lang, rng)
    fr = lang == "fr"
    if exam.purpose in (DIAGNOSIS, RULEOUT):
        lines.append(fill(rng.choice(V.INDICATION_TARGET_FR if fr else V.INDICATION_TARGET_EN), tctx))
        mentions.add(exam.target, HYPOTHETICAL)
    elif exam.purpose == WORKUP:
        lines.append(fill("Bilan d'{un} connu{e}." if fr else "Work-up of known {name}.", tctx))
        mentions.add(exam.target, AFFIRMED)
    elif exam.purpose == FOLLOWUP:
        lines.append(fill(rng.choice(V.FOLLOWUP_INDICATION_FR if fr else V.FOLLOWUP_INDICATION_EN), tctx))
        mentions.add(exam.target, AFFIRMED)
    else:  # CONTROL: the concept belongs to the past; the conclusion gives this report's status
        lines.append(fill(rng.choice(V.CONTROL_INDICATION_FR if fr else V.CONTROL_INDICATION_EN), tctx))
    return lines


def _is_control(exam: Exam, finding: Finding) -> bool:
    return exam.purpose == CONTROL and finding.concept == exam.target


def _results(exam: Exam, lang: str, rng: random.Random, ctx: dict[str, Any], mentions: Mentions) -> list[str]:
    modality = exam.type.modality
    lines = [concept_sentence(f, lang, "found", modality, rng, mentions, _is_control(exam, f)) for f in exam.findings]
    if exam.purpose == FOLLOWUP:
        lines.insert(
            1, "Stabilité par rapport à l'examen précédent." if lang == "fr" else "Stable compared with the prior exam."
        )
    present = {f.concept for f in exam.findings if f.status != NEGATED}
    normal = [
        text
        for text, contradicts in (exam.type.normal_fr if lang == "fr" else exam.type.normal_en)
        if not present & set(contradicts)
    ]
    for text in rng.sample(normal, min(len(normal), rng.randint(1, 3))):
        lines.insert(rng.randint(0, len(lines)), fill(text, ctx))
    return lines


def exam_conclusion(exam: Exam, lang: str, seed: int, mentions: Mentions) -> list[str]:
    """Conclusion lines, reproducible per (exam, language) so a letter can quote them verbatim."""
    rng = doc_rng(seed, exam.report_id or exam.accession, f"conclusion-{lang}")
    modality = exam.type.modality
    lines: list[str] = []
    for finding in exam.findings:
        definite = finding.status != NEGATED or finding.concept == exam.target
        if definite or rng.random() < 0.4:
            lines.append(concept_sentence(finding, lang, "concl", modality, rng, mentions, _is_control(exam, finding)))
    if not any(f.status != NEGATED for f in exam.findings):
        lines.insert(0, "Examen sans anomalie significative." if lang == "fr" else "No significant abnormality.")
    return lines


def render_radiology(doc: ReportDoc, seed: int) -> RenderedReport:
    exam: Exam = doc.subject  # type: ignore[assignment]
    lang, rng = doc.language, doc_rng(seed, doc.id)
    fr = lang == "fr"
    type_ = "Compte rendu de radiologie" if fr else "Radiology report"
    if exam.code == "echo_heart":
        type_ = "Compte rendu d'échographie cardiaque" if fr else "Echocardiography report"
    report = RenderedReport(
        _header(doc, exam_service(exam), type_, exam_title(exam, lang), exam.accession),
        [],
        upper_headings=rng.random() < 0.6,
        language=lang,
    )
    m = report.mentions
    ctx = narrative_context(exam.patient, lang, rng, exam.findings[0].params if exam.findings else None)
    report.sections.append(("Indication", _indication(exam, lang, rng, m)))
    report.sections.append(
        ("Technique", [fill(rng.choice(exam.type.technique_fr if fr else exam.type.technique_en), ctx)])
    )
    if exam.purpose in (FOLLOWUP, CONTROL) or rng.random() < 0.4:
        previous = [e for e in exam.patient.exams if e.code == exam.code and e.when < exam.when]
        if previous or exam.purpose == FOLLOWUP:  # a follow-up always has a reference exam
            day = previous[-1].when.date() if previous else exam.when.date() - timedelta(days=rng.randint(90, 200))
            text = f"Examen du {fr_date(day)}." if fr else f"Prior exam of {day.isoformat()}."
        else:
            text = "Pas d'examen antérieur disponible." if fr else "No prior imaging available."
        report.sections.append(("Comparaison" if fr else "Comparison", [text]))
    report.sections.append(("Résultats" if fr else "Findings", _results(exam, lang, rng, ctx, m)))
    conclusion = exam_conclusion(exam, lang, seed, m)
    signer = doctor(rng)
    conclusion.append(f"{signer}, radiologue." if fr else f"Electronically signed by {signer}, radiologist.")
    report.sections.append(("Conclusion" if fr else "Impression", conclusion))
    return report


# --------------------------------------------------------------------------------------------------
# Operative reports
# --------------------------------------------------------------------------------------------------

_ANESTHESIA = {
    "hip_arthroplasty": ("Rachianesthésie.", "Spinal anaesthesia."),
    "coronary_angioplasty": ("Anesthésie locale.", "Local anaesthesia."),
    "shoulder_reduction": ("Anesthésie générale brève.", "Brief general anaesthesia."),
}
_PROCEDURE_NEGATES = {"lobectomy": "pleural_effusion", "pleurodesis": "pleural_effusion"}


def render_operative(doc: ReportDoc, seed: int) -> RenderedReport:
    op: Operation = doc.subject  # type: ignore[assignment]
    enc, patient = op.encounter, doc.patient
    lang, rng = doc.language, doc_rng(seed, doc.id)
    fr = lang == "fr"
    proc = V.PROCEDURES[op.procedure]
    ctx = narrative_context(patient, lang, rng, enc.problem.params, enc.labs)
    title = fill(str(proc[f"title_{lang}"]), ctx)
    service = V.SERVICES[str(proc["service"])]
    report = RenderedReport(
        _header(doc, service, "Compte rendu opératoire" if fr else "Operative report", title, None),
        [],
        upper_headings=rng.random() < 0.7,
        language=lang,
    )
    m = report.mentions
    team = (
        f"Opérateur : {doctor(rng)}. Aide : {doctor(rng)}. Anesthésiste : {doctor(rng)}."
        if fr
        else f"Surgeon: {doctor(rng)}. Assistant: {doctor(rng)}. Anaesthetist: {doctor(rng)}."
    )
    report.sections.append(("", [team]))
    age = patient.age_at(doc.day)
    symptom = fill(rng.choice(V.CLINICAL[op.concept][f"symptom_{lang}"]), ctx)
    intro = (
        f"{ctx['Patient']} de {age} ans, {lower_first(symptom)}."
        if fr
        else f"{age}-year-old {ctx['man']} with {lower_first(symptom)}."
    )
    diagnosis = concept_sentence(Finding(op.concept, AFFIRMED, enc.problem.params), lang, "concl", "*", rng, m)
    report.sections.append(("Indication opératoire" if fr else "Indication", [intro, diagnosis]))
    anesthesia = _ANESTHESIA.get(op.procedure, ("Anesthésie générale.", "General anaesthesia."))
    report.sections.append(("Anesthésie" if fr else "Anaesthesia", [anesthesia[0] if fr else anesthesia[1]]))
    report.sections.append(("Installation" if fr else "Positioning", [fill(str(proc[f"install_{lang}"]), ctx)]))
    steps = [fill(s, ctx) for s in proc[f"steps_{lang}"]]  # type: ignore[union-attr]
    negated = _PROCEDURE_NEGATES.get(op.procedure)
    if negated and negated not in patient.concepts:
        steps.insert(1, concept_sentence(Finding(negated, NEGATED, {}), lang, "found", "*", rng, m))
    steps.append("Pas de complication peropératoire." if fr else "No intraoperative complication.")
    report.sections.append(("Description de l'intervention" if fr else "Procedure", steps))
    report.sections.append(("Suites" if fr else "Postoperative course", [fill(str(proc[f"suites_{lang}"]), ctx)]))
    return report


# --------------------------------------------------------------------------------------------------
# Discharge letters
# --------------------------------------------------------------------------------------------------


def _history(enc: Encounter, lang: str, rng: random.Random, ctx: dict[str, Any], m: Mentions) -> list[str]:
    """Past history: earlier problems (affirmed), denied comorbidities (negated), lifestyle."""
    patient = enc.patient
    fr = lang == "fr"
    lines = []
    templates = V.HISTORY_FR if fr else V.HISTORY_EN
    for problem in patient.problems:
        if problem is enc.problem or problem.onset >= enc.start.date():
            continue
        if problem.concept in templates:
            text = fill(rng.choice(templates[problem.concept]), {**ctx, **problem.params})
        else:
            name = V.CONCEPTS[problem.concept].fr if fr else V.CONCEPTS[problem.concept].en
            text = f"{cap(name)} ({problem.onset.year})"
        lines.append(f"- {text}")
        m.add(problem.concept, AFFIRMED)
    candidates = [c for c in V.DENIABLE_HISTORY if c not in patient.concepts]
    for concept in rng.sample(candidates, min(len(candidates), rng.randint(0, 2))):
        cctx = concept_context(concept, lang, rng, synonym_rate=0.5)
        lines.append("- " + fill(rng.choice(V.DENY_HISTORY_FR if fr else V.DENY_HISTORY_EN), cctx))
        m.add(concept, NEGATED)
    if not lines:
        lines.append("Pas d'antécédent médico-chirurgical notable." if fr else "No significant past medical history.")
    lines.append(fill((V.SMOKING_FR if fr else V.SMOKING_EN)[patient.smoking], ctx))
    lines.append(fill((V.ALLERGY_FR if fr else V.ALLERGY_EN)[min(patient.allergy, 1 if not fr else 2)], ctx))
    return lines


def _family(patient: Patient, lang: str, rng: random.Random, m: Mentions) -> list[str]:
    """Family history, either on one line or one relative per line (both styles exist in real letters)."""
    fr = lang == "fr"
    if not patient.family_history:
        return [rng.choice(V.NO_FAMILY_FR if fr else V.NO_FAMILY_EN)]
    parts = []
    for relative, concept, age in patient.family_history:
        rel_fr, agree, rel_en = V.RELATIVES[relative]
        ctx = {
            **concept_context(concept, lang, rng, synonym_rate=0.2),
            "rel": rel_fr if fr else rel_en,
            "e": agree,
            "age": age,
        }
        templates = V.FAMILY_FR if fr else V.FAMILY_EN
        if concept not in V.FAMILY_FATAL:  # nobody « died of » hypertension in a letter
            templates = templates[1:]
        parts.append(rng.choice(templates).format_map(ctx))
        m.add(concept, FAMILY, rel_en)
    if rng.random() < 0.5:
        return [cap(p) + "." for p in parts]
    return [cap(" ; ".join(parts) if fr else "; ".join(parts)) + "."]


_LAB_LABELS_EN = {
    "crp": "CRP",
    "wbc": "WBC",
    "hb": "hemoglobin",
    "creatinine": "creatinine",
    "troponin": "hs-troponin I",
    "ddimer": "D-dimer",
    "ntprobnp": "NT-proBNP",
    "hba1c": "HbA1c",
    "glucose": "glucose",
}


def _labs_line(labs: dict[str, float], lang: str) -> str:
    fr = lang == "fr"
    parts = []
    for key, label_en in _LAB_LABELS_EN.items():
        if key not in labs:
            continue
        test = V.LAB_TESTS[key]
        value = fr_number(labs[key], test.decimals) if fr else f"{labs[key]:.{test.decimals}f}"
        unit = (" %" if fr else "%") if test.unit == "%" else f" {test.unit}"
        parts.append(f"{lower_first(test.label_fr) if fr else label_en} {value}{unit}")
    return cap(("Biologie : " if fr else "Laboratory: ") + ", ".join(parts) + ".")


def _vitals_line(labs: dict[str, float], lang: str) -> str:
    temp = fr_number(labs["temp"], 1) if lang == "fr" else f"{labs['temp']:.1f}"
    if lang == "fr":
        return (
            f"TA {labs['sbp']:.0f}/{labs['dbp']:.0f} mmHg, FC {labs['hr']:.0f}/min, SpO2 {labs['spo2']:.0f} % "
            f"en air ambiant, température {temp} °C."
        )
    return (
        f"BP {labs['sbp']:.0f}/{labs['dbp']:.0f} mmHg, HR {labs['hr']:.0f}/min, SpO2 {labs['spo2']:.0f}% on room air, "
        f"temperature {temp} °C."
    )


def _exam_summaries(enc: Encounter, lang: str, seed: int, m: Mentions) -> list[str]:
    lines = []
    for exam in enc.exams:
        conclusion = exam_conclusion(exam, lang, seed, m)
        day = fr_date(exam.when.date()) if lang == "fr" else exam.when.date().isoformat()
        joiner = " du " if lang == "fr" else " on "
        lines.append(
            f"{exam_title(exam, lang)}{joiner}{day} : {' '.join(conclusion)}"
            if lang == "fr"
            else f"{exam_title(exam, lang)}{joiner}{day}: {' '.join(conclusion)}"
        )
    return lines


def _discharge_treatment(enc: Encounter, lang: str) -> list[str]:
    index = 0 if lang == "fr" else 1
    drugs = [d[index] for d in V.TREATMENTS.get(enc.concept, ())]
    for problem in enc.patient.problems:
        if problem is not enc.problem and problem.onset < enc.start.date() and V.TREATMENTS.get(problem.concept):
            drug = V.TREATMENTS[problem.concept][0][index]
            if drug not in drugs:
                drugs.append(drug)
    if not drugs:
        return ["Pas de modification du traitement habituel." if lang == "fr" else "No change to usual medication."]
    return [f"- {d}" for d in drugs]


_STORY_FR = ("Tableau {de_s}.", "Admis{e} par les urgences pour {s}.", "{Il} consulte aux urgences pour {s}.")


def render_letter(doc: ReportDoc, seed: int) -> RenderedReport:
    enc: Encounter = doc.subject  # type: ignore[assignment]
    patient, lang, rng = doc.patient, doc.language, doc_rng(seed, doc.id)
    fr = lang == "fr"
    service = V.SERVICES[enc.specialty]
    type_ = rng.choice(
        ["Lettre de sortie", "Compte rendu d'hospitalisation"] if fr else ["Discharge summary", "Discharge letter"]
    )
    title = f"{type_} - {service[0] if fr else service[1]}"
    report = RenderedReport(
        _header(doc, service, type_, title, None), [], upper_headings=rng.random() < 0.6, language=lang
    )
    m = report.mentions
    ctx = narrative_context(patient, lang, rng, enc.problem.params, enc.labs)
    clinical = V.CLINICAL[enc.concept]
    start, end = enc.start.date(), enc.end.date()
    if fr:
        intro = (
            f"Votre patient{ctx['e']} {ctx['civ']} {patient.family_name.upper()} {patient.given}, "
            f"né{ctx['e']} le {fr_date(patient.birth)}, a été hospitalisé{ctx['e']} dans le service de "
            f"{service[0]} du {fr_date(start)} au {fr_date(end)}."
        )
        opening = rng.choice(V.LETTER_OPENINGS_FR)
    else:
        intro = (
            f"{ctx['civ']} {patient.given} {patient.family_name.upper()}, born {patient.birth.isoformat()}, "
            f"was admitted to the {service[1]} department from {start.isoformat()} to {end.isoformat()}."
        )
        opening = rng.choice(V.LETTER_OPENINGS_EN).format_map(ctx)
    report.sections.append(("", [opening, intro]))
    report.sections.append(
        (
            "Motif d'hospitalisation" if fr else "Reason for admission",
            [fill(rng.choice(clinical[f"motif_{lang}"]), ctx) + "."],
        )
    )
    m.add(enc.concept, AFFIRMED)  # the motif may name the problem; the diagnosis below affirms it anyway
    report.sections.append(("Antécédents" if fr else "Past medical history", _history(enc, lang, rng, ctx, m)))
    report.sections.append(("Antécédents familiaux" if fr else "Family history", _family(patient, lang, rng, m)))
    symptom = rng.choice(clinical[f"symptom_{lang}"]).format_map(ctx)
    if fr:
        story = [fill(rng.choice(_STORY_FR), {**ctx, "de_s": de(symptom), "s": symptom})]
    else:
        story = [f"{ctx['He']} presented with {symptom}."]
    if rng.random() < 0.5:
        cctx = concept_context(enc.concept, lang, rng)
        story.append(fill(rng.choice(V.SUSPECTED_LETTER_FR if fr else V.SUSPECTED_LETTER_EN), cctx))
        m.add(enc.concept, HYPOTHETICAL)
    report.sections.append(("Histoire de la maladie" if fr else "History of present illness", story))
    exam_lines = [_vitals_line(enc.labs, lang), fill(rng.choice(clinical[f"exam_{lang}"]), ctx)]
    if "heart_failure" not in patient.concepts and rng.random() < 0.35:
        cctx = concept_context("heart_failure", lang, rng, synonym_rate=0)
        exam_lines.append(fill("Pas de signe clinique {de}." if fr else "No clinical signs of {name}.", cctx))
        m.add("heart_failure", NEGATED)
    report.sections.append(("Examen clinique" if fr else "Physical examination", exam_lines))
    report.sections.append(
        (
            "Examens complémentaires" if fr else "Investigations",
            [_labs_line(enc.labs, lang)] + _exam_summaries(enc, lang, seed, m),
        )
    )
    course = [fill(rng.choice(clinical[f"evol_{lang}"]), ctx)]
    for exam in enc.ruled_out:
        cctx = concept_context(exam.target, lang, rng)
        title = exam_definite_fr(exam.type.title_fr) if fr else lower_first(exam.type.title_en)
        cctx.update({"exam_def": title, "Exam_def": cap(title), "exam": title})
        course.append(fill(rng.choice(V.RULEOUT_LETTER_FR if fr else V.RULEOUT_LETTER_EN), cctx))
        m.add(exam.target, NEGATED)
    if enc.operation is not None:
        proc = V.PROCEDURES[enc.operation.procedure]
        when = fr_date(enc.operation.when.date()) if fr else enc.operation.when.date().isoformat()
        course.append(
            f"Intervention le {when} : {lower_first(fill(str(proc['title_fr']), ctx))}."
            if fr
            else f"Procedure on {when}: {lower_first(fill(str(proc['title_en']), ctx))}."
        )
    report.sections.append(("Évolution" if fr else "Hospital course", course))
    cctx = concept_context(enc.concept, lang, rng, synonym_rate=0.2)
    diagnosis = [fill("{Name}.", cctx)]
    comorbid = [p.concept for p in patient.problems if p is not enc.problem and p.onset < start]
    if comorbid:
        names = ", ".join(concept_context(c, lang, rng)["name"] for c in comorbid)
        diagnosis.append(f"Comorbidités : {names}." if fr else f"Comorbidities: {names}.")
    report.sections.append(("Diagnostic de sortie" if fr else "Discharge diagnosis", diagnosis))
    report.sections.append(("Traitement de sortie" if fr else "Discharge medications", _discharge_treatment(enc, lang)))
    months = rng.choice([1, 3, 6])
    follow = (
        f"Consultation de suivi dans le service dans {months} mois."
        if fr
        else f"Follow-up clinic appointment in {months} month{'s' if months > 1 else ''}."
    )
    closing = fill(rng.choice(V.LETTER_CLOSINGS_FR), ctx) if fr else rng.choice(V.LETTER_CLOSINGS_EN)
    report.sections.append(
        ("Suivi" if fr else "Follow-up", [follow, closing, f"{doctor(rng)}, {service[0] if fr else service[1]}"])
    )
    return report


RENDERERS = {"radiology": render_radiology, "operative": render_operative, "letter": render_letter}


def render_report(doc: ReportDoc, seed: int) -> RenderedReport:
    return RENDERERS[doc.kind](doc, seed)
