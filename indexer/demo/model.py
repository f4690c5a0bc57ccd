"""Cohort planning: patients, stays, exams, operations and the documents they produce.

Everything clinical is decided here, *before* any text, image or FHIR resource is written, so the
renderers only describe an already-consistent story: a radiology report, its DICOM images, the
discharge letter and the patient's FHIR bundle all agree on the side of an effusion, the date of
an exam and its accession number. Only a seeded :class:`random.Random` is used, consumed in a fixed
order, which makes the plan (and therefore every output file) reproducible from the seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from indexer.demo import vocabulary as V

START = date(2019, 1, 7)
END = date(2024, 9, 30)  # last admission; follow-up exams may run until the end of 2024
LAST_DAY = date(2024, 12, 20)

AFFIRMED, NEGATED, HYPOTHETICAL, FAMILY = "affirmed", "negated", "hypothetical", "family"

LENGTH_OF_STAY: dict[str, tuple[int, int]] = {
    "appendicitis": (1, 3),
    "cholecystitis": (2, 5),
    "shoulder_dislocation": (0, 1),
    "pneumothorax": (3, 7),
    "femoral_neck_fracture": (6, 14),
    "ischemic_stroke": (5, 12),
    "subarachnoid_hemorrhage": (12, 21),
    "lung_nodule": (1, 2),
    "herniated_disc": (2, 4),
    "knee_osteoarthritis": (4, 7),
}
# Exam purposes: what the indication says and how the target concept is concluded.
DIAGNOSIS, WORKUP, RULEOUT, FOLLOWUP, CONTROL = "diagnosis", "workup", "ruleout", "followup", "control"


@dataclass
class Finding:
    """One concept as an exam concludes it, with the parameters (side, size...) it is drawn/written with."""

    concept: str
    status: str
    params: dict[str, Any]


@dataclass
class Problem:
    """A clinical problem of the patient (becomes a FHIR Condition)."""

    concept: str
    onset: date
    params: dict[str, Any]
    resolved: bool = False


@dataclass
class Exam:
    """One imaging procedure; it produces one radiology report and possibly DICOM images."""

    code: str
    accession: str
    when: datetime
    patient: Patient
    target: str
    purpose: str
    findings: list[Finding]
    encounter: Encounter | None = None
    report_id: str = ""
    image_ids: list[str] = field(default_factory=list)

    @property
    def type(self) -> V.ExamType:
        return V.EXAMS[self.code]

    def finding(self, concept: str) -> Finding | None:
        return next((f for f in self.findings if f.concept == concept), None)


@dataclass
class Operation:
    """A surgical or interventional procedure; it produces one operative report."""

    procedure: str
    when: datetime
    concept: str
    encounter: Encounter
    report_id: str = ""


@dataclass
class Encounter:
    """A hospital stay driven by one problem (FHIR Encounter + discharge letter)."""

    id: str
    nda: str
    patient: Patient
    problem: Problem
    start: datetime
    end: datetime
    specialty: str
    labs: dict[str, float] = field(default_factory=dict)
    exams: list[Exam] = field(default_factory=list)
    operation: Operation | None = None
    letter_id: str = ""

    @property
    def concept(self) -> str:
        return self.problem.concept

    @property
    def ruled_out(self) -> list[Exam]:
        return [e for e in self.exams if e.purpose == RULEOUT]


@dataclass
class Patient:
    """A fictional patient and everything that happened to them in the demo hospital."""

    ipp: str
    sex: str  # "F" or "M"
    given: str
    family_name: str
    birth: date
    problems: list[Problem] = field(default_factory=list)
    encounters: list[Encounter] = field(default_factory=list)
    outpatient_exams: list[Exam] = field(default_factory=list)
    family_history: list[tuple[int, str, int]] = field(default_factory=list)  # (relative index, concept, age)
    smoking: int = 2  # index into vocabulary.SMOKING_*
    pack_years: int = 0
    allergy: int = 0

    @property
    def concepts(self) -> set[str]:
        return {p.concept for p in self.problems}

    @property
    def exams(self) -> list[Exam]:
        return [e for enc in self.encounters for e in enc.exams] + self.outpatient_exams

    def problem(self, concept: str) -> Problem | None:
        return next((p for p in self.problems if p.concept == concept), None)

    def age_at(self, day: date) -> int:
        return day.year - self.birth.year - ((day.month, day.day) < (self.birth.month, self.birth.day))


@dataclass
class ReportDoc:
    """A report file to write: which event it describes, in which language and file format."""

    id: str
    kind: str  # "radiology" | "operative" | "letter"
    patient: Patient
    day: date
    subject: Exam | Operation | Encounter
    language: str = "fr"
    fmt: str = "txt"


@dataclass
class Cohort:
    patients: list[Patient]
    reports: list[ReportDoc]

    @property
    def exams(self) -> list[Exam]:
        return [e for p in self.patients for e in p.exams]


# --------------------------------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------------------------------


def sample_params(concept: str, rng: random.Random) -> dict[str, Any]:
    """Draw every descriptive parameter a template or phantom may need for one finding instance."""
    side = rng.choice(V.SIDES)
    levels = V.LOBE_LEVELS if side["code"] == "R" else [lv for lv in V.LOBE_LEVELS if lv[2] != "middle"]
    lvl_m, lvl_f, lvl_en = rng.choice(levels)
    params: dict[str, Any] = {
        "side": side,
        "abund": rng.choice(V.ABUNDANCE),
        "lobe": {
            "fr": f"lobe {lvl_m} {side['m']}",
            "en": f"{side['en']} {lvl_en} lobe",
            "level": lvl_en,
            "lobectomy_fr": f"{lvl_f} {side['f']}",
            "lobectomy_en": f"{side['en'].capitalize()} {lvl_en}",
        },
        "territory": rng.choice(V.STROKE_TERRITORIES),
        "pe_loc": rng.choice(V.PE_LOCATIONS),
        "mening_loc": rng.choice(V.MENINGIOMA_LOCATIONS),
        "level": rng.choice(V.DISC_LEVELS),
        "mi_wall": rng.choice(V.MI_WALLS),
        "garden": rng.choice(V.GARDEN),
        "size": rng.randint(*V.SIZE_MM.get(concept, (5, 20))),
    }
    for key, bounds in V.INT_PARAMS.items():
        params[key] = rng.randint(*bounds)
    params["rvlv_txt"] = f"{params['rvlv'] / 10:.1f}".replace(".", ",")
    params["rvlv_en"] = f"{params['rvlv'] / 10:.1f}"
    return params


def _plausible_age(concept: str, age: int) -> bool:
    """Keep extra problems epidemiologically plausible (no hip fracture at 30, no appendicitis at 90)."""
    low, high = V.AGE_RANGE.get(concept, V.DEFAULT_AGE_RANGE)
    return low - 10 <= age <= high + 5


def _random_day(rng: random.Random, start: date, end: date) -> date:
    return start + timedelta(days=rng.randint(0, max(0, (end - start).days)))


def _at(day: date, rng: random.Random, first_hour: int = 8, last_hour: int = 18) -> datetime:
    return datetime(day.year, day.month, day.day, rng.randint(first_hour, last_hour), rng.choice(range(0, 60, 5)))


# --------------------------------------------------------------------------------------------------
# Planner
# --------------------------------------------------------------------------------------------------


class Planner:
    """Builds the whole cohort from one RNG; counters give stable sequential identifiers."""

    def __init__(self, seed: int, n_patients: int) -> None:
        self.rng = random.Random(f"medsearch-demo:{seed}:cohort")
        self.n_patients = n_patients
        self._accession = 0
        self._nda = 0

    # identifiers -------------------------------------------------------------------------------

    def _next_accession(self) -> str:
        self._accession += 1
        return f"ACC{self._accession:07d}"

    def _next_nda(self) -> str:
        self._nda += 1
        return f"{240000000 + self._nda * 37:09d}"

    # patients ----------------------------------------------------------------------------------

    def plan(self) -> Cohort:
        order = list(V.ADMITTING_CONCEPTS)
        self.rng.shuffle(order)
        patients = [self._patient(i, order[i % len(order)]) for i in range(self.n_patients)]
        reports = self._report_docs(patients)
        return Cohort(patients, reports)

    def _patient(self, index: int, primary: str) -> Patient:
        rng = self.rng
        sex = rng.choice("FM")
        given = rng.choice(V.FIRST_NAMES_F if sex == "F" else V.FIRST_NAMES_M)
        first_day = _random_day(rng, START, END - timedelta(days=120))
        age = rng.randint(*V.AGE_RANGE.get(primary, V.DEFAULT_AGE_RANGE))
        birth = first_day - timedelta(days=age * 365 + rng.randint(0, 364))
        patient = Patient(
            ipp=f"P{index + 1:06d}", sex=sex, given=given, family_name=rng.choice(V.LAST_NAMES), birth=birth
        )
        patient.problems.append(Problem(primary, first_day, sample_params(primary, rng)))
        self._extra_problems(patient, first_day, age)
        self._lifestyle(patient)
        admitting = [p for p in patient.problems if V.CONCEPTS[p.concept].admits and p.onset >= first_day][:3]
        for k, problem in enumerate(sorted(admitting, key=lambda p: p.onset)):
            patient.encounters.append(self._encounter(patient, problem, k + 1))
        self._outpatient_exams(patient)
        return patient

    def _extra_problems(self, patient: Patient, first_day: date, age: int) -> None:
        """0-2 further problems: mostly chronic comorbidities before the first stay, sometimes a later stay."""
        rng = self.rng
        for _ in range(rng.choice([0, 1, 1, 2])):
            if age >= 45 and rng.random() < 0.7:
                concept = rng.choice(V.COMORBIDITY_CONCEPTS)
            else:
                concept = rng.choice([c for c in V.ADMITTING_CONCEPTS if _plausible_age(c, age)])
            if concept in patient.concepts:
                continue
            info = V.CONCEPTS[concept]
            later_stay = info.admits and rng.random() < (0.2 if info.chronic else 0.4)
            if later_stay:
                onset = first_day + timedelta(days=rng.randint(60, 900))
                if onset > END:
                    onset = _random_day(rng, first_day + timedelta(days=30), END)
            else:
                onset = first_day - timedelta(days=rng.randint(365, 15 * 365))
            patient.problems.append(Problem(concept, onset, sample_params(concept, rng)))

    def _lifestyle(self, patient: Patient) -> None:
        rng = self.rng
        pulmonary = patient.concepts & {"copd", "lung_cancer", "pneumothorax", "lung_nodule"}
        patient.smoking = rng.choice([0, 1]) if pulmonary else rng.choice([0, 1, 2, 2, 2])
        patient.pack_years = rng.randint(10, 60) if patient.smoking < 2 else 0
        patient.allergy = rng.choice([0, 0, 0, 0, 1, 2])
        if rng.random() < 0.45:
            for _ in range(rng.choice([1, 1, 2])):
                concept = rng.choice(V.FAMILY_CONCEPTS)
                relatives = [i for i, (_, agree, _) in enumerate(V.RELATIVES) if agree or concept != "breast_cancer"]
                relative = rng.choice(relatives)
                if all(c != concept for _, c, _ in patient.family_history):
                    patient.family_history.append((relative, concept, rng.randint(45, 85)))

    # stays -------------------------------------------------------------------------------------

    def _encounter(self, patient: Patient, problem: Problem, k: int) -> Encounter:
        rng = self.rng
        concept = V.CONCEPTS[problem.concept]
        start = _at(problem.onset, rng, 0, 23)
        los = rng.randint(*LENGTH_OF_STAY.get(problem.concept, (3, 10)))
        end = datetime(problem.onset.year, problem.onset.month, problem.onset.day, rng.randint(10, 17)) + timedelta(
            days=los
        )
        specialty = V.CONCEPT_SERVICE_OVERRIDE.get(problem.concept, concept.specialty)
        enc = Encounter(f"ENC-{patient.ipp}-{k}", self._next_nda(), patient, problem, start, end, specialty)
        problem.resolved = not concept.chronic and concept.id not in {"meningioma", "lung_nodule"}
        codes = list(concept.exams)
        n_exams = 1 if len(codes) == 1 or rng.random() < 0.85 else 2
        for code in rng.sample(codes, n_exams):
            purpose = DIAGNOSIS if problem.concept in V.EXAMS[code].checks else WORKUP
            enc.exams.append(self._exam(patient, code, problem.concept, purpose, problem.onset, enc))
        self._ruleout_exam(enc)
        if concept.procedure and rng.random() < 0.7:
            day = problem.onset + timedelta(days=min(rng.randint(0, 2), los))
            enc.operation = Operation(concept.procedure, _at(day, rng), problem.concept, enc)
        if concept.control_exam and rng.random() < 0.4:
            day = end.date() + timedelta(days=rng.randint(10, 45))
            if day <= LAST_DAY:
                patient.outpatient_exams.append(
                    self._exam(patient, concept.control_exam, problem.concept, CONTROL, day, None)
                )
        enc.labs = self._labs(patient, enc)
        return enc

    def _ruleout_exam(self, enc: Encounter) -> None:
        """Sometimes exclude a differential diagnosis with a dedicated exam (source of negated mentions)."""
        rng = self.rng
        options = [c for c in V.CONCEPTS[enc.concept].ruleouts if c not in enc.patient.concepts]
        if not options or rng.random() > 0.3:
            return
        target = rng.choice(options)
        code = rng.choice(V.CONCEPTS[target].exams)
        if any(e.code == code for e in enc.exams):
            return
        day = enc.problem.onset + timedelta(days=rng.randint(0, 1))
        enc.exams.append(self._exam(enc.patient, code, target, RULEOUT, day, enc))

    def _outpatient_exams(self, patient: Patient) -> None:
        """Surveillance imaging of chronic lesions, months after the stay."""
        rng = self.rng
        for problem in patient.problems:
            if problem.concept not in {"lung_nodule", "lung_cancer", "multiple_sclerosis", "meningioma"}:
                continue
            if rng.random() < 0.5:
                earliest = max(problem.onset + timedelta(days=90), START)
                day = earliest + timedelta(days=rng.randint(0, 400))
                if day <= LAST_DAY:
                    code = V.CONCEPTS[problem.concept].exams[0]
                    patient.outpatient_exams.append(self._exam(patient, code, problem.concept, FOLLOWUP, day, None))

    # exams -------------------------------------------------------------------------------------

    def _exam(self, patient: Patient, code: str, target: str, purpose: str, day: date, enc: Encounter | None) -> Exam:
        main = enc.concept if enc is not None else None
        return Exam(
            code,
            self._next_accession(),
            _at(day, self.rng),
            patient,
            target,
            purpose,
            self._findings(patient, code, target, purpose, main),
            enc,
        )

    def _findings(self, patient: Patient, code: str, target: str, purpose: str, main: str | None) -> list[Finding]:
        """Decide how the exam concludes on each concept it can see.

        The target is affirmed for diagnosis/follow-up (sometimes only suspected) and negated for
        rule-out/control exams; the stay's own problem is affirmed; other concepts the patient does
        not have are often explicitly negated (pertinent negatives) and occasionally raised as
        hypotheses. Concepts the patient has outside this stay are left unmentioned, so no report
        contradicts the patient's history.
        """
        rng = self.rng
        findings: list[Finding] = []
        for concept in V.EXAMS[code].checks:
            problem = patient.problem(concept)
            if concept == target:
                if purpose in (RULEOUT, CONTROL):
                    status = NEGATED
                else:
                    status = AFFIRMED if purpose == FOLLOWUP or rng.random() < 0.88 else HYPOTHETICAL
            elif concept == main:  # a rule-out exam also sees the stay's own problem
                status = AFFIRMED
            elif problem is not None:
                continue
            else:
                draw = rng.random()
                if draw < 0.45:
                    status = NEGATED
                elif draw < 0.51:
                    status = HYPOTHETICAL
                else:
                    continue
            params = problem.params if problem is not None else sample_params(concept, rng)
            findings.append(Finding(concept, status, params))
        findings.sort(key=lambda f: f.concept != target)
        return findings

    def _labs(self, patient: Patient, enc: Encounter) -> dict[str, float]:
        """Vitals and lab values of the stay, abnormal where the problems say so."""
        rng = self.rng
        effects: dict[str, tuple[float, float]] = {}
        for concept in ("hypertension", "type2_diabetes"):
            if concept in patient.concepts:
                effects.update(V.LAB_EFFECTS[concept])
        effects.update(V.LAB_EFFECTS.get(enc.concept, {}))
        keys = list(V.BASE_LABS) + [k for k in effects if k not in V.BASE_LABS]
        for exam in enc.ruled_out:
            lab = V.RULEOUT_LABS.get(exam.target)
            if lab and lab not in keys:
                keys.append(lab)
        labs: dict[str, float] = {}
        for key in keys:
            test = V.LAB_TESTS[key]
            low, high = effects.get(key, test.normal)
            labs[key] = round(rng.uniform(low, high), test.decimals)
        if labs["dbp"] >= labs["sbp"] - 20:
            labs["dbp"] = labs["sbp"] - 35
        return labs

    # documents ---------------------------------------------------------------------------------

    def _report_docs(self, patients: list[Patient]) -> list[ReportDoc]:
        """Number every report, then choose its language (~20 % English) and file format."""
        rng = self.rng
        docs: list[ReportDoc] = []
        for patient in patients:
            events: list[tuple[datetime, int, str, Any]] = []
            for enc in patient.encounters:
                events += [(e.when, 0, "radiology", e) for e in enc.exams]
                if enc.operation:
                    events.append((enc.operation.when, 1, "operative", enc.operation))
                if rng.random() < 0.85:
                    events.append((enc.end, 2, "letter", enc))
            events += [(e.when, 0, "radiology", e) for e in patient.outpatient_exams]
            for when, _, kind, subject in sorted(events, key=lambda ev: (ev[0], ev[1])):
                doc = ReportDoc(f"RPT-{len(docs) + 1:05d}", kind, patient, when.date(), subject)
                doc.language = "en" if rng.random() < 0.2 else "fr"
                docs.append(doc)
                if kind == "radiology":
                    subject.report_id = doc.id
                elif kind == "operative":
                    subject.report_id = doc.id
                else:
                    subject.letter_id = doc.id
        self._assign_formats(docs)
        return docs

    def _assign_formats(self, docs: list[ReportDoc]) -> None:
        order = list(range(len(docs)))
        self.rng.shuffle(order)
        n_pdf = max(1, round(len(docs) * 0.025))
        n_md = max(1, round(len(docs) * 0.1))
        for rank, index in enumerate(order):
            docs[index].fmt = "pdf" if rank < n_pdf else "md" if rank < n_pdf + n_md else "txt"


def plan_cohort(seed: int, n_patients: int) -> Cohort:
    """The reproducible clinical story of ``n_patients`` fictional patients."""
    return Planner(seed, n_patients).plan()
