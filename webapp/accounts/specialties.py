"""The French medical and paramedical specialties a practitioner can hold.

Codes are stable identifiers stored on profiles; labels are translated.
"""

from flask_babel import lazy_gettext as _l

SPECIALTIES = {
    "general_practitioner": _l("General practitioner"),
    "pediatrician": _l("Pediatrician"),
    "dermatologist": _l("Dermatologist"),
    "gynecologist": _l("Gynecologist"),
    "ophthalmologist": _l("Ophthalmologist"),
    "dentist": _l("Dentist"),
    "physiotherapist": _l("Physiotherapist"),
    "cardiologist": _l("Cardiologist"),
    "psychiatrist": _l("Psychiatrist"),
    "psychologist": _l("Psychologist"),
    "ent": _l("Ear, nose and throat specialist"),
    "rheumatologist": _l("Rheumatologist"),
    "endocrinologist": _l("Endocrinologist"),
    "gastroenterologist": _l("Gastroenterologist"),
    "pulmonologist": _l("Pulmonologist"),
    "neurologist": _l("Neurologist"),
    "nephrologist": _l("Nephrologist"),
    "urologist": _l("Urologist"),
    "allergist": _l("Allergist"),
    "oncologist": _l("Oncologist"),
    "hematologist": _l("Hematologist"),
    "infectious_disease": _l("Infectious disease specialist"),
    "internist": _l("Internal medicine specialist"),
    "geriatrician": _l("Geriatrician"),
    "radiologist": _l("Radiologist"),
    "anesthesiologist": _l("Anesthesiologist"),
    "orthopedic_surgeon": _l("Orthopedic surgeon"),
    "general_surgeon": _l("General surgeon"),
    "plastic_surgeon": _l("Plastic surgeon"),
    "vascular_surgeon": _l("Vascular surgeon"),
    "angiologist": _l("Angiologist"),
    "sports_physician": _l("Sports physician"),
    "physical_medicine": _l("Physical medicine and rehabilitation specialist"),
    "occupational_physician": _l("Occupational physician"),
    "stomatologist": _l("Stomatologist"),
    "orthodontist": _l("Orthodontist"),
    "midwife": _l("Midwife"),
    "nurse": _l("Nurse"),
    "speech_therapist": _l("Speech therapist"),
    "orthoptist": _l("Orthoptist"),
    "podiatrist": _l("Podiatrist"),
    "osteopath": _l("Osteopath"),
    "dietitian": _l("Dietitian"),
    "psychomotor_therapist": _l("Psychomotor therapist"),
    "occupational_therapist": _l("Occupational therapist"),
    "optician": _l("Optician"),
    "audiologist": _l("Hearing care professional"),
    "pharmacist": _l("Pharmacist"),
    "nutritionist": _l("Nutritionist physician"),
    "addictologist": _l("Addiction medicine specialist"),
}


def specialty_label(code: str) -> str:
    return str(SPECIALTIES.get(code, code))
