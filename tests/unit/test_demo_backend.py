"""DemoBackend: a deterministic simulated fleet that answers the MetricsBackend protocol."""

import asyncio
import math

import numpy as np
import pytest

from console import __version__
from console.backends.demo import BAD_ROLLOUT_AGO_S, CANARY_AGO_S, DemoBackend
from console.backends.errors import BadQuery
from console.backends.presets import PRESETS
from console.backends.protocol import MetricsBackend
from console.domain.annotations import version_changes
from console.domain.series import SeriesKey
from console.domain.signals import Signal
from console.domain.slo import SloThresholds, Status
from console.domain.timerange import RangePlan, TimeRange, plan_range
from console.services.fleet import FleetService

START = 1_764_000_000.0
WINDOW = 300.0
SWITCH = START - BAD_ROLLOUT_AGO_S
SLO = SloThresholds()


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def demo(now: float = START, seed: int = 7) -> tuple[DemoBackend, Clock]:
    clock = Clock(now)
    return DemoBackend(seed=seed, clock=clock, started_at=START), clock


def instant(
    backend: DemoBackend, signal: Signal, *, by_version: bool = False
) -> dict[SeriesKey, float | None]:
    return asyncio.run(backend.instant(signal, WINDOW, by_version=by_version))


def status_of(backend: DemoBackend, deployment: str) -> Status:
    key = SeriesKey(deployment)
    figures = {s: instant(backend, s).get(key) for s in Signal}
    return SLO.evaluate(
        request_rate=figures[Signal.REQUEST_RATE],
        error_ratio=figures[Signal.ERROR_RATIO],
        p95_latency_s=figures[Signal.P95_LATENCY],
        p95_ttft_s=figures[Signal.P95_TTFT],
    )


def known_figures(backend: DemoBackend, deployment: str) -> dict[Signal, float]:
    figures = {s: instant(backend, s).get(SeriesKey(deployment)) for s in Signal}
    return {s: v for s, v in figures.items() if v is not None}


def test_is_a_metrics_backend_that_names_itself_demo() -> None:
    backend: MetricsBackend = DemoBackend()
    info = asyncio.run(backend.build_info())
    choice = asyncio.run(backend.engines())
    asyncio.run(backend.aclose())

    assert (backend.name, backend.scrape_interval_s) == ("demo", 15.0)
    assert (info.product, info.version) == ("DEMO simulation", __version__)
    assert choice.presets == ("vllm", "tgi", "triton", "otel")
    assert choice.reason == "DEMO: simulated fleet, seed 7 — not real data"


def test_inventory_lists_the_fleet_with_the_versions_serving_now() -> None:
    backend, _ = demo()
    inventory = {d.deployment: (d.engine, d.versions) for d in asyncio.run(backend.inventory())}
    assert inventory == {
        "support-chat": ("vllm", ("v42",)),
        "doc-qa": ("vllm", ("v7", "v8")),
        "code-assist": ("tgi", ("v3",)),
        "fraud-scorer": ("triton", ("2",)),
        "search-rerank": ("otel", ("v2",)),
    }


def test_same_seed_and_clock_give_the_same_figures_and_another_seed_does_not() -> None:
    first, _ = demo()
    second, _ = demo()
    other, _ = demo(seed=8)
    for signal in Signal:
        assert instant(first, signal) == instant(second, signal) == instant(first, signal)
    assert instant(first, Signal.P95_LATENCY) != instant(other, Signal.P95_LATENCY)
    assert asyncio.run(other.engines()).reason.startswith("DEMO: simulated fleet, seed 8")


def test_noise_changes_once_per_15_second_bucket() -> None:
    def error_ratio(at: float) -> float | None:
        backend, _ = demo(now=at)
        by_version = instant(backend, Signal.ERROR_RATIO, by_version=True)
        return by_version[SeriesKey("code-assist", "v3")]

    assert START % 15 == 0
    assert error_ratio(START) == error_ratio(START + 14.9)
    assert error_ratio(START) != error_ratio(START + 15)


