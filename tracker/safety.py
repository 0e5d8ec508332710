"""Crisis resources: what a patient is told and offered when PHQ-9 item 9 is positive (CLINICAL.md §3). Pure.

The one source of every crisis line, emergency number and the clinic's own phone that a page, an API answer
or a text gives: the built-in table by country, the lines and numbers a clinic's admin entered instead (or
for a country with none built in), and the words a text uses for them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import phonenumbers

from tracker import phones
from tracker.errors import FieldProblem

RESOURCE_KINDS = ("line", "emergency", "clinic")
MAX_LINES = 3
MAX_EMERGENCY_NUMBERS = 3
MAX_NAME_LENGTH = 60
# A crisis line's number as written in its country: digits, spaces, hyphens, a leading +. Short codes
# (116 123, 13 11 14) are not E.164 numbers, so they are checked only for their shape.
LINE_NUMBER = re.compile(r"\+?[0-9][0-9 \-]*[0-9]")
LINE_DIGITS = (2, 15)
FULL_NUMBER_FROM = 6  # digits: a line number longer than this is read as a full phone number
EMERGENCY_NUMBER = re.compile(r"[0-9]{2,6}")
# The word to text, e.g. SHOUT: letters and digits only, so every text stays in the GSM-7 alphabet.
SMS_KEYWORD = re.compile(r"[A-Za-z0-9]{1,20}")
NUMBER_SEPARATORS = re.compile(r"\s*(?:,|;|/|\bor\b)\s*", re.IGNORECASE)


@dataclass(frozen=True)
class CrisisResource:
    """One number to reach: a crisis line, the emergency number, or the patient's clinic."""

    name: str
    phone: str  # as written in its country ("116 123"); `dial` is what a phone dials
    text: str  # one sentence: how, and when, to reach it
    kind: str = "line"
    call: bool = True
    sms: bool = False
    sms_keyword: str | None = None  # the word to text, where the line asks for one (SHOUT to 85258)
    number: str | None = None  # E.164, where `phone` is a full number written for reading ("(312) 555-0100")

    @property
    def dial(self) -> str:
        """The number for a tel: or sms: link: its digits, with the leading + of an international number."""
        if self.number:
            return self.number
        return ("+" if self.phone.startswith("+") else "") + re.sub(r"[^0-9]", "", self.phone)

    @property
    def how(self) -> str:
        """How to reach it, as a text puts it: "call or text 1737", "call 116 123", "text SHOUT to 85258"."""
        texting = f"text {self.sms_keyword} to {self.phone}" if self.sms_keyword else f"text {self.phone}"
        if self.call and self.sms:
            return f"call {self.phone} or {texting}" if self.sms_keyword else f"call or text {self.phone}"
        return f"call {self.phone}" if self.call else texting

    def entered(self) -> dict[str, Any]:
        """The fields an admin enters for a line, as a clinic stores them (Clinic.crisis_lines)."""
        return {
            "name": self.name,
            "phone": self.phone,
            "call": self.call,
            "sms": self.sms,
            "sms_keyword": self.sms_keyword,
        }


def _line(
    name: str,
    phone: str,
    when: str | None,
    *,
    call: bool = True,
    sms: bool = False,
    keyword: str | None = None,
    country: str | None = None,
) -> CrisisResource:
    """A line with its sentence made from how it is reached ("Call 116 123, any time, free.").

    A full number (stored E.164) is written as the clinic's country writes it (tracker/phones.py); a short code
    such as 116 123 stays as it is.
    """
    shown = phones.readable(phone, country) if phone.startswith("+") else phone
    number = "+" + re.sub(r"[^0-9]", "", phone) if shown != phone else None
    how = CrisisResource(name, shown, "", call=call, sms=sms, sms_keyword=keyword).how
    sentence = f"{how[:1].upper()}{how[1:]}" + (f", {when}." if when else ".")
    return CrisisResource(name, shown, sentence, call=call, sms=sms, sms_keyword=keyword, number=number)


@dataclass(frozen=True)
class CountryResources:
    lines: tuple[CrisisResource, ...]
    emergency: tuple[str, ...]  # the emergency number, and another where a country has two (IE: 112 or 999)


