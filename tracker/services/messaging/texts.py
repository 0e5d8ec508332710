"""Every SMS body tracker sends, in one place so a test can check them all for PHI.

No body names a score, a severity, a diagnosis or a drug: a text can be read by anyone
holding the phone, and carriers keep them.
"""

from __future__ import annotations

import re

from tracker.models import Clinic

SAFETY_ONCALL = "tracker: a patient needs a safety follow-up. Open the dashboard: {url}"
SAFETY_ESCALATION = "tracker: a safety follow-up has not been acknowledged. Please open the dashboard now: {url}"
INVITATION = "{clinic} invites you to check in with tracker. Set your password here (valid 72 hours): {url}"
# Asked for by whoever typed the patient's number (services/accounts/password_reset.py): it says what the link does
# and that it can be ignored, nothing of the patient.
RESET_LINK = (
    "{clinic}: to choose a new tracker password, open {url} (works once, for 30 minutes). "
    "If you did not ask for this, ignore this text."
)
# The crisis resources in a text come from the clinic's (CLINICAL.md §3; Clinic.crisis_resources): {lines} is how
# to reach its crisis lines ("call 116 123 or text SHOUT to 85258"), {emergency} its emergency number ("call 999").
CRISIS_SMS = (
    "Thank you for telling us. Your clinic has been told and will contact you. "
    "If you need help now, {lines}. In immediate danger, {emergency}."
)
CRISIS_SMS_CLINIC_PHONE = (
    "Thank you for telling us. Your clinic has been told and will contact you; you can also call them on {phone}. "
    "If you need help now, {lines}. In immediate danger, {emergency}."
)

# The safety instructions of CLINICAL.md §1 for a booked visit, in the booking's text and on the patient's own
# home page alike, with no word of the drug or the reason for the visit.
VISIT_SAFETY = (
    "Please arrange a ride home: do not drive until after a full night's sleep. Keep taking your prescribed "
    "medicines unless your clinic tells you otherwise."
)
# A booster visit booked by the clinic (API.md schedule): the date and VISIT_SAFETY.
BOOSTER_SCHEDULED = "tracker: your clinic has booked your next treatment visit for {when}. " + VISIT_SAFETY

# SMS keywords and the PHQ-9 by text (tracker/sms/webhooks.py, tracker/services/checkins/by_text.py). Each body fits
# in two GSM-7 segments (tests/test_sms_messages.py counts them) and never asks the patient to type a carrier
# opt-out word: PAUSE stops a check-in.
SMS_ANSWER_KEY = "Reply 0 Not at all, 1 Several days, 2 More than half the days, 3 Nearly every day"
SMS_QUESTION = "{number}/9 {text}\n" + SMS_ANSWER_KEY
SMS_CHECKIN_START = "tracker check-in (text PAUSE to stop). {stem}\n{question}"
SMS_CHECKIN_RETRY = "Sorry, please reply with just 0, 1, 2 or 3.\n{question}"
SMS_CHECKIN_THANKS = "Thank you. Your check-in is saved and your clinic will see it."
SMS_CHECKIN_PAUSED = "Check-in paused. Text CHECKIN when you want to start again."
# CLINICAL.md §7: the GAD-7 straight after the PHQ-9 when it is due (services/checkins/gad7_by_text.py); no name.
SMS_GAD7_QUESTION = "{number}/7 {text}\n" + SMS_ANSWER_KEY
SMS_GAD7_START = "Your clinic asks 7 more questions this time (text PAUSE to stop). {stem}\n{question}"
SMS_HELP = (
    "{clinic}: call {phone}. Texts here are not read by staff. Text CHECKIN to start a check-in. "
    "If you need help now, {lines}."
)
SMS_HELP_NO_PHONE = (
    "{clinic}: please call your clinic. Texts here are not read by staff. Text CHECKIN to start a check-in. "
    "If you need help now, {lines}."
)
SMS_OPTED_IN = "You will get texts from your clinic again. Text CHECKIN to start a check-in, or HELP for help."
SMS_NOT_UNDERSTOOD = (
    "Texts here are not read by staff. Text CHECKIN to start a check-in, or HELP for your clinic's number. "
    "If you need help now, {lines}."
)
# To a number we do not know: nothing that names the product or a clinic.
SMS_UNKNOWN_SENDER = "This number does not accept messages from you."

# Check-in reminders (tracker/jobs/reminders.py), each one GSM-7 segment besides the link. The confirming one
# reads like any other: a text must never hint that the answers were noticed (CLINICAL.md §5).
REMINDER_WEEKLY = "{clinic}: time for your weekly check-in. Tap {url} or reply CHECKIN."
REMINDER_INDUCTION_MORNING = "{clinic}: please check in before your visit today. Tap {url} or reply CHECKIN."
REMINDER_CONFIRMING = "{clinic}: time for your check-in. Tap {url} or reply CHECKIN."
# A weekly check-in overdue past the clinic's grace days (tracker/jobs/missed_checkins.py): once per gap.
MISSED_CHECKIN_NUDGE = "{clinic}: we have not had your check-in for a while. Tap {url} or reply CHECKIN."

