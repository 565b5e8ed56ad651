"""'Delete my data': the patient's right to erasure (India's DPDP Act 2023, s.12).

flows/ decides when: the patient asks, hears plainly what goes and what stays, and says
yes. What is personal, and how it is erased, is bot/services/erasure.py's business (Patients.erase).
"""

from __future__ import annotations

from flows.engine import Step, Turn, choose_again
from flows.messages import Reply, sms, t
from flows.steps import visit
from flows.steps.questions import YesNoQuestion

# Where "No, keep my data" goes back to. A key of its own: the language step keeps
# "resume_step" for the question it interrupted, and an erasure asked at the language step
# must not take that one.
RESUME = "erase_resume"


def start_erasure(turn: Turn) -> None:
    """Asks the patient to confirm before anything is erased."""
    if turn.state.step != "erase_confirm":
        turn.data[RESUME] = turn.state.step
    turn.goto("erase_confirm")


def _erase(turn: Turn) -> None:
    """Erases everything personal; the next message starts anew."""
    for cancelled in turn.ports.patients.erase():
        # A doctor waiting for this patient is freed; whoever moved up to place 3 gets ready.
        turn.notices.extend(visit.cancelled_notices(cancelled, turn.now))
    turn.data.clear()
    turn.say(
        t(
            "Your data has been deleted. This chat is no longer linked to you. "
            "If you write to us again, we will start afresh."
        ),
        sms=sms("Your data has been deleted. Write again to start afresh."),
    )
    # The conversation belongs to the erased identity: the next message starts anew.
    turn.state.step = None


def _keep(turn: Turn) -> None:
    """Keeps the data and goes back to where the patient asked."""
    turn.say(t("Your data is kept. Nothing was deleted."))
    # Someone not registered yet (asked at the first question, say) goes back to
    # registering: the menu is only for registered patients.
    registered = turn.ports.patients.profile() is not None
    resume = turn.data.pop(RESUME, None) or ("menu" if registered else "language")
    turn.goto(resume)


# Says what will be erased and what stays, and asks to confirm.
ERASE_CONFIRM = YesNoQuestion(
    "erase_confirm",
    t(
        "Do you want us to delete your data?\n"
        "We will delete your name, age, sex, district, phone number, what you told us about your health, "
        "the doctors' notes and advice, and this chat's history. Family members you registered are deleted too. "
        "A token you are waiting with will be cancelled.\n"
        "What stays: only counts without your name (how many consultations each OPD gave, by state), "
        "which cannot be traced back to you."
    ),
    yes=("erase", t("Yes, delete my data"), ("delete", "हटाएं", "hatao")),
    no=("keep", t("No, keep my data"), ("keep", "rakho", "रखें")),
    on_yes=_erase, on_no=_keep, unclear=choose_again(),
    sms=sms("Delete your name, details, health notes and tokens? We keep only counts, with no names. 1 Yes 2 No"),
)


def staff_erasure() -> Reply:
    """Return what a doctor or health worker hears when they ask for their data to be deleted."""
    return Reply(
        t(
            "Your details here belong to your enrolment as a doctor or health worker. "
            "Please ask your OPD coordinator to remove them."
        )
    )


STEPS: tuple[Step, ...] = (ERASE_CONFIRM,)
