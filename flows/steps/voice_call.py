""""The doctor is ready" as a phone call, for a patient who asked to be phoned (flows/steps/voice.py, key 4).

The call goes through the outbox like any message: the voice channel (bot/channels/voice.py)
speaks the text twice and takes one key, choice 1 or 2 by position, which comes back to the
voice line (webhooks/voice.py) as the same "join"/"leave" the chat's buttons carry.
"""

from __future__ import annotations

from flows.messages import Choice, Reply, t


def doctor_ready_call(consultation_id: int, doctor: str) -> Reply:
    """Return the spoken call: the doctor is ready, the room is in the SMS, press 1 if joining."""
    return Reply(
        t(
            "Namaste. Dr. {doctor} is ready for your consultation now. The video call link is in your SMS. "
            "Press 1 if you are joining. Press 2 if you cannot come now.",
            doctor=doctor,
        ),
        (Choice(f"join:{consultation_id}", t("I am joining")), Choice(f"leave:{consultation_id}", t("I cannot come now"))),
        kind="push",
    )
