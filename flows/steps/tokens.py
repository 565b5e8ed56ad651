"""A patient's tokens after booking: status, cancel (with confirmation), move to another day."""

from __future__ import annotations

import datetime as dt

from flows.engine import Answer, Step, Turn, choose_again
from flows.messages import Choice, Reply, Text, sms, t
from flows.ports import BookingOutcome, TokenInfo
from flows.steps import visit
from flows.steps.call_state import tell_call_over
from flows.steps.questions import NO_WORDS, YES_WORDS
from flows.steps.token_text import say_token, token_wait, token_when, whose


def tell_status(turn: Turn) -> None:
    """Says where each of the user's live tokens stands: place in the queue and wait.

    A consultation just over is told as over (the advice sent, the call closed): never as the
    call again, nor as "no token booked".
    """
    told = tell_call_over(turn)
    tokens = turn.ports.bookings.live_tokens()
    if tokens or not told:
        turn.replies.extend(status_replies(tokens, turn.now))


def status_replies(tokens: list[TokenInfo], now: dt.datetime) -> list[Reply]:
    """Return where each live token stands, or that there is none (STATUS, and a missed call's SMS: flows/steps/voice.py)."""
    if not tokens:
        return [Reply(
            t("You have no token booked. Send MENU and choose “See a doctor” to book one."),
            sms=sms("You have no token. Send MENU to book."),
        )]
    return [_token_status(token, now) for token in tokens]


def _token_status(token: TokenInfo, now: dt.datetime) -> Reply:
    """Return where one live token stands: its call, its consultation, or its place in the queue."""
    if token.status == "called":
        # Called: no place in the queue (it would read "place 0"); the call itself is the message with the room.
        return Reply(
            t("Token {number}, {opd}, for {name}: the doctor is calling you now.", number=token.number, opd=token.opd_name, name=token.patient_name),
            sms=sms("Token {number}, {opd}: the doctor is calling you now.", number=token.number, opd=token.opd_name),
        )
    if token.status == "in_consultation":
        return Reply(
            t("Token {number}, {opd}, for {name}: your consultation with the doctor is on now.", number=token.number, opd=token.opd_name, name=token.patient_name),
            sms=sms("Token {number}, {opd}: your consultation is on now.", number=token.number, opd=token.opd_name),
        )
    return Reply(
        t(
            "Token {number}, {opd}, for {name}: {when}.\nPlace in the queue: {position}. Estimated wait: {wait}.",
            number=token.number, opd=token.opd_name, name=token.patient_name, when=whose(token, token_when(token, now)),
            position=token.position, wait=token_wait(token),
        ),
        sms=(
            sms("Token {number}, {opd}: you are next.", number=token.number, opd=token.opd_name)
            if token.position <= 1
            else sms("Token {number}, {opd}: place {position}, wait ~{minutes} min.", number=token.number, opd=token.opd_name, position=token.position, minutes=token.wait_minutes)
        ),
    )


def token_label(token: TokenInfo) -> Text:
    """Return a token as a patient tells it from their others: number, OPD and day."""
    return t("Token {number}, {opd}, {date}", number=token.number, opd=token.opd_name, date=token.day)


def start_cancel(turn: Turn) -> None:
    """Asks which token to cancel, or says there is none."""
    tokens = turn.ports.bookings.live_tokens()
    if not tokens:
        turn.ask_again(t("You have no token to cancel."))
        return
    resume = turn.state.step if turn.state.step not in ("cancel_pick", "cancel_confirm") else "menu"
    turn.data["resume_step"] = resume
    if len(tokens) == 1:
        turn.data["token"] = tokens[0].id
        turn.goto("cancel_confirm")
    else:
        turn.goto("cancel_pick")


def _token(turn: Turn) -> TokenInfo | None:
    return next((tk for tk in turn.ports.bookings.live_tokens() if tk.id == turn.data.get("token")), None)


def _back(turn: Turn) -> None:
    turn.data.pop("token", None)
    resume = turn.data.pop("resume_step", None) or "menu"
    # Back where the user was, unless that question was about the token just dealt with.
    stale = ("cancel_pick", "cancel_confirm", "token_menu", "move_pick", "called", "rating", "followup_offer")
    turn.goto(resume if resume not in stale else "menu")


class CancelPickStep(Step):
    """Asks which of several tokens to cancel."""

    name = "cancel_pick"

    def ask(self, turn: Turn) -> Reply:
        tokens = turn.ports.bookings.live_tokens()[:9]
        # The SMS form numbers the tokens itself, without their OPD's name: two labels with an
        # OPD's name and a date do not fit a Devanagari SMS beside the question.
        numbered = tuple(sms("{n} Token {number} on {date}", n=n, number=tk.number, date=tk.day) for n, tk in enumerate(tokens, 1))
        return Reply(
            t("Which token do you want to cancel?"),
            (*(Choice(f"token:{tk.id}", token_label(tk)) for tk in tokens), Choice("keep", t("None, keep them"), NO_WORDS)),
            sms=sms("Cancel which token?\n{tokens}\n{keep} Keep them all", tokens=numbered, keep=len(tokens) + 1),
        )

    def answer(self, turn: Turn, answer: Answer) -> None:
        """Asks to confirm the chosen token's cancellation."""
        if answer.choice == "keep":
            turn.say(t("Your tokens are kept."))
            _back(turn)
        elif answer.choice:
            turn.data["token"] = int(answer.choice.removeprefix("token:"))
            turn.goto("cancel_confirm")
        else:
            turn.ask_again(choose_again())