def test_figures_are_realistic_over_a_whole_day() -> None:
    backend, _ = demo()
    plan = RangePlan(start=START - 86_400, end=START, step=60)
    rates = asyncio.run(backend.range(Signal.REQUEST_RATE, plan, WINDOW))
    tokens = asyncio.run(backend.range(Signal.OUTPUT_TOKENS_PER_S, plan, WINDOW))
    for series in rates.values():
        assert series.values.min() >= 2 and series.values.max() <= 60
        assert series.values.max() / series.values.min() > 1.3  # it varies over the day
    for series in tokens.values():
        assert series.values.min() >= 100 and series.values.max() <= 10_000


@pytest.mark.parametrize("seed", [7, 1, 12345])
def test_statuses_hold_at_every_moment_of_a_day(seed: int) -> None:
    backend, _ = demo(seed=seed)
    after_switch = RangePlan(start=START - 86_400 / 2, end=START, step=15)
    before_switch = RangePlan(start=SWITCH - 86_400 / 2, end=SWITCH, step=15)

    def worst(plan: RangePlan, deployment: str) -> set[Status]:
        figures = {
            s: asyncio.run(backend.range(s, plan, WINDOW, deployment=deployment)).get(
                SeriesKey(deployment)
            )
            for s in Signal
        }

        def at(signal: Signal, i: int) -> float | None:
            series = figures[signal]
            return None if series is None else float(series.values[i])

        return {
            SLO.evaluate(
                request_rate=at(Signal.REQUEST_RATE, i),
                error_ratio=at(Signal.ERROR_RATIO, i),
                p95_latency_s=at(Signal.P95_LATENCY, i),
                p95_ttft_s=at(Signal.P95_TTFT, i),
            )
            for i in range(plan.points)
        }

    late_start = RangePlan(start=SWITCH + WINDOW, end=START, step=15)
    assert worst(late_start, "support-chat") == {Status.ALERT}
    assert worst(before_switch, "support-chat") == {Status.OK}
    assert worst(after_switch, "search-rerank") == {Status.WARN}
    for healthy in ("doc-qa", "code-assist", "fraud-scorer"):
        assert worst(after_switch, healthy) == {Status.OK}


def test_support_chat_is_alert_now_and_was_ok_fifty_minutes_ago() -> None:
    now, _ = demo()
    earlier, _ = demo(now=START - 50 * 60)

    assert status_of(now, "support-chat") is Status.ALERT
    assert status_of(earlier, "support-chat") is Status.OK
    bad, good = known_figures(now, "support-chat"), known_figures(earlier, "support-chat")
    assert 5.5 <= bad[Signal.P95_LATENCY] <= 8.0
    assert 0.9 <= good[Signal.P95_LATENCY] <= 1.5
    assert 0.06 <= bad[Signal.ERROR_RATIO] <= 0.08
    assert good[Signal.ERROR_RATIO] < 0.005
    assert bad[Signal.P95_TTFT] > 2 * good[Signal.P95_TTFT]


def test_doc_qa_canary_takes_a_tenth_of_the_traffic() -> None:
    backend, _ = demo()
    rates = instant(backend, Signal.REQUEST_RATE, by_version=True)
    v7, v8 = rates[SeriesKey("doc-qa", "v7")], rates[SeriesKey("doc-qa", "v8")]
    assert v7 is not None and v8 is not None
    assert v7 / (v7 + v8) == pytest.approx(0.9, abs=0.02)
    assert status_of(backend, "doc-qa") is Status.OK


