"""Which OPD a complaint points to, for a patient of this age and sex; and whom an OPD sees."""

from __future__ import annotations

from collections import Counter

from flows.understanding.symptoms import Finding

DEFAULT_SPECIALTY = "general_medicine"
PREGNANCY_CODES = frozenset({"pregnancy"})
AYUSH_CODES = frozenset({"ayush"})
PAEDIATRIC_AGE_LIMIT = 14
# Specialties that see children themselves, so a child's toothache goes to the dentist.
# AYUSH is a system of medicine the family chose, not an organ, so it is kept as well.
_CHILD_KEEPS = frozenset({"dentistry", "ophthalmology", "ent", "ayush"})


def sees_patient(specialty: str, age: int, sex: str) -> bool:
    """Tell whether an OPD of a specialty sees this patient: paediatrics sees children, obstetrics and gynaecology women."""
    child = age < PAEDIATRIC_AGE_LIMIT
    if specialty == "paediatrics":
        return child
    if specialty == "obgyn":
        return not child and sex.strip().casefold() != "male"
    return True


def specialty_for(finding: Finding, age: int, sex: str, pregnant: bool = False) -> str:
    """Return the OPD to suggest for a patient with these findings; the patient may still pick another.

    The first rule that applies decides:
    1. Pregnancy (pregnant=True or a pregnancy code among the symptoms) → obgyn, but only
       when sex is female or other; for anyone else a "pregnant" in the text is ignored.
    2. An explicit request for AYUSH (Ayurveda, Yoga, Unani, Siddha, Homoeopathy) → ayush:
       it names a system of medicine the patient chose, not an organ.
    3. Otherwise each symptom votes for its specialty and the most common wins, ties going to
       the first mentioned. Obgyn symptoms do not vote for a male patient. For a child
       (age < 14) every vote turns into paediatrics except dentistry, ophthalmology and ENT,
       which see children themselves. With no votes: paediatrics for a child, else
       general_medicine.
    """
    sex_key = sex.strip().casefold()
    may_be_pregnant = sex_key in ("female", "other")
    codes = {symptom.code for symptom in finding.symptoms}
    if may_be_pregnant and (pregnant or codes & PREGNANCY_CODES):
        return "obgyn"
    if codes & AYUSH_CODES:
        return "ayush"
    child = age < PAEDIATRIC_AGE_LIMIT
    votes: list[str] = []
    for symptom in finding.symptoms:
        if symptom.specialty == "obgyn" and sex_key == "male":
            continue
        if child and symptom.specialty not in _CHILD_KEEPS:
            votes.append("paediatrics")
        else:
            votes.append(symptom.specialty)
    if not votes:
        return "paediatrics" if child else DEFAULT_SPECIALTY
    counts = Counter(votes)
    top = max(counts.values())
    # Counter keeps first-seen order, so the first specialty at the top count is the first mentioned.
    return next(specialty for specialty in counts if counts[specialty] == top)
