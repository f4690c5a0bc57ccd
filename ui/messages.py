"""French wording of the API's error messages, for the portal.

The API answers in English (its clients are programs, and its messages are tested); a physician
reads French. Each known message pattern maps to a French sentence; an unknown message is shown as
it came, so nothing is ever hidden. Patterns cover medsearch's own messages and the pydantic
validation messages FastAPI sends for bad parameters.
"""

from __future__ import annotations

import re

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(p, re.IGNORECASE), fr)
    for p, fr in [
        (r"the query is empty.*", "la requête est vide : saisissez un signe, un diagnostic ou un examen"),
        (r"the query is too long \((\d+) characters, at most (\d+)\)", r"la requête est trop longue (\1 caractères, au plus \2)"),
        (r"the query contains an invalid character at position (\d+)", r"la requête contient un caractère invalide (position \1)"),
        (r"date_from must be on or before date_to", "la date de début doit précéder la date de fin"),
        (r"date outside the supported range (\S+) \.\. (\S+)", r"date hors de la plage acceptée (\1 – \2)"),
        (r"date filters are not available in the de-identified view.*",
         "les filtres de date ne sont pas disponibles en vue dé-identifiée : les dates y sont décalées par patient ; "
         "utilisez les critères de date d'une cohorte"),
        (r"no document with id (.+)", r"aucun document d'identifiant \1"),
        (r"no image with id (.+)", r"aucune image d'identifiant \1"),
        (r"reading a patient document requires an identified user.*",
         "la lecture d'un document patient nécessite un utilisateur identifié"),
        (r"viewing a patient image requires an identified user.*",
         "l'affichage d'une image patient nécessite un utilisateur identifié"),
        (r"upload too large: more than (\S+) MB", r"fichier trop volumineux : plus de \1 Mo"),
        (r"the uploaded file is empty", "le fichier envoyé est vide"),
        (r"unsupported file type.*",
         "type de fichier non pris en charge : envoyez une image PNG, JPEG ou DICOM (Part 10, préambule « DICM »)"),
        (r"cannot read the uploaded image: (.+)", r"image illisible : \1"),
        (r"the image file of (.+) is no longer available", r"le fichier image de \1 n'est plus disponible"),
        (r"cannot render (.+?): (.+)", r"impossible d'afficher \1 : \2"),
        (r"no index at .*", "aucun index n'est encore construit : lancez « medsearch index DOSSIER »"),
        (r"index at \S+ has format (\d+), this version reads (\d+).*",
         r"l'index de recherche doit être reconstruit pour cette version du service (format \1, attendu \2) : "
         r"prévenez l'administrateur de medsearch (« medsearch index DOSSIER --rebuild »)"),
        (r"the search index's server cannot be reached.*",
         "le serveur de l'index de recherche ne répond pas : réessayez dans un moment"),
        (r"index built with encoder (\S+), API configured with (\S+)",
         r"index construit avec l'encodeur \1, API configurée avec \2 : réindexez"),
        (r"String should have at most (\d+) characters?", r"au plus \1 caractères"),
        (r"String should have at least (\d+) characters?", r"au moins \1 caractères"),
        (r"Input should be less than or equal to (\S+)", r"doit être inférieur ou égal à \1"),
        (r"Input should be greater than or equal to (\S+)", r"doit être supérieur ou égal à \1"),
        (r"Input should be a valid date.*", "date invalide (AAAA-MM-JJ attendu)"),
        (r"Input should be a valid integer.*", "nombre entier attendu"),
        (r"Input should be a valid boolean.*", "valeur oui/non attendue"),
        (r"Input should be (.+)", r"valeur attendue : \1"),
        (r"too many requests: at most (\d+) a minute",
         r"trop de demandes (au plus \1 par minute) : patientez une minute avant de réessayer"),
        (r"authentication required.*|invalid or expired token", "session expirée ou absente : reconnectez-vous"),
        (r"this needs the (.+) role", "votre rôle ne donne pas accès à cette fonction"),
        # reasons of the audit log's refusals (shown on the admins' audit screen)
        (r"requires the (.+) role", r"rôle \1 requis"),
        (r"outside the user's scope", "hors du périmètre de l'utilisateur"),
        (r"no medsearch role", "aucun rôle medsearch"),
        (r"no credentials", "aucun identifiant fourni"),
        (r"unknown, wrong or revoked key", "clé d'API inconnue, erronée ou révoquée"),
        (r"wrong username or password", "identifiant ou mot de passe incorrect"),
        (r"local login is disabled.*", "connexion locale désactivée : connectez-vous par le SSO de l'hôpital"),
        # the cohort definition's own checks (API, French already) name its JSON fields: the portal's labels
        (r"age_min doit être inférieur ou égal à age_max", "l'âge min. doit être inférieur ou égal à l'âge max."),
        (r"date_from doit précéder date_to", "la date « Du » doit précéder la date « Au »"),
        (r"stay_from doit précéder stay_to", "la date « Séjour entre le » doit précéder la date « et le »"),
        (r"au moins un critère doit être obligatoire \(include = must\)",
         "au moins un critère doit être « doit avoir » (des critères « ne doit pas avoir » seuls ne retiennent personne)"),
        (r"Field required", "champ obligatoire"),
        (r"Extra inputs are not permitted", "paramètre inconnu"),
        (r"Not Found", "introuvable"),
        (r"Internal Server Error", "erreur interne du service"),
    ]
]


#: a cohort criterion's fields, as the portal labels them (ui/cohort_page.py: criterion_form)
_CRITERION_FIELDS = {
    "q": "Requête", "age_min": "Âge min.", "age_max": "Âge max.", "date_from": "Du", "date_to": "Au",
    "stay_from": "Séjour entre le", "stay_to": "et le", "label": "Nom", "kinds": "Types",
    "departments": "Services", "modalities": "Modalités", "body_parts": "Régions",
}
_CRITERION_LOCATION = re.compile(r"criteria\.(\d+)(?:\.(\w+))?")
_RELATION_CRITERION = re.compile(r"(la relation temporelle désigne le critère )(\d+)")


def _location(prefix: str) -> str:
    """« criteria.0.age_max » → « Critère 1 · Âge max. »: the portal numbers criteria from 1, by its labels.
    Why: a research associate who swapped the ages read « criteria.0: age_min doit être … age_max »."""
    found = _CRITERION_LOCATION.fullmatch(prefix)
    if not found:
        return prefix
    field = found.group(2)
    return f"Critère {int(found.group(1)) + 1}" + (f" · {_CRITERION_FIELDS.get(field, field)}" if field else "")


def _one(part: str) -> str:
    prefix, sep, message = part.partition(": ") if re.match(r"^[\w.]+: ", part) else ("", "", part)
    for pattern, french in _PATTERNS:
        match = pattern.fullmatch(message.strip())
        if match:
            message = match.expand(french)
            break
    # the API counts criteria from 0, the portal from 1
    message = _RELATION_CRITERION.sub(lambda m: m.group(1) + str(int(m.group(2)) + 1), message)
    where = _location(prefix)
    return f"{where}{' : ' if where != prefix else sep}{message}"  # French: a space before the colon


def french(message: str) -> str:
    """The API's message in French (each « ; »-separated part translated on its own)."""
    return "; ".join(_one(part) for part in message.split("; "))