def test_aggregates_sum_rates_and_weight_latency_by_traffic() -> None:
    backend, _ = demo(now=SWITCH + WINDOW / 2)  # the rate window straddles the switch
    rates = instant(backend, Signal.REQUEST_RATE, by_version=True)
    latency = instant(backend, Signal.P95_LATENCY, by_version=True)
    tokens = instant(backend, Signal.OUTPUT_TOKENS_PER_S, by_version=True)
    versions = ("v41", "v42")
    r = {v: rates[SeriesKey("support-chat", v)] or 0.0 for v in versions}
    lat = {v: latency[SeriesKey("support-chat", v)] or 0.0 for v in versions}
    tok = {v: tokens[SeriesKey("support-chat", v)] or 0.0 for v in versions}

    assert r["v41"] / (r["v41"] + r["v42"]) == pytest.approx(0.5, abs=0.03)
    assert instant(backend, Signal.REQUEST_RATE)[SeriesKey("support-chat")] == pytest.approx(
        r["v41"] + r["v42"]
    )
    assert instant(backend, Signal.OUTPUT_TOKENS_PER_S)[SeriesKey("support-chat")] == pytest.approx(
        tok["v41"] + tok["v42"]
    )
    weighted = (r["v41"] * lat["v41"] + r["v42"] * lat["v42"]) / (r["v41"] + r["v42"])
    assert instant(backend, Signal.P95_LATENCY)[SeriesKey("support-chat")] == pytest.approx(
        weighted
    )


def test_engines_that_do_not_export_a_signal_give_no_entry() -> None:
    backend, _ = demo()
    plan = RangePlan(start=START - 3600, end=START, step=60)
    ttft = instant(backend, Signal.P95_TTFT)
    tokens = instant(backend, Signal.OUTPUT_TOKENS_PER_S, by_version=True)
    ttft_range = asyncio.run(backend.range(Signal.P95_TTFT, plan, WINDOW))

    assert {k.deployment for k in ttft} == {"support-chat", "doc-qa", "search-rerank"}
    assert {k.deployment for k in ttft_range} == {"support-chat", "doc-qa", "search-rerank"}
    assert "fraud-scorer" not in {k.deployment for k in tokens}
    assert "code-assist" in {k.deployment for k in tokens}
    assert all(v is not None and math.isfinite(v) for v in ttft.values())


def test_instant_equals_the_range_sample_at_the_same_time() -> None:
    backend, clock = demo()
    plan = RangePlan(start=START - 3600, end=START, step=30)
    for signal in Signal:
        for by_version in (False, True):
            series = asyncio.run(backend.range(signal, plan, WINDOW, by_version=by_version))
            now = instant(backend, signal, by_version=by_version)
            assert {k: s.values[-1] for k, s in series.items() if np.isfinite(s.values[-1])} == now
    clock.now = START - 1800
    series = asyncio.run(backend.range(Signal.ERROR_RATIO, plan, WINDOW))
    assert np.isnan(series[SeriesKey("doc-qa")].values[-1])  # after "now": no data yet
    assert (
        series[SeriesKey("doc-qa")].values[60]
        == instant(backend, Signal.ERROR_RATIO)[SeriesKey("doc-qa")]
    )


def test_range_timestamps_follow_the_plan_and_scale_to_11000_points() -> None:
    backend, _ = demo()
    plan = plan_range(TimeRange.last(30 * 86_400, START), 100_000, backend.scrape_interval_s)
    assert plan.points > 10_900

    series = asyncio.run(backend.range(Signal.P95_LATENCY, plan, WINDOW, by_version=True))

    expected = np.arange(plan.start, plan.end + plan.step / 2, plan.step)
    assert len(series) == 7  # support-chat v41 and v42, doc-qa v7 and v8, three others
    for s in series.values():
        np.testing.assert_array_equal(s.timestamps, expected)
        assert s.values.shape == expected.shape


def test_bad_range_requests_are_refused_like_prometheus_does() -> None:
    backend, _ = demo()
    with pytest.raises(BadQuery, match="11000"):
        asyncio.run(backend.range(Signal.REQUEST_RATE, RangePlan(0, 15 * 11_000, 15), WINDOW))
    with pytest.raises(BadQuery, match="step"):
        asyncio.run(backend.range(Signal.REQUEST_RATE, RangePlan(0, 60, 0), WINDOW))
    with pytest.raises(BadQuery, match="window"):
        asyncio.run(backend.instant(Signal.REQUEST_RATE, 0))


