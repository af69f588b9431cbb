"""The words patients type for a specialty: labels, abbreviations, everyday names.

Terms are compared folded (`fold`: lower case, no accents, hyphens and
apostrophes as spaces), so "Généraliste", "generaliste" and "GÉNÉRALISTE"
are one term. A term may name several specialties ("psy").
"""

import re
import unicodedata

from webapp.accounts.specialties import SPECIALTIES

_SEPARATORS = re.compile(r"[\s\-'’.,;/]+")

# French words (labels, abbreviations, everyday names), then the English
# labels (the catalog's msgids) are added below.
_FRENCH_TERMS = {
    "general_practitioner": ["médecin généraliste", "généraliste", "generaliste", "médecin traitant",
                             "médecin de famille", "mg", "médecine générale"],
    "pediatrician": ["pédiatre", "pédiatrie", "pédiatrique", "médecin pour enfant"],
    "dermatologist": ["dermatologue", "dermato", "dermatologie", "dermatologiste"],
    "gynecologist": ["gynécologue", "gynéco", "gynécologie", "gyneco", "gygy"],
    "ophthalmologist": ["ophtalmologue", "ophtalmo", "ophtalmologiste", "ophtalmologie", "ophtamo", "oculiste"],
    "dentist": ["dentiste", "chirurgien dentiste", "dentaire", "dents"],
    "physiotherapist": ["kinésithérapeute", "kiné", "kinési", "kinésithérapie", "masseur kinésithérapeute", "kinesi"],
    "cardiologist": ["cardiologue", "cardio", "cardiologie"],
    "psychiatrist": ["psychiatre", "psy", "psychiatrie"],
    "psychologist": ["psychologue", "psy", "psycho", "psychologie", "psychothérapeute"],
    "ent": ["orl", "oto rhino laryngologiste", "oto rhino", "otorhino"],
    "rheumatologist": ["rhumatologue", "rhumato", "rhumatologie"],
    "endocrinologist": ["endocrinologue", "endocrino", "endocrinologie", "diabétologue"],
    "gastroenterologist": ["gastro entérologue", "gastroentérologue", "gastro", "hépato gastro entérologue"],
    "pulmonologist": ["pneumologue", "pneumo", "pneumologie"],
    "neurologist": ["neurologue", "neuro", "neurologie"],
    "nephrologist": ["néphrologue", "néphro"],
    "urologist": ["urologue", "uro"],
    "allergist": ["allergologue", "allergo", "allergie"],
    "oncologist": ["oncologue", "onco", "cancérologue"],
    "hematologist": ["hématologue", "hémato"],
    "infectious_disease": ["infectiologue", "infectio"],
    "internist": ["interniste", "médecine interne"],
    "geriatrician": ["gériatre", "gériatrie"],
    "radiologist": ["radiologue", "radio", "radiologie", "échographie"],
    "anesthesiologist": ["anesthésiste", "anesthésiste réanimateur"],
    "orthopedic_surgeon": ["chirurgien orthopédiste", "orthopédiste", "ortho"],
    "general_surgeon": ["chirurgien", "chirurgien viscéral", "chirurgie"],
    "plastic_surgeon": ["chirurgien plasticien", "chirurgie esthétique", "plasticien"],
    "vascular_surgeon": ["chirurgien vasculaire"],
    "angiologist": ["angiologue", "phlébologue", "médecin vasculaire"],
    "sports_physician": ["médecin du sport", "médecine du sport"],
    "physical_medicine": ["médecine physique", "rééducation", "mpr"],
    "occupational_physician": ["médecin du travail", "médecine du travail"],
    "stomatologist": ["stomatologue", "stomato"],
    "orthodontist": ["orthodontiste", "orthodontie"],
    "midwife": ["sage femme", "sagefemme", "maïeuticien"],
    "nurse": ["infirmier", "infirmière", "infirmier libéral", "idel"],
    "speech_therapist": ["orthophoniste", "orthophonie", "ortho"],
    "orthoptist": ["orthoptiste", "orthoptie"],
    "podiatrist": ["pédicure podologue", "podologue", "pédicure", "podo"],
    "osteopath": ["ostéopathe", "ostéo", "ostéopathie"],
    "dietitian": ["diététicien", "diététicienne", "diététique", "diet"],
    "psychomotor_therapist": ["psychomotricien", "psychomotricienne", "psychomot"],
    "occupational_therapist": ["ergothérapeute", "ergo"],
    "optician": ["opticien", "lunettes"],
    "audiologist": ["audioprothésiste", "audio", "prothèses auditives"],
    "pharmacist": ["pharmacien", "pharmacie"],
    "nutritionist": ["nutritionniste", "nutrition", "médecin nutritionniste"],
    "addictologist": ["addictologue", "addictologie"],
}

# Words that say nothing about whom to find ("un dermato à Lyon").
STOP_WORDS = frozenset({"a", "au", "aux", "de", "du", "des", "d", "l", "le", "la", "les", "en", "un", "une", "pour",
                        "pres", "chez", "sur", "dans", "et", "dr", "docteur", "doctor", "the", "in", "near"})
# Alone, "médecin" means one's general practitioner; with another word it only
# introduces it ("médecin à Lyon", "médecin Martin").
GENERIC_DOCTOR = "medecin"
PREFIX_MIN_LENGTH = 4  # "derm" already means dermatologist; "de" means nothing


def fold(text: str) -> str:
    """Text as search compares it: lower case, accents dropped, hyphens,
    apostrophes and punctuation as single spaces."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().replace("œ", "oe").replace("æ", "ae"))
    letters = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(_SEPARATORS.split(letters)).strip()


def _english_label(code: str) -> str:
    """The label's msgid, English whatever the request's language."""
    return SPECIALTIES[code]._args[0]


def _build_terms() -> dict[str, frozenset[str]]:
    terms: dict[str, set[str]] = {}
    for code, words in _FRENCH_TERMS.items():
        for word in [*words, _english_label(code)]:
            terms.setdefault(fold(word), set()).add(code)
    return {term: frozenset(codes) for term, codes in terms.items()}


TERMS = _build_terms()
LONGEST_TERM_WORDS = max(len(term.split()) for term in TERMS)


def specialties_named(words: list[str]) -> tuple[list[frozenset[str]], list[str]]:
    """Split folded words into the specialties they name (longest phrases
    first: "medecin generaliste" before "medecin") and the words left over."""
    named, rest, index = [], [], 0
    while index < len(words):
        for size in range(min(LONGEST_TERM_WORDS, len(words) - index), 0, -1):
            phrase = " ".join(words[index:index + size])
            if phrase in TERMS:
                named.append(TERMS[phrase])
                index += size
                break
        else:
            rest.append(words[index])
            index += 1
    return named, rest


def specialties_starting_with(word: str) -> frozenset[str]:
    """Specialties one of whose single-word terms begins with `word` ("cardiol"),
    for words long enough to mean something."""
    if len(word) < PREFIX_MIN_LENGTH:
        return frozenset()
    return frozenset(code for term, codes in TERMS.items() if term.startswith(word) for code in codes)


def suggestion_labels(prefix: str, limit: int = 8) -> list[str]:
    """Terms (in their written form, with accents) beginning with the folded `prefix`."""
    prefix = fold(prefix)
    written = sorted({word for words in _FRENCH_TERMS.values() for word in words}, key=lambda w: (len(w), w))
    return [word for word in written if fold(word).startswith(prefix)][:limit]
