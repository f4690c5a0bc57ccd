"""Clinical vocabulary and text templates for the demo corpus (all content fictional).

Kept apart from the generators so that wording can be enriched without touching logic. Templates
are ``str.format`` strings; the placeholders refer to the *finding parameters* sampled once per
finding instance (see :func:`indexer.demo.model.sample_params`), so the report text, the DICOM
phantom and the FHIR record all describe the same side, size or level. Dict-valued parameters are
indexed inside the template, e.g. ``{side[m]}`` (French masculine), ``{side[f]}``, ``{side[en]}``.

Every sentence that names a concept is generated through a template of that concept, which is what
lets :mod:`indexer.demo.generate` write an exact ground truth (affirmed / negated / hypothetical /
family) without having to parse its own output.
"""

from __future__ import annotations

from dataclasses import dataclass, field

HOSPITAL = "Hôpital Universitaire de Démonstration"
IPP_SYSTEM = "urn:oid:1.2.250.1.71.4.2.7"
NDA_SYSTEM = "urn:oid:1.2.250.1.71.4.2.8"  # fictional: stay (encounter) numbers
ACCESSION_SYSTEM = "urn:oid:1.2.250.1.71.4.2.9"  # fictional: radiology accession numbers
REPORT_ID_SYSTEM = "urn:medsearch:demo:report-id"
ICD10_SYSTEM = "http://hl7.org/fhir/sid/icd-10"
LOINC_SYSTEM = "http://loinc.org"
UCUM_SYSTEM = "http://unitsofmeasure.org"
FHIR_BASE_URL = "https://fhir.hopital-demo.example"
DICOM_UID_ROOT = "1.2.826.0.1.3680043.8.498."


# --------------------------------------------------------------------------------------------------
# Concepts
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Concept:
    """A clinical problem or imaging finding, with everything needed to write about it in two languages.

    ``fr`` is the canonical French name used in the ground truth. ``ruleouts`` lists concepts a
    physician would typically exclude when this one is suspected: those produce negated mentions.
    """

    id: str
    fr: str
    en: str
    gender: str  # French grammatical gender of ``fr``: "m" or "f" (for un/une, exclu/exclue)
    icd10: str
    icd10_display: str
    specialty: str
    mesh: str
    mesh_fr: str
    fr_syn: tuple[str, ...] = ()
    en_syn: tuple[str, ...] = ()
    chronic: bool = False
    admits: bool = True  # can be the reason for a hospital stay
    family_only: bool = False
    exams: tuple[str, ...] = ()
    ruleouts: tuple[str, ...] = ()
    procedure: str | None = None
    control_exam: str | None = None  # exam after treatment that reports the concept as resolved


CONCEPTS: dict[str, Concept] = {
    c.id: c
    for c in [
        # cardiology
        Concept("myocardial_infarction", "infarctus du myocarde", "myocardial infarction", "m", "I21.9",
                "Acute myocardial infarction, unspecified", "cardiology", "Myocardial Infarction",
                "Infarctus du myocarde", ("IDM", "SCA ST+"), ("MI", "STEMI"),
                exams=("echo_heart",), ruleouts=("pulmonary_embolism",), procedure="coronary_angioplasty"),
        Concept("heart_failure", "insuffisance cardiaque", "heart failure", "f", "I50.9",
                "Heart failure, unspecified", "cardiology", "Heart Failure", "Insuffisance cardiaque",
                ("insuffisance cardiaque congestive",), ("HF", "congestive heart failure"), chronic=True,
                exams=("echo_heart", "cxr"), ruleouts=("myocardial_infarction", "pulmonary_embolism")),
        Concept("hypertension", "hypertension artérielle", "hypertension", "f", "I10",
                "Essential (primary) hypertension", "cardiology", "Hypertension", "Hypertension artérielle",
                ("HTA",), ("HTN", "high blood pressure"), chronic=True, admits=False),
        Concept("atrial_fibrillation", "fibrillation atriale", "atrial fibrillation", "f", "I48.9",
                "Atrial fibrillation and flutter, unspecified", "cardiology", "Atrial Fibrillation",
                "Fibrillation auriculaire", ("FA", "ACFA"), ("AF",), chronic=True,
                exams=("echo_heart",), ruleouts=("ischemic_stroke", "heart_failure")),
        # neurology
        Concept("ischemic_stroke", "AVC ischémique", "ischemic stroke", "m", "I63.9",
                "Cerebral infarction, unspecified", "neurology", "Ischemic Stroke", "Accident vasculaire cérébral ischémique",
                ("AVC", "accident vasculaire cérébral ischémique", "infarctus cérébral"), ("stroke", "cerebral infarction"),
                exams=("ct_head", "mr_brain"), ruleouts=("subarachnoid_hemorrhage", "femoral_neck_fracture")),
        Concept("subarachnoid_hemorrhage", "hémorragie méningée", "subarachnoid hemorrhage", "f", "I60.9",
                "Subarachnoid haemorrhage, unspecified", "neurology", "Subarachnoid Hemorrhage",
                "Hémorragie sous-arachnoïdienne", ("hémorragie sous-arachnoïdienne", "HSA"), ("SAH",),
                exams=("ct_head",), ruleouts=("ischemic_stroke",)),
        Concept("multiple_sclerosis", "sclérose en plaques", "multiple sclerosis", "f", "G35",
                "Multiple sclerosis", "neurology", "Multiple Sclerosis", "Sclérose en plaques",
                ("SEP",), ("MS",), chronic=True, exams=("mr_brain",), ruleouts=("ischemic_stroke",)),
        Concept("meningioma", "méningiome", "meningioma", "m", "D32.0",
                "Benign neoplasm of cerebral meninges", "oncology", "Meningioma", "Méningiome",
                (), (), exams=("mr_brain", "ct_head"), ruleouts=("ischemic_stroke",), procedure="craniotomy"),
        # pneumology
        Concept("pulmonary_embolism", "embolie pulmonaire", "pulmonary embolism", "f", "I26.9",
                "Pulmonary embolism without mention of acute cor pulmonale", "pneumology", "Pulmonary Embolism",
                "Embolie pulmonaire", ("EP",), ("PE",), exams=("ctpa",),
                ruleouts=("pneumonia", "myocardial_infarction")),
        Concept("pneumothorax", "pneumothorax", "pneumothorax", "m", "J93.9",
                "Pneumothorax, unspecified", "pneumology", "Pneumothorax", "Pneumothorax",
                ("PNO",), ("PTX",), exams=("cxr", "ct_chest"), ruleouts=("pulmonary_embolism",),
                procedure="pleurodesis", control_exam="cxr"),
        Concept("pleural_effusion", "épanchement pleural", "pleural effusion", "m", "J90",
                "Pleural effusion, not elsewhere classified", "pneumology", "Pleural Effusion",
                "Épanchement pleural", ("épanchement pleural liquidien",), (), exams=("cxr", "ct_chest"),
                ruleouts=("pneumonia", "lung_cancer"), control_exam="cxr"),
        Concept("pneumonia", "pneumopathie", "pneumonia", "f", "J18.9",
                "Pneumonia, unspecified organism", "pneumology", "Pneumonia", "Pneumopathie infectieuse",
                ("pneumonie", "pneumopathie infectieuse"), ("community-acquired pneumonia",),
                exams=("cxr", "ct_chest"), ruleouts=("pulmonary_embolism", "pleural_effusion")),
        Concept("copd", "BPCO", "COPD", "f", "J44.9",
                "Chronic obstructive pulmonary disease, unspecified", "pneumology",
                "Pulmonary Disease, Chronic Obstructive", "Bronchopneumopathie chronique obstructive",
                ("bronchopneumopathie chronique obstructive",), ("chronic obstructive pulmonary disease",),
                chronic=True, exams=("cxr",), ruleouts=("pneumonia", "pulmonary_embolism", "pneumothorax")),
        # oncology
        Concept("lung_nodule", "nodule pulmonaire", "pulmonary nodule", "m", "R91.1",
                "Solitary pulmonary nodule", "oncology", "Solitary Pulmonary Nodule", "Nodule pulmonaire solitaire",
                ("nodule pulmonaire solitaire",), ("lung nodule",), exams=("ct_chest",),
                ruleouts=("lung_cancer",)),
        Concept("lung_cancer", "cancer du poumon", "lung cancer", "m", "C34.9",
                "Malignant neoplasm of bronchus or lung, unspecified", "oncology", "Lung Neoplasms",
                "Tumeurs du poumon", ("carcinome bronchique", "cancer bronchopulmonaire"),
                ("lung carcinoma", "bronchogenic carcinoma"), chronic=True, exams=("ct_chest",),
                ruleouts=("pleural_effusion",), procedure="lobectomy"),
        Concept("breast_cancer", "cancer du sein", "breast cancer", "m", "C50.9",
                "Malignant neoplasm of breast, unspecified", "oncology", "Breast Neoplasms", "Tumeurs du sein",
                family_only=True, admits=False),
        Concept("colorectal_cancer", "cancer colorectal", "colorectal cancer", "m", "C18.9",
                "Malignant neoplasm of colon, unspecified", "oncology", "Colorectal Neoplasms",
                "Tumeurs colorectales", ("cancer du côlon",), ("colon cancer",), family_only=True, admits=False),
        # orthopaedics
        Concept("femoral_neck_fracture", "fracture du col du fémur", "femoral neck fracture", "f", "S72.0",
                "Fracture of neck of femur", "orthopaedics", "Femoral Neck Fractures", "Fractures du col du fémur",
                ("fracture cervicale du fémur",), ("hip fracture",), exams=("xr_hip",),
                procedure="hip_arthroplasty"),
        Concept("shoulder_dislocation", "luxation d'épaule", "shoulder dislocation", "f", "S43.0",
                "Dislocation of shoulder joint", "orthopaedics", "Shoulder Dislocation", "Luxation de l'épaule",
                ("luxation gléno-humérale",), ("glenohumeral dislocation",), exams=("xr_shoulder",),
                procedure="shoulder_reduction", control_exam="xr_shoulder"),
        Concept("herniated_disc", "hernie discale", "herniated disc", "f", "M51.2",
                "Other specified intervertebral disc displacement", "orthopaedics",
                "Intervertebral Disc Displacement", "Déplacement de disque intervertébral",
                ("hernie discale lombaire",), ("disc herniation", "lumbar disc herniation"), exams=("mr_spine",),
                ruleouts=("knee_osteoarthritis",), procedure="discectomy"),
        Concept("knee_osteoarthritis", "gonarthrose", "knee osteoarthritis", "f", "M17.9",
                "Gonarthrosis, unspecified", "orthopaedics", "Osteoarthritis, Knee", "Gonarthrose",
                ("arthrose du genou",), ("osteoarthritis of the knee",), chronic=True, exams=("xr_knee",),
                ruleouts=("herniated_disc",), procedure="knee_arthroplasty"),
        # digestive
        Concept("appendicitis", "appendicite", "appendicitis", "f", "K35.8",
                "Acute appendicitis, other and unspecified", "digestive", "Appendicitis", "Appendicite",
                ("appendicite aiguë",), ("acute appendicitis",), exams=("us_abdo", "ct_abdo"),
                ruleouts=("cholecystitis",), procedure="appendectomy"),
        Concept("cholecystitis", "cholécystite", "cholecystitis", "f", "K81.0",
                "Acute cholecystitis", "digestive", "Cholecystitis, Acute", "Cholécystite aiguë",
                ("cholécystite aiguë",), ("acute cholecystitis",), exams=("us_abdo", "ct_abdo"),
                ruleouts=("appendicitis",), procedure="cholecystectomy"),
        # metabolic (comorbidity)
        Concept("type2_diabetes", "diabète de type 2", "type 2 diabetes", "m", "E11.9",
                "Type 2 diabetes mellitus without complications", "metabolic", "Diabetes Mellitus, Type 2",
                "Diabète de type 2", ("DT2", "diabète non insulinodépendant"), ("T2DM", "type 2 diabetes mellitus"),
                chronic=True, admits=False),
    ]
}

ADMITTING_CONCEPTS = [c.id for c in CONCEPTS.values() if c.admits and not c.family_only]
COMORBIDITY_CONCEPTS = ["hypertension", "type2_diabetes", "copd", "atrial_fibrillation", "heart_failure",
                        "knee_osteoarthritis"]
# Concepts a letter may explicitly deny in the past history (« pas de diabète connu »).
DENIABLE_HISTORY = ["type2_diabetes", "hypertension", "copd", "ischemic_stroke", "myocardial_infarction",
                    "atrial_fibrillation", "pulmonary_embolism"]
FAMILY_CONCEPTS = ["ischemic_stroke", "myocardial_infarction", "breast_cancer", "colorectal_cancer", "lung_cancer",
                   "type2_diabetes", "hypertension", "multiple_sclerosis", "subarachnoid_hemorrhage",
                   "pulmonary_embolism"]

SERVICES: dict[str, tuple[str, str]] = {  # specialty -> (French service, English department)
    "cardiology": ("Cardiologie", "Cardiology"),
    "neurology": ("Neurologie - Unité neurovasculaire", "Neurology - Stroke Unit"),
    "pneumology": ("Pneumologie", "Pulmonology"),
    "oncology": ("Oncologie thoracique", "Thoracic Oncology"),
    "orthopaedics": ("Chirurgie orthopédique et traumatologique", "Orthopaedic and Trauma Surgery"),
    "digestive": ("Chirurgie digestive", "Digestive Surgery"),
    "metabolic": ("Médecine interne", "Internal Medicine"),
    "neurosurgery": ("Neurochirurgie", "Neurosurgery"),
    "thoracic_surgery": ("Chirurgie thoracique", "Thoracic Surgery"),
}
CONCEPT_SERVICE_OVERRIDE = {"meningioma": "neurosurgery", "herniated_disc": "neurosurgery",
                            "subarachnoid_hemorrhage": "neurosurgery", "multiple_sclerosis": "neurology"}
RADIOLOGY_SERVICE = ("Radiologie", "Radiology")
NEURORADIOLOGY_SERVICE = ("Neuroradiologie", "Neuroradiology")
CARDIO_IMAGING_SERVICE = ("Explorations fonctionnelles cardiologiques", "Cardiac Imaging")


# --------------------------------------------------------------------------------------------------
# Finding parameters (sampled once per finding instance)
# --------------------------------------------------------------------------------------------------

SIDES = [
    {"m": "droit", "f": "droite", "en": "right", "code": "R"},
    {"m": "gauche", "f": "gauche", "en": "left", "code": "L"},
]
ABUNDANCE = [{"fr": "faible", "en": "small", "k": 0.25}, {"fr": "moyenne", "en": "moderate", "k": 0.45},
             {"fr": "grande", "en": "large", "k": 0.65}]
