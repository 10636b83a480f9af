"""A labelled, seeded corpus for redaction: personal data and secrets, and their look-alikes.

``positives()`` gives texts that each hold one value to redact (its kind and the value);
``look_alikes()`` gives texts that hold none, but look like they might: timestamps, order ids,
UUIDs, versions, hashes, trace ids, MAC addresses, checksum-failing cards and IBANs, SSNs
with impossible areas, out-of-range IPv4s... Checksums (Luhn, IBAN mod-97) are computed, so
the valid samples are valid and the invalid ones are invalid by construction.
"""

import base64
import ipaddress
import json
import random
import string
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from console.domain.redaction import PiiKind, iban_valid, luhn_valid


@dataclass(frozen=True)
class Sample:
    """A text; ``value`` (of ``kind``) is what must be redacted, None for a look-alike."""

    text: str
    kind: str | None = None
    value: str | None = None


_CONTEXTS = (
    "Customer wrote: please reach me at {v} as soon as possible.",
    '{{"role": "user", "content": "my details are {v}, thanks"}}',
    'prompt="update the account with {v}" latency_ms=812',
    "The user pasted {v} into the chat.",
    "{v}",
    "ticket #4411: value ({v}) was logged by the gateway",
    "output: I have noted {v}. Anything else?",
)
_NEGATIVE_CONTEXTS = (
    "request finished: {v}",
    '{{"level": "info", "msg": "processed", "ref": "{v}"}}',
    "the model answered with {v} in its summary",
    "{v}",
    "trace {v} took 812 ms",
)
_LOCALS = ("john.doe", "a.smith+billing", "maria_garcia", "k.tanaka", "ops-team", "x1", "li.wei")
_DOMAINS = ("example.com", "mail.example.org", "acme.co.uk", "corp.example.net", "uni.edu")


def _luhn_complete(rng: random.Random, prefix: str, length: int) -> str:
    body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    for check in string.digits:
        if luhn_valid(body + check):
            return body + check
    raise AssertionError("unreachable: one check digit always fits")


def _luhn_broken(rng: random.Random, prefix: str, length: int) -> str:
    card = _luhn_complete(rng, prefix, length)
    return card[:-1] + str((int(card[-1]) + rng.randint(1, 9)) % 10)


def _group(digits: str, sizes: tuple[int, ...], sep: str) -> str:
    parts, index = [], 0
    for size in sizes:
        parts.append(digits[index : index + size])
        index += size
    return sep.join(parts)


def _card(rng: random.Random) -> str:
    brand = rng.choice(("visa", "mc", "mc2", "amex", "discover"))
    if brand == "amex":
        digits = _luhn_complete(rng, rng.choice(("34", "37")), 15)
        return _group(digits, (4, 6, 5), rng.choice((" ", "-", "")))
    prefix = {"visa": "4", "mc": str(rng.randint(51, 55)), "mc2": "2221", "discover": "6011"}
    digits = _luhn_complete(rng, prefix[brand], 16)
    return _group(digits, (4, 4, 4, 4), rng.choice((" ", "-", "")))


_IBAN_BANKS = {"DE": 18, "GB": 18, "FR": 23, "NL": 14, "ES": 20, "IT": 23, "BE": 12, "CH": 17}


def _iban(rng: random.Random, *, valid: bool = True) -> str:
    country = rng.choice(sorted(_IBAN_BANKS))
    body = "".join(rng.choice(string.digits) for _ in range(_IBAN_BANKS[country]))
    if country == "GB":
        body = "".join(rng.choice(string.ascii_uppercase) for _ in range(4)) + body[4:]
    numeric = "".join(str(int(char, 36)) for char in body + country + "00")
    check = 98 - int(numeric) % 97
    if not valid:
        check = (check + rng.randint(1, 90)) % 97 + 2
    compact = f"{country}{check:02d}{body}"
    assert iban_valid(compact) is valid
    if rng.random() < 0.5:
        return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))
    return compact


def _ssn(rng: random.Random) -> str:
    area = rng.choice([a for a in range(1, 900) if a != 666])
    return f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"


def _phone(rng: random.Random) -> str:
    area, exchange, line = rng.randint(201, 989), rng.randint(200, 999), rng.randint(0, 9999)
    return rng.choice(
        (
            f"({area}) {exchange}-{line:04d}",
            f"{area}-{exchange}-{line:04d}",
            f"{area}.{exchange}.{line:04d}",
            f"+1 {area} {exchange} {line:04d}",
            f"+1-{area}-{exchange}-{line:04d}",
            f"+44 20 {rng.randint(7000, 8999)} {rng.randint(1000, 9999)}",
            f"+49 30 {rng.randint(1000000, 99999999)}",
            f"+33 1 {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)} "
            f"{rng.randint(10, 99)}",
            f"+81 3-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}",
            f"+91 {rng.randint(70000, 99999)} {rng.randint(10000, 99999)}",
        )
    )


