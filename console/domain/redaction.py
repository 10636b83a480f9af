"""Redaction of personal data and credentials in text: each match becomes a typed placeholder.

Pure and stdlib only. A :class:`Redactor` finds emails, phone numbers, payment cards (Luhn),
IBANs (mod-97 checksum and per-country length), US SSNs, IPv4 and IPv6 addresses, vendor API
keys (OpenAI, AWS, GitHub, Slack, Google), JWTs, bearer tokens, private-key blocks and any
user-defined patterns, and replaces each with ``[KIND]`` (``[EMAIL]``, ``[CARD]``...). The
spans (kind, start and end in the original text, and where the placeholder sits in the
redacted text) are kept so that a privileged operator can reveal one original later.

Speed: every pattern starts with a literal or a narrow character class, so the regex
engine's prefix scan skips most of the text in C; candidates are then checked in Python
(checksums, ranges), and most text has none.
"""

import bisect
import ipaddress
import itertools
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum


class PiiKind(StrEnum):
    """What a redacted span was. Custom patterns use their own (upper-case) name."""

    EMAIL = "EMAIL"
    PHONE = "PHONE"
    CARD = "CARD"
    IBAN = "IBAN"
    SSN = "SSN"
    IP = "IP"
    API_KEY = "API_KEY"
    TOKEN = "TOKEN"
    PRIVATE_KEY = "PRIVATE_KEY"


@dataclass(frozen=True)
class Span:
    """One redacted match: ``start:end`` in the original, ``out_start:out_end`` (the
    placeholder) in the redacted text."""

    kind: str
    start: int
    end: int
    out_start: int
    out_end: int

    @property
    def placeholder(self) -> str:
        """The text that replaced the original, such as ``[EMAIL]``."""
        return placeholder(self.kind)


@dataclass(frozen=True)
class Redaction:
    """A redacted text and the spans it replaced, in order."""

    text: str
    spans: tuple[Span, ...] = ()

    @property
    def changed(self) -> bool:
        """True when anything was redacted."""
        return bool(self.spans)