LOBE_LEVELS = [  # (French masculine, French feminine, English)
    ("supérieur", "supérieure", "upper"), ("moyen", "moyenne", "middle"), ("inférieur", "inférieure", "lower")]
STROKE_TERRITORIES = [
    {"fr": "sylvien superficiel", "en": "superficial middle cerebral artery", "key": "mca"},
    {"fr": "sylvien profond", "en": "deep middle cerebral artery", "key": "deep"},
    {"fr": "cérébral postérieur", "en": "posterior cerebral artery", "key": "pca"},
    {"fr": "cérébral antérieur", "en": "anterior cerebral artery", "key": "aca"},
]
PE_LOCATIONS = [
    {"fr": "embolie pulmonaire proximale bilatérale", "en": "bilateral proximal pulmonary embolism", "n": 2},
    {"fr": "embolie pulmonaire lobaire inférieure droite", "en": "right lower lobar pulmonary embolism", "n": 1},
    {"fr": "embolie pulmonaire segmentaire bilatérale", "en": "bilateral segmental pulmonary embolism", "n": 2},
    {"fr": "embolie pulmonaire sous-segmentaire gauche", "en": "left subsegmental pulmonary embolism", "n": 1},
]
MENINGIOMA_LOCATIONS = [
    {"fr": "de la convexité frontale", "en": "frontal convexity", "y": 0.3},
    {"fr": "de la convexité pariétale", "en": "parietal convexity", "y": 0.6},
    {"fr": "de l'aile sphénoïdale", "en": "sphenoid wing", "y": 0.45},
]
DISC_LEVELS = [{"name": "L4-L5", "root": "L5", "idx": 3}, {"name": "L5-S1", "root": "S1", "idx": 4},
               {"name": "L3-L4", "root": "L4", "idx": 2}]
MI_WALLS = [
    {"wall_fr": "antéro-septo-apicale", "adj_fr": "antérieur", "en": "anterior", "artery": "IVA"},
    {"wall_fr": "inférieure", "adj_fr": "inférieur", "en": "inferior", "artery": "coronaire droite"},
    {"wall_fr": "latérale", "adj_fr": "latéral", "en": "lateral", "artery": "circonflexe"},
]
GARDEN = ["I", "II", "III", "IV"]
# Integer ranges (inclusive) for numeric parameters; "size" is per concept (mm).
SIZE_MM = {"lung_nodule": (4, 14), "lung_cancer": (25, 60), "meningioma": (12, 38)}
INT_PARAMS = {"ptx_cm": (1, 4), "fisher": (2, 4), "lesions": (4, 14), "active": (1, 3), "lvef": (25, 40),
              "lvef_n": (56, 68), "kl": (2, 4), "wall": (5, 9), "diam": (9, 15), "rvlv": (9, 14)}


# --------------------------------------------------------------------------------------------------
# Radiology phrases per concept. "found" goes in Résultats/Findings, "concl" in Conclusion/Impression.
# A value may be a dict keyed by modality ("CT", "MR", "CR", "DX", "US") with "*" as fallback.
# "neg" (optional) overrides the generic negation sentences for that concept; "neg_control" is used
# instead on control exams after treatment (« pas de pneumothorax résiduel »).
# --------------------------------------------------------------------------------------------------

RADIOLOGY_PHRASES: dict[str, dict[str, dict[str, object]]] = {
    "pleural_effusion": {
        "fr": {
            "found": {
                "CR": ("Émoussement du cul-de-sac pleural {side[m]} en rapport avec un épanchement pleural de {abund[fr]} abondance.",
                       "Opacité déclive de la base {side[f]} à limite supérieure concave, en rapport avec un épanchement pleural {side[m]} de {abund[fr]} abondance."),
                "*": ("Épanchement pleural {side[m]} de {abund[fr]} abondance, de densité liquidienne, avec atélectasie passive du lobe inférieur en regard.",
                      "Épanchement pleural liquidien {side[m]} de {abund[fr]} abondance, sans épaississement pleural nodulaire."),
            },
            "concl": ("Épanchement pleural {side[m]} de {abund[fr]} abondance.",
                      "Épanchement pleural liquidien {side[m]}, de {abund[fr]} abondance."),
        },
        "en": {
            "found": {
                "CR": ("Blunting of the {side[en]} costophrenic angle due to a {abund[en]} pleural effusion.",),
                "*": ("{abund[en]} {side[en]} pleural effusion of fluid attenuation with passive atelectasis of the adjacent lower lobe.",
                      "Free-flowing {side[en]} pleural effusion of {abund[en]} volume without nodular pleural thickening."),
            },
            "concl": ("{abund[en]} {side[en]} pleural effusion.",),
        },
    },
    "pneumothorax": {
        "fr": {
            "found": ("Pneumothorax {side[m]} avec décollement pleural de {ptx_cm} cm au sommet, sans déviation médiastinale.",
                      "Hyperclarté périphérique {side[f]} sans trame vasculaire, avec ligne pleurale viscérale visible : pneumothorax {side[m]} de {abund[fr]} abondance."),
            "concl": ("Pneumothorax {side[m]} de {abund[fr]} abondance.", "Pneumothorax {side[m]}, décollement apical de {ptx_cm} cm."),
            "neg": ("Absence de pneumothorax.", "Pas de décollement pleural, pas de pneumothorax."),
            "neg_control": ("Pas de pneumothorax résiduel, poumon bien réexpandu.",),
        },
        "en": {
            "found": ("{side[en]} pneumothorax with a {ptx_cm} cm apical rim and no mediastinal shift.",),
            "concl": ("{abund[en]} {side[en]} pneumothorax.",),
            "neg": ("No pneumothorax.", "No pleural line to suggest pneumothorax."),
            "neg_control": ("No residual pneumothorax; the lung is fully re-expanded.",),
        },
    },
    "pneumonia": {
        "fr": {
            "found": ("Condensation alvéolaire du {lobe[fr]} avec bronchogramme aérique, en rapport avec une pneumopathie infectieuse.",
                      "Foyer de condensation systématisé du {lobe[fr]} correspondant à une pneumopathie."),
            "concl": ("Pneumopathie du {lobe[fr]}.", "Pneumopathie infectieuse du {lobe[fr]}."),
        },
        "en": {
            "found": ("Airspace consolidation in the {lobe[en]} with air bronchograms, consistent with pneumonia.",),
            "concl": ("{lobe[en]} pneumonia.",),
        },
    },
    "lung_nodule": {
        "fr": {
            "found": ("Nodule pulmonaire solide du {lobe[fr]} mesurant {size} mm, à contours réguliers.",
                      "Nodule pulmonaire en verre dépoli de {size} mm au sein du {lobe[fr]}."),
            "concl": ("Nodule pulmonaire de {size} mm du {lobe[fr]}, à surveiller selon les recommandations de la Fleischner Society.",
                      "Nodule pulmonaire du {lobe[fr]} ({size} mm) : contrôle TDM à 3 mois."),
        },
        "en": {
            "found": ("Solid {size} mm pulmonary nodule in the {lobe[en]} with smooth margins.",),
            "concl": ("{size} mm pulmonary nodule in the {lobe[en]}; follow-up according to the Fleischner Society guidelines.",),
        },
    },
    "lung_cancer": {
        "fr": {
            "found": ("Masse tissulaire spiculée du {lobe[fr]} mesurant {size} mm, caractéristique d'un cancer du poumon, associée à des adénomégalies médiastinales.",
                      "Volumineuse masse du {lobe[fr]} de {size} mm au contact de la plèvre, correspondant à un carcinome bronchique."),
            "concl": ("Cancer du poumon : masse du {lobe[fr]} de {size} mm avec adénomégalies médiastinales.",
                      "Masse pulmonaire du {lobe[fr]} de {size} mm correspondant à un cancer du poumon primitif."),
        },
        "en": {
            "found": ("Spiculated {size} mm mass in the {lobe[en]} consistent with lung cancer, with mediastinal lymphadenopathy.",),
            "concl": ("{size} mm {lobe[en]} mass consistent with primary lung cancer.",),
        },
    },
    "pulmonary_embolism": {
        "fr": {
            "found": ("Défects endoluminaux des artères pulmonaires témoignant d'une {pe_loc[fr]}.",
                      "Lacunes endoluminales en rapport avec une {pe_loc[fr]}. Rapport VD/VG à {rvlv_txt}."),
            "concl": ("{pe_loc[fr]}.", "{pe_loc[fr]}, rapport VD/VG à {rvlv_txt}."),
        },
        "en": {
            "found": ("Filling defects in the pulmonary arteries consistent with {pe_loc[en]}. RV/LV ratio {rvlv_en}.",),
            "concl": ("{pe_loc[en]}.",),
        },
    },
    "ischemic_stroke": {
        "fr": {
            "found": {
                "CT": ("Hypodensité cortico-sous-corticale du territoire {territory[fr]} {side[m]} avec effacement des sillons, en rapport avec un AVC ischémique récent.",),
                "MR": ("Hypersignal diffusion avec baisse de l'ADC dans le territoire {territory[fr]} {side[m]}, en rapport avec un AVC ischémique aigu.",
                       "Lésion en hypersignal diffusion et FLAIR du territoire {territory[fr]} {side[m]} correspondant à un infarctus cérébral récent."),
            },
            "concl": ("AVC ischémique aigu du territoire {territory[fr]} {side[m]}.",
                      "Accident vasculaire cérébral ischémique du territoire {territory[fr]} {side[m]}."),
        },
        "en": {
            "found": {
                "CT": ("Cortico-subcortical hypodensity in the {side[en]} {territory[en]} territory with sulcal effacement, consistent with a recent ischemic stroke.",),
                "MR": ("Restricted diffusion in the {side[en]} {territory[en]} territory consistent with an acute ischemic stroke.",),
            },
            "concl": ("Acute ischemic stroke in the {side[en]} {territory[en]} territory.",),
        },
    },
    "subarachnoid_hemorrhage": {
        "fr": {
            "found": ("Hyperdensité spontanée des citernes de la base et des sillons de la convexité, en rapport avec une hémorragie méningée (Fisher {fisher}).",
                      "Hémorragie méningée prédominant dans la vallée sylvienne {side[f]}, grade de Fisher {fisher}."),
            "concl": ("Hémorragie méningée, Fisher {fisher}. Angioscanner du polygone de Willis recommandé.",
                      "Hémorragie méningée de grade {fisher} de Fisher."),
        },
        "en": {
            "found": ("Hyperdense blood in the basal cisterns and convexity sulci consistent with subarachnoid hemorrhage (modified Fisher grade {fisher}).",),
            "concl": ("Subarachnoid hemorrhage, modified Fisher grade {fisher}; CT angiography of the circle of Willis recommended.",),
        },
    },
    "multiple_sclerosis": {
        "fr": {
            "found": ("{lesions} hypersignaux T2/FLAIR ovoïdes de la substance blanche, périventriculaires et juxtacorticaux, perpendiculaires aux ventricules, en rapport avec une sclérose en plaques.",
                      "Multiples lésions démyélinisantes périventriculaires ({lesions}), dont {active} rehaussée(s) après injection, compatibles avec une poussée de sclérose en plaques."),
            "concl": ("Sclérose en plaques : lésions répondant aux critères de dissémination spatiale de McDonald 2017.",
                      "Sclérose en plaques avec {active} lésion(s) active(s)."),
        },
        "en": {
            "found": ("{lesions} ovoid periventricular and juxtacortical T2/FLAIR white matter hyperintensities consistent with multiple sclerosis.",),
            "concl": ("Multiple sclerosis with {active} enhancing lesion(s), fulfilling McDonald 2017 dissemination in space.",),
        },
    },
    "meningioma": {
        "fr": {
            "found": ("Lésion extra-axiale {mening_loc[fr]} {side[f]} de {size} mm, à large base d'implantation durale, rehaussée de façon homogène, avec queue durale, en rapport avec un méningiome.",),
            "concl": ("Méningiome {mening_loc[fr]} {side[f]} de {size} mm.", "Méningiome de {size} mm {mening_loc[fr]} {side[f]}, sans œdème péri-lésionnel."),
        },
        "en": {
            "found": ("{size} mm extra-axial dural-based mass along the {side[en]} {mening_loc[en]} with homogeneous enhancement and a dural tail, consistent with a meningioma.",),
            "concl": ("{size} mm {side[en]} {mening_loc[en]} meningioma.",),
        },
    },
    "femoral_neck_fracture": {
        "fr": {
            "found": ("Fracture du col du fémur {side[m]}, cervicale vraie, classée Garden {garden}.",
                      "Trait de fracture cervical vrai du fémur {side[m]} : fracture du col du fémur Garden {garden}."),
            "concl": ("Fracture du col du fémur {side[m]} Garden {garden}.",),
            "neg": ("Absence de fracture du col du fémur.", "Pas de fracture du col du fémur visible.", "Absence de fracture."),
        },
        "en": {
            "found": ("{side[en]} femoral neck fracture, Garden {garden}.",),
            "concl": ("{side[en]} femoral neck fracture (Garden {garden}).",),
            "neg": ("No femoral neck fracture.", "No fracture is seen."),
        },
    },
    "shoulder_dislocation": {
        "fr": {
            "found": ("Luxation antéro-interne de l'épaule {side[f]}, tête humérale en position sous-coracoïdienne.",
                      "Perte de congruence gléno-humérale {side[f]} : luxation antérieure de l'épaule {side[f]}."),
            "concl": ("Luxation antéro-interne de l'épaule {side[f]}.",),
            "neg": ("Absence de luxation d'épaule.", "Pas de luxation gléno-humérale."),
            "neg_control": ("Pas de luxation résiduelle, bonne congruence gléno-humérale.",),
        },
        "en": {
            "found": ("Anterior dislocation of the {side[en]} shoulder with the humeral head in a subcoracoid position.",),
            "concl": ("Anterior {side[en]} shoulder dislocation.",),
            "neg": ("No shoulder dislocation.",),
            "neg_control": ("No residual dislocation; the glenohumeral joint is congruent.",),
        },
    },
    "knee_osteoarthritis": {
        "fr": {
            "found": ("Pincement de l'interligne fémoro-tibial médial du genou {side[m]} avec ostéophytose marginale et condensation sous-chondrale, en rapport avec une gonarthrose stade {kl} de Kellgren-Lawrence.",),
            "concl": ("Gonarthrose fémoro-tibiale médiale {side[f]} stade {kl} de Kellgren-Lawrence.",),
        },
        "en": {
            "found": ("Medial tibiofemoral joint space narrowing of the {side[en]} knee with marginal osteophytes and subchondral sclerosis, consistent with knee osteoarthritis (Kellgren-Lawrence grade {kl}).",),
            "concl": ("{side[en]} knee osteoarthritis, Kellgren-Lawrence grade {kl}.",),
        },
    },
    "herniated_disc": {
        "fr": {
            "found": ("Hernie discale {level[name]} postéro-latérale {side[f]}, venant au contact de la racine {level[root]} {side[f]}.",
                      "Saillie discale focale {level[name]} : hernie discale postéro-latérale {side[f]} refoulant la racine {level[root]}."),
            "concl": ("Hernie discale {level[name]} postéro-latérale {side[f]} en conflit avec la racine {level[root]} {side[f]}.",),
        },
        "en": {
            "found": ("{side[en]} posterolateral disc herniation at {level[name]} contacting the {side[en]} {level[root]} nerve root.",),
            "concl": ("{level[name]} {side[en]} posterolateral disc herniation with {level[root]} root compression.",),
        },
    },
    "appendicitis": {
        "fr": {
            "found": ("Appendice augmenté de taille ({diam} mm), à paroi épaissie et rehaussée, avec infiltration de la graisse péri-appendiculaire, en rapport avec une appendicite aiguë.",
                      "Appendice non compressible de {diam} mm de diamètre, hyperhémié, avec stercolithe, compatible avec une appendicite aiguë."),
            "concl": ("Appendicite aiguë non compliquée.", "Appendicite aiguë, sans abcès ni perforation."),
        },
        "en": {
            "found": ("Dilated appendix ({diam} mm) with wall thickening, hyperenhancement and periappendiceal fat stranding, consistent with acute appendicitis.",),
            "concl": ("Acute uncomplicated appendicitis.",),
        },
    },
    "cholecystitis": {
        "fr": {
            "found": ("Vésicule biliaire distendue, à paroi épaissie à {wall} mm, lithiasique, avec signe de Murphy échographique, en rapport avec une cholécystite aiguë.",
                      "Épaississement pariétal vésiculaire de {wall} mm avec infiltration de la graisse péri-vésiculaire, compatible avec une cholécystite aiguë."),
            "concl": ("Cholécystite aiguë lithiasique.", "Cholécystite aiguë, sans dilatation des voies biliaires."),
        },
        "en": {
            "found": ("Distended gallbladder with {wall} mm wall thickening, gallstones and a positive sonographic Murphy sign, consistent with acute calculous cholecystitis.",),
            "concl": ("Acute calculous cholecystitis.",),
        },
    },
    "heart_failure": {
        "fr": {
            "found": {
                "CR": ("Cardiomégalie avec redistribution vasculaire vers les sommets et lignes de Kerley B, en rapport avec une insuffisance cardiaque.",),
                "*": ("Ventricule gauche dilaté, hypokinésie globale, FEVG estimée à {lvef} % (Simpson biplan), pressions de remplissage élevées, en rapport avec une insuffisance cardiaque à fraction d'éjection réduite.",),
            },
            "concl": {
                "CR": ("Surcharge hydrostatique en rapport avec une insuffisance cardiaque.",),
                "*": ("Insuffisance cardiaque à FEVG altérée ({lvef} %).", "Cardiopathie dilatée avec insuffisance cardiaque, FEVG {lvef} %."),
            },
        },
        "en": {
            "found": {
                "CR": ("Cardiomegaly with upper lobe venous diversion and Kerley B lines, consistent with heart failure.",),
                "*": ("Dilated left ventricle with global hypokinesis, LVEF {lvef}% (biplane Simpson) and elevated filling pressures, consistent with heart failure with reduced ejection fraction.",),
            },
            "concl": {"CR": ("Findings of heart failure with pulmonary venous congestion.",),
                      "*": ("Heart failure with reduced ejection fraction (LVEF {lvef}%).",)},
        },
    },
    "myocardial_infarction": {
        "fr": {
            "found": ("Akinésie de la paroi {mi_wall[wall_fr]} avec amincissement pariétal, en rapport avec l'infarctus du myocarde {mi_wall[adj_fr]}.",),
            "concl": ("Séquelle d'infarctus du myocarde {mi_wall[adj_fr]} (akinésie {mi_wall[wall_fr]}).", "IDM {mi_wall[adj_fr]} avec akinésie {mi_wall[wall_fr]}."),
        },
        "en": {
            "found": ("Akinesis and thinning of the {mi_wall[en]} wall related to the {mi_wall[en]} myocardial infarction.",),
            "concl": ("{mi_wall[en]} wall akinesis consistent with myocardial infarction.",),
        },
    },
}