# CLINICAL.md §3: the built-in crisis lines and emergency numbers, by ISO 3166-1 alpha-2 code.
BUILT_IN: dict[str, CountryResources] = {
    "US": CountryResources(
        (_line("988 Suicide & Crisis Lifeline", "988", "any time, free and confidential", sms=True),), ("911",)
    ),
    "CA": CountryResources(
        (_line("9-8-8 Suicide Crisis Helpline", "988", "any time, free and confidential", sms=True),), ("911",)
    ),
    "GB": CountryResources(
        (
            _line("Samaritans", "116 123", "any time, free"),
            _line("Shout", "85258", "any time, free", call=False, sms=True, keyword="SHOUT"),
        ),
        ("999",),
    ),
    "IE": CountryResources(
        (
            _line("Samaritans", "116 123", "any time, free"),
            _line("50808 text line", "50808", "any time, free", call=False, sms=True),
        ),
        ("112", "999"),
    ),
    "AU": CountryResources((_line("Lifeline", "13 11 14", "any time"),), ("000",)),
    "NZ": CountryResources((_line("Need to talk?", "1737", "any time, free", sms=True),), ("111",)),
}

CRISIS_LEAD = (
    "Thank you for telling us. You said you have had thoughts of being better off dead or of hurting "
    "yourself. You are not alone, and help is available right now."
)
CLINIC_TOLD = "Your clinic has been told and will contact you."
CRISIS_MESSAGE = f"{CRISIS_LEAD} {CLINIC_TOLD}"
# When a clinic's country has no line known (a clinic enrolled before it had to enter one): never nothing.
NO_LINE_WORDS = "call your clinic or a local crisis line"
NO_EMERGENCY_WORDS = "call your local emergency number"


def _or(numbers: Sequence[str]) -> str:
    return " or ".join(numbers)


@dataclass(frozen=True)
class CrisisResources:
    """A clinic's crisis resources: its lines and emergency number(s), and the clinic's own phone."""

    country: str | None
    lines: tuple[CrisisResource, ...]
    emergency: tuple[str, ...]
    clinic: CrisisResource | None

    @property
    def emergency_resource(self) -> CrisisResource | None:
        if not self.emergency:
            return None
        return CrisisResource(
            "Emergency services",
            self.emergency[0],
            f"Call {_or(self.emergency)} if you are in immediate danger.",
            kind="emergency",
        )

    @property
    def listed(self) -> tuple[CrisisResource, ...]:
        """Every resource as a page or an API answer lists them: the lines, the emergency number, the clinic."""
        found = [*self.lines, self.emergency_resource, self.clinic]
        return tuple(resource for resource in found if resource is not None)

    @property
    def missing(self) -> tuple[str, ...]:
        """What a clinic's admin must still enter before the clinic may take patients (CLINICAL.md §3)."""
        needed = ("at least one crisis line", not self.lines), ("the emergency number", not self.emergency)
        return tuple(words for words, absent in needed if absent)

    @property
    def lines_words(self) -> str:
        """The lines as a text gives them: "call or text 1737"; "call 116 123 or text SHOUT to 85258"."""
        return " or ".join(line.how for line in self.lines) if self.lines else NO_LINE_WORDS

    @property
    def emergency_words(self) -> str:
        return f"call {_or(self.emergency)}" if self.emergency else NO_EMERGENCY_WORDS


def clinic_resource(name: str, phone: str | None, country: str | None = None) -> CrisisResource | None:
    """The clinic's own phone (stored E.164), written as its country writes it, as every other page does."""
    if not phone:
        return None
    shown = phones.readable(phone, country)
    return CrisisResource(
        name, shown, "Your clinic: you can call them too.", "clinic", number=phone if shown != phone else None
    )


def resources_for(
    country: str | None,
    lines: Sequence[Mapping[str, Any]] | None,
    emergency: Sequence[str] | None,
    clinic_name: str,
    clinic_phone: str | None,
) -> CrisisResources:
    """The clinic's resources: what its admin entered where they did, else the built-in ones of its country.

    A line entered exactly as a built-in one keeps the built-in wording.
    """
    built_in = BUILT_IN.get(country or "", CountryResources((), ()))
    chosen = built_in.lines
    if lines:
        wording = {_key(line.entered()): line for line in built_in.lines}
        chosen = tuple(wording.get(_key(line), entered_line(line, country)) for line in lines)
    return CrisisResources(
        country,
        chosen,
        tuple(emergency) if emergency else built_in.emergency,
        clinic_resource(clinic_name, clinic_phone, country),
    )


def _key(fields: Mapping[str, Any]) -> tuple[object, ...]:
    return tuple(fields.get(name) or None for name in ("name", "phone", "call", "sms", "sms_keyword"))


