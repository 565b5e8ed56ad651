"""Danger signs as a doctor reads them: the summary and the pings say them the same way."""

from __future__ import annotations

from flows.messages import Text, t

# The red-flag classes of flows/understanding/data/red_flags.json, as a doctor reads them.
DANGER_SIGNS = {
    "chest_pain": t("chest pain"),
    "severe_breathlessness": t("severe breathlessness"),
    "unconscious": t("unconscious or fainted"),
    "seizure": t("seizure"),
    "heavy_bleeding": t("heavy bleeding"),
    "stroke": t("stroke signs"),
    "vomiting_blood": t("vomiting blood"),
    "pregnancy_danger": t("pregnancy danger signs"),
    "child_danger": t("danger signs in a child"),
    "poisoning": t("poisoning"),
    "snake_bite": t("snake bite"),
    "burns": t("burns"),
    "self_harm": t("thoughts of self-harm"),
}


def danger_signs(codes: tuple[str, ...]) -> tuple[Text, ...] | str:
    """Return the danger signs as words in the reader's language, or "-"."""
    return tuple(DANGER_SIGNS[c] for c in codes if c in DANGER_SIGNS) or "-"
