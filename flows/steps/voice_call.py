""""The doctor is ready" as a phone call, for a patient who asked to be phoned (flows/steps/voice.py, key 4)
or whose health worker asked for them (HwCallMeStep, after a walk-in's booking).

The call goes through the outbox like any message: the voice channel (bot/channels/voice.py)
speaks the text twice and takes one key, choice 1 or 2 by position, which comes back to the
voice line (webhooks/voice.py) as the same "join"/"leave" the chat's buttons carry.
"""

from __future__ import annotations

from flows.engine import Answer, Step, Turn, choose_again
from flows.messages import Choice, Reply, t
from flows.ports import BookedBy
from flows.steps.questions import NO_WORDS, YES_WORDS


def callback_notice(booked: BookedBy) -> Reply:
    """Return the note to a walk-in's health worker that the patient asked on the voice line to be called back."""
    return Reply(
        t(
            "{name} (token {number}) asked on the voice line to be called back, on {phone}.",
            name=booked.patient_name, number=booked.token_number, phone=booked.phone,
        ),
        kind="push",
    )


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


class HwCallMeStep(Step):
    """After a walk-in's booking, when the voice line places calls: should "the doctor is ready" phone them too?

    Asked only then (Walkins.can_ring): a patient who cannot read an SMS still hears that the
    doctor is ready. The number is the one the health worker typed, kept for this one question.
    """

    name = "hw_call_me"

    def ask(self, turn: Turn) -> Reply:
        return Reply(
            t("Should {name} also get a phone call when the doctor is ready? It helps a patient who cannot read SMS.", name=turn.data.get("hw_ring_name", "")),
            (Choice("ring", t("Yes, phone them"), YES_WORDS), Choice("no_ring", t("No, SMS is enough"), NO_WORDS)),
        )

    def answer(self, turn: Turn, answer: Answer) -> None:
        """Keeps the wish for the walk-in's number, or not; back to the health worker's menu."""
        if answer.choice not in ("ring", "no_ring"):
            turn.ask_again(choose_again())
            return
        phone, name = turn.data.pop("hw_ring_phone", None), turn.data.pop("hw_ring_name", "")
        if answer.choice == "ring" and phone and turn.ports.walkins is not None:
            turn.ports.walkins.ring(phone)
            turn.say(t("{name} will get a phone call when the doctor is ready.", name=name))
        turn.goto("hw_home")


def ask_call_me(turn: Turn, phone: str, name: str) -> bool:
    """After a walk-in's booking, ask whether they are to be phoned, when calls can be placed; False when not asked."""
    walkins = turn.ports.walkins
    if walkins is None or not walkins.can_ring():
        return False
    turn.data["hw_ring_phone"], turn.data["hw_ring_name"] = phone, name
    turn.goto(HwCallMeStep.name)
    return True