# Generic assertion-status templates. {de} = "d'épanchement pleural" / "de pneumothorax",
# {un} = "un épanchement pleural" / "une embolie pulmonaire", {name} = the (synonym) name,
# {exclu} = "exclu"/"exclue". English uses {name} only.
NEGATION_FR = ("Pas {de}.", "Absence {de}.", "Pas de signe {de}.", "Pas d'argument pour {un}.",
               "Pas d'image évocatrice {de}.")
NEGATION_EN = ("No {name}.", "No evidence of {name}.", "There is no {name}.", "Negative for {name}.",
               "No findings to suggest {name}.")
HYPOTHESIS_FR = ("Suspicion {de}.", "Aspect pouvant faire évoquer {un}, à confronter aux données cliniques.",
                 "{Name} à éliminer.", "{Un} n'est pas formellement {exclu}.", "Doute sur {un} : contrôle proposé.")
HYPOTHESIS_EN = ("Possible {name}.", "{Name} cannot be excluded.", "Findings could be related to {name}; clinical correlation is recommended.",
                 "Suspected {name}, to be ruled out.")
# Indication sentences: the exam's target concept is *suspected*.
INDICATION_TARGET_FR = ("Suspicion {de}.", "Recherche {de}.", "{Name} à éliminer.", "Bilan d'{un} suspecté{e}.")
INDICATION_TARGET_EN = ("Suspected {name}.", "Rule out {name}.", "Evaluate for {name}.")
FOLLOWUP_INDICATION_FR = ("Contrôle d'{un} connu{e}.", "Surveillance {de}.")
FOLLOWUP_INDICATION_EN = ("Follow-up of known {name}.", "Surveillance of {name}.")
CONTROL_INDICATION_FR = ("Contrôle après traitement {de}.", "Contrôle post-thérapeutique {de}.")
CONTROL_INDICATION_EN = ("Control after treatment of {name}.", "Post-treatment control of {name}.")


# --------------------------------------------------------------------------------------------------
# Exams
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExamType:
    """A radiology (or cardiac imaging) procedure and the findings it can confirm or exclude."""

    code: str
    modality: str
    body_part: str
    title_fr: str
    title_en: str
    study_desc: str  # DICOM StudyDescription (French, upper case, no accents, as exported by PACS)
    series_desc: str
    checks: tuple[str, ...]
    technique_fr: tuple[str, ...]
    technique_en: tuple[str, ...]
    normal_fr: tuple[tuple[str, tuple[str, ...]], ...] = field(default=())  # (sentence, concepts it contradicts)
    normal_en: tuple[tuple[str, tuple[str, ...]], ...] = field(default=())
    service: str = "radiology"


EXAMS: dict[str, ExamType] = {
    e.code: e
    for e in [
        ExamType("ct_chest", "CT", "CHEST", "Scanner thoracique injecté", "Contrast-enhanced chest CT",
                 "TDM THORAX INJECTE", "THORAX IV 1.25 MM",
                 ("pleural_effusion", "pneumothorax", "pneumonia", "lung_nodule", "lung_cancer"),
                 ("Acquisition hélicoïdale thoracique après injection intraveineuse de {contrast} mL de produit de contraste iodé, au temps portal. Reconstructions en fenêtres parenchymateuse et médiastinale. PDL : {dlp} mGy.cm.",
                  "Scanner thoracique avec injection de produit de contraste iodé, coupes de 1,25 mm, reconstructions multiplanaires. PDL : {dlp} mGy.cm."),
                 ("Helical chest CT after intravenous injection of {contrast} mL of iodinated contrast, portal venous phase, 1.25 mm slices. DLP: {dlp} mGy.cm.",),
                 (("Pas d'adénomégalie médiastinale ou hilaire.", ("lung_cancer",)),
                  ("Cavités cardiaques de taille normale, pas d'épanchement péricardique.", ()),
                  ("Structures osseuses sans particularité.", ()),
                  ("Coupes passant par l'étage abdominal supérieur sans particularité.", ()),
                  ("Trachée et bronches souches perméables.", ())),
                 (("No mediastinal or hilar lymphadenopathy.", ("lung_cancer",)),
                  ("Normal heart size, no pericardial effusion.", ()),
                  ("Unremarkable osseous structures.", ()),
                  ("Trachea and main bronchi are patent.", ()))),
        ExamType("ctpa", "CT", "CHEST", "Angioscanner thoracique", "CT pulmonary angiography",
                 "ANGIOTDM THORACIQUE", "ANGIO AP 1 MM",
                 ("pulmonary_embolism", "pleural_effusion", "pneumonia", "pneumothorax"),
                 ("Angioscanner thoracique au temps artériel pulmonaire après injection de {contrast} mL de produit de contraste iodé. Opacification satisfaisante des artères pulmonaires. PDL : {dlp} mGy.cm.",),
                 ("CT pulmonary angiography after injection of {contrast} mL of iodinated contrast, pulmonary arterial phase, good opacification. DLP: {dlp} mGy.cm.",),
                 (("Tronc de l'artère pulmonaire de calibre normal.", ()),
                  ("Pas d'épanchement péricardique.", ()),
                  ("Parenchyme pulmonaire sans anomalie notable en dehors de quelques troubles ventilatoires déclives.", ("pneumonia",)),
                  ("Aorte thoracique de calibre normal.", ())),
                 (("Normal caliber of the main pulmonary artery.", ()),
                  ("No pericardial effusion.", ()),
                  ("Mild dependent atelectasis only.", ("pneumonia",)))),
        ExamType("cxr", "CR", "CHEST", "Radiographie thoracique de face", "Chest X-ray",
                 "RX THORAX FACE", "THORAX PA",
                 ("pleural_effusion", "pneumothorax", "pneumonia", "lung_nodule", "heart_failure"),
                 ("Radiographie thoracique de face en position debout, en inspiration.",
                  "Cliché thoracique de face au lit, en décubitus."),
                 ("Frontal upright chest radiograph in inspiration.", "Portable supine frontal chest radiograph."),
                 (("Index cardio-thoracique dans les limites de la normale.", ("heart_failure",)),
                  ("Médiastin de largeur normale.", ()),
                  ("Coupoles diaphragmatiques régulières.", ("pleural_effusion",)),
                  ("Pas de lésion osseuse visible.", ())),
                 (("Normal cardiothoracic ratio.", ("heart_failure",)),
                  ("Normal mediastinal width.", ()),
                  ("Unremarkable bony thorax.", ()))),
        ExamType("ct_head", "CT", "HEAD", "Scanner cérébral sans injection", "Non-contrast head CT",
                 "TDM CEREBRALE SANS INJECTION", "CEREBRAL 5 MM",
                 ("ischemic_stroke", "subarachnoid_hemorrhage", "meningioma"),
                 ("Acquisition hélicoïdale encéphalique sans injection de produit de contraste. PDL : {dlp} mGy.cm.",
                  "Scanner cérébral sans injection, reconstructions en fenêtre parenchymateuse et osseuse."),
                 ("Non-contrast helical head CT with brain and bone window reconstructions. DLP: {dlp} mGy.cm.",),
                 (("Système ventriculaire de taille et de morphologie normales, médian.", ()),
                  ("Pas d'hématome intraparenchymateux.", ()),
                  ("Pas de fracture de la voûte crânienne.", ()),
                  ("Leucopathie vasculaire périventriculaire modérée, Fazekas 1.", ())),
                 (("Normal size and position of the ventricular system.", ()),
                  ("No intraparenchymal hematoma.", ()),
                  ("No skull fracture.", ()))),
        ExamType("mr_brain", "MR", "HEAD", "IRM cérébrale", "Brain MRI", "IRM CEREBRALE", "AX FLAIR",
                 ("ischemic_stroke", "multiple_sclerosis", "meningioma"),
                 ("IRM encéphalique à 3 T : séquences T1, T2 FLAIR, diffusion, T2*, angio-TOF et T1 après injection de gadolinium.",
                  "IRM cérébrale 1,5 T : diffusion, FLAIR, T2*, 3D T1 avant et après injection de chélate de gadolinium."),
                 ("3 T brain MRI: T1, T2 FLAIR, diffusion, T2*, TOF angiography and post-gadolinium T1.",),
                 (("Pas de saignement intracrânien en T2*.", ("subarachnoid_hemorrhage",)),
                  ("Système ventriculaire de taille normale.", ()),
                  ("Polygone de Willis perméable en TOF.", ()),
                  ("Pas de prise de contraste anormale.", ("meningioma", "multiple_sclerosis"))),
                 (("No intracranial hemorrhage on T2*.", ()),
                  ("Normal ventricular size.", ()),
                  ("Patent circle of Willis on TOF.", ()))),
        ExamType("xr_hip", "DX", "HIP", "Radiographie du bassin et de la hanche", "Pelvis and hip X-ray",
                 "RX BASSIN HANCHE", "BASSIN FACE",
                 ("femoral_neck_fracture",),
                 ("Radiographies du bassin de face et de la hanche de profil.",),
                 ("Frontal pelvis and lateral hip radiographs.",),
                 (("Interlignes coxo-fémoraux conservés.", ()), ("Cadre obturateur et sacrum sans anomalie.", ()),
                  ("Déminéralisation osseuse diffuse.", ())),
                 (("Preserved hip joint spaces.", ()), ("Diffuse osteopenia.", ()))),
        ExamType("xr_shoulder", "DX", "SHOULDER", "Radiographie de l'épaule", "Shoulder X-ray",
                 "RX EPAULE", "EPAULE FACE",
                 ("shoulder_dislocation",),
                 ("Radiographies de l'épaule de face et profil de Lamy.",),
                 ("Frontal and Y-view shoulder radiographs.",),
                 (("Pas de fracture de la glène ni du trochiter.", ()), ("Articulation acromio-claviculaire normale.", ())),
                 (("No glenoid or greater tuberosity fracture.", ()), ("Normal acromioclavicular joint.", ()))),
        ExamType("xr_knee", "DX", "KNEE", "Radiographie du genou", "Knee X-ray", "RX GENOU", "GENOU FACE",
                 ("knee_osteoarthritis",),
                 ("Radiographies du genou de face en charge, de profil et incidence fémoro-patellaire à 30°.",),
                 ("Weight-bearing frontal, lateral and skyline knee radiographs.",),
                 (("Pas d'épanchement intra-articulaire visible.", ()), ("Pas de chondrocalcinose.", ())),
                 (("No visible joint effusion.", ()), ("No chondrocalcinosis.", ()))),
        ExamType("mr_spine", "MR", "SPINE", "IRM du rachis lombaire", "Lumbar spine MRI", "IRM RACHIS LOMBAIRE",
                 "SAG T2", ("herniated_disc",),
                 ("IRM du rachis lombaire : séquences sagittales T1, T2 et STIR, axiales T2 de L3 à S1.",),
                 ("Lumbar spine MRI: sagittal T1, T2 and STIR, axial T2 from L3 to S1.",),
                 (("Cône terminal de signal normal, en regard de L1.", ()), ("Discopathie dégénérative étagée modérée.", ()),
                  ("Pas de lésion osseuse suspecte.", ())),
                 (("Normal conus medullaris at L1.", ()), ("Mild multilevel degenerative disc disease.", ()))),
        ExamType("ct_abdo", "CT", "ABDOMEN", "Scanner abdomino-pelvien injecté", "Contrast-enhanced abdominal and pelvic CT",
                 "TDM ABDOMINO-PELVIENNE INJECTEE", "ABDO PORTAL 1.25 MM", ("appendicitis", "cholecystitis"),
                 ("Scanner abdomino-pelvien au temps portal après injection de {contrast} mL de produit de contraste iodé. PDL : {dlp} mGy.cm.",),
                 ("Abdominal and pelvic CT in the portal venous phase after {contrast} mL of iodinated contrast. DLP: {dlp} mGy.cm.",),
                 (("Foie de taille normale, sans lésion focale.", ()), ("Pancréas, rate et surrénales sans particularité.", ()),
                  ("Reins de taille normale, sans dilatation des cavités pyélocalicielles.", ()),
                  ("Pas de pneumopéritoine.", ())),
                 (("Normal liver without focal lesion.", ()), ("Unremarkable pancreas, spleen and adrenals.", ()),
                  ("No pneumoperitoneum.", ()))),
        ExamType("us_abdo", "US", "ABDOMEN", "Échographie abdominale", "Abdominal ultrasound", "ECHOGRAPHIE ABDOMINALE",
                 "ABDOMEN", ("cholecystitis", "appendicitis"),
                 ("Échographie abdominale par voie sus-pubienne et sous-costale, sonde convexe.",),
                 ("Transabdominal ultrasound with a curvilinear probe.",),
                 (("Voie biliaire principale non dilatée.", ()), ("Foie homogène de taille normale.", ()),
                  ("Pas d'épanchement intra-péritonéal.", ())),
                 (("Common bile duct not dilated.", ()), ("Homogeneous liver of normal size.", ()),
                  ("No free fluid.", ()))),
        ExamType("echo_heart", "US", "HEART", "Échographie cardiaque transthoracique", "Transthoracic echocardiography",
                 "ETT", "ETT COUPES STANDARD", ("heart_failure", "myocardial_infarction"),
                 ("Échographie cardiaque transthoracique, coupes parasternales, apicales et sous-costales, échogénicité satisfaisante.",),
                 ("Transthoracic echocardiography, parasternal, apical and subcostal views, adequate image quality.",),
                 (("FEVG conservée à {lvef_n} % (Simpson biplan).", ("heart_failure",)),
                  ("Pas d'épanchement péricardique.", ()), ("Veine cave inférieure non dilatée, compliante.", ("heart_failure",)),
                  ("Pas de valvulopathie significative.", ())),
                 (("Preserved LVEF at {lvef_n}% (biplane Simpson).", ("heart_failure",)),
                  ("No pericardial effusion.", ()), ("No significant valvular disease.", ()))),
    ]
}