def test_the_version_switch_shows_in_the_by_version_range() -> None:
    backend, _ = demo()
    plan = RangePlan(start=START - 7200, end=START + 60, step=60)
    series = asyncio.run(
        backend.range(Signal.P95_LATENCY, plan, WINDOW, by_version=True, deployment="support-chat")
    )
    assert set(series) == {SeriesKey("support-chat", "v41"), SeriesKey("support-chat", "v42")}
    ts = series[SeriesKey("support-chat", "v41")].timestamps
    v41 = series[SeriesKey("support-chat", "v41")].values
    v42 = series[SeriesKey("support-chat", "v42")].values

    assert np.isfinite(v41[ts <= SWITCH]).all()
    assert np.isnan(v41[ts >= SWITCH + WINDOW]).all()
    assert np.isnan(v42[ts <= SWITCH]).all()
    assert np.isfinite(v42[(ts > SWITCH) & (ts <= START)]).all()
    assert np.isnan(v42[ts > START]).all()
    assert np.nanmax(v41) < 2.0 < 5.0 < np.nanmin(v42[ts >= SWITCH + WINDOW])


def test_set_serving_rolls_back_and_the_figures_recover_after_the_rate_window() -> None:
    backend, clock = demo()
    change = backend.set_serving("support-chat", {"v41": 1.0})

    assert change.at == START
    assert [c.at for c in backend.timeline("support-chat")] == [SWITCH, START]
    assert backend.serving("support-chat") == {"v41": 1.0}
    assert backend.serving("support-chat", at=START - 1) == {"v42": 1.0}
    inventory = {d.deployment: d.versions for d in asyncio.run(backend.inventory())}
    assert inventory["support-chat"] == ("v41",)
    assert status_of(backend, "support-chat") is Status.ALERT  # the window still holds v42

    clock.now = START + WINDOW / 2
    assert set(instant(backend, Signal.REQUEST_RATE, by_version=True)) >= {
        SeriesKey("support-chat", "v41"),
        SeriesKey("support-chat", "v42"),
    }
    clock.now = START + WINDOW + 1
    assert status_of(backend, "support-chat") is Status.OK
    keys = set(instant(backend, Signal.REQUEST_RATE, by_version=True))
    assert SeriesKey("support-chat", "v42") not in keys


def test_set_serving_records_changes_at_given_times_in_order() -> None:
    backend, _ = demo()
    backend.set_serving("code-assist", {"v3": 1.0}, at=START - 10)
    backend.set_serving("support-chat", {"v41": 0.5, "v42": 0.5}, at=SWITCH - 600)

    assert [c.at for c in backend.timeline("support-chat")] == [SWITCH - 600, SWITCH]
    assert backend.serving("support-chat", at=SWITCH - 1) == {"v41": 0.5, "v42": 0.5}
    assert backend.serving("support-chat", at=SWITCH) == {"v42": 1.0}
    assert [c.at for c in backend.timeline("code-assist")] == [START - 10]


@pytest.mark.parametrize(
    ("deployment", "shares", "message"),
    [
        ("nope", {"v1": 1.0}, "unknown DEMO deployment 'nope'"),
        ("support-chat", {"v99": 1.0}, "no version 'v99' \\(known: v41, v42\\)"),
        ("support-chat", {"v41": 0.5}, "do not add up to 1"),
        ("support-chat", {"v41": 1.5, "v42": -0.5}, "must be >= 0"),
    ],
)
def test_set_serving_rejects_bad_changes(
    deployment: str, shares: dict[str, float], message: str
) -> None:
    backend, _ = demo()
    with pytest.raises(ValueError, match=message):
        backend.set_serving(deployment, shares)
    assert [c.at for c in backend.timeline("support-chat")] == [SWITCH]