class PatternError(ValueError):
    """A user-defined pattern is unusable; ``name`` says which."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message


def placeholder(kind: str) -> str:
    """The placeholder text of a kind: ``[EMAIL]``."""
    return f"[{kind}]"


_CUSTOM_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,31}$")


def compile_custom_pattern(name: str, pattern: str) -> re.Pattern[str]:
    """Compile one user-defined pattern; raises PatternError naming ``name`` when it is a bad
    name, does not compile, or matches the empty string (it would redact nothing forever)."""
    if not _CUSTOM_NAME.match(name):
        raise PatternError(name, "a pattern name is 1-32 letters, digits or '_', from a letter")
    if name.upper() in set(PiiKind):
        raise PatternError(name, f"{name.upper()} is a built-in kind; choose another name")
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise PatternError(name, f"invalid regular expression {pattern!r}: {exc}") from None
    if compiled.match("") is not None:
        raise PatternError(name, f"{pattern!r} matches the empty string")
    return compiled


# Priority when candidates overlap: the first kind in this order wins.
_PRIORITY = (
    PiiKind.PRIVATE_KEY,
    PiiKind.TOKEN,
    PiiKind.API_KEY,
    "custom",
    PiiKind.EMAIL,
    PiiKind.IBAN,
    PiiKind.CARD,
    PiiKind.SSN,
    PiiKind.IP,
    PiiKind.PHONE,
)
_RANK = {kind: rank for rank, kind in enumerate(_PRIORITY)}

_PRIVATE_KEY = re.compile(
    r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----"
    # Without its END line (a truncated log line), the block runs over base64 and line ends,
    # real or JSON-escaped.
    r"(?:.*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|(?:[A-Za-z0-9+/=\r\n]|\\[rn])*)",
    re.DOTALL,
)
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")
_BEARERS = {
    word: re.compile(word + r"[ \t]+([A-Za-z0-9._~+/-]{12,}=*)") for word in ("earer", "EARER")
}
"""From after the B, so that each pattern starts with a literal anchor."""
_KEY_END = r"(?![A-Za-z0-9_-])"
_API_KEYS = {
    prefix: re.compile(prefix + body + _KEY_END)
    for prefix, body in (
        ("sk-", r"(?:proj-|svcacct-|admin-|ant-)?[A-Za-z0-9_-]{20,}"),
        ("AKIA", r"[A-Z0-9]{16}"),
        ("ASIA", r"[A-Z0-9]{16}"),
        ("gh", r"[pousr]_[A-Za-z0-9]{36,}"),
        ("github_pat_", r"[A-Za-z0-9_]{22,}"),
        ("xox", r"[abposr]-[A-Za-z0-9-]{10,}"),
        ("AIza", r"[0-9A-Za-z_-]{35}"),
    )
}
"""Vendor key patterns by literal prefix: a prefix absent from the text skips its pattern."""
_EMAIL_DOMAIN = re.compile(
    r"@((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24})(?![A-Za-z0-9-])"
)
_EMAIL_LOCAL = re.compile(r"[A-Za-z0-9._%+-]{1,64}$")

# The number-like kinds are searched in the text's shape: every ASCII digit becomes "0",
# every upper-case letter "A", every other word character "a". Each pattern then starts with
# a literal, which the regex engine finds with a fast scan instead of trying every position.
_SHAPE = str.maketrans(
    {
        **dict.fromkeys(map(ord, "0123456789"), "0"),
        **dict.fromkeys(map(ord, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"), "A"),
        **dict.fromkeys(map(ord, "abcdefghijklmnopqrstuvwxyz_"), "a"),
    }
)
_NOT_AFTER = r"(?![aA0]|[.\-]0)"
_IBAN = re.compile(r"AA(?<![aA0]AA)00(?: ?[A0]{4}){2,7}(?: ?[A0]{1,3})?")
_DIGIT_GROUPS = re.compile(
    r"000(?<![aA0.\-+]000)(?:"
    r"(?P<card>0(?:[ -]?0){9,15})"  # 13-19 digits, maybe grouped by spaces or dashes
    r"|(?P<ssn>(?P<sep>[- ])00(?P=sep)0000)"  # 123-45-6789
    r"|(?P<phone>[-. ]000[-. ]0000)"  # 415-555-0123
    r")" + _NOT_AFTER
)
"""Cards, SSNs and North American phone numbers share one scan for their first 3 digits."""
_IPV4 = re.compile(r"0\.0{1,3}\.0{1,3}\.0{1,3}(?![aA0]|\.0)")
"""From the first octet's last digit: a two-character literal prefix is found much faster."""
_PHONE_INTL = re.compile(
    r"\+(?<![aA0+]\+)0{1,3}(?:[ .-]?\(0{1,4}\))?(?:[ .-]?0{1,5}){2,5}" + _NOT_AFTER
)
_PHONE_PAREN = re.compile(r"\((?<![aA0]\()000\) ?000[-. ]0000" + _NOT_AFTER)
_IPV6_HINT = re.compile(r":(?:[0aA]{1,4})?:")
_IPV6 = re.compile(r"[0-9A-Fa-f:.]{2,45}(?:%[A-Za-z0-9]+)?")
_HEX_COLON = frozenset("0123456789abcdefABCDEF:")
_MIN_BEARER_CHARS = 16
"""A bearer value shorter than this, or without a digit, is prose ("the bearer of...")."""

_IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18,
    "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24,
    "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24,
    "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip
"""IBAN length per country (SWIFT IBAN registry)."""

_Candidate = tuple[int, int, str]
_SEPARATOR = "\x00"


def luhn_valid(digits: str) -> bool:
    """True when the digit string passes the Luhn checksum."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _card_brand_ok(digits: str) -> bool:
    """The issuer prefix and length of a real card scheme (Visa, Mastercard, Amex, Discover,
    Diners, JCB, UnionPay, Maestro): a Luhn-valid id or nanosecond timestamp rarely has one."""
    n = len(digits)
    two, four = int(digits[:2]), int(digits[:4])
    if digits[0] == "4":
        return n in (13, 16, 19)
    if 51 <= two <= 55 or 2221 <= four <= 2720:
        return n == 16
    if two in (34, 37):
        return n == 15
    if two in (36, 38, 39) or 300 <= int(digits[:3]) <= 305:
        return 14 <= n <= 19
    if four == 6011 or two == 65 or 644 <= int(digits[:3]) <= 649:
        return 16 <= n <= 19
    if 3528 <= four <= 3589:
        return 16 <= n <= 19
    if two == 62:
        return 16 <= n <= 19
    if two in (50, 56, 57, 58, 63, 67):
        return 12 <= n <= 19
    return False


def iban_valid(compact: str) -> bool:
    """True for an IBAN (no spaces) of its country's length whose mod-97 checksum is 1."""
    if _IBAN_LENGTHS.get(compact[:2]) != len(compact):
        return False
    rearranged = compact[4:] + compact[:4]
    try:
        number = int("".join(str(int(char, 36)) for char in rearranged))
    except ValueError:
        return False
    return number % 97 == 1


