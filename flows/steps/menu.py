"""The main menu a registered patient returns to."""

from __future__ import annotations

from flows.engine import Answer, Step, Turn, choose_again
from flows.messages import Choice, Reply, Text, sms, t
from flows.steps import advisories
from flows.steps.booking import start_booking
from flows.steps.onboarding import profile_to_data
from flows.understanding.symptoms import find_symptoms


class MenuStep(Step):
    """Offers what a registered patient can do next."""

    name = "menu"

    def skip(self, turn: Turn) -> str | None:
        # The advisories question, once, the first time a registered patient comes here (flows/steps/advisories.py).
        return advisories.QUESTION if advisories.due(turn) else None

    def ask(self, turn: Turn) -> Reply:
        return menu_question()

    def answer(self, turn: Turn, answer: Answer) -> None:
        """Opens the chosen item; symptoms typed here start a booking with them."""
        if answer.choice == "book":
            start_booking(turn)
        elif answer.choice == "token":
            turn.goto("token_menu")
        elif answer.choice is None and (find_symptoms(answer.text).symptoms or turn.data.get("red_flags")):
            start_booking(turn, answer.text)
        elif answer.choice == "details":
            profile = turn.ports.patients.profile()
            if profile is None:  # the record was removed behind the conversation's back
                turn.data.clear()
                turn.goto("consent")
                return
            turn.data.update(profile_to_data(profile), mode="update", editing=True)
            turn.goto("confirm")
        elif answer.choice == "language":
            turn.data["resume_step"] = "menu"
            turn.goto("language")
        elif answer.choice == "help":
            turn.say(help_text(), sms=help_sms())
            turn.ask_again()
        else:
            turn.ask_again(choose_again())


def menu_question() -> Reply:
    """Return the main menu's question with its choices (the step's, and after a coordinator hands a chat back)."""
    return Reply(
        t("What would you like to do?"),
        (
            Choice("book", t("See a doctor"), ("book", "doctor", "daktar", "doctor se milna", "डॉक्टर", "token", "opd")),
            Choice("token", t("My token"), ("my token", "mera token", "मेरा टोकन", "queue", "line")),
            Choice("details", t("My details"), ("details", "profile", "meri jankari", "मेरी जानकारी", "विवरण")),
            Choice("language", t("Change language"), ("language", "bhasha", "भाषा")),
            Choice("help", t("Help"), ("help", "madad", "मदद")),
        ),
    )


def help_sms() -> Text:
    """Return the help message's SMS form."""
    return sms("Send MENU, STATUS, CANCEL, LANGUAGE or STOP. Emergency: call 108 or 112.")


def help_text() -> Text:
    """Return the help message."""
    return t(
        "teleopd connects you with a government doctor online, free of charge.\n"
        "You can send these words at any time:\n"
        "MENU – the main menu\n"
        "STATUS – your token and place in the queue\n"
        "CANCEL – cancel a token\n"
        "LANGUAGE – change the language\n"
        "HELP – this message\n"
        "STOP – stop all messages\n"
        "DELETE MY DATA – delete your data\n"
        "In an emergency, call 108 for an ambulance or 112."
    )


STEPS: tuple[Step, ...] = (MenuStep(),)