# To the clinic's on-call contact when the relapse scan raises an urgent booster request or makes one urgent
# (tracker/jobs/relapse_scan.py, CLINICAL.md §5): which patient, and why, only on the dashboard.
BOOSTER_URGENT_ONCALL = "tracker: a patient may need an urgent booster review. Open the dashboard: {url}"

# The side-effect check the morning after a visit (CLINICAL.md §7; services/side_effects/by_text.py), one item per
# text: "your visit yesterday", never the drug or the treatment. {text} is the item's plain words.
SIDE_EFFECTS_KEY = "Reply 0 None, 1 Mild, 2 Moderate, 3 Severe"
SIDE_EFFECTS_QUESTION = "{number}/7 Since your visit yesterday: {text}?\n" + SIDE_EFFECTS_KEY
SIDE_EFFECTS_START = (
    "{clinic}: a few questions on how you feel after your visit yesterday (text PAUSE to stop).\n{question}"
)
SIDE_EFFECTS_RETRY = "Sorry, please reply with just 0, 1, 2 or 3.\n{question}"
SIDE_EFFECTS_THANKS = (
    "Thank you. Your answers are saved and your clinic will see them. If you feel unwell, call your clinic."
)
SIDE_EFFECTS_PAUSED = "Stopped. You can still answer in the tracker app or on the web today."

ALL_TEMPLATES = {
    "side_effects_question": SIDE_EFFECTS_QUESTION,
    "side_effects_start": SIDE_EFFECTS_START,
    "side_effects_retry": SIDE_EFFECTS_RETRY,
    "side_effects_thanks": SIDE_EFFECTS_THANKS,
    "side_effects_paused": SIDE_EFFECTS_PAUSED,
    "safety_oncall": SAFETY_ONCALL,
    "safety_escalation": SAFETY_ESCALATION,
    "invitation": INVITATION,
    "password_reset": RESET_LINK,
    "crisis": CRISIS_SMS,
    "crisis_clinic_phone": CRISIS_SMS_CLINIC_PHONE,
    "booster_scheduled": BOOSTER_SCHEDULED,
    "sms_question": SMS_QUESTION,
    "sms_checkin_start": SMS_CHECKIN_START,
    "sms_checkin_retry": SMS_CHECKIN_RETRY,
    "sms_checkin_thanks": SMS_CHECKIN_THANKS,
    "sms_checkin_paused": SMS_CHECKIN_PAUSED,
    "sms_gad7_question": SMS_GAD7_QUESTION,
    "sms_gad7_start": SMS_GAD7_START,
    "sms_help": SMS_HELP,
    "sms_help_no_phone": SMS_HELP_NO_PHONE,
    "sms_opted_in": SMS_OPTED_IN,
    "sms_not_understood": SMS_NOT_UNDERSTOOD,
    "sms_unknown_sender": SMS_UNKNOWN_SENDER,
    "reminder_weekly": REMINDER_WEEKLY,
    "reminder_induction_morning": REMINDER_INDUCTION_MORNING,
    "reminder_confirming": REMINDER_CONFIRMING,
    "reminder_missed_checkin": MISSED_CHECKIN_NUDGE,
    "booster_urgent_oncall": BOOSTER_URGENT_ONCALL,
}


def crisis_sms(clinic: Clinic) -> str:
    """The text a patient gets at once after a positive item 9 (CLINICAL.md §3), with the clinic's resources."""
    resources = clinic.crisis_resources
    words = {"lines": resources.lines_words, "emergency": resources.emergency_words}
    if clinic.phone:
        return CRISIS_SMS_CLINIC_PHONE.format(phone=clinic.phone, **words)
    return CRISIS_SMS.format(**words)


def help_sms(clinic: Clinic) -> str:
    """The answer to HELP: who is texting, how to reach the clinic, and its crisis lines."""
    lines = clinic.crisis_resources.lines_words
    if clinic.phone:
        return SMS_HELP.format(clinic=clinic.name, phone=clinic.phone, lines=lines)
    return SMS_HELP_NO_PHONE.format(clinic=clinic.name, lines=lines)


def not_understood_sms(clinic: Clinic) -> str:
    return SMS_NOT_UNDERSTOOD.format(lines=clinic.crisis_resources.lines_words)


# A one-time link's secret opens an account or a check-in: staff see what a text carried, never the link.
_LINK_SECRETS = (
    (re.compile(r"\S*/invite/[A-Za-z0-9_\-]+"), "[invitation link]"),
    (re.compile(r"\S*/c/[A-Za-z0-9_\-]+"), "[check-in link]"),
    (re.compile(r"\S*/reset/[A-Za-z0-9_\-]+"), "[password reset link]"),
)


def for_staff(body: str) -> str:
    """A sent text as the clinic may read it: every one-time link replaced by what it was."""
    for pattern, words in _LINK_SECRETS:
        body = pattern.sub(words, body)
    return body