def test_fleet_snapshot_over_the_demo_gives_the_expected_statuses() -> None:
    backend, clock = demo()
    service = FleetService("demo", backend, slo=SLO, rate_window_s=WINDOW, clock=clock)

    snapshot = asyncio.run(service.snapshot())

    assert snapshot.error is None
    assert snapshot.notes == ("DEMO: simulated fleet, seed 7 — not real data",)
    readings = {r.deployment: r for r in snapshot.deployments}
    assert {d: r.status for d, r in readings.items()} == {
        "support-chat": Status.ALERT,
        "search-rerank": Status.WARN,
        "doc-qa": Status.OK,
        "code-assist": Status.OK,
        "fraud-scorer": Status.OK,
    }
    assert [r.deployment for r in snapshot.deployments][:2] == ["support-chat", "search-rerank"]
    assert [(v.version, v.traffic_share) for v in readings["support-chat"].versions] == [
        ("v42", 1.0)
    ]
    doc_qa = readings["doc-qa"].versions
    assert [v.version for v in doc_qa] == ["v7", "v8"]
    assert doc_qa[0].traffic_share == pytest.approx(0.9, abs=0.02)
    assert readings["code-assist"].p95_ttft_s is None
    assert readings["fraud-scorer"].output_tokens_per_s is None
    assert readings["fraud-scorer"].p95_ttft_s is None
    for reading in readings.values():
        assert reading.error is None
        assert reading.sparkline is not None
        assert reading.sparkline.last_value() == pytest.approx(reading.p95_latency_s, rel=0.2)


# ---- the detail signals ---------------------------------------------------------

SPREAD = 0.5  # the demo's log-normal sigma of latency
NEW_SIGNALS = (
    Signal.P50_LATENCY,
    Signal.P99_LATENCY,
    Signal.P95_ITL,
    Signal.RUNNING_REQUESTS,
    Signal.WAITING_REQUESTS,
    Signal.KV_CACHE_USAGE,
    Signal.INPUT_TOKENS_PER_S,
)


def day_range(backend: DemoBackend, signal: Signal, deployment: str) -> np.ndarray:
    plan = RangePlan(start=START - 86_400, end=START, step=300)
    series = asyncio.run(backend.range(signal, plan, WINDOW, deployment=deployment))
    return series[SeriesKey(deployment)].values


def test_a_deployment_answers_exactly_the_signals_its_engine_preset_exports() -> None:
    backend, _ = demo()
    engines = {d.deployment: d.engine for d in asyncio.run(backend.inventory())}
    for signal in Signal:
        answered = {key.deployment for key in instant(backend, signal)}
        expected = {d for d, engine in engines.items() if signal in PRESETS[engine].templates}
        if signal is Signal.P95_TTFT:
            expected.discard("fraud-scorer")  # a non-streaming Triton model has no TTFT
        assert answered == expected, signal
    assert {k.deployment for k in instant(backend, Signal.KV_CACHE_USAGE)} == {
        "support-chat",
        "doc-qa",
    }


def test_latency_quantiles_follow_one_log_normal_spread() -> None:
    backend, _ = demo()
    p50, p95, p99 = (
        instant(backend, s, by_version=True)
        for s in (Signal.P50_LATENCY, Signal.P95_LATENCY, Signal.P99_LATENCY)
    )
    assert set(p50) == set(p95) == set(p99)
    for key in p95:
        low, mid, high = p50[key], p95[key], p99[key]
        assert low is not None and mid is not None and high is not None
        assert low < mid < high
        assert mid / low == pytest.approx(math.exp(1.6449 * SPREAD), rel=1e-3)
        assert high / low == pytest.approx(math.exp(2.3263 * SPREAD), rel=1e-3)


