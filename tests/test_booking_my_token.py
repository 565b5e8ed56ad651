"""A booked token through the chat, in English, Devanagari Hindi and romanised Hindi: asking again
for the same OPD shows the token one has; cancelling asks first (no keeps it, and with no token
it says so); "my token" moves it to another day and its label typed opens the token menu.
"""

from __future__ import annotations

import datetime as dt

import pytest

from bot.runtime import Services
from bot.store.models import TokenStatus
from tests.booking_helpers import (  # noqa: F401  (fixtures are used by being imported)
    CANCEL_WORD,
    JOURNEY,
    NO,
    STATUS_WORD,
    STYLES,
    YES,
    _clear_of_midnight_ist,
    assert_clean,
    long_date,
    message_with,
    read_token,
    register,
    run,
    today_ist,
    tokens_of,
)

# --- the same OPD again, cancel, move --------------------------------------------------------------


@pytest.mark.parametrize("style", STYLES)
def test_asking_again_for_the_same_opd_shows_the_token_one_has(demo: Services, style: str) -> None:
    patient = register(demo, style, f"again-{style}")
    answer = run(patient, JOURNEY[style])
    number, _ = read_token(message_with(answer, patient.q("booked")), patient.ui)
    answer = run(patient, JOURNEY[style][:-1])
    answer = patient.say(YES[style])
    assert patient.q("existing") in answer.all_text
    assert patient.q("booked") not in answer.all_text
    assert read_token(answer.all_text, patient.ui) == (number, 1)
    assert len(tokens_of(demo, patient.user)) == 1
    assert patient.q("menu") in answer.texts[-1]
    assert_clean(patient)


@pytest.mark.parametrize("style", STYLES)
def test_cancel_asks_first_and_no_keeps_the_token(demo: Services, style: str) -> None:
    patient = register(demo, style, f"cancel-{style}")
    run(patient, JOURNEY[style])
    answer = patient.say(CANCEL_WORD[style])
    assert patient.q("cancel_q") in answer.texts[-1] and len(answer.choices[-1]) == 2
    answer = patient.say(NO[style])
    assert patient.q("kept") in answer.all_text and patient.q("menu") in answer.texts[-1]
    [token] = tokens_of(demo, patient.user)
    assert token.status == TokenStatus.WAITING and token.cancelled_at is None

    answer = patient.say(CANCEL_WORD[style])
    assert patient.q("cancel_q") in answer.texts[-1]
    answer = patient.say(YES[style])
    assert patient.q("cancelled") in answer.all_text and patient.q("menu") in answer.texts[-1]
    [token] = tokens_of(demo, patient.user)
    assert token.status == TokenStatus.CANCELLED and token.cancelled_at is not None
    answer = patient.say(STATUS_WORD[style])
    assert patient.q("none_booked") in answer.all_text
    assert_clean(patient)


@pytest.mark.parametrize("style", STYLES)
def test_cancel_with_no_token_says_so_and_the_conversation_goes_on(demo: Services, style: str) -> None:
    patient = register(demo, style, f"nothing-{style}")
    answer = patient.say(CANCEL_WORD[style])
    assert patient.q("no_token") in answer.texts[0]
    assert patient.q("menu") in answer.texts[-1]
    # In the middle of a booking too: the question being asked comes again.
    run(patient, JOURNEY[style][:2])
    answer = patient.say(CANCEL_WORD[style])
    assert patient.q("no_token") in answer.texts[0] and patient.q("since") in answer.texts[-1]
    answer = run(patient, JOURNEY[style][2:])
    assert read_token(message_with(answer, patient.q("booked")), patient.ui) == (1, 1)
    assert len(tokens_of(demo, patient.user)) == 1
    assert_clean(patient)


MY_TOKEN = {"english": "My token", "hindi": "२", "romanised": "2"}
MOVE = {"english": "Move to another day", "hindi": "दूसरा दिन चुनें", "romanised": "din badlo"}


@pytest.mark.parametrize("style", STYLES)
def test_my_token_moves_to_another_day(demo: Services, style: str) -> None:
    patient = register(demo, style, f"move-{style}")
    run(patient, JOURNEY[style])
    answer = patient.say(MY_TOKEN[style])
    assert read_token(answer.texts[0], patient.ui) == (1, 1)
    assert patient.q("token_menu") in answer.texts[-1]
    answer = patient.say(MOVE[style])
    assert patient.q("which_day") in answer.texts[-1]
    tomorrow = today_ist() + dt.timedelta(days=1)
    assert answer.last_choices[0] == long_date(tomorrow, patient.ui)
    answer = patient.say("1")
    assert patient.q("moved") in answer.all_text
    assert long_date(tomorrow, patient.ui) in answer.all_text
    assert patient.q("menu") in answer.texts[-1]
    old, new = tokens_of(demo, patient.user)
    assert (old.status, old.day) == (TokenStatus.CANCELLED, today_ist())
    assert (new.status, new.day, new.opd.code, new.number, new.person_id) == (TokenStatus.WAITING, tomorrow, "GEN24", 1, old.person_id)
    assert new.intake["symptoms"] == old.intake["symptoms"]
    answer = patient.say(STATUS_WORD[style])
    assert long_date(tomorrow, patient.ui) in answer.texts[0] and read_token(answer.texts[0], patient.ui) == (1, 1)
    assert_clean(patient)


@pytest.mark.parametrize(("style", "said"), [("hindi", "मेरा टोकन"), ("romanised", "mera token")])
def test_typing_the_my_token_label_opens_the_token_menu(demo: Services, style: str, said: str) -> None:
    """The menu button "मेरा टोकन" typed as text is taken for the STATUS command: no move or cancel offered."""
    patient = register(demo, style, f"label-{style}")
    run(patient, JOURNEY[style])
    answer = patient.say(said)
    assert patient.q("token_menu") in answer.texts[-1], answer.texts