# --------------------------------------------------------------------------------------------------
# Clinical narrative per concept (letters, indications)
# --------------------------------------------------------------------------------------------------
# Placeholders: {age}, {days}, {e} (French feminine agreement), {il}/{Il}, {he}/{He}/{his}.

CLINICAL: dict[str, dict[str, tuple[str, ...]]] = {
    "myocardial_infarction": {
        "motif_fr": ("Douleur thoracique constrictive", "Syndrome coronarien aigu avec sus-décalage du segment ST"),
        "motif_en": ("Crushing chest pain", "ST-elevation acute coronary syndrome"),
        "symptom_fr": ("douleur thoracique rétrosternale constrictive irradiant dans le bras gauche", "douleur thoracique prolongée avec sueurs"),
        "symptom_en": ("retrosternal crushing chest pain radiating to the left arm", "prolonged chest pain with diaphoresis"),
        "exam_fr": ("Auscultation cardiaque sans souffle, pas de signe de choc.",),
        "exam_en": ("No murmur on auscultation, no signs of shock.",),
        "evol_fr": ("La coronarographie en urgence a mis en évidence une occlusion de l'artère coupable, traitée par angioplastie avec pose d'un stent actif. Les suites ont été simples, sans récidive douloureuse ni trouble du rythme.",),
        "evol_en": ("Emergency coronary angiography showed an occluded culprit artery treated by angioplasty with a drug-eluting stent. The course was uneventful, with no recurrent pain or arrhythmia.",),
    },
    "heart_failure": {
        "motif_fr": ("Décompensation cardiaque globale", "Dyspnée d'effort aggravée et œdèmes des membres inférieurs"),
        "motif_en": ("Acute decompensated heart failure", "Worsening exertional dyspnea and leg edema"),
        "symptom_fr": ("dyspnée de stade III de la NYHA avec orthopnée et prise de poids de {kg} kg", "œdèmes des membres inférieurs et dyspnée paroxystique nocturne"),
        "symptom_en": ("NYHA class III dyspnea with orthopnea and a {kg} kg weight gain", "leg edema and paroxysmal nocturnal dyspnea"),
        "exam_fr": ("Crépitants des deux bases, œdèmes des membres inférieurs prenant le godet, turgescence jugulaire.",),
        "exam_en": ("Bibasal crackles, pitting leg edema and jugular venous distension.",),
        "evol_fr": ("Évolution favorable sous diurétiques intraveineux avec perte de {kg} kg. Optimisation du traitement de l'insuffisance cardiaque.",),
        "evol_en": ("Good response to intravenous diuretics with a {kg} kg weight loss. Heart failure therapy was optimised.",),
    },
    "atrial_fibrillation": {
        "motif_fr": ("Palpitations, découverte d'une fibrillation atriale rapide",),
        "motif_en": ("Palpitations with rapid atrial fibrillation",),
        "symptom_fr": ("palpitations irrégulières depuis {days} jours avec dyspnée d'effort",),
        "symptom_en": ("irregular palpitations for {days} days with exertional dyspnea",),
        "exam_fr": ("Rythme cardiaque irrégulier, pas de souffle.",),
        "exam_en": ("Irregular heart rhythm, no murmur.",),
        "evol_fr": ("Ralentissement de la cadence ventriculaire sous bêtabloquant. Anticoagulation introduite (CHA2DS2-VASc à {score}).",),
        "evol_en": ("Rate control achieved with a beta-blocker. Anticoagulation started (CHA2DS2-VASc score {score}).",),
    },
    "ischemic_stroke": {
        "motif_fr": ("Déficit moteur brutal de l'hémicorps", "Alerte thrombolyse : aphasie et hémiparésie"),
        "motif_en": ("Sudden hemiparesis", "Stroke alert: aphasia and hemiparesis"),
        "symptom_fr": ("déficit brachio-facial d'installation brutale avec troubles du langage, NIHSS à {nihss}", "hémiparésie brutale constatée au réveil, NIHSS à {nihss}"),
        "symptom_en": ("sudden faciobrachial weakness with speech disturbance, NIHSS {nihss}", "hemiparesis noticed on awakening, NIHSS {nihss}"),
        "exam_fr": ("Hémiparésie à prédominance brachio-faciale, aphasie de production, NIHSS à {nihss}.",),
        "exam_en": ("Faciobrachial-predominant hemiparesis and expressive aphasia, NIHSS {nihss}.",),
        "evol_fr": ("Thrombolyse intraveineuse réalisée à H3. Récupération partielle du déficit, NIHSS de sortie à {nihss_out}. Bilan étiologique : Holter ECG et ETT.",),
        "evol_en": ("Intravenous thrombolysis at 3 hours. Partial recovery, NIHSS {nihss_out} at discharge. Etiological work-up with Holter monitoring and echocardiography.",),
    },
    "subarachnoid_hemorrhage": {
        "motif_fr": ("Céphalée brutale en coup de tonnerre",),
        "motif_en": ("Sudden thunderclap headache",),
        "symptom_fr": ("céphalée brutale et intense avec vomissements et raideur méningée",),
        "symptom_en": ("sudden severe headache with vomiting and neck stiffness",),
        "exam_fr": ("Syndrome méningé franc, pas de déficit focal, score WFNS 2.",),
        "exam_en": ("Marked meningism without focal deficit, WFNS grade 2.",),
        "evol_fr": ("L'artériographie a montré un anévrisme de la communicante antérieure traité par embolisation. Pas de vasospasme symptomatique sous nimodipine.",),
        "evol_en": ("Angiography showed an anterior communicating artery aneurysm treated by coiling. No symptomatic vasospasm on nimodipine.",),
    },
    "multiple_sclerosis": {
        "motif_fr": ("Baisse d'acuité visuelle douloureuse", "Paresthésies et troubles de l'équilibre"),
        "motif_en": ("Painful visual loss", "Paresthesia and gait imbalance"),
        "symptom_fr": ("baisse d'acuité visuelle douloureuse de l'œil {side[m]} depuis {days} jours", "paresthésies ascendantes des membres inférieurs et troubles de l'équilibre depuis {days} jours"),
        "symptom_en": ("painful visual loss in the {side[en]} eye for {days} days", "ascending leg paresthesia and imbalance for {days} days"),
        "exam_fr": ("Syndrome pyramidal des membres inférieurs, ataxie proprioceptive.",),
        "exam_en": ("Pyramidal signs in the lower limbs and sensory ataxia.",),
        "evol_fr": ("Bolus de méthylprednisolone 1 g/j pendant 3 jours avec amélioration. Ponction lombaire : bandes oligoclonales présentes. Traitement de fond discuté en RCP.",),
        "evol_en": ("Methylprednisolone 1 g daily for 3 days with improvement. Lumbar puncture: oligoclonal bands present. Disease-modifying therapy discussed at the MDT meeting.",),
    },
    "meningioma": {
        "motif_fr": ("Crise d'épilepsie inaugurale", "Céphalées progressives"),
        "motif_en": ("First seizure", "Progressive headaches"),
        "symptom_fr": ("crise convulsive généralisée inaugurale", "céphalées progressives depuis {days} jours"),
        "symptom_en": ("a first generalized seizure", "progressive headaches for {days} days"),
        "exam_fr": ("Examen neurologique normal, pas de déficit, pas d'œdème papillaire.",),
        "exam_en": ("Normal neurological examination, no papilledema.",),
        "evol_fr": ("Exérèse chirurgicale complète (Simpson 1). Anatomopathologie : méningiome méningothélial de grade 1 OMS. Suites simples.",),
        "evol_en": ("Complete surgical resection (Simpson grade 1). Pathology: WHO grade 1 meningothelial meningioma. Uneventful recovery.",),
    },
    "pulmonary_embolism": {
        "motif_fr": ("Dyspnée aiguë et douleur thoracique", "Douleur basithoracique et dyspnée"),
        "motif_en": ("Acute dyspnea and chest pain", "Pleuritic chest pain and dyspnea"),
        "symptom_fr": ("dyspnée d'apparition brutale avec douleur basithoracique {side[f]}", "dyspnée aiguë survenant {days} jours après un vol long-courrier"),
        "symptom_en": ("sudden dyspnea with {side[en]} pleuritic chest pain", "acute dyspnea {days} days after a long-haul flight"),
        "exam_fr": ("Tachycardie, mollet {side[m]} douloureux, auscultation pulmonaire normale.",),
        "exam_en": ("Tachycardia, tender {side[en]} calf, clear lung fields.",),
        "evol_fr": ("Anticoagulation curative instaurée. Évolution favorable, sevrage de l'oxygène à J{days}. Échographie-doppler veineuse : thrombose veineuse profonde surale.",),
        "evol_en": ("Therapeutic anticoagulation started. Good clinical course, weaned off oxygen on day {days}. Venous Doppler: distal deep vein thrombosis.",),
    },
    "pneumothorax": {
        "motif_fr": ("Douleur thoracique brutale et dyspnée",),
        "motif_en": ("Sudden chest pain and dyspnea",),
        "symptom_fr": ("douleur thoracique {side[f]} brutale en coup de poignard avec dyspnée, chez un{e} fumeu{r_se}",),
        "symptom_en": ("sudden stabbing {side[en]} chest pain with dyspnea in a smoker",),
        "exam_fr": ("Abolition du murmure vésiculaire à {side[f]}, tympanisme.",),
        "exam_en": ("Absent breath sounds and hyperresonance on the {side[en]} side.",),
        "evol_fr": ("Drainage thoracique avec réexpansion pulmonaire complète. Ablation du drain à J{days}.",),
        "evol_en": ("Chest drain insertion with complete lung re-expansion. Drain removed on day {days}.",),
    },
    "pleural_effusion": {
        "motif_fr": ("Dyspnée progressive", "Dyspnée et douleur thoracique"),
        "motif_en": ("Progressive dyspnea",),
        "symptom_fr": ("dyspnée d'effort progressive depuis {days} jours avec toux sèche",),
        "symptom_en": ("progressive exertional dyspnea for {days} days with dry cough",),
        "exam_fr": ("Matité de la base {side[f]}, abolition du murmure vésiculaire.",),
        "exam_en": ("Dullness and decreased breath sounds at the {side[en]} base.",),
        "evol_fr": ("Ponction pleurale évacuatrice de {ml} mL : liquide exsudatif, cytologie négative. Amélioration de la dyspnée.",),
        "evol_en": ("Therapeutic thoracentesis of {ml} mL: exudative fluid, negative cytology. Dyspnea improved.",),
    },
    "pneumonia": {
        "motif_fr": ("Fièvre et toux productive", "Dyspnée fébrile"),
        "motif_en": ("Fever and productive cough", "Febrile dyspnea"),
        "symptom_fr": ("fièvre à {temp} °C depuis {days} jours avec toux productive et douleur thoracique", "dyspnée fébrile avec expectorations purulentes"),
        "symptom_en": ("fever of {temp} °C for {days} days with productive cough", "febrile dyspnea with purulent sputum"),
        "exam_fr": ("Crépitants en foyer à la base {side[f]}, pas de signe de gravité.",),
        "exam_en": ("Focal crackles at the {side[en]} base, no severity criteria.",),
        "evol_fr": ("Apyrexie obtenue en {days} jours sous antibiothérapie, diminution de la CRP.",),
        "evol_en": ("Afebrile within {days} days on antibiotics, with falling CRP.",),
    },
    "copd": {
        "motif_fr": ("Exacerbation de BPCO", "Majoration de la dyspnée et des expectorations"),
        "motif_en": ("COPD exacerbation",),
        "symptom_fr": ("majoration de la dyspnée et des expectorations purulentes depuis {days} jours",),
        "symptom_en": ("increased dyspnea and purulent sputum for {days} days",),
        "exam_fr": ("Sibilants diffus, distension thoracique, pas de signe de lutte.",),
        "exam_en": ("Diffuse wheeze, hyperinflated chest, no respiratory distress.",),
        "evol_fr": ("Amélioration sous aérosols de bronchodilatateurs et corticothérapie courte. Réhabilitation respiratoire proposée.",),
        "evol_en": ("Improved with nebulised bronchodilators and a short course of steroids. Pulmonary rehabilitation offered.",),
    },
    "lung_nodule": {
        "motif_fr": ("Découverte fortuite d'un nodule pulmonaire",),
        "motif_en": ("Incidental pulmonary nodule",),
        "symptom_fr": ("découverte fortuite d'un nodule pulmonaire sur un scanner réalisé pour un autre motif",),
        "symptom_en": ("an incidental pulmonary nodule on a CT performed for another reason",),
        "exam_fr": ("Examen clinique sans particularité.",),
        "exam_en": ("Unremarkable physical examination.",),
        "evol_fr": ("Dossier présenté en RCP d'oncologie thoracique : surveillance scanographique décidée.",),
        "evol_en": ("Discussed at the thoracic oncology MDT meeting: CT surveillance decided.",),
    },
    "lung_cancer": {
        "motif_fr": ("Bilan d'une masse pulmonaire", "Hémoptysie et altération de l'état général"),
        "motif_en": ("Work-up of a lung mass", "Hemoptysis and weight loss"),
        "symptom_fr": ("hémoptysie de faible abondance et amaigrissement de {kg} kg", "toux persistante depuis {days} jours chez un{e} fumeu{r_se} à {pa} PA"),
        "symptom_en": ("minor hemoptysis and {kg} kg weight loss", "persistent cough for {days} days in a {pa} pack-year smoker"),
        "exam_fr": ("Pas d'adénopathie sus-claviculaire palpable, PS 1.",),
        "exam_en": ("No palpable supraclavicular node, performance status 1.",),
        "evol_fr": ("Biopsie sous scanner : adénocarcinome pulmonaire. TEP-TDM : pas de localisation secondaire à distance. Dossier présenté en RCP : chirurgie proposée.",),
        "evol_en": ("CT-guided biopsy: lung adenocarcinoma. PET-CT: no distant metastasis. MDT decision: surgical resection.",),
    },
    "femoral_neck_fracture": {
        "motif_fr": ("Chute mécanique avec impotence fonctionnelle du membre inférieur",),
        "motif_en": ("Fall with inability to bear weight",),
        "symptom_fr": ("chute de sa hauteur au domicile avec douleur de hanche {side[f]} et impotence fonctionnelle totale",),
        "symptom_en": ("a fall at home with {side[en]} hip pain and inability to bear weight",),
        "exam_fr": ("Membre inférieur {side[m]} raccourci en rotation externe, pas de déficit vasculo-nerveux.",),
        "exam_en": ("Shortened and externally rotated {side[en]} leg, neurovascular status intact.",),
        "evol_fr": ("Prise en charge chirurgicale à J1. Verticalisation à J2, reprise de la marche avec déambulateur. Transfert en soins de suite et de réadaptation.",),
        "evol_en": ("Surgery on day 1. Mobilised on day 2 and walking with a frame. Transferred to a rehabilitation unit.",),
    },
    "shoulder_dislocation": {
        "motif_fr": ("Traumatisme de l'épaule lors d'une chute à ski", "Chute avec douleur et déformation de l'épaule"),
        "motif_en": ("Shoulder injury while skiing",),
        "symptom_fr": ("chute avec réception sur le bras en abduction-rotation externe, douleur et impotence de l'épaule {side[f]}",),
        "symptom_en": ("a fall on the abducted, externally rotated arm with pain and loss of function of the {side[en]} shoulder",),
        "exam_fr": ("Signe de l'épaulette, pas de déficit du nerf axillaire.",),
        "exam_en": ("Squared-off shoulder, axillary nerve intact.",),
        "evol_fr": ("Réduction sous anesthésie générale, immobilisation coude au corps. Pas de complication neurologique.",),
        "evol_en": ("Closed reduction under general anaesthesia and sling immobilisation. No neurological complication.",),
    },
    "herniated_disc": {
        "motif_fr": ("Lombosciatique hyperalgique", "Sciatique rebelle au traitement médical"),
        "motif_en": ("Severe sciatica", "Sciatica refractory to medical treatment"),
        "symptom_fr": ("lombosciatique {side[f]} de trajet {level[root]} évoluant depuis {days} jours, résistante aux antalgiques de palier 2",),
        "symptom_en": ("{side[en]} {level[root]} sciatica for {days} days, resistant to weak opioids",),
        "exam_fr": ("Signe de Lasègue {side[m]} à 30°, pas de déficit moteur, pas de syndrome de la queue de cheval.",),
        "exam_en": ("Positive straight leg raise on the {side[en]} at 30 degrees, no motor deficit, no cauda equina syndrome.",),
        "evol_fr": ("Discectomie réalisée avec disparition de la radiculalgie dès le réveil.",),
        "evol_en": ("Discectomy performed with immediate relief of radicular pain.",),
    },
    "knee_osteoarthritis": {
        "motif_fr": ("Gonalgies mécaniques invalidantes",),
        "motif_en": ("Disabling mechanical knee pain",),
        "symptom_fr": ("gonalgies mécaniques {side[f]}s anciennes avec périmètre de marche réduit à {walk} mètres",),
        "symptom_en": ("long-standing mechanical {side[en]} knee pain limiting walking to {walk} meters",),
        "exam_fr": ("Genou {side[m]} en varus, flessum de 10°, pas d'épanchement.",),
        "exam_en": ("Varus {side[en]} knee with a 10-degree flexion contracture, no effusion.",),
        "evol_fr": ("Arthroplastie totale du genou réalisée. Rééducation débutée à J1, flexion à 90° à la sortie.",),
        "evol_en": ("Total knee arthroplasty performed. Physiotherapy from day 1, 90 degrees of flexion at discharge.",),
    },
    "appendicitis": {
        "motif_fr": ("Douleur de la fosse iliaque droite fébrile",),
        "motif_en": ("Right lower quadrant pain with fever",),
        "symptom_fr": ("douleur de la fosse iliaque droite depuis {days} jours avec fièvre à {temp} °C et nausées",),
        "symptom_en": ("right lower quadrant pain for {days} days with fever of {temp} °C and nausea",),
        "exam_fr": ("Défense de la fosse iliaque droite, signe de Blumberg positif.",),
        "exam_en": ("Right lower quadrant guarding with rebound tenderness.",),
        "evol_fr": ("Appendicectomie par cœlioscopie. Suites opératoires simples, reprise du transit à J1.",),
        "evol_en": ("Laparoscopic appendectomy. Uneventful recovery with return of bowel function on day 1.",),
    },
    "cholecystitis": {
        "motif_fr": ("Douleur de l'hypochondre droit fébrile",),
        "motif_en": ("Right upper quadrant pain with fever",),
        "symptom_fr": ("douleur de l'hypochondre droit irradiant à l'épaule depuis {days} jours avec fièvre à {temp} °C",),
        "symptom_en": ("right upper quadrant pain radiating to the shoulder for {days} days with fever of {temp} °C",),
        "exam_fr": ("Signe de Murphy positif, pas d'ictère.",),
        "exam_en": ("Positive Murphy sign, no jaundice.",),
        "evol_fr": ("Antibiothérapie puis cholécystectomie par cœlioscopie à J{days}. Suites simples.",),
        "evol_en": ("Antibiotics followed by laparoscopic cholecystectomy on day {days}. Uneventful recovery.",),
    },
}