def _ipv4(rng: random.Random) -> str:
    first = rng.choice((10, 172, 192, 34, 52, 81, 203))
    return f"{first}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def _ipv6(rng: random.Random) -> str:
    address = ipaddress.IPv6Address(
        (0x2001_0DB8 << 96) | rng.getrandbits(64) | (rng.getrandbits(16) << 80)
    )
    return rng.choice((address.compressed, address.exploded, "fe80::1", "::1", "2001:db8::42"))


def _token(rng: random.Random, alphabet: str, length: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(length))


_ALNUM = string.ascii_letters + string.digits
_UPPER_ALNUM = string.ascii_uppercase + string.digits
_URLSAFE = _ALNUM + "-_"


def _api_key(rng: random.Random) -> str:
    return rng.choice(
        (
            lambda: "sk-" + _token(rng, _ALNUM, 48),
            lambda: "sk-proj-" + _token(rng, _URLSAFE, 64),
            lambda: "AKIA" + _token(rng, _UPPER_ALNUM, 16),
            lambda: "ASIA" + _token(rng, _UPPER_ALNUM, 16),
            lambda: "ghp_" + _token(rng, _ALNUM, 36),
            lambda: "gho_" + _token(rng, _ALNUM, 36),
            lambda: "github_pat_" + _token(rng, _ALNUM + "_", 82),
            lambda: f"xoxb-{rng.randint(10**11, 10**12)}-{_token(rng, _ALNUM, 24)}",
            lambda: f"xoxp-{rng.randint(10**11, 10**12)}-{_token(rng, _ALNUM, 32)}",
            lambda: "AIza" + _token(rng, _URLSAFE, 35),
        )
    )()