def test_running_requests_follow_littles_law() -> None:
    backend, _ = demo()
    rates = instant(backend, Signal.REQUEST_RATE, by_version=True)
    medians = instant(backend, Signal.P50_LATENCY, by_version=True)
    running = instant(backend, Signal.RUNNING_REQUESTS, by_version=True)
    assert set(running) == {
        SeriesKey("support-chat", "v42"),
        SeriesKey("doc-qa", "v7"),
        SeriesKey("doc-qa", "v8"),
        SeriesKey("code-assist", "v3"),
    }
    for key, value in running.items():
        rate, median = rates[key], medians[key]
        assert value is not None and rate is not None and median is not None
        mean_latency = median * math.exp(SPREAD**2 / 2)
        assert value == pytest.approx(rate * mean_latency, rel=0.12), key


def test_the_bad_version_has_a_long_queue_and_a_full_kv_cache() -> None:
    bad, _ = demo()
    good, _ = demo(now=START - 50 * 60)
    queue_bad = instant(bad, Signal.WAITING_REQUESTS)[SeriesKey("support-chat")]
    queue_good = instant(good, Signal.WAITING_REQUESTS)[SeriesKey("support-chat")]
    kv_bad = instant(bad, Signal.KV_CACHE_USAGE)[SeriesKey("support-chat")]
    kv_good = instant(good, Signal.KV_CACHE_USAGE)[SeriesKey("support-chat")]
    itl_bad = instant(bad, Signal.P95_ITL)[SeriesKey("support-chat")]
    itl_good = instant(good, Signal.P95_ITL)[SeriesKey("support-chat")]
    assert queue_bad is not None and queue_good is not None
    assert kv_bad is not None and kv_good is not None
    assert itl_bad is not None and itl_good is not None
    assert queue_bad > 10 * queue_good
    assert 0.2 < kv_good < 0.7 < kv_bad <= 1.0
    assert itl_bad > 2 * itl_good
    assert 0.01 < itl_good < 0.1


def test_waiting_requests_rise_with_load_and_kv_cache_stays_a_ratio() -> None:
    backend, _ = demo()
    rate = day_range(backend, Signal.REQUEST_RATE, "code-assist")
    waiting = day_range(backend, Signal.WAITING_REQUESTS, "code-assist")
    busiest, quietest = int(np.argmax(rate)), int(np.argmin(rate))
    assert waiting[busiest] > 2 * waiting[quietest] > 0
    assert np.corrcoef(rate, waiting)[0, 1] > 0.8
    for deployment in ("support-chat", "doc-qa"):
        kv = day_range(backend, Signal.KV_CACHE_USAGE, deployment)
        assert np.all((kv > 0) & (kv <= 1))


def test_input_tokens_are_the_request_rate_times_the_mean_prompt() -> None:
    backend, _ = demo()
    rates = instant(backend, Signal.REQUEST_RATE, by_version=True)
    tokens = instant(backend, Signal.INPUT_TOKENS_PER_S, by_version=True)
    mean_prompt = 600.0 * math.exp(0.7**2 / 2)
    assert "fraud-scorer" not in {k.deployment for k in tokens}
    for key, value in tokens.items():
        rate = rates[key]
        assert value is not None and rate is not None
        assert value == pytest.approx(rate * mean_prompt, rel=0.05), key


def test_aggregates_sum_queues_and_take_the_fullest_kv_cache() -> None:
    backend, _ = demo()
    for signal in (Signal.RUNNING_REQUESTS, Signal.WAITING_REQUESTS, Signal.INPUT_TOKENS_PER_S):
        per_version = instant(backend, signal, by_version=True)
        total = instant(backend, signal)[SeriesKey("doc-qa")]
        assert total == pytest.approx(
            sum(v or 0.0 for k, v in per_version.items() if k.deployment == "doc-qa")
        )
    kv = instant(backend, Signal.KV_CACHE_USAGE, by_version=True)
    assert instant(backend, Signal.KV_CACHE_USAGE)[SeriesKey("doc-qa")] == max(
        kv[SeriesKey("doc-qa", "v7")] or 0.0, kv[SeriesKey("doc-qa", "v8")] or 0.0
    )