# Past-history lines for comorbidities (affirmed), and how a letter denies them.
HISTORY_FR = {
    "hypertension": ("HTA traitée par {drug}", "Hypertension artérielle connue depuis {years} ans"),
    "type2_diabetes": ("Diabète de type 2 sous metformine, HbA1c à {hba1c} %", "DT2 connu depuis {years} ans"),
    "copd": ("BPCO post-tabagique stade GOLD {gold}", "Bronchopneumopathie chronique obstructive, tabagisme sevré ({pa} PA)"),
    "atrial_fibrillation": ("Fibrillation atriale permanente anticoagulée par apixaban", "FA paroxystique connue"),
    "heart_failure": ("Insuffisance cardiaque à FEVG altérée", "Insuffisance cardiaque chronique, FEVG à {lvef} %"),
    "knee_osteoarthritis": ("Gonarthrose bilatérale", "Arthrose du genou {side[m]}"),
    "ischemic_stroke": ("AVC ischémique sans séquelle il y a {years} ans",),
    "myocardial_infarction": ("IDM inférieur stenté il y a {years} ans", "Infarctus du myocarde ancien"),
    "multiple_sclerosis": ("Sclérose en plaques rémittente-récurrente suivie en neurologie",),
    "lung_cancer": ("Adénocarcinome pulmonaire opéré",),
    "pulmonary_embolism": ("Embolie pulmonaire il y a {years} ans",),
}
HISTORY_EN = {
    "hypertension": ("Hypertension treated with {drug_en}", "Known hypertension for {years} years"),
    "type2_diabetes": ("Type 2 diabetes on metformin, HbA1c {hba1c}%",),
    "copd": ("COPD, GOLD stage {gold}, ex-smoker ({pa} pack-years)",),
    "atrial_fibrillation": ("Permanent atrial fibrillation on apixaban",),
    "heart_failure": ("Chronic heart failure, LVEF {lvef}%",),
    "knee_osteoarthritis": ("Bilateral knee osteoarthritis",),
    "ischemic_stroke": ("Ischemic stroke {years} years ago without sequelae",),
    "myocardial_infarction": ("Inferior myocardial infarction with stenting {years} years ago",),
    "multiple_sclerosis": ("Relapsing-remitting multiple sclerosis",),
    "lung_cancer": ("Resected lung adenocarcinoma",),
    "pulmonary_embolism": ("Pulmonary embolism {years} years ago",),
}
DENY_HISTORY_FR = ("Pas {de} connu{e}.", "Pas d'antécédent {de}.")
DENY_HISTORY_EN = ("No history of {name}.", "No known {name}.")
RULEOUT_LETTER_FR = ("{Un} a été éliminé{e} par {exam_def}.", "{Exam_def} a permis d'éliminer {un}.",
                     "Pas {de} sur {exam_def}.")
RULEOUT_LETTER_EN = ("{Name} was ruled out by {exam}.", "The {exam} showed no {name}.")
SUSPECTED_LETTER_FR = ("Une hypothèse {de} est évoquée à l'admission.", "Suspicion initiale {de}.")
SUSPECTED_LETTER_EN = ("{Name} was suspected on admission.",)

RELATIVES = [  # (French, French agreement suffix, English)
    ("mère", "e", "mother"), ("père", "", "father"), ("frère", "", "brother"), ("sœur", "e", "sister"),
    ("grand-mère maternelle", "e", "maternal grandmother"), ("oncle paternel", "", "paternal uncle"),
]
# Family-history concepts that a relative may have died of (the first FAMILY_* template).
FAMILY_FATAL = {"ischemic_stroke", "myocardial_infarction", "breast_cancer", "colorectal_cancer", "lung_cancer",
                "subarachnoid_hemorrhage", "pulmonary_embolism"}
FAMILY_FR = ("{rel} décédé{e} d'{art} {name} à {age} ans", "{rel} : {name} à {age} ans", "{rel} suivi{e} pour {art} {name}")
FAMILY_EN = ("{rel} died of {name} at age {age}", "{rel} with {name} diagnosed at {age}", "family history of {name} ({rel})")
NO_FAMILY_FR = ("Pas d'antécédent familial notable.", "Antécédents familiaux non contributifs.")
NO_FAMILY_EN = ("Noncontributory family history.", "No relevant family history.")