def entered_line(fields: Mapping[str, Any], country: str | None = None) -> CrisisResource:
    """A stored line (CrisisResource.entered) as a resource, its sentence made from how it is reached.

    Nothing is said of its hours: only the built-in lines are known to answer at any time.
    """
    call, sms, keyword = bool(fields.get("call")), bool(fields.get("sms")), fields.get("sms_keyword") or None
    return _line(str(fields["name"]), str(fields["phone"]), None, call=call, sms=sms, keyword=keyword, country=country)


@dataclass(frozen=True)
class SafetyResponse:
    message: str
    resources: tuple[CrisisResource, ...]
    lead: str = CRISIS_LEAD  # the message without its word on the clinic, for a page that says it on its own


def safety_response(resources: CrisisResources) -> SafetyResponse:
    return SafetyResponse(CRISIS_MESSAGE, resources.listed)


# What an admin enters (the clinic settings): checked here, one problem per field.


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def line_number(phone: str, country: str | None) -> str | None:
    """A line's number as stored: a full number of the clinic's country (or with its +) as E.164, however it is
    written ("+1 (800) 273-8255"); a short code (1737, 116 123) as it is dialled; None when it is neither."""
    digits = len(re.sub(r"[^0-9]", "", phone))
    # Short codes (at most 6 digits: 1737, 116 123, 13 11 14) are no country's full number: kept as written.
    if digits > FULL_NUMBER_FROM:
        try:
            parsed = phonenumbers.parse(phone, (country or "").upper() or None)
        except phonenumbers.NumberParseException:
            parsed = None
        if parsed is not None and phonenumbers.is_valid_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if LINE_NUMBER.fullmatch(phone) and LINE_DIGITS[0] <= digits <= LINE_DIGITS[1]:
        return " ".join(phone.split())
    return None


def check_lines(
    raw: Sequence[Mapping[str, Any]], field: str = "crisis_lines", country: str | None = None
) -> tuple[list[dict[str, Any]], list[FieldProblem]]:
    """The lines an admin entered, as the clinic stores them, and what is wrong with each.

    A name needs a letter ("-5" names nothing a patient could look for); a full number is parsed for the
    clinic's country and kept as E.164 (line_number)."""
    problems: list[FieldProblem] = []
    lines: list[dict[str, Any]] = []
    if len(raw) > MAX_LINES:
        return [], [FieldProblem(field, f"enter at most {MAX_LINES} crisis lines")]
    for index, entry in enumerate(raw):
        at = f"{field}[{index}]"
        name, phone, keyword = _text(entry.get("name")), _text(entry.get("phone")), _text(entry.get("sms_keyword"))
        call, sms = entry.get("call") is True, entry.get("sms") is True
        if not 0 < len(name) <= MAX_NAME_LENGTH or not any(char.isalpha() for char in name):
            problems.append(
                FieldProblem(
                    f"{at}.name", f"enter the line's name, with a letter, at most {MAX_NAME_LENGTH} characters"
                )
            )
        stored = line_number(phone, country)
        if stored is None:
            problems.append(FieldProblem(f"{at}.phone", "enter the number as it is dialled, such as 116 123 or 1737"))
        phone = stored or phone
        if not call and not sms:
            problems.append(FieldProblem(f"{at}.call", "say whether the line takes calls, texts or both"))
        if keyword and not sms:
            problems.append(FieldProblem(f"{at}.sms_keyword", "a word to text needs a line that takes texts"))
        elif keyword and not SMS_KEYWORD.fullmatch(keyword):
            problems.append(FieldProblem(f"{at}.sms_keyword", "use one word of letters and digits, such as SHOUT"))
        lines.append({"name": name, "phone": phone, "call": call, "sms": sms, "sms_keyword": keyword or None})
    return lines, problems


def check_emergency(raw: Sequence[object], field: str = "emergency_numbers") -> tuple[list[str], list[FieldProblem]]:
    """The emergency number(s) an admin entered, and what is wrong with them."""
    numbers = [_text(number) for number in raw]
    numbers = [number for number in numbers if number]
    if len(numbers) > MAX_EMERGENCY_NUMBERS:
        return [], [FieldProblem(field, f"enter at most {MAX_EMERGENCY_NUMBERS} emergency numbers")]
    if any(not EMERGENCY_NUMBER.fullmatch(number) for number in numbers):
        return [], [FieldProblem(field, "enter the emergency number as it is dialled, such as 112 or 999")]
    return numbers, []


def split_numbers(text: str) -> list[str]:
    """ "112 or 999", "112, 999" → ["112", "999"]: the emergency numbers as one field of a form gives them."""
    return [number for number in NUMBER_SEPARATORS.split(text.strip()) if number]