class CancelConfirmStep(Step):
    """Asks to confirm before a token is cancelled."""

    name = "cancel_confirm"

    def ask(self, turn: Turn) -> Reply:
        token = _token(turn)
        if token is None:
            return Reply(t("That token is no longer booked."), (Choice("keep", t("Back to the menu")),))
        return Reply(
            t("Cancel token {number} at {opd} for {name} on {date}?", number=token.number, opd=token.opd_name, name=token.patient_name, date=token.day),
            (
                Choice("cancel", t("Yes, cancel it"), YES_WORDS + ("cancel", "radd", "रद्द")),
                Choice("keep", t("No, keep it"), NO_WORDS + ("keep",)),
            ),
            sms=sms("Cancel token {number}, {opd}?", number=token.number, opd=token.opd_name),
        )

    def answer(self, turn: Turn, answer: Answer) -> None:
        """Cancels the token, or keeps it."""
        token = _token(turn)
        cancelled = turn.ports.bookings.cancel(token.id) if answer.choice == "cancel" and token is not None else None
        if token is not None and cancelled is not None:
            # The doctor who had called this token, and whoever moved up to place 3, are told.
            turn.notices.extend(visit.cancelled_notices(cancelled, turn.now))
            turn.say(
                t("Token {number} at {opd} is cancelled.", number=token.number, opd=token.opd_name),
                sms=sms("Token {number}, {opd} cancelled.", number=token.number, opd=token.opd_name),
            )
            _back(turn)
        elif answer.choice in ("keep", "cancel"):
            turn.say(t("Your token is kept.") if token is not None else t("That token is no longer booked."))
            _back(turn)
        else:
            turn.ask_again(choose_again())


class TokenMenuStep(Step):
    """Shows the user's tokens with what can be done with them."""

    name = "token_menu"

    def skip(self, turn: Turn) -> str | None:
        tokens = turn.ports.bookings.live_tokens()
        if not tokens:
            turn.say(
                t("You have no token booked. Send MENU and choose “See a doctor” to book one."),
                sms=sms("You have no token. Send MENU to book."),
            )
            return "menu"
        turn.data["token"] = tokens[0].id
        tell_status(turn)
        return None

    def ask(self, turn: Turn) -> Reply:
        return Reply(
            t("What would you like to do with your token?"),
            (
                Choice("move", t("Move to another day"), ("move", "change day", "din badlo", "दिन बदलें")),
                Choice("cancel", t("Cancel the token"), ("cancel", "radd", "रद्द")),
                Choice("menu", t("Back to the menu"), ("back", "wapas", "वापस")),
            ),
        )

    def answer(self, turn: Turn, answer: Answer) -> None:
        """Moves, cancels, or goes back."""
        if answer.choice == "move":
            turn.goto("move_pick")
        elif answer.choice == "cancel":
            start_cancel(turn)
        elif answer.choice == "menu":
            turn.data.pop("token", None)
            turn.goto("menu")
        else:
            turn.ask_again(choose_again())


class MovePickStep(Step):
    """Offers the OPD's next sessions for moving a token to another day."""

    name = "move_pick"

    def _sessions(self, turn: Turn) -> list[dt.date]:
        token = _token(turn)
        if token is None:
            return []
        return [s.day for s in turn.ports.bookings.sessions(token.opd_id, count=4) if s.day != token.day][:3]

    def ask(self, turn: Turn) -> Reply:
        days = self._sessions(turn)
        if not days:
            return Reply(t("There is no other day with free tokens in the next two weeks."), (Choice("menu", t("Back to the menu")),))
        return Reply(
            t("Which day would suit you?"),
            (*(Choice(f"day:{d.isoformat()}", d) for d in days), Choice("menu", t("Back to the menu"))),
        )

    def answer(self, turn: Turn, answer: Answer) -> None:
        """Moves the token to the chosen day."""
        if answer.choice == "menu":
            turn.data.pop("token", None)
            turn.goto("menu")
            return
        if answer.choice is None:
            turn.ask_again(choose_again())
            return
        day = dt.date.fromisoformat(answer.choice.removeprefix("day:"))
        result = turn.ports.bookings.move(turn.data.get("token", 0), day)
        turn.data.pop("token", None)
        if result.outcome is BookingOutcome.BOOKED and result.token:
            turn.say(t("Your token is moved."))
            say_token(turn, result.token, new=False)
        else:
            turn.say(t("Sorry, that day has just filled up. Your token is unchanged."))
        turn.goto("menu")


STEPS: tuple[Step, ...] = (CancelPickStep(), CancelConfirmStep(), TokenMenuStep(), MovePickStep())
