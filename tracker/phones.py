"""Phone numbers as people read them: stored E.164 ('+13125550123'), shown as the clinic's country writes its own
('(312) 555-0123'), and in international form when the number is another country's ('+44 20 7946 0958'). Pure."""

from __future__ import annotations

import phonenumbers


def readable(e164: str | None, country: str | None) -> str:
    """The stored number for reading; the stored text unchanged when it does not parse ('' for none)."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    if not phonenumbers.is_possible_number(number):
        return e164
    home = (country or "").upper()
    if home and phonenumbers.region_code_for_number(number) == home:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
