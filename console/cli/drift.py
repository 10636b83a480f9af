"""``sre-console drift``: a deployment's distribution drift over time."""

import argparse
import json
import math
from typing import TextIO

from console.backends.errors import BackendError
from console.cli._common import (
    EXIT_FAILED,
    EXIT_OK,
    Commands,
    Context,
    UsageError,
    add_profile_option,
    add_token_stdin_option,
    duration,
    instant,
    print_table,
    select_profile,
    utc,
    with_service,
)
from console.domain.drift import DEFAULT_MIN_COUNT, DEFAULT_THRESHOLDS, DriftMetric
from console.domain.histograms import PRESET_HISTOGRAMS
from console.services.drift import (
    Baseline,
    DriftRequestError,
    DriftSeries,
    DriftService,
    PreviousWindow,
    ReferenceRange,
    VersionBaseline,
)
from console.services.fleet import FleetService

_DRIFT_EPILOG = f"""\
durations: a number with s, m, h, d or w (seconds, minutes, hours, days, weeks): 90s, 24h, 7d.

baselines:
  previous          the window just before each step's window (default)
  range:START/END   one distribution over a fixed range; START and END are Unix seconds
                    (1700000000) or ISO-8601 times (2026-01-05T09:00, UTC unless an offset
                    is given)
  version:V         version V over each window, against the deployment's other serving
                    version (the deployment must serve exactly two versions, V among them)

status: inconclusive when the score is unknown or either window holds fewer than
{DEFAULT_MIN_COUNT:g} samples; otherwise ok, warn or alert against the metric's thresholds
({", ".join(f"{m} warn {t.warn:g} alert {t.alert:g}" for m, t in DEFAULT_THRESHOLDS.items())}).
wasserstein is in the signal's own unit and has no thresholds: its status is ok whenever the
windows hold enough samples (read the value).
"""


def baseline(text: str) -> Baseline:
    """``previous``, ``range:START/END`` (Unix seconds or ISO-8601) or ``version:V``."""
    kind, sep, rest = text.partition(":")
    if text == "previous":
        return PreviousWindow()
    if sep and kind == "version" and rest:
        return VersionBaseline(rest)
    if sep and kind == "range":
        start, slash, end = rest.partition("/")
        if slash:
            first, last = instant(start), instant(end)
            if first is not None and last is not None and first < last:
                return ReferenceRange(first, last)
    raise argparse.ArgumentTypeError(
        f"{text!r} is not previous, range:START/END (START before END, Unix seconds or "
        "ISO-8601) or version:V"
    )


def add_parsers(commands: Commands) -> None:
    """Register ``drift``."""
    drift = commands.add_parser(
        "drift",
        help="print the drift of a deployment's histogram over time",
        description="At each step, compare the distribution over the window ending there "
        "(increase of the histogram's buckets) with a baseline.",
        epilog=_DRIFT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    drift.set_defaults(handler=print_drift)
    add_profile_option(drift)
    drift.add_argument("--deployment", required=True, metavar="D")
    drift.add_argument(
        "--signal",
        required=True,
        metavar="NAME",
        help=f"{', '.join(PRESET_HISTOGRAMS)}, or a histogram metric name (with or without "
        "_bucket)",
    )
    drift.add_argument("--range", dest="range_s", type=duration, required=True, metavar="DURATION")
    drift.add_argument("--step", dest="step_s", type=duration, required=True, metavar="DURATION")
    drift.add_argument(
        "--window",
        dest="window_s",
        type=duration,
        metavar="DURATION",
        help="distribution window (default: the step)",
    )
    drift.add_argument(
        "--baseline",
        type=baseline,
        default=PreviousWindow(),
        metavar="previous|range:START/END|version:V",
        help="what each window is compared with (default: previous)",
    )
    drift.add_argument(
        "--metric",
        type=DriftMetric,
        choices=list(DriftMetric),
        default=DriftMetric.PSI,
        help="drift score (default: psi)",
    )
    drift.add_argument("--json", action="store_true", help="print a JSON array, one per step")
    add_token_stdin_option(drift)


def print_drift(args: argparse.Namespace, ctx: Context) -> int:
    """Print the drift score at each step (or a JSON array)."""
    profile = select_profile(ctx.store.load(), args.profile)
    window_s = args.window_s if args.window_s is not None else args.step_s

    async def work(fleet: FleetService) -> DriftSeries:
        return await DriftService(fleet.backend).series(
            args.deployment,
            args.signal,
            range_s=args.range_s,
            step_s=args.step_s,
            window_s=window_s,
            baseline=args.baseline,
            metric=args.metric,
            thresholds=profile.drift_thresholds(args.signal, args.metric),
            min_count=profile.drift_min_count,
        )

    try:
        series = with_service(args, profile, ctx, work)
    except DriftRequestError as exc:
        raise UsageError(f"profile {profile.name!r}: {exc}") from None
    except BackendError as exc:
        print(f"{profile.name}: {exc}", file=ctx.err)
        return EXIT_FAILED
    if args.json:
        rows = [
            {
                "timestamp": p.timestamp,
                "value": p.value if math.isfinite(p.value) else None,
                "baseline_count": p.baseline_count,
                "current_count": p.current_count,
                "status": p.status.value,
            }
            for p in series.points
        ]
        print(json.dumps(rows, indent=2), file=ctx.out)
    else:
        _print_series(series, ctx.out)
    if not series.bounds.size:
        print(
            f"{profile.name}: no histogram {args.signal!r} for {args.deployment!r} in this range",
            file=ctx.err,
        )
    return EXIT_OK


def _print_series(series: DriftSeries, out: TextIO) -> None:
    match series.baseline:
        case VersionBaseline(version=version):
            against = f"version {version} (current: {series.current_version})"
        case ReferenceRange(start=start, end=end):
            against = f"{utc(start)} to {utc(end)}"
        case _:
            against = "the previous window"
    limits = series.thresholds
    levels = (
        f"warn {limits.warn:g}, alert {limits.alert:g}"
        if math.isfinite(limits.alert)
        else "no thresholds"
    )
    print(
        f"{series.deployment} {series.histogram}: {series.metric} against {against} ({levels})",
        file=out,
    )
    header = ("TIME (UTC)", series.metric.value.upper(), "BASELINE N", "CURRENT N", "STATUS")
    rows = [header] + [
        (
            utc(p.timestamp),
            f"{p.value:.4f}" if math.isfinite(p.value) else "no data",
            f"{p.baseline_count:.0f}",
            f"{p.current_count:.0f}",
            p.status.value,
        )
        for p in series.points
    ]
    print_table(rows, out)
