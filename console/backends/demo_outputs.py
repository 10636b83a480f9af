"""Sampled responses of the DEMO fleet, for output drift until a log backend supplies real ones.

Each minute of each deployment version draws its samples from a numpy Generator seeded from
(seed, deployment, version, minute), so a window always yields the same records and two
overlapping windows agree on the minutes they share. The versions are those of the DEMO
fleet in console/backends/demo.py; the bad ``support-chat`` version ``v42`` refuses and runs
into its token limit far more often than ``v41``, spreads its answer lengths far wider (the
shape comes from demo.output_length_shape, as the output-token histograms do) and breaks its JSON.
"""

import hashlib
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from console.backends.demo import output_length_shape
from console.domain.outputs import OutputRecord

_MINUTE_S = 60.0
_REFUSAL_TOKENS_MEDIAN = 40.0
_REFUSAL_TOKENS_SIGMA = 0.3
_FILTERED_SHARE_OF_REFUSALS = 0.25
"""Refusals the safety filter cut short (finish "content_filter"); the rest end with "stop"."""


@dataclass(frozen=True)
class _OutputProfile:
    """How one model version answers: rates per request (answer lengths come from demo.py)."""

    refusal_rate: float
    length_rate: float  # answers cut off at max_tokens (finish "length")
    tool_calls_rate: float
    error_rate: float
    json_share: float  # requests that expect a JSON answer
    json_invalid_rate: float  # of complete answers; a refused or cut-off one is always invalid
    max_tokens: int


_PROFILES: Mapping[str, Mapping[str, _OutputProfile | None]] = {
    "support-chat": {
        "v41": _OutputProfile(0.008, 0.008, 0.03, 0.002, 0.3, 0.005, 1024),
        "v42": _OutputProfile(0.13, 0.14, 0.03, 0.02, 0.3, 0.06, 1024),
    },
    "doc-qa": {
        "v7": _OutputProfile(0.02, 0.015, 0.0, 0.003, 0.6, 0.01, 2048),
        "v8": _OutputProfile(0.02, 0.015, 0.0, 0.002, 0.6, 0.009, 2048),
    },
    "code-assist": {
        "v3": _OutputProfile(0.005, 0.02, 0.15, 0.002, 0.2, 0.02, 4096),
    },
    "search-rerank": {
        "v2": _OutputProfile(0.0, 0.005, 0.0, 0.004, 1.0, 0.003, 256),
    },
    "fraud-scorer": {"2": None},  # a classifier: scores, no text to sample
}


def demo_outputs(
    deployment: str,
    version: str,
    start: float,
    end: float,
    *,
    seed: int = 7,
    per_minute: int = 60,
) -> Iterator[OutputRecord]:
    """The DEMO samples of one deployment version with ``start <= timestamp < end``, in order.

    Raises ValueError at once (not on first iteration) for an unknown deployment or version
    or a bad window; a version without text outputs yields nothing.
    """
    try:
        versions = _PROFILES[deployment]
    except KeyError:
        raise ValueError(
            f"unknown DEMO deployment {deployment!r} (known: {', '.join(_PROFILES)})"
        ) from None
    if version not in versions:
        raise ValueError(
            f"DEMO deployment {deployment!r} has no version {version!r} "
            f"(known: {', '.join(versions)})"
        )
    if not (math.isfinite(start) and math.isfinite(end) and 0 <= start <= end):
        raise ValueError(f"DEMO output window [{start}, {end}) must be finite, >= 0 and ordered")
    if seed < 0 or per_minute < 1:
        raise ValueError(
            f"DEMO outputs need seed >= 0 and per_minute >= 1, got {seed}, {per_minute}"
        )
    profile = versions[version]
    if profile is None:
        return iter(())
    return _samples(deployment, version, profile, start, end, seed, per_minute)


def _samples(
    deployment: str,
    version: str,
    profile: _OutputProfile,
    start: float,
    end: float,
    seed: int,
    per_minute: int,
) -> Iterator[OutputRecord]:
    key = int.from_bytes(
        hashlib.blake2b(f"{deployment}\x1f{version}".encode(), digest_size=16).digest(), "little"
    )
    for minute in range(math.floor(start / _MINUTE_S), math.ceil(end / _MINUTE_S)):
        rng = np.random.default_rng(np.random.SeedSequence((seed, key, minute)))
        for record in _minute(rng, deployment, version, profile, minute, per_minute):
            if start <= record.timestamp < end:
                yield record


def _minute(
    rng: np.random.Generator,
    deployment: str,
    version: str,
    profile: _OutputProfile,
    minute: int,
    count: int,
) -> Iterator[OutputRecord]:
    """One minute of samples, drawn column by column so a minute costs a few numpy calls."""
    offsets = np.sort(rng.uniform(0.0, _MINUTE_S, count))
    refused = rng.random(count) < profile.refusal_rate
    filtered = refused & (rng.random(count) < _FILTERED_SHARE_OF_REFUSALS)
    outcome = rng.random(count)
    errored = ~refused & (outcome < profile.error_rate)
    cut_off = ~refused & ~errored & (outcome < profile.error_rate + profile.length_rate)
    tool_call = (
        ~refused
        & ~errored
        & ~cut_off
        & (outcome < profile.error_rate + profile.length_rate + profile.tool_calls_rate)
    )
    median, sigma = output_length_shape(deployment, version)
    answer_tokens = np.minimum(
        rng.lognormal(math.log(median), sigma, count), profile.max_tokens - 1
    )
    refusal_tokens = rng.lognormal(math.log(_REFUSAL_TOKENS_MEDIAN), _REFUSAL_TOKENS_SIGMA, count)
    tokens = np.select(
        [errored, cut_off, refused], [0.0, float(profile.max_tokens), refusal_tokens], answer_tokens
    ).astype(np.int64)
    wants_json = rng.random(count) < profile.json_share
    json_ok = ~refused & ~cut_off & ~errored & (rng.random(count) >= profile.json_invalid_rate)
    finish = np.select(
        [errored, cut_off, tool_call, filtered],
        ["error", "length", "tool_calls", "content_filter"],
        "stop",
    )
    base = minute * _MINUTE_S
    for i in range(count):
        yield OutputRecord(
            timestamp=base + float(offsets[i]),
            deployment=deployment,
            version=version,
            finish_reason=str(finish[i]),
            refused=bool(refused[i]),
            json_valid=bool(json_ok[i]) if wants_json[i] else None,
            output_tokens=int(tokens[i]),
        )