# Discharge medications per concept: (French, English).
TREATMENTS: dict[str, tuple[tuple[str, str], ...]] = {
    "myocardial_infarction": (("Aspirine 75 mg : 1 cp/j", "Aspirin 75 mg once daily"),
                              ("Ticagrélor 90 mg : 1 cp matin et soir pendant 12 mois", "Ticagrelor 90 mg twice daily for 12 months"),
                              ("Bisoprolol 2,5 mg : 1 cp/j", "Bisoprolol 2.5 mg once daily"),
                              ("Ramipril 2,5 mg : 1 cp/j", "Ramipril 2.5 mg once daily"),
                              ("Atorvastatine 80 mg : 1 cp le soir", "Atorvastatin 80 mg at night")),
    "heart_failure": (("Furosémide 40 mg : 1 cp le matin", "Furosemide 40 mg in the morning"),
                      ("Sacubitril/valsartan 49/51 mg : 1 cp matin et soir", "Sacubitril/valsartan 49/51 mg twice daily"),
                      ("Bisoprolol 5 mg : 1 cp/j", "Bisoprolol 5 mg once daily"),
                      ("Spironolactone 25 mg : 1 cp/j", "Spironolactone 25 mg once daily"),
                      ("Dapagliflozine 10 mg : 1 cp/j", "Dapagliflozin 10 mg once daily")),
    "atrial_fibrillation": (("Apixaban 5 mg : 1 cp matin et soir", "Apixaban 5 mg twice daily"),
                            ("Bisoprolol 5 mg : 1 cp/j", "Bisoprolol 5 mg once daily")),
    "hypertension": (("Amlodipine 5 mg : 1 cp/j", "Amlodipine 5 mg once daily"),),
    "type2_diabetes": (("Metformine 1000 mg : 1 cp matin et soir", "Metformin 1000 mg twice daily"),),
    "copd": (("Tiotropium/olodatérol : 2 inhalations le matin", "Tiotropium/olodaterol 2 puffs in the morning"),
             ("Salbutamol : 2 bouffées si besoin", "Salbutamol 2 puffs as needed"),
             ("Prednisolone 40 mg : 1 cp/j pendant 5 jours", "Prednisolone 40 mg daily for 5 days")),
    "ischemic_stroke": (("Clopidogrel 75 mg : 1 cp/j", "Clopidogrel 75 mg once daily"),
                        ("Atorvastatine 40 mg : 1 cp le soir", "Atorvastatin 40 mg at night")),
    "subarachnoid_hemorrhage": (("Nimodipine 60 mg : 1 cp toutes les 4 heures pendant 21 jours", "Nimodipine 60 mg every 4 hours for 21 days"),
                                ("Paracétamol 1 g : si douleurs, maximum 4 g/j", "Paracetamol 1 g as needed, max 4 g/day")),
    "multiple_sclerosis": (("Diméthyl fumarate 240 mg : 1 gél matin et soir", "Dimethyl fumarate 240 mg twice daily"),
                           ("Vitamine D 100 000 UI : 1 ampoule par mois", "Vitamin D 100,000 IU monthly")),
    "meningioma": (("Lévétiracétam 500 mg : 1 cp matin et soir", "Levetiracetam 500 mg twice daily"),
                   ("Paracétamol 1 g : si douleurs", "Paracetamol 1 g as needed")),
    "pulmonary_embolism": (("Apixaban 10 mg matin et soir pendant 7 jours puis 5 mg matin et soir", "Apixaban 10 mg twice daily for 7 days then 5 mg twice daily"),),
    "pneumothorax": (("Paracétamol 1 g : 3 fois par jour si douleurs", "Paracetamol 1 g three times daily as needed"),
                     ("Substituts nicotiniques : patch 21 mg/24 h", "Nicotine patch 21 mg/24 h")),
    "pleural_effusion": (("Paracétamol 1 g : si douleurs", "Paracetamol 1 g as needed"),),
    "pneumonia": (("Amoxicilline-acide clavulanique 1 g : 3 fois par jour pendant 7 jours", "Amoxicillin-clavulanate 1 g three times daily for 7 days"),),
    "lung_nodule": (),
    "lung_cancer": (("Oxycodone LP 10 mg : matin et soir si douleurs", "Extended-release oxycodone 10 mg twice daily as needed"),
                    ("Enoxaparine 4000 UI : 1 injection sous-cutanée/j pendant 4 semaines", "Enoxaparin 40 mg subcutaneously daily for 4 weeks")),
    "femoral_neck_fracture": (("Enoxaparine 4000 UI : 1 injection sous-cutanée/j pendant 35 jours", "Enoxaparin 40 mg subcutaneously daily for 35 days"),
                              ("Paracétamol 1 g : 4 fois par jour", "Paracetamol 1 g four times daily"),
                              ("Cholécalciférol 100 000 UI : 1 ampoule tous les 3 mois", "Cholecalciferol 100,000 IU every 3 months")),
    "shoulder_dislocation": (("Paracétamol 1 g : si douleurs", "Paracetamol 1 g as needed"),
                             ("Immobilisation coude au corps pendant 3 semaines", "Sling immobilisation for 3 weeks")),
    "herniated_disc": (("Paracétamol 1 g : 4 fois par jour", "Paracetamol 1 g four times daily"),
                       ("Kétoprofène 100 mg : matin et soir pendant 5 jours", "Ketoprofen 100 mg twice daily for 5 days")),
    "knee_osteoarthritis": (("Enoxaparine 4000 UI : 1 injection sous-cutanée/j pendant 14 jours", "Enoxaparin 40 mg subcutaneously daily for 14 days"),
                            ("Tramadol 50 mg : si douleurs, maximum 4/j", "Tramadol 50 mg as needed, max 4 daily")),
    "appendicitis": (("Paracétamol 1 g : 4 fois par jour pendant 5 jours", "Paracetamol 1 g four times daily for 5 days"),),
    "cholecystitis": (("Paracétamol 1 g : si douleurs", "Paracetamol 1 g as needed"),
                      ("Phloroglucinol 80 mg : si douleurs", "Phloroglucinol 80 mg as needed")),
}
HTA_DRUGS = [("amlodipine", "amlodipine"), ("ramipril", "ramipril"), ("indapamide", "indapamide")]


# --------------------------------------------------------------------------------------------------
# Operative procedures
# --------------------------------------------------------------------------------------------------

PROCEDURES: dict[str, dict[str, object]] = {
    "hip_arthroplasty": {
        "service": "orthopaedics",
        "title_fr": "Arthroplastie intermédiaire de hanche", "title_en": "Hip hemiarthroplasty",
        "install_fr": "Décubitus latéral, côté {side[m]} vers le haut, appuis pubien et sacré. Antibioprophylaxie par céfazoline 2 g.",
        "install_en": "Lateral decubitus position, pubic and sacral supports. Cefazolin 2 g prophylaxis.",
        "steps_fr": ("Voie d'abord postéro-latérale de Moore.", "Capsulotomie, ostéotomie du col à 1 cm du petit trochanter et extraction de la tête fémorale.",
                     "Préparation fémorale, mise en place d'une tige cimentée et d'une tête bipolaire de {head} mm.",
                     "Réduction, tests de stabilité satisfaisants. Fermeture plan par plan sur drain de Redon."),
        "steps_en": ("Posterolateral approach.", "Capsulotomy, neck osteotomy 1 cm above the lesser trochanter and removal of the femoral head.",
                     "Femoral preparation, cemented stem and {head} mm bipolar head.",
                     "Reduction with satisfactory stability tests. Layered closure over a drain."),
        "suites_fr": "Appui complet autorisé d'emblée. Radiographie de contrôle satisfaisante. Anticoagulation préventive 35 jours.",
        "suites_en": "Immediate full weight bearing. Satisfactory postoperative radiograph. Thromboprophylaxis for 35 days.",
    },
    "shoulder_reduction": {
        "service": "orthopaedics",
        "title_fr": "Réduction de luxation d'épaule sous anesthésie générale", "title_en": "Closed reduction of shoulder dislocation",
        "install_fr": "Décubitus dorsal, anesthésie générale au masque laryngé.",
        "install_en": "Supine position, general anaesthesia with a laryngeal mask.",
        "steps_fr": ("Manœuvre de réduction par traction-contre-traction douce.", "Ressaut perçu, mobilité passive complète et indolore.",
                     "Contrôle scopique : bonne congruence gléno-humérale."),
        "steps_en": ("Gentle traction-countertraction reduction.", "Clunk felt, full painless passive range of motion.",
                     "Fluoroscopic control: congruent glenohumeral joint."),
        "suites_fr": "Immobilisation coude au corps 3 semaines puis rééducation.",
        "suites_en": "Sling for 3 weeks, then physiotherapy.",
    },
    "discectomy": {
        "service": "neurosurgery",
        "title_fr": "Discectomie lombaire {level[name]}", "title_en": "Lumbar discectomy at {level[name]}",
        "install_fr": "Décubitus ventral sur billots, repérage scopique du niveau {level[name]}.",
        "install_en": "Prone position on bolsters, fluoroscopic level check at {level[name]}.",
        "steps_fr": ("Abord inter-lamaire {side[m]} sous microscope.", "Ouverture du ligament jaune, récupération de la racine {level[root]} refoulée par une volumineuse hernie discale exclue.",
                     "Ablation de la hernie et curetage discal. Racine libre en fin d'intervention.", "Fermeture plan par plan."),
        "steps_en": ("{side[en]} interlaminar microsurgical approach.", "Opening of the ligamentum flavum; the {level[root]} root is displaced by a large extruded disc herniation.",
                     "Removal of the herniation and disc curettage; the root is free at the end.", "Layered closure."),
        "suites_fr": "Lever à J1, sortie à J2. Pas de port de charge lourde pendant 6 semaines.",
        "suites_en": "Mobilised on day 1, discharged on day 2. No heavy lifting for 6 weeks.",
    },
    "knee_arthroplasty": {
        "service": "orthopaedics",
        "title_fr": "Prothèse totale de genou", "title_en": "Total knee arthroplasty",
        "install_fr": "Décubitus dorsal, garrot pneumatique à la racine du membre, cale sous le pied.",
        "install_en": "Supine position, thigh tourniquet, foot bolster.",
        "steps_fr": ("Voie d'abord para-patellaire médiale.", "Coupes fémorale et tibiale guidées, équilibrage ligamentaire.",
                     "Mise en place d'implants cimentés à plateau fixe.", "Fermeture sur drain."),
        "steps_en": ("Medial parapatellar approach.", "Guided femoral and tibial cuts, ligament balancing.",
                     "Cemented fixed-bearing implants.", "Closure over a drain."),
        "suites_fr": "Rééducation dès J1, appui complet. Anticoagulation préventive 14 jours.",
        "suites_en": "Physiotherapy from day 1, full weight bearing. Thromboprophylaxis for 14 days.",
    },
    "appendectomy": {
        "service": "digestive",
        "title_fr": "Appendicectomie par cœlioscopie", "title_en": "Laparoscopic appendectomy",
        "install_fr": "Décubitus dorsal, bras gauche le long du corps, open-cœlioscopie ombilicale.",
        "install_en": "Supine position, open umbilical laparoscopy.",
        "steps_fr": ("Exploration : appendice inflammatoire en position latéro-cæcale, sans perforation.", "Pas de péritonite généralisée.",
                     "Section du méso-appendice, ligature de la base appendiculaire par deux endoloops.", "Extraction en sac, lavage, fermeture."),
        "steps_en": ("Exploration: inflamed retrocaecal appendix, not perforated.", "No generalised peritonitis.",
                     "Division of the mesoappendix, base ligated with two endoloops.", "Retrieval in a bag, lavage, closure."),
        "suites_fr": "Réalimentation le soir même, sortie à J1.",
        "suites_en": "Oral intake the same evening, discharged on day 1.",
    },
    "cholecystectomy": {
        "service": "digestive",
        "title_fr": "Cholécystectomie par cœlioscopie", "title_en": "Laparoscopic cholecystectomy",
        "install_fr": "Décubitus dorsal jambes écartées, quatre trocarts.",
        "install_en": "Supine French position, four ports.",
        "steps_fr": ("Vésicule inflammatoire, à paroi épaissie, adhérences épiploïques.", "Dissection du triangle de Calot, obtention de la sécurité critique.",
                     "Clips et section du canal et de l'artère cystiques. Cholangiographie peropératoire normale.", "Décollement rétrograde, extraction en sac."),
        "steps_en": ("Inflamed thick-walled gallbladder with omental adhesions.", "Dissection of Calot's triangle to the critical view of safety.",
                     "Cystic duct and artery clipped and divided. Normal intraoperative cholangiogram.", "Retrograde dissection, retrieval in a bag."),
        "suites_fr": "Suites simples, sortie à J2.",
        "suites_en": "Uneventful, discharged on day 2.",
    },
    "lobectomy": {
        "service": "thoracic_surgery",
        "title_fr": "Lobectomie pulmonaire par vidéothoracoscopie", "title_en": "VATS lobectomy",
        "install_fr": "Décubitus latéral, intubation sélective, exclusion pulmonaire.",
        "install_en": "Lateral decubitus, double-lumen intubation, one-lung ventilation.",
        "steps_fr": ("Exploration : pas de nodule de carcinose pleurale.", "Lobectomie {lobe[lobectomy_fr]} avec ligature sélective des éléments du hile.",
                     "Curage ganglionnaire médiastinal radical.", "Drainage thoracique, fermeture."),
        "steps_en": ("Exploration: no pleural carcinomatosis.", "{lobe[lobectomy_en]} lobectomy with individual hilar ligation.",
                     "Radical mediastinal lymph node dissection.", "Chest drain, closure."),
        "suites_fr": "Ablation du drain à J3. Anatomopathologie et RCP post-opératoire à prévoir.",
        "suites_en": "Drain removed on day 3. Pathology and postoperative MDT review pending.",
    },
    "pleurodesis": {
        "service": "thoracic_surgery",
        "title_fr": "Pleurodèse par talcage sous vidéothoracoscopie", "title_en": "VATS talc pleurodesis",
        "install_fr": "Décubitus latéral, intubation sélective.",
        "install_en": "Lateral decubitus, double-lumen intubation.",
        "steps_fr": ("Exploration : dystrophie bulleuse apicale.", "Résection des bulles à la pince automatique.",
                     "Talcage pleural (4 g) et abrasion pleurale.", "Mise en place de deux drains."),
        "steps_en": ("Exploration: apical bullous disease.", "Stapled bullectomy.", "Talc poudrage (4 g) and pleural abrasion.",
                     "Two chest drains."),
        "suites_fr": "Ablation des drains à J4 après radiographie de contrôle satisfaisante.",
        "suites_en": "Drains removed on day 4 after a satisfactory chest radiograph.",
    },
    "craniotomy": {
        "service": "neurosurgery",
        "title_fr": "Exérèse de méningiome par craniotomie", "title_en": "Craniotomy for meningioma resection",
        "install_fr": "Décubitus dorsal, tête fixée dans une têtière de Mayfield, neuronavigation.",
        "install_en": "Supine, Mayfield head holder, neuronavigation.",
        "steps_fr": ("Volet crânien centré sur la lésion.", "Dévascularisation de l'implantation durale, exérèse en monobloc.",
                     "Résection de la dure-mère d'implantation (Simpson 1), plastie durale.", "Repose du volet, fermeture."),
        "steps_en": ("Bone flap centred on the lesion.", "Devascularisation of the dural base and en bloc removal.",
                     "Resection of the dural attachment (Simpson grade 1), duraplasty.", "Flap replacement and closure."),
        "suites_fr": "Réveil sans déficit. Scanner post-opératoire sans complication.",
        "suites_en": "Woke without deficit. Postoperative CT without complication.",
    },
    "coronary_angioplasty": {
        "service": "cardiology",
        "title_fr": "Coronarographie et angioplastie coronaire", "title_en": "Coronary angiography and angioplasty",
        "install_fr": "Abord radial droit 6 F, héparine 5000 UI.",
        "install_en": "Right radial 6 F access, heparin 5000 IU.",
        "steps_fr": ("Coronarographie : occlusion aiguë de l'artère {mi_wall[artery]}, réseau d'aval de bonne qualité.", "Franchissement par guide, thrombo-aspiration.",
                     "Pré-dilatation puis implantation d'un stent actif 3,0 x 18 mm.", "Résultat angiographique excellent, flux TIMI 3."),
        "steps_en": ("Angiography: acute occlusion of the culprit artery.", "Wire crossing and thrombus aspiration.",
                     "Predilatation and deployment of a 3.0 x 18 mm drug-eluting stent.", "Excellent result, TIMI 3 flow."),
        "suites_fr": "Compression radiale 4 heures. Double anti-agrégation plaquettaire 12 mois.",
        "suites_en": "Radial compression for 4 hours. Dual antiplatelet therapy for 12 months.",
    },
}


# --------------------------------------------------------------------------------------------------
# People (all invented combinations) and report furniture
# --------------------------------------------------------------------------------------------------

