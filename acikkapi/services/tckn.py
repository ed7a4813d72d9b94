"""T.C. Kimlik No and foreign identity number (yabancı kimlik no, starting 99): checked before any outside call."""

import re
import unicodedata

from acikkapi.services.errors import ValidationFailed


def is_valid_tckn(value: str) -> bool:
    if not re.fullmatch(r"[1-9][0-9]{10}", value):
        return False
    d = [int(c) for c in value]
    tenth = ((d[0] + d[2] + d[4] + d[6] + d[8]) * 7 - (d[1] + d[3] + d[5] + d[7])) % 10
    return d[9] == tenth and d[10] == sum(d[:10]) % 10



def check_tckn(value: str, field: str = "tcKimlikNo") -> str:
    value = value.strip()
    if not is_valid_tckn(value):
        raise ValidationFailed("Geçersiz T.C. Kimlik No veya Yabancı Kimlik No.", field=field)
    return value


def check_phone(value: str, field: str = "phone") -> str:
    """A Turkish mobile number as its 10 digits (5XXXXXXXXX); +90, 0, spaces and dashes are accepted."""
    digits = re.sub(r"[\s\-()]", "", value)
    digits = re.sub(r"^(\+90|0090|90(?=5[0-9]{9}$)|0)", "", digits)
    if not re.fullmatch(r"5[0-9]{9}", digits):
        raise ValidationFailed("Cep telefonu numarası 5XX XXX XX XX biçiminde olmalıdır.", field=field)
    return digits


def mask_phone(phone: str) -> str:
    """"5421234567" → "542*****67": enough for the owner to recognise, too little for anyone else."""
    return f"{phone[:3]}*****{phone[-2:]}"


def turkish_upper(text: str) -> str:
    # A non-Turkish lower-casing of "İ" leaves "i" + U+0307 (combining dot above): fold it back first.
    text = unicodedata.normalize("NFC", text).replace("i\u0307", "i")
    return text.replace("i", "İ").replace("ı", "I").upper()


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def check_text(value: str | None, field: str) -> str:
    """Refuse control characters (NUL and the like) in free text; line breaks and tabs are fine."""
    if value and _CONTROL.search(value):
        raise ValidationFailed("Metin geçersiz karakter içeriyor.", field=field)
    return value or ""