def _b64url(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _jwt(rng: random.Random) -> str:
    header = _b64url({"alg": "HS256", "typ": "JWT"})
    issued = rng.randint(1_600_000_000, 1_800_000_000)
    payload = _b64url({"sub": str(rng.randint(1, 10**9)), "iat": issued})
    return f"{header}.{payload}.{_token(rng, _URLSAFE, 43)}"


def _bearer(rng: random.Random) -> str:
    return (
        _token(rng, _ALNUM, rng.randint(4, 8))
        + str(rng.randint(10, 99))
        + _token(rng, _ALNUM + "._-", rng.randint(20, 40))
    )


def _private_key(rng: random.Random) -> str:
    kind = rng.choice(("RSA ", "EC ", "", "OPENSSH "))
    lines = "\n".join(_token(rng, _ALNUM + "+/", 64) for _ in range(rng.randint(2, 5)))
    return f"-----BEGIN {kind}PRIVATE KEY-----\n{lines}\n-----END {kind}PRIVATE KEY-----"


_GENERATORS: tuple[tuple[str, Callable[[random.Random], str], int], ...] = (
    (PiiKind.EMAIL, lambda r: f"{r.choice(_LOCALS)}@{r.choice(_DOMAINS)}", 35),
    (PiiKind.PHONE, _phone, 50),
    (PiiKind.CARD, _card, 40),
    (PiiKind.IBAN, _iban, 30),
    (PiiKind.SSN, _ssn, 25),
    (PiiKind.IP, _ipv4, 25),
    (PiiKind.IP, _ipv6, 25),
    (PiiKind.API_KEY, _api_key, 50),
    (PiiKind.TOKEN, _jwt, 15),
    (PiiKind.PRIVATE_KEY, _private_key, 10),
)


def positives(seed: int = 11) -> list[Sample]:
    """At least 300 texts, each holding one value to redact."""
    rng = random.Random(seed)
    samples = []
    for kind, generate, count in _GENERATORS:
        for _ in range(count):
            value = generate(rng)
            samples.append(Sample(rng.choice(_CONTEXTS).format(v=value), kind, value))
    for _ in range(15):
        value = _bearer(rng)
        samples.append(Sample(f"headers: Authorization: Bearer {value}", PiiKind.TOKEN, value))
    return samples


def _hex(rng: random.Random, length: int) -> str:
    return _token(rng, "0123456789abcdef", length)


_LOOK_ALIKES: tuple[Callable[[random.Random], str], ...] = (
    lambda r: (
        f"2026-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}T{r.randint(0, 23):02d}:"
        f"{r.randint(0, 59):02d}:{r.randint(0, 59):02d}.{r.randint(0, 999):03d}Z"
    ),
    lambda r: (
        f"2026-11-{r.randint(1, 28):02d} {r.randint(0, 23):02d}:{r.randint(0, 59):02d}:00"
        f"+{r.randint(0, 12):02d}:00"
    ),
    lambda r: (
        f"{r.randint(1, 28):02d}/{r.randint(1, 12):02d}/2026 {r.randint(0, 23):02d}:"
        f"{r.randint(10, 59)}"
    ),
    lambda r: f"{r.randint(1, 28):02d}.{r.randint(1, 12):02d}.2026",
    lambda r: str(r.randint(1_600_000_000, 1_800_000_000)),
    lambda r: str(r.randint(1_600_000_000_000, 1_800_000_000_000)),
    lambda r: str(r.randint(1_600_000_000 * 10**9, 1_800_000_000 * 10**9)),
    lambda r: f"ORD-2026-{r.randint(0, 999999):06d}",
    lambda r: f"A-{r.randint(1000, 9999)}",
    lambda r: f"#{r.randint(1_000_000, 99_999_999)}",
    lambda r: f"INV/{r.randint(2020, 2026)}/{r.randint(1, 99999):05d}",
    lambda r: str(uuid.UUID(int=r.getrandbits(128), version=4)),
    lambda r: f"v{r.randint(0, 9)}.{r.randint(0, 30)}.{r.randint(0, 99)}",
    lambda r: f"{r.randint(0, 9)}.{r.randint(0, 30)}.{r.randint(0, 99)}-rc.{r.randint(1, 5)}",
    lambda r: f"python 3.{r.randint(8, 13)}.{r.randint(0, 12)}",
    lambda r: f"v{r.randint(1, 9)}.{r.randint(0, 9)}.{r.randint(0, 9)}.{r.randint(0, 9)}",
    lambda r: (
        f"build {r.randint(2020, 2026)}.{r.randint(1, 12)}.{r.randint(1, 28)}.{r.randint(1, 9)}"
    ),
    lambda r: f"vllm/vllm-openai:v0.{r.randint(4, 9)}.{r.randint(0, 5)}",
    lambda r: _hex(r, 32),
    lambda r: _hex(r, 40),
    lambda r: _hex(r, 64),
    lambda r: f"sha256:{_hex(r, 64)}",
    lambda r: f"commit {_hex(r, 7)}",
    lambda r: f"traceparent 00-{_hex(r, 32)}-{_hex(r, 16)}-01",
    lambda r: ":".join(_hex(r, 2) for _ in range(6)),
    lambda r: f"{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d}",
    lambda r: f"localhost:{r.randint(1024, 65535)}",
    lambda r: f"{r.randint(1, 9999)}.{r.randint(0, 99):02d} ms",
    lambda r: f"${r.randint(1, 999)},{r.randint(100, 999)}.{r.randint(10, 99)}",
    lambda r: f"support-chat-{_hex(r, 9)}-{_token(r, string.ascii_lowercase, 5)}",
    lambda r: _luhn_broken(r, "4", 16),
    lambda r: _luhn_broken(r, "5" + str(r.randint(1, 5)), 16),
    lambda r: _luhn_complete(r, "1", 16),
    lambda r: _iban(r, valid=False),
    lambda r: f"000-{r.randint(10, 99)}-{r.randint(1000, 9999)}",
    lambda r: f"{r.randint(900, 999)}-{r.randint(10, 99)}-{r.randint(1000, 9999)}",
    lambda r: f"{r.randint(256, 999)}.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(0, 255)}",
    lambda r: f"std::vector<int> at {r.randint(1, 99)}",
    lambda r: "task-" + _token(r, string.ascii_lowercase, 24),
    lambda r: "disk-" + _token(r, string.ascii_lowercase + "-", 30),
    lambda r: "AKIA" + _token(r, _UPPER_ALNUM, 8),
    lambda r: "the bearer of this message is authorised",
    lambda r: f"user_{r.randint(1000, 99999)} at acme",
    lambda r: f"@{_token(r, string.ascii_lowercase, 8)} mentioned you",
    lambda r: f"{r.randint(1, 99)} GiB / {r.randint(100, 999)}m CPU",
    lambda r: f"tokens in={r.randint(10, 9000)} out={r.randint(10, 4000)}",
    lambda r: f"{r.randint(100, 999)}-{r.randint(100, 999)}",
    lambda r: f"1e+{r.randint(10, 99)}",
    lambda r: f"+{r.randint(1, 99)}%",
)


def look_alikes(seed: int = 12, count: int = 400) -> list[Sample]:
    """``count`` texts that hold nothing to redact, each from one look-alike family in turn."""
    rng = random.Random(seed)
    return [
        Sample(rng.choice(_NEGATIVE_CONTEXTS).format(v=_LOOK_ALIKES[i % len(_LOOK_ALIKES)](rng)))
        for i in range(count)
    ]