FIRST_NAMES_F = ["Marie", "Camille", "Léa", "Chloé", "Manon", "Inès", "Sarah", "Julie", "Claire", "Hélène", "Isabelle",
                 "Nathalie", "Sophie", "Catherine", "Françoise", "Monique", "Jacqueline", "Élise", "Agathe", "Margaux",
                 "Louise", "Anaïs", "Pauline", "Céline", "Sylvie", "Martine", "Odile", "Brigitte", "Noémie", "Yasmina"]
FIRST_NAMES_M = ["Jean", "Pierre", "Louis", "Lucas", "Hugo", "Thomas", "Nicolas", "Julien", "Antoine", "Philippe",
                 "Michel", "Alain", "Bernard", "Gérard", "François", "Olivier", "Laurent", "Étienne", "Mathieu", "Rémi",
                 "Karim", "Mehdi", "Yves", "Denis", "Sébastien", "Baptiste", "Théo", "Gabriel", "Raphaël", "André"]
LAST_NAMES = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau", "Simon",
              "Laurent", "Lefèvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier", "Morel",
              "Girard", "André", "Mercier", "Dupont", "Lambert", "Bonnet", "François", "Martinez", "Legrand", "Garnier",
              "Faure", "Rousseau", "Blanc", "Guérin", "Muller", "Henry", "Roussel", "Nicolas", "Perrin", "Morin",
              "Mathieu", "Clément", "Gauthier", "Dumont", "Lopez", "Fontaine", "Chevalier", "Robin", "Masson", "Sanchez",
              "Gérard", "Nguyen", "Boyer", "Denis", "Lemaire", "Duval", "Joly", "Gautier", "Roger", "Benali", "Haddad"]
# Author names for articles (family name, initials).
AUTHOR_NAMES = [("Lefèvre", "C"), ("Moreau", "J"), ("Nguyen", "T"), ("Smith", "A"), ("Garcia", "M"), ("Müller", "K"),
                ("Rossi", "F"), ("Dubois", "P"), ("Johnson", "R"), ("Tanaka", "H"), ("Kowalski", "P"), ("Haddad", "S"),
                ("Bernard", "L"), ("Okafor", "E"), ("Fernández", "L"), ("Chen", "Y"), ("Martin", "E"), ("Brown", "D"),
                ("Fontaine", "G"), ("Petit", "N"), ("Andersen", "B"), ("Silva", "R"), ("Girard", "V"), ("Wilson", "J")]
AUTHOR_FORENAMES = {"C": "Claire", "J": "Julien", "T": "Thi", "A": "Anna", "M": "Maria", "K": "Klaus", "F": "Francesca",
                    "P": "Paul", "R": "Rita", "H": "Hiroshi", "S": "Samir", "L": "Louise", "E": "Emeka", "Y": "Ying",
                    "D": "David", "G": "Gilles", "N": "Nora", "B": "Bjorn", "V": "Valérie"}

LETTER_OPENINGS_FR = ("Cher confrère,", "Chère consœur, cher confrère,", "Madame, Monsieur, cher confrère,")
LETTER_CLOSINGS_FR = ("Je vous remercie de m'avoir adressé ce{tte} patient{e} et reste à votre disposition.",
                      "Bien confraternellement.", "Je reste à votre disposition pour tout renseignement complémentaire.")
LETTER_OPENINGS_EN = ("Dear colleague,", "Dear Dr {gp},")
LETTER_CLOSINGS_EN = ("Kind regards.", "Please do not hesitate to contact us for any further information.")
SMOKING_FR = ("Tabagisme actif à {pa} PA.", "Tabagisme sevré depuis {years} ans ({pa} PA).", "Non fumeu{r_se}.")
SMOKING_EN = ("Current smoker, {pa} pack-years.", "Ex-smoker ({pa} pack-years), quit {years} years ago.", "Never smoker.")
ALLERGY_FR = ("Pas d'allergie médicamenteuse connue.", "Allergie à la pénicilline.", "Allergie aux produits de contraste iodés (urticaire).")
ALLERGY_EN = ("No known drug allergy.", "Penicillin allergy.")

# --------------------------------------------------------------------------------------------------
# Observations (LOINC, UCUM)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LabTest:
    """One vital sign or lab measurement: LOINC code, French label, UCUM unit and normal range."""

    key: str
    loinc: str
    display: str  # LOINC long common name (English)
    label_fr: str
    unit: str
    ucum: str
    normal: tuple[float, float]
    decimals: int
    category: str  # "vital-signs" or "laboratory"


