"""Card text: figures with units, "no data" for unknown values, versions with shares."""

import time

from console.domain.fleet import VersionShare
from console.domain.slo import Status

NO_DATA = "no data"
STATUS_WORDS = {
    Status.OK: "OK",
    Status.WARN: "WARN",
    Status.ALERT: "ALERT",
    Status.NO_DATA: "NO DATA",
}
TIME_RANGES = (
    ("5m", 300.0),
    ("15m", 900.0),
    ("1h", 3600.0),
    ("6h", 21600.0),
    ("24h", 86400.0),
    ("7d", 604800.0),
)
REFRESH_INTERVALS = (("5s", 5.0), ("15s", 15.0), ("30s", 30.0), ("1m", 60.0), ("5m", 300.0))


def request_rate(value: float | None) -> str:
    """Requests per second, e.g. "12.3 req/s"."""
    return NO_DATA if value is None else f"{compact(value)} req/s"


def error_ratio(value: float | None) -> str:
    """A ratio as a percentage, e.g. "4.12 %"."""
    if value is None:
        return NO_DATA
    percent = value * 100
    return f"{percent:.2f} %" if percent < 10 else f"{percent:.1f} %"


def duration(seconds: float | None) -> str:
    """A latency: "850 ms" below a second, "3.20 s" below a minute, else minutes."""
    if seconds is None:
        return NO_DATA
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    return f"{seconds:.2f} s" if seconds < 60 else f"{seconds / 60:.1f} min"


def tokens_rate(value: float | None) -> str:
    """Output tokens per second, e.g. "1.2k tok/s"."""
    return NO_DATA if value is None else f"{compact(value)} tok/s"


def versions(shares: tuple[VersionShare, ...]) -> str:
    """Serving versions with their traffic shares, e.g. "v7 90% · v8 10%"."""
    if not shares:
        return "version unknown"
    return " · ".join(
        s.version if s.traffic_share is None else f"{s.version} {s.traffic_share:.0%}"
        for s in shares
    )


def span(seconds: float) -> str:
    """A duration as the pickers name it ("1h"), or in the largest whole unit."""
    for label, value in (*TIME_RANGES, *REFRESH_INTERVALS):
        if value == seconds:
            return label
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:.0f}{unit}"
    return f"{seconds:g}s"


def clock_time(timestamp: float) -> str:
    """A Unix time as local wall-clock time, e.g. "14:05:09"."""
    return time.strftime("%H:%M:%S", time.localtime(timestamp))


def compact(value: float) -> str:
    """A number in three significant digits with k, M or G: "12.3", "4.5k", "1.2M"."""
    magnitude = abs(value)
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if magnitude >= scale * 0.9995:  # 999.7 becomes "1k", not "1e+03"
            return f"{value / scale:.3g}{suffix}"
    if value == 0 or magnitude >= 0.001:
        return f"{value:.3g}"
    return f"{value:.1e}"