@pytest.mark.parametrize("signal", NEW_SIGNALS)
def test_new_signals_are_deterministic(signal: Signal) -> None:
    first, _ = demo()
    second, _ = demo()
    plan = RangePlan(start=START - 3600, end=START, step=60)
    a = asyncio.run(first.range(signal, plan, WINDOW, by_version=True))
    b = asyncio.run(second.range(signal, plan, WINDOW, by_version=True))
    assert set(a) == set(b) and a
    for key in a:
        np.testing.assert_array_equal(a[key].values, b[key].values)


# ---- version history ------------------------------------------------------------


def history(backend: DemoBackend, deployment: str, plan: RangePlan) -> dict[str, np.ndarray]:
    answer = asyncio.run(backend.version_history(plan, deployment=deployment))
    for version, series in answer.items():
        assert series.key == SeriesKey(deployment, version)
        np.testing.assert_array_equal(series.timestamps, plan.timestamps())
    return {version: series.values for version, series in answer.items()}


def test_version_history_shows_the_support_chat_change() -> None:
    backend, _ = demo()
    plan = RangePlan(start=START - 7200, end=START + 600, step=60)
    ts = plan.timestamps()
    flags = history(backend, "support-chat", plan)

    assert set(flags) == {"v41", "v42"}
    assert np.all(flags["v41"][ts < SWITCH] == 1) and np.isnan(flags["v41"][ts >= SWITCH]).all()
    assert np.isnan(flags["v42"][ts < SWITCH]).all()
    assert np.all(flags["v42"][(ts >= SWITCH) & (ts <= START)] == 1)
    assert np.isnan(flags["v42"][ts > START]).all()  # nothing is known after now

    marks = version_changes(
        "support-chat", asyncio.run(backend.version_history(plan, deployment="support-chat"))
    )
    assert [(m.at, m.text, m.version) for m in marks] == [(SWITCH, "v41 → v42", "v42")]


def test_version_history_shows_the_doc_qa_canary_starting() -> None:
    backend, _ = demo()
    plan = RangePlan(start=START - 3 * 3600, end=START, step=60)
    canary_at = START - CANARY_AGO_S
    ts = plan.timestamps()
    flags = history(backend, "doc-qa", plan)

    assert np.all(flags["v7"] == 1)
    assert np.isnan(flags["v8"][ts < canary_at]).all() and np.all(flags["v8"][ts >= canary_at] == 1)
    marks = version_changes(
        "doc-qa", asyncio.run(backend.version_history(plan, deployment="doc-qa"))
    )
    assert [(m.at, m.text) for m in marks] == [(canary_at, "v8 started (with v7)")]


def test_version_history_follows_a_rollback_and_leaves_out_versions_that_did_not_serve() -> None:
    backend, clock = demo()
    backend.set_serving("support-chat", {"v41": 1.0}, at=START + 120)
    clock.now = START + 600
    recent = RangePlan(start=START - 600, end=START + 600, step=60)
    flags = history(backend, "support-chat", recent)
    ts = recent.timestamps()
    assert np.all(flags["v42"][ts < START + 120] == 1)
    assert np.all(flags["v41"][ts >= START + 120] == 1)

    before_switch = RangePlan(start=SWITCH - 3600, end=SWITCH - 60, step=60)
    assert set(history(backend, "support-chat", before_switch)) == {"v41"}
    assert history(backend, "code-assist", before_switch).keys() == {"v3"}
    assert asyncio.run(backend.version_history(before_switch, deployment="nope")) == {}


def test_version_history_refuses_plans_prometheus_would_refuse() -> None:
    backend, _ = demo()
    with pytest.raises(BadQuery, match="11000"):
        asyncio.run(backend.version_history(RangePlan(0, 15 * 11_000, 15), deployment="doc-qa"))