LAB_TESTS: dict[str, LabTest] = {
    t.key: t
    for t in [
        LabTest("sbp", "8480-6", "Systolic blood pressure", "Pression artérielle systolique", "mmHg", "mm[Hg]", (110, 135), 0, "vital-signs"),
        LabTest("dbp", "8462-4", "Diastolic blood pressure", "Pression artérielle diastolique", "mmHg", "mm[Hg]", (65, 85), 0, "vital-signs"),
        LabTest("hr", "8867-4", "Heart rate", "Fréquence cardiaque", "/min", "/min", (60, 90), 0, "vital-signs"),
        LabTest("spo2", "59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "SpO2", "%", "%", (95, 99), 0, "vital-signs"),
        LabTest("temp", "8310-5", "Body temperature", "Température", "°C", "Cel", (36.4, 37.4), 1, "vital-signs"),
        LabTest("troponin", "89579-7", "Troponin I.cardiac [Mass/volume] in Serum or Plasma by High sensitivity method",
                "Troponine I hypersensible", "ng/L", "ng/L", (2, 20), 0, "laboratory"),
        LabTest("creatinine", "14682-9", "Creatinine [Moles/volume] in Serum or Plasma", "Créatinine", "µmol/L", "umol/L", (55, 100), 0, "laboratory"),
        LabTest("hba1c", "4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "HbA1c", "%", "%", (4.8, 5.8), 1, "laboratory"),
        LabTest("crp", "1988-5", "C reactive protein [Mass/volume] in Serum or Plasma", "CRP", "mg/L", "mg/L", (1, 5), 0, "laboratory"),
        LabTest("hb", "718-7", "Hemoglobin [Mass/volume] in Blood", "Hémoglobine", "g/dL", "g/dL", (12.5, 15.5), 1, "laboratory"),
        LabTest("wbc", "6690-2", "Leukocytes [#/volume] in Blood by Automated count", "Leucocytes", "G/L", "10*9/L", (4.5, 9.5), 1, "laboratory"),
        LabTest("ddimer", "48065-7", "Fibrin D-dimer FEU [Mass/volume] in Platelet poor plasma", "D-dimères", "ng/mL", "ng/mL", (150, 450), 0, "laboratory"),
        LabTest("ntprobnp", "33762-6", "Natriuretic peptide.B prohormone N-Terminal [Mass/volume] in Serum or Plasma", "NT-proBNP", "pg/mL", "pg/mL", (40, 250), 0, "laboratory"),
        LabTest("glucose", "15074-8", "Glucose [Moles/volume] in Blood", "Glycémie", "mmol/L", "mmol/L", (4.2, 6.0), 1, "laboratory"),
    ]
}
BASE_LABS = ("sbp", "dbp", "hr", "spo2", "temp", "creatinine", "hb", "crp", "wbc")
# concept -> {lab key: (low, high)} abnormal range, plus extra labs to measure.
LAB_EFFECTS: dict[str, dict[str, tuple[float, float]]] = {
    "myocardial_infarction": {"troponin": (800, 15000), "hr": (85, 110)},
    "heart_failure": {"ntprobnp": (1800, 12000), "spo2": (88, 94), "creatinine": (105, 180)},
    "atrial_fibrillation": {"hr": (115, 160)},
    "pulmonary_embolism": {"ddimer": (1500, 8000), "spo2": (85, 93), "hr": (100, 125), "troponin": (15, 80)},
    "pneumonia": {"crp": (90, 320), "wbc": (12, 22), "temp": (38.3, 39.8), "spo2": (89, 95)},
    "copd": {"spo2": (86, 92)},
    "pneumothorax": {"spo2": (90, 95)},
    "appendicitis": {"crp": (40, 180), "wbc": (12, 19), "temp": (37.9, 38.9)},
    "cholecystitis": {"crp": (60, 250), "wbc": (12, 20), "temp": (38.0, 39.2)},
    "type2_diabetes": {"hba1c": (6.8, 9.5), "glucose": (7.5, 14.0)},
    "hypertension": {"sbp": (145, 175), "dbp": (88, 102)},
    "ischemic_stroke": {"sbp": (150, 190)},
    "subarachnoid_hemorrhage": {"sbp": (150, 185)},
    "femoral_neck_fracture": {"hb": (9.5, 11.5)},
}
# Labs checked (and usually normal) to exclude a rule-out concept.
RULEOUT_LABS = {"myocardial_infarction": "troponin", "pulmonary_embolism": "ddimer", "heart_failure": "ntprobnp"}


# --------------------------------------------------------------------------------------------------
# Articles
# --------------------------------------------------------------------------------------------------

ARTICLE_TOPICS: dict[str, dict[str, str]] = {
    # population / index test or method / outcome / intervention, in both languages
    "pleural_effusion": {"pop_en": "patients with pleural effusion", "pop_fr": "patients présentant un épanchement pleural",
                         "test_en": "thoracic ultrasound", "test_fr": "l'échographie pleurale",
                         "out_en": "malignant pleural effusion", "out_fr": "l'épanchement pleural malin",
                         "int_en": "indwelling pleural catheter", "int_fr": "le cathéter pleural tunnelisé"},
    "pneumothorax": {"pop_en": "patients with primary spontaneous pneumothorax", "pop_fr": "patients avec un pneumothorax spontané primaire",
                     "test_en": "chest radiography", "test_fr": "la radiographie thoracique",
                     "out_en": "pneumothorax recurrence", "out_fr": "la récidive de pneumothorax",
                     "int_en": "conservative management", "int_fr": "l'abstention thérapeutique"},
    "pneumonia": {"pop_en": "adults with community-acquired pneumonia", "pop_fr": "adultes hospitalisés pour pneumopathie communautaire",
                  "test_en": "low-dose chest CT", "test_fr": "le scanner thoracique basse dose",
                  "out_en": "30-day mortality", "out_fr": "la mortalité à 30 jours",
                  "int_en": "short-course antibiotic therapy", "int_fr": "l'antibiothérapie courte"},
    "pulmonary_embolism": {"pop_en": "patients with suspected pulmonary embolism", "pop_fr": "patients suspects d'embolie pulmonaire",
                           "test_en": "CT pulmonary angiography", "test_fr": "l'angioscanner thoracique",
                           "out_en": "missed pulmonary embolism", "out_fr": "l'embolie pulmonaire méconnue",
                           "int_en": "direct oral anticoagulants", "int_fr": "les anticoagulants oraux directs"},
    "copd": {"pop_en": "patients with COPD exacerbation", "pop_fr": "patients hospitalisés pour exacerbation de BPCO",
             "test_en": "quantitative CT emphysema scoring", "test_fr": "la quantification scanographique de l'emphysème",
             "out_en": "readmission at 90 days", "out_fr": "la réhospitalisation à 90 jours",
             "int_en": "pulmonary rehabilitation", "int_fr": "la réhabilitation respiratoire"},
    "lung_nodule": {"pop_en": "patients with incidental pulmonary nodules", "pop_fr": "patients avec un nodule pulmonaire de découverte fortuite",
                    "test_en": "deep learning nodule detection on CT", "test_fr": "la détection des nodules par apprentissage profond",
                    "out_en": "malignancy", "out_fr": "la malignité",
                    "int_en": "volumetric follow-up", "int_fr": "le suivi volumétrique"},
    "lung_cancer": {"pop_en": "patients with non-small cell lung cancer", "pop_fr": "patients atteints d'un cancer du poumon non à petites cellules",
                    "test_en": "PET-CT staging", "test_fr": "le bilan d'extension par TEP-TDM",
                    "out_en": "overall survival", "out_fr": "la survie globale",
                    "int_en": "VATS lobectomy", "int_fr": "la lobectomie par vidéothoracoscopie"},
    "myocardial_infarction": {"pop_en": "patients with ST-elevation myocardial infarction", "pop_fr": "patients présentant un infarctus du myocarde avec sus-décalage du ST",
                              "test_en": "high-sensitivity troponin", "test_fr": "la troponine hypersensible",
                              "out_en": "major adverse cardiac events", "out_fr": "les événements cardiovasculaires majeurs",
                              "int_en": "primary angioplasty", "int_fr": "l'angioplastie primaire"},
    "heart_failure": {"pop_en": "patients with heart failure with reduced ejection fraction", "pop_fr": "patients en insuffisance cardiaque à fraction d'éjection réduite",
                      "test_en": "NT-proBNP", "test_fr": "le NT-proBNP",
                      "out_en": "hospitalisation for heart failure", "out_fr": "l'hospitalisation pour insuffisance cardiaque",
                      "int_en": "SGLT2 inhibitors", "int_fr": "les inhibiteurs de SGLT2"},
    "hypertension": {"pop_en": "older adults with hypertension", "pop_fr": "sujets âgés hypertendus",
                     "test_en": "ambulatory blood pressure monitoring", "test_fr": "la mesure ambulatoire de la pression artérielle",
                     "out_en": "stroke", "out_fr": "l'accident vasculaire cérébral",
                     "int_en": "intensive blood pressure control", "int_fr": "le contrôle tensionnel intensif"},
    "atrial_fibrillation": {"pop_en": "patients with atrial fibrillation", "pop_fr": "patients en fibrillation atriale",
                            "test_en": "smartwatch ECG screening", "test_fr": "le dépistage par ECG de montre connectée",
                            "out_en": "ischemic stroke", "out_fr": "l'AVC ischémique",
                            "int_en": "catheter ablation", "int_fr": "l'ablation par cathéter"},
    "ischemic_stroke": {"pop_en": "patients with acute ischemic stroke", "pop_fr": "patients victimes d'un AVC ischémique aigu",
                        "test_en": "CT perfusion", "test_fr": "le scanner de perfusion",
                        "out_en": "functional independence at 90 days", "out_fr": "l'indépendance fonctionnelle à 3 mois",
                        "int_en": "mechanical thrombectomy", "int_fr": "la thrombectomie mécanique"},
    "subarachnoid_hemorrhage": {"pop_en": "patients with aneurysmal subarachnoid hemorrhage", "pop_fr": "patients avec une hémorragie méningée anévrismale",
                                "test_en": "transcranial Doppler", "test_fr": "le Doppler transcrânien",
                                "out_en": "delayed cerebral ischemia", "out_fr": "l'ischémie cérébrale retardée",
                                "int_en": "endovascular coiling", "int_fr": "l'embolisation endovasculaire"},
    "multiple_sclerosis": {"pop_en": "patients with relapsing multiple sclerosis", "pop_fr": "patients atteints de sclérose en plaques rémittente",
                           "test_en": "the central vein sign on MRI", "test_fr": "le signe de la veine centrale en IRM",
                           "out_en": "disability progression", "out_fr": "la progression du handicap",
                           "int_en": "anti-CD20 therapy", "int_fr": "les anti-CD20"},
    "meningioma": {"pop_en": "patients with intracranial meningioma", "pop_fr": "patients porteurs d'un méningiome intracrânien",
                   "test_en": "radiomic MRI features", "test_fr": "l'analyse radiomique en IRM",
                   "out_en": "WHO grade", "out_fr": "le grade OMS",
                   "int_en": "stereotactic radiosurgery", "int_fr": "la radiochirurgie stéréotaxique"},
    "femoral_neck_fracture": {"pop_en": "older adults with femoral neck fracture", "pop_fr": "sujets âgés avec une fracture du col du fémur",
                              "test_en": "AI-assisted hip radiograph reading", "test_fr": "la lecture assistée par IA des radiographies de hanche",
                              "out_en": "one-year mortality", "out_fr": "la mortalité à un an",
                              "int_en": "hemiarthroplasty", "int_fr": "l'arthroplastie intermédiaire"},
    "shoulder_dislocation": {"pop_en": "young athletes with anterior shoulder dislocation", "pop_fr": "sportifs jeunes avec une luxation antérieure de l'épaule",
                             "test_en": "CT glenoid bone loss measurement", "test_fr": "la mesure scanographique de la perte osseuse glénoïdienne",
                             "out_en": "recurrent instability", "out_fr": "la récidive d'instabilité",
                             "int_en": "the Latarjet procedure", "int_fr": "la butée coracoïdienne de Latarjet"},
    "herniated_disc": {"pop_en": "patients with lumbar disc herniation and sciatica", "pop_fr": "patients avec une sciatique par hernie discale lombaire",
                       "test_en": "lumbar MRI", "test_fr": "l'IRM lombaire",
                       "out_en": "leg pain at one year", "out_fr": "la radiculalgie à un an",
                       "int_en": "microdiscectomy", "int_fr": "la microdiscectomie"},
    "knee_osteoarthritis": {"pop_en": "patients with knee osteoarthritis", "pop_fr": "patients atteints de gonarthrose",
                            "test_en": "automated Kellgren-Lawrence grading", "test_fr": "la cotation automatisée de Kellgren-Lawrence",
                            "out_en": "progression to arthroplasty", "out_fr": "le recours à la prothèse",
                            "int_en": "intra-articular hyaluronic acid", "int_fr": "l'acide hyaluronique intra-articulaire"},
    "appendicitis": {"pop_en": "adults with uncomplicated acute appendicitis", "pop_fr": "adultes avec une appendicite aiguë non compliquée",
                     "test_en": "point-of-care ultrasound", "test_fr": "l'échographie au lit du patient",
                     "out_en": "treatment failure at one year", "out_fr": "l'échec thérapeutique à un an",
                     "int_en": "antibiotics alone", "int_fr": "l'antibiothérapie seule"},
    "cholecystitis": {"pop_en": "patients with acute calculous cholecystitis", "pop_fr": "patients avec une cholécystite aiguë lithiasique",
                      "test_en": "the sonographic Murphy sign", "test_fr": "le signe de Murphy échographique",
                      "out_en": "conversion to open surgery", "out_fr": "la conversion en laparotomie",
                      "int_en": "early laparoscopic cholecystectomy", "int_fr": "la cholécystectomie cœlioscopique précoce"},
    "type2_diabetes": {"pop_en": "adults with type 2 diabetes", "pop_fr": "adultes diabétiques de type 2",
                       "test_en": "HbA1c", "test_fr": "l'HbA1c",
                       "out_en": "cardiovascular events", "out_fr": "les événements cardiovasculaires",
                       "int_en": "GLP-1 receptor agonists", "int_fr": "les agonistes du récepteur du GLP-1"},
    "breast_cancer": {"pop_en": "women with a family history of breast cancer", "pop_fr": "femmes ayant des antécédents familiaux de cancer du sein",
                      "test_en": "digital breast tomosynthesis", "test_fr": "la tomosynthèse mammaire",
                      "out_en": "interval cancer", "out_fr": "le cancer de l'intervalle",
                      "int_en": "risk-adapted screening", "int_fr": "le dépistage adapté au risque"},
    "colorectal_cancer": {"pop_en": "first-degree relatives of patients with colorectal cancer", "pop_fr": "apparentés au premier degré de patients atteints de cancer colorectal",
                          "test_en": "CT colonography", "test_fr": "la coloscopie virtuelle",
                          "out_en": "advanced neoplasia", "out_fr": "la néoplasie avancée",
                          "int_en": "early colonoscopy", "int_fr": "la coloscopie précoce"},
}
ARTICLE_DESIGNS = ["diagnostic", "cohort", "trial", "ai", "review"]
ARTICLE_TITLES_EN = {
    "diagnostic": "Diagnostic accuracy of {test_en} for {concept_en} in {pop_en}: a {n}-patient retrospective study",
    "cohort": "{concept_en_cap} and {out_en} in {pop_en}: a prospective multicentre cohort",
    "trial": "{int_en_cap} versus standard care in {pop_en}: a randomised controlled trial",
    "ai": "A deep learning model to detect {concept_en} on {modality_en}: development and external validation",
    "review": "{concept_en_cap}: a systematic review and meta-analysis of {n} studies",
}
ARTICLE_TITLES_FR = {
    "diagnostic": "Performance diagnostique de {test_fr} pour {concept_fr_le} chez les {pop_fr} : étude rétrospective de {n} cas",
    "cohort": "{concept_fr_cap} et {out_fr} : cohorte prospective multicentrique de {n} patients",
    "trial": "Essai randomisé évaluant {int_fr} chez les {pop_fr}",
    "ai": "Détection automatique {concept_fr_de} en {modality_fr} par apprentissage profond : validation externe",
    "review": "{concept_fr_cap} : revue systématique et méta-analyse de {n} études",
}
ABSTRACT_EN = {
    "BACKGROUND": ("{concept_en_cap} is common in clinical practice, and its early recognition changes management.",
                   "The optimal strategy for {concept_en} remains debated, particularly regarding {out_en}."),
    "METHODS": ("We included {n} {pop_en} between {y0} and {y1}. {method_en}",
                "This {design_en} enrolled {n} patients from {centres} university hospitals. {method_en}"),
    "RESULTS": ("{result_en}", "{result_en} No significant difference was found in {secondary_en}."),
    "CONCLUSIONS": ("{conclusion_en}",),
}
ABSTRACT_FR = {
    "CONTEXTE": ("{concept_fr_cap} est un diagnostic fréquent en pratique clinique ; sa reconnaissance précoce modifie la prise en charge.",
                 "La stratégie optimale face {concept_fr_a} reste débattue, notamment en ce qui concerne {out_fr}."),
    "MÉTHODES": ("Nous avons inclus {n} {pop_fr} entre {y0} et {y1}. {method_fr}",
                 "Cette {design_fr} a inclus {n} patients dans {centres} CHU. {method_fr}"),
    "RÉSULTATS": ("{result_fr}", "{result_fr} Aucune différence significative n'a été observée concernant {secondary_fr}."),
    "CONCLUSION": ("{conclusion_fr}",),
}
DESIGN_TEXT = {
    "diagnostic": {"design_en": "retrospective diagnostic study", "design_fr": "étude diagnostique rétrospective",
                   "method_en": "The reference standard was the final diagnosis at 3 months; {test_en} was read by two blinded radiologists.",
                   "method_fr": "Le standard de référence était le diagnostic final à 3 mois ; l'interprétation de {test_fr} était réalisée par deux radiologues en aveugle.",
                   "result_en": "Sensitivity of {test_en} for {concept_en} was {sens}% and specificity {spec}% (AUC {auc}).",
                   "result_fr": "La sensibilité de {test_fr} pour {concept_fr_le} était de {sens} % et la spécificité de {spec} % (AUC {auc}).",
                   "conclusion_en": "{test_en_cap} is accurate for {concept_en}, but a negative result does not exclude it in high-risk patients.",
                   "conclusion_fr": "Les performances de {test_fr} sont bonnes pour {concept_fr_le}, mais un résultat négatif ne permet pas de l'exclure chez les patients à haut risque."},
    "cohort": {"design_en": "prospective cohort", "design_fr": "cohorte prospective",
               "method_en": "Patients were followed for a median of {months} months; the primary outcome was {out_en}.",
               "method_fr": "Les patients ont été suivis pendant une durée médiane de {months} mois ; le critère principal était {out_fr}.",
               "result_en": "{out_en_cap} occurred in {pct}% of patients (adjusted hazard ratio {hr}, 95% CI {ci}).",
               "result_fr": "Le critère principal ({out_fr}) a été observé chez {pct} % des patients (hazard ratio ajusté {hr}, IC 95 % {ci}).",
               "conclusion_en": "{concept_en_cap} is independently associated with {out_en}.",
               "conclusion_fr": "{concept_fr_cap} est associé{e_c} de façon indépendante {a_out_fr}."},
    "trial": {"design_en": "randomised controlled trial", "design_fr": "étude randomisée contrôlée",
              "method_en": "Patients were randomised 1:1 to {int_en} or standard care; the primary endpoint was {out_en}.",
              "method_fr": "Les patients étaient randomisés 1:1 entre {int_fr} et la prise en charge standard ; le critère principal était {out_fr}.",
              "result_en": "The primary endpoint occurred in {pct}% versus {pct2}% of patients (relative risk {hr}, 95% CI {ci}).",
              "result_fr": "Le critère principal est survenu chez {pct} % versus {pct2} % des patients (risque relatif {hr}, IC 95 % {ci}).",
              "conclusion_en": "{int_en_cap} was non-inferior to standard care in {pop_en}.",
              "conclusion_fr": "La stratégie fondée sur {int_fr} n'était pas inférieure à la prise en charge standard chez les {pop_fr}."},
    "ai": {"design_en": "retrospective development and validation study", "design_fr": "étude rétrospective de développement et validation",
           "method_en": "A convolutional neural network was trained on {n} {modality_en} examinations and tested on an external dataset.",
           "method_fr": "Un réseau de neurones convolutif a été entraîné sur {n} examens de {modality_fr} puis testé sur une base externe.",
           "result_en": "The model detected {concept_en} with an AUC of {auc}, a sensitivity of {sens}% and a specificity of {spec}%; false positives were mostly atelectasis or artefacts.",
           "result_fr": "Le modèle détectait {concept_fr_le} avec une AUC de {auc}, une sensibilité de {sens} % et une spécificité de {spec} % ; les faux positifs correspondaient surtout à des artefacts.",
           "conclusion_en": "Deep learning can assist radiologists in detecting {concept_en}; the absence of a model alert should not rule it out.",
           "conclusion_fr": "L'apprentissage profond peut aider le radiologue à détecter {concept_fr_le} ; l'absence d'alerte ne permet pas de l'éliminer."},
    "review": {"design_en": "systematic review", "design_fr": "revue systématique",
               "method_en": "MEDLINE, Embase and the Cochrane Library were searched up to {y1}; random-effects models were used.",
               "method_fr": "MEDLINE, Embase et la Cochrane Library ont été interrogées jusqu'en {y1} ; des modèles à effets aléatoires ont été utilisés.",
               "result_en": "{n} studies ({patients} patients) were included. The pooled prevalence of {out_en} was {pct}%.",
               "result_fr": "{n} études ({patients} patients) ont été incluses. La prévalence poolée de {out_fr} était de {pct} %.",
               "conclusion_en": "Evidence on {concept_en} is heterogeneous; high-quality prospective studies are needed.",
               "conclusion_fr": "Les données sur {concept_fr_le} sont hétérogènes ; des études prospectives de qualité sont nécessaires."},
}
SECONDARY_OUTCOMES = [("length of stay", "la durée de séjour"), ("quality of life", "la qualité de vie"),
                      ("adverse events", "les événements indésirables"), ("readmission", "les réhospitalisations")]
JOURNALS_BY_SPECIALTY = {  # (English, French)
    "cardiology": ("International Journal of Fictional Cardiology", "Annales de Cardiologie de Démonstration"),
    "neurology": ("Neurology Demo Reports", "Revue Neurologique de Démonstration"),
    "pneumology": ("Chest Medicine Review (Demo)", "Revue des Maladies Respiratoires Fictives"),
    "oncology": ("European Journal of Synthetic Medicine", "Revue Française de Démonstration Clinique"),
    "orthopaedics": ("Orthopaedic Demo Journal", "Revue de Chirurgie Orthopédique (Démo)"),
    "digestive": ("Digestive Surgery Demo", "Revue Française de Démonstration Clinique"),
    "metabolic": ("European Journal of Synthetic Medicine", "Revue Française de Démonstration Clinique"),
}
RADIOLOGY_JOURNALS = ("Journal of Demonstration Radiology", "Journal de Radiologie de Démonstration")
MODALITY_TEXT = {"CT": ("CT", "scanner"), "MR": ("MRI", "IRM"), "CR": ("chest radiographs", "radiographie"),
                 "DX": ("radiographs", "radiographie"), "US": ("ultrasound", "échographie")}
METHOD_MESH = {"CT": "Tomography, X-Ray Computed", "MR": "Magnetic Resonance Imaging", "CR": "Radiography, Thoracic",
               "DX": "Radiography", "US": "Ultrasonography"}
METHOD_MESH_FR = {"CT": "Tomodensitométrie", "MR": "Imagerie par résonance magnétique", "CR": "Radiographie thoracique",
                  "DX": "Radiographie", "US": "Échographie"}
DESIGN_MESH = {"diagnostic": ("Sensitivity and Specificity", "Sensibilité et spécificité"),
               "cohort": ("Prospective Studies", "Études prospectives"),
               "trial": ("Randomized Controlled Trials as Topic", "Essais contrôlés randomisés comme sujet"),
               "ai": ("Deep Learning", "Apprentissage profond"),
               "review": ("Systematic Reviews as Topic", "Revues systématiques comme sujet")}

# Age range (years at first stay) of patients whose main problem is the key concept.
AGE_RANGE: dict[str, tuple[int, int]] = {
    "appendicitis": (16, 55), "pneumothorax": (18, 42), "shoulder_dislocation": (18, 45),
    "multiple_sclerosis": (20, 50), "herniated_disc": (28, 60), "femoral_neck_fracture": (70, 96),
    "knee_osteoarthritis": (58, 85), "subarachnoid_hemorrhage": (35, 70), "cholecystitis": (30, 80),
}
DEFAULT_AGE_RANGE = (40, 90)