def _iban_end(text: str, start: int, end: int) -> int | None:
    """Where the IBAN starting at ``start`` ends, if its country's length of characters up to
    ``end`` forms a valid one (the pattern may have run on into a following word)."""
    length = _IBAN_LENGTHS.get(text[start : start + 2])
    if length is None:
        return None
    chars: list[str] = []
    position = start
    while position < end and len(chars) < length:
        if text[position] != " ":
            chars.append(text[position])
        position += 1
    if len(chars) < length or (position < len(text) and text[position].isalnum()):
        return None
    return position if iban_valid("".join(chars)) else None


def _ssn_valid(text: str) -> bool:
    area, group, serial = int(text[:3]), int(text[4:6]), int(text[7:])
    return area not in (0, 666) and area < 900 and group != 0 and serial != 0


def _ipv4_valid(text: str) -> bool:
    parts = text.split(".")
    return all(len(p) == 1 or (p[0] != "0" and int(p) <= 255) for p in parts)


class Redactor:
    """Finds and replaces personal data and secrets; immutable and safe to share."""

    def __init__(self, custom: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        items = custom.items() if isinstance(custom, Mapping) else custom
        self._custom = tuple(
            (name.upper(), compile_custom_pattern(name, pattern)) for name, pattern in items
        )

    def redact(self, text: str) -> Redaction:
        """``text`` with every match replaced by its placeholder, and the spans replaced."""
        chosen = self._resolve(self._candidates(text))
        return _replace(text, chosen) if chosen else Redaction(text)

    def redact_many(self, texts: Sequence[str]) -> list[Redaction]:
        """Each text redacted, as ``redact`` would, in one pass over all of them.

        The texts are joined with NUL, which no built-in pattern can cross, and searched
        once: per-call costs then no longer dominate short texts such as log lines. A match
        of a custom pattern that crosses a NUL is dropped.
        """
        if any(_SEPARATOR in text for text in texts):
            return [self.redact(text) for text in texts]
        joined = _SEPARATOR.join(texts)
        chosen = self._resolve(
            c for c in self._candidates(joined) if _SEPARATOR not in joined[c[0] : c[1]]
        )
        results = [Redaction(text) for text in texts]
        if not chosen:
            return results
        starts = list(itertools.accumulate((len(text) + 1 for text in texts[:-1]), initial=0))
        by_text: dict[int, list[_Candidate]] = {}
        for start, end, kind in chosen:
            index = bisect.bisect_right(starts, start) - 1
            offset = starts[index]
            by_text.setdefault(index, []).append((start - offset, end - offset, kind))
        for index, spans in by_text.items():
            results[index] = _replace(texts[index], spans)
        return results

    def redact_text(self, text: str) -> str:
        """Only the redacted text."""
        return self.redact(text).text

    def _candidates(self, text: str) -> Iterator[_Candidate]:
        yield from _secrets(text)
        for name, pattern in self._custom:
            for m in pattern.finditer(text):
                if m.end() > m.start():
                    yield m.start(), m.end(), name
        if "@" in text:
            yield from _emails(text)
        shape = text.translate(_SHAPE)
        if "0" in shape:
            yield from _numbers(text, shape)
        if ":" in text:
            yield from _ipv6(text, shape)

    @staticmethod
    def _resolve(candidates: Iterable[_Candidate]) -> list[_Candidate]:
        """Non-overlapping candidates, in text order; on overlap the higher-priority kind
        (then the longer match) wins."""
        ranked = sorted(
            candidates,
            key=lambda c: (_RANK.get(c[2], _RANK["custom"]), c[0] - c[1], c[0]),
        )
        starts: list[int] = []
        ends: list[int] = []
        taken: list[_Candidate] = []
        for candidate in ranked:
            start, end, _ = candidate
            index = bisect.bisect_right(starts, start)
            if index and ends[index - 1] > start:
                continue
            if index < len(starts) and starts[index] < end:
                continue
            starts.insert(index, start)
            ends.insert(index, end)
            taken.insert(index, candidate)
        return taken


def _replace(text: str, chosen: Iterable[_Candidate]) -> Redaction:
    """``text`` with each chosen (ordered, disjoint) span replaced by its placeholder."""
    parts: list[str] = []
    spans: list[Span] = []
    cursor = 0
    out = 0
    for start, end, kind in chosen:
        parts.append(text[cursor:start])
        out += start - cursor
        marker = placeholder(kind)
        parts.append(marker)
        spans.append(Span(kind, start, end, out, out + len(marker)))
        out += len(marker)
        cursor = end
    parts.append(text[cursor:])
    return Redaction("".join(parts), tuple(spans))


def _anchored(text: str, anchor: str, pattern: re.Pattern[str]) -> Iterator[re.Match[str]]:
    """Matches of ``pattern`` (which starts with ``anchor``) at each occurrence of ``anchor``.

    str.find scans for a rare literal several times faster than the regex engine does.
    """
    at = text.find(anchor)
    while at != -1:
        m = pattern.match(text, at)
        if m is None:
            at = text.find(anchor, at + 1)
        else:
            yield m
            at = text.find(anchor, max(m.end(), at + 1))


def _secrets(text: str) -> Iterator[_Candidate]:
    for m in _anchored(text, "-----BEGIN", _PRIVATE_KEY):
        yield m.start(), m.end(), PiiKind.PRIVATE_KEY
    for m in _anchored(text, "eyJ", _JWT):
        yield m.start(), m.end(), PiiKind.TOKEN
    for word, bearer in _BEARERS.items():
        for m in _anchored(text, word, bearer):
            token = m.group(1)
            if (
                m.start() > 0
                and text[m.start() - 1] in "Bb"
                and len(token) >= _MIN_BEARER_CHARS
                and any(char.isdigit() for char in token)
            ):
                yield m.start(1), m.end(1), PiiKind.TOKEN
    for prefix, pattern in _API_KEYS.items():
        for m in _anchored(text, prefix, pattern):
            start = m.start()
            if start == 0 or not (text[start - 1].isalnum() or text[start - 1] in "_-"):
                yield start, m.end(), PiiKind.API_KEY


def _emails(text: str) -> Iterator[_Candidate]:
    for m in _EMAIL_DOMAIN.finditer(text):
        at = m.start()
        local = _EMAIL_LOCAL.search(text, max(0, at - 64), at)
        if local is None:
            continue
        start = local.start()
        while start < at and text[start] in "._%+-":
            start += 1
        if start < at and text[at - 1] != ".":
            yield start, m.end(), PiiKind.EMAIL


def _numbers(text: str, shape: str) -> Iterator[_Candidate]:
    if "AA00" in shape:
        for m in _IBAN.finditer(shape):
            end = _iban_end(text, m.start(), m.end())
            if end is not None:
                yield m.start(), end, PiiKind.IBAN
    for m in _DIGIT_GROUPS.finditer(shape):
        start, end = m.span()
        raw = text[start:end]
        if m.group("card"):
            digits = raw.replace(" ", "").replace("-", "")
            separators = {char for char in raw if not char.isdigit()}
            if len(separators) <= 1 and _card_brand_ok(digits) and luhn_valid(digits):
                yield start, end, PiiKind.CARD
        elif m.group("ssn"):
            if _ssn_valid(raw.replace(" ", "-")):
                yield start, end, PiiKind.SSN
        else:
            yield start, end, PiiKind.PHONE
    if "." in shape:
        for m in _IPV4.finditer(shape):
            start = m.start()
            while start > 0 and m.start() - start < 2 and shape[start - 1] == "0":
                start -= 1
            if (start == 0 or shape[start - 1] not in "aA0.:") and _ipv4_valid(
                text[start : m.end()]
            ):
                yield start, m.end(), PiiKind.IP
    if "+" in shape:
        for m in _PHONE_INTL.finditer(shape):
            if 8 <= m.group().count("0") <= 15:
                yield m.start(), m.end(), PiiKind.PHONE
    if "(" in shape:
        for m in _PHONE_PAREN.finditer(shape):
            yield m.start(), m.end(), PiiKind.PHONE


def _ipv6(text: str, shape: str) -> Iterator[_Candidate]:
    position = 0
    for hint in _IPV6_HINT.finditer(shape):
        if hint.start() < position:
            continue
        start = hint.start()
        while start > 0 and text[start - 1] in _HEX_COLON:
            start -= 1
        if start > 0 and (text[start - 1].isalnum() or text[start - 1] in "_."):
            position = hint.end()
            continue
        m = _IPV6.match(text, start)
        if m is None:
            continue
        candidate = m.group().rstrip(".")
        end = start + len(candidate)
        position = end
        if end < len(text) and (text[end].isalnum() or text[end] == "_"):
            continue
        if _ipv6_valid(candidate):
            yield start, end, PiiKind.IP


def _ipv6_valid(candidate: str) -> bool:
    address = candidate.split("%", 1)[0]
    if address.count(":") < 2 or ("::" not in address and address.count(":") != 7):
        return False
    try:
        ipaddress.IPv6Address(address)
    except ValueError:
        return False
    return True
