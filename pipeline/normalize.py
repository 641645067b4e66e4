"""Text normalization: a feature text for rules, the model and the cache; a merchant key for grouping.

The two differ on purpose (see MODELING.md): the feature text keeps processor prefixes and words
that carry signal and drops only what varies per purchase (dates, times, card masks, numbers);
the merchant key strips further, to group one merchant's lines together.
"""

from __future__ import annotations

import re
import unicodedata

# Zero-width and bidi control characters render as nothing but split or disguise words.
_INVISIBLE = dict.fromkeys(
    [0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x200E, 0x200F,
     *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
# ``(?:[x*#]{2,}[-\s]?)+\d{2,4}\b|\bcard\s*\d{4}\b``, written to open on a character class: the regex
# engine then jumps from one "x", "*", "#" or "c" to the next in C instead of trying the pattern at
# every position (a third less: 0.57 to 0.38 us a line; a test holds the two alike). The lookbehinds
# say which alternative the first character began.
_CARD_MASK = re.compile(r"[x*#c](?:(?<=[x*#])[x*#]+[-\s]?(?:[x*#]{2,}[-\s]?)*\d{2,4}\b|(?<=\bc)ard\s*\d{4}\b)")
# ``\b\d{1,4}[/.-]\d{1,2}(?:[/.-]\d{1,4})?\b`` and ``\b\d{1,2}:\d{2}(?::\d{2})?\b``, opening on a digit with
# the word boundary checked behind it, for the same reason (209M fewer instructions on the 200,000-row
# benchmark, 0.6%; a test holds each to its plain form).
_DATE = re.compile(r"\d(?<=\b\d)\d{0,3}[/.-]\d{1,2}(?:[/.-]\d{1,4})?\b")
_TIME = re.compile(r"\d(?<=\b\d)\d?:\d{2}(?::\d{2})?\b")
_DIGITS = re.compile(r"\d+")
_SPACES = re.compile(r"\s+")
MERCHANT_KEY_MAX = 128  # the width of the merchant_key columns

_PROCESSOR_PREFIX = re.compile(
    r"^(?:sq|tst|sp|pp|paypal|py|pos|dd|doordash|ckcd|pos debit|debit card purchase|purchase"
    r"|recurring|ach|checkcard|visa|mc)\s*[*#]\s*|^(?:pos|purchase|checkcard|debit)\s+"
)
_NON_WORD = re.compile(r"[^a-z&' ]+")
# ``(?:#\s*0|\bstore 0|\b0)\b``, each alternative opening on a literal character so that the
# regex engine skips to the next "#", "s" or "0" in C (1.0 to 0.4 us a line; a test holds the two alike).
_STORE_NUMBER = re.compile(r"(?:#\s*0|s(?<=\bs)tore 0|0(?<=\b0))\b")
US_STATES = frozenset(
    [
        "al", "ak", "az", "ar", "ca", "co", "ct", "de", "fl", "ga", "hi", "id", "il", "in", "ia", "ks",
        "ky", "la", "me", "md", "ma", "mi", "mn", "ms", "mo", "mt", "ne", "nv", "nh", "nj", "nm", "ny",
        "nc", "nd", "oh", "ok", "or", "pa", "ri", "sc", "sd", "tn", "tx", "ut", "vt", "va", "wa", "wv",
        "wi", "wy", "dc"
    ]
)
# Large US cities as they appear, abbreviated, in card descriptors (the generator uses these too).
US_CITIES = (
    "san francisco", "los angeles", "oakland", "san diego", "seattle", "portland", "denver", "austin",
    "houston", "dallas", "chicago", "new york", "brooklyn", "boston", "miami", "orlando", "atlanta",
    "phoenix", "minneapolis", "detroit", "philadelphia", "nashville", "charlotte", "salt lake cty",
    "las vegas", "columbus", "arlington", "washington", "raleigh", "sf",
)


def _cities_by_last_word() -> dict[str, list[list[str]]]:
    by_word: dict[str, list[list[str]]] = {}
    for words in (city.split() for city in US_CITIES):
        by_word.setdefault(words[-1], []).append(words)
    return by_word


# The cities (as words) that end in each word, in US_CITIES order: the last word of a line finds its candidates.
_CITIES_ENDING_IN = _cities_by_last_word()


def clean_text(description: str) -> str:
    """Unicode-normalized, lower-cased, invisible and control characters removed, spaces folded."""
    text = description
    if not text.isascii():  # the common case skips both Unicode passes
        text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE)
    if not text.isprintable():
        text = _CONTROL.sub(" ", text)
    return " ".join(text.lower().split())  # str.split and regex \s agree on what is a space


def feature_text(description: str) -> str:
    """What rules, the model and the cache key read: per-purchase noise (dates, masks, numbers) gone."""
    text = _CARD_MASK.sub(" ", clean_text(description))
    if ":" in text:
        text = _TIME.sub(" ", text)
    if "/" in text or "." in text or "-" in text:  # a date needs one; most lines have none
        text = _DATE.sub(" ", text)
    return " ".join(_DIGITS.sub("0", text).split())


def merchant_key(description: str) -> str:
    """The merchant a line belongs to: feature text without processor prefix, numbers or place."""
    return merchant_key_of_text(feature_text(description))


def merchant_key_of_text(text: str) -> str:
    """``merchant_key`` for a line already turned into feature text."""
    text = _PROCESSOR_PREFIX.sub("", text)
    text = _STORE_NUMBER.split(text, maxsplit=1)[0]  # what follows a store number is place noise
    words = _NON_WORD.sub(" ", text).split()
    while len(words) > 1 and words[-1] in US_STATES:
        words.pop()
    return (" ".join(without_city(words)[:4]) or text.strip())[:MERCHANT_KEY_MAX]


def without_city(words: list[str]) -> list[str]:
    """``words`` less the US city they end with, if any and if a word comes before it."""
    for city in _CITIES_ENDING_IN.get(words[-1], ()) if words else ():
        if len(words) > len(city) and words[-len(city):] == city:
            return words[: -len(city)]
    return words


# Words of bank and card-network wording that come before a merchant's name, never are it.
_LEAD_WORDS = frozenset([
    "pos", "w", "d", "eftpos", "debit", "card", "purchase", "authorized", "authorised", "on", "visa",
    "mastercard", "contactless", "tap", "bill", "payment", "credit", "tfr", "to", "from", "mb", "transfer",
    "online", "sq", "tst", "sp", "pp", "paypal", "ls", "windcave", "sumup", "zlr", "the", "dd", "so", "fps",
    "bgc", "ap", "direct", "zelle", "ach", "recurring", "checkcard", "ref", "and", "of", "a"
])
_NAME_WORD = re.compile(r"[a-z][a-z&']+")


def merchant_word(text: str) -> str:
    """The first word of a feature text that can name its merchant ("countdown" in "eftpos countdown papanui").

    Coarser than ``merchant_key`` on purpose: it groups a chain's many descriptors (and some
    unrelated merchants), which is what holding merchants out needs; a line without one keeps
    its first 12 characters.
    """
    words: list[str] = _NAME_WORD.findall(text)
    return next((word for word in words if len(word) >= 3 and word not in _LEAD_WORDS), text[:12])
