"""Health advisories: a consent of their own, asked once, revocable with a word; and the advisory itself.

Advisories (a heat wave, a vaccination drive) are broadcasts an operator sends to a segment
of patients (bot/services/broadcasts.py). The consent to be treated (flows/steps/onboarding.py)
is not a consent to them: each patient is asked once, "May we send you health advisories, at
most N a month?", and only a yes receives them.

When: at the main menu, the first time a registered patient reaches it with the question not
yet asked. That is right after registering for a new patient, and the next time an existing
patient comes back to the menu — one rule for both, and always at a calm moment: never in
the middle of a booking, and never in a turn that gave emergency advice (the question waits
for the next menu then). An answer that is neither yes nor no is the menu's: a patient who
ignores the question and types "bukhar" goes on to book, and is not asked again.

"NO ADVISORIES", "salaah band" or "सलाह बंद" stops them at any step; "ADVISORIES" or
"salaah shuru" starts them again. STOP stops every message, advisories included (the sender
skips opted-out identities, and the worker suppresses a push to them).
"""

from __future__ import annotations

from flows.engine import Answer, Step, Turn, resolve_choice
from flows.messages import ByLanguage, Choice, Reply, Text, sms, t
from flows.steps.questions import NO_WORDS, YES_WORDS

QUESTION = "advisories_consent"


def due(turn: Turn) -> bool:
    """Tell whether the advisories question is to be asked now, at the menu."""
    port = turn.ports.advisories
    if port is None or turn.ports.role != "patient" or turn.state.opted_out:
        return False
    if turn.data.get("red_flags") or any(reply.emergency for reply in turn.replies):
        return False  # not after an emergency's advice: the next menu asks
    consent = port.consent()
    return consent is not None and not consent.asked


def answers() -> tuple[Choice, ...]:
    """Return the question's two answers."""
    return (
        Choice("yes", t("Yes, send me advisories"), YES_WORDS),
        Choice("no", t("No, thank you"), NO_WORDS + ("no thanks", "no thank you")),
    )


class AdvisoriesConsentStep(Step):
    """Asks once whether the patient wants health advisories."""

    name = QUESTION

    def skip(self, turn: Turn) -> str | None:
        # Asked once: recorded when it is asked, whatever the answer (or none).
        if turn.ports.advisories is not None:
            turn.ports.advisories.mark_asked()
        return None

    def ask(self, turn: Turn) -> Reply:
        count = turn.ports.advisories.per_month if turn.ports.advisories is not None else 0
        return Reply(
            t(
                "May we also send you health advisories from the health department, such as heat wave or vaccination alerts? "
                "At most {n} a month. You can stop them at any time by sending NO ADVISORIES.",
                n=count,
            ),
            answers(),
            sms=sms("May we send you health advisories, at most {n} a month? Stop any time: NO ADVISORIES.\n1 Yes 2 No", n=count),
        )

    def answer(self, turn: Turn, answer: Answer) -> None:
        """Records yes or no and goes to the menu; anything else is the menu's answer."""
        port = turn.ports.advisories
        if answer.choice == "yes" and port is not None:
            port.opt_in()
            turn.say(t("Thank you. We will send you health advisories. To stop them, send NO ADVISORIES."))
        elif answer.choice == "no" and port is not None:
            port.opt_out()
            turn.say(t("All right, no advisories. You will still get every message about your consultations."))
        else:
            # Not an answer to this question: the menu's (a booking's symptoms, "my token").
            turn.state.step = "menu"
            menu = turn.step("menu")
            choice = resolve_choice(turn.inbound, answer.key, menu.ask(turn).choices, turn.ports.labels)
            menu.answer(turn, Answer(text=answer.text, key=answer.key, choice=choice, inbound=answer.inbound))
            return
        turn.goto("menu")


def by_command(turn: Turn, on: bool) -> None:
    """Starts or stops advisories on their words, at any step, then carries on with the question being asked."""
    port = turn.ports.advisories
    consent = port.consent() if port is not None else None
    if port is None or consent is None:
        turn.say(t("Health advisories are for registered patients. Let us finish registering first."))
        turn.ask_again()
        return
    port.mark_asked()
    if on:
        port.opt_in()
        turn.say(t("Thank you. We will send you health advisories. To stop them, send NO ADVISORIES."))
    else:
        port.opt_out()
        turn.say(t("You will get no more health advisories. To have them again, send ADVISORIES."))
    if turn.state.step == QUESTION:
        turn.goto("menu")  # the question is answered
    else:
        turn.ask_again()


# Approved advisories an operator may pick instead of writing one (`teleopd broadcast create
# --template KEY`): their wording is in the catalogs, reviewed in every language, so a
# WhatsApp template and a DLT SMS template can be registered for each once.
TEMPLATES: dict[str, Text] = {
    "heat_wave": t(
        "Heat wave warning: stay indoors from 12 noon to 4 pm, drink water often even if you are not thirsty, "
        "and keep children and elderly people cool. Dizziness, confusion or fainting in the heat is an emergency: call 108."
    ),
}


def advisory(texts: ByLanguage | None = None, template: str | None = None) -> Reply:
    """Return a broadcast's advisory: the operator's own words per language, or an approved template; how to stop them."""
    body: Text | ByLanguage
    if template is not None:
        body = TEMPLATES[template]
    elif texts is not None:
        body = texts
    else:
        raise ValueError("an advisory needs its texts or a template")
    # No SMS form: the operator's words go whole, in numbered parts where long (bot/channels/sms_text.py).
    return Reply(t("Health advisory: {advisory}\nTo stop advisories, send NO ADVISORIES.", advisory=body), kind="push")


STEPS: tuple[Step, ...] = (AdvisoriesConsentStep(),)
