"""Output drift: features of sampled responses, the DEMO samples, and the drift service."""

import asyncio
import itertools
import math
from collections.abc import Iterable, Iterator

import pytest
from scipy.stats import chi2_contingency

from console.backends.demo import DemoBackend
from console.backends.demo_outputs import demo_outputs
from console.domain.drift import DriftStatus, DriftThresholds
from console.domain.outputs import (
    OutputFeature,
    OutputRecord,
    categorise,
    category_counts,
    output_length_bucket,
)
from console.services.output_drift import CategoricalDrift, by_version, output_drift

START = 1_764_000_000.0
HOUR = 3600.0


def record(
    *,
    version: str = "v1",
    finish_reason: str = "stop",
    refused: bool = False,
    json_valid: bool | None = None,
    output_tokens: int = 100,
) -> OutputRecord:
    return OutputRecord(
        timestamp=START,
        deployment="chat",
        version=version,
        finish_reason=finish_reason,
        refused=refused,
        json_valid=json_valid,
        output_tokens=output_tokens,
    )


class OneShot(Iterable[OutputRecord]):
    """An iterable that fails the test if anything iterates it a second time."""

    def __init__(self, records: Iterable[OutputRecord]) -> None:
        self._records = records
        self.passes = 0

    def __iter__(self) -> Iterator[OutputRecord]:
        self.passes += 1
        if self.passes > 1:
            pytest.fail("the records were iterated more than once")
        return iter(self._records)


def hour_of(deployment: str, version: str, hour: int = 0) -> Iterator[OutputRecord]:
    start = START + hour * HOUR
    return demo_outputs(deployment, version, start, start + HOUR)


def by_feature(results: list[CategoricalDrift]) -> dict[OutputFeature, CategoricalDrift]:
    return {result.feature: result for result in results}


# Features


@pytest.mark.parametrize(
    ("tokens", "bucket"),
    [
        (0, "0-63"),
        (63, "0-63"),
        (64, "64-127"),
        (255, "128-255"),
        (256, "256-511"),
        (1023, "512-1023"),
        (1024, "1024-2047"),
        (2047, "1024-2047"),
        (2048, "2048+"),
        (100_000, "2048+"),
    ],
)
def test_output_length_buckets_have_fixed_edges(tokens: int, bucket: str) -> None:
    assert output_length_bucket(tokens) == bucket
    assert categorise(record(output_tokens=tokens), OutputFeature.OUTPUT_LENGTH) == bucket


def test_categorise_names_each_feature_and_skips_what_does_not_apply() -> None:
    refused = record(finish_reason="content_filter", refused=True, json_valid=False)
    plain = record(finish_reason="length")

    assert categorise(refused, OutputFeature.FINISH_REASON) == "content_filter"
    assert categorise(refused, OutputFeature.REFUSAL) == "refused"
    assert categorise(refused, OutputFeature.JSON_VALIDITY) == "invalid"
    assert categorise(plain, OutputFeature.REFUSAL) == "answered"
    assert categorise(plain, OutputFeature.JSON_VALIDITY) is None
    assert categorise(record(json_valid=True), OutputFeature.JSON_VALIDITY) == "valid"


def test_category_counts_count_only_applicable_records() -> None:
    records = [
        record(json_valid=True, output_tokens=10),
        record(json_valid=False, output_tokens=70),
        record(json_valid=True, output_tokens=3000),
        record(output_tokens=20, finish_reason="length"),
    ]

    assert category_counts(records, OutputFeature.JSON_VALIDITY) == {"valid": 2, "invalid": 1}
    assert category_counts(records, OutputFeature.OUTPUT_LENGTH) == {
        "0-63": 2,
        "64-127": 1,
        "2048+": 1,
    }
    assert category_counts(iter(records), OutputFeature.FINISH_REASON) == {"stop": 3, "length": 1}


def test_a_record_with_negative_output_tokens_is_refused_with_its_name() -> None:
    with pytest.raises(ValueError, match=r"'chat' 'v1'.*-1 is negative"):
        record(output_tokens=-1)


# DEMO samples


def test_demo_outputs_are_deterministic_per_window_and_seed() -> None:
    first = list(demo_outputs("support-chat", "v42", START, START + 600))
    again = list(demo_outputs("support-chat", "v42", START, START + 600))
    overlapping = list(demo_outputs("support-chat", "v42", START + 300, START + 900))
    other_seed = list(demo_outputs("support-chat", "v42", START, START + 600, seed=8))

    assert first == again
    assert len(first) == 600
    assert [r for r in first if r.timestamp >= START + 300] == [
        r for r in overlapping if r.timestamp < START + 600
    ]
    assert first != other_seed


def test_demo_outputs_stay_in_their_window_in_time_order() -> None:
    start, end = START + 30.5, START + 150.25
    records = list(demo_outputs("doc-qa", "v8", start, end, per_minute=20))

    timestamps = [r.timestamp for r in records]
    assert timestamps == sorted(timestamps)
    assert all(start <= t < end for t in timestamps)
    assert 30 <= len(records) <= 50  # 2 minutes of 20 samples, cut at both ends
    assert {(r.deployment, r.version) for r in records} == {("doc-qa", "v8")}


def test_demo_outputs_cover_every_text_version_of_the_demo_fleet() -> None:
    inventory = asyncio.run(DemoBackend(started_at=START, clock=lambda: START).inventory())
    serving = {(d.deployment, v) for d in inventory for v in d.versions}

    for deployment, version in serving | {("support-chat", "v41"), ("doc-qa", "v7")}:
        records = list(demo_outputs(deployment, version, START, START + 60))
        assert len(records) == (0 if deployment == "fraud-scorer" else 60), deployment


def test_demo_outputs_reject_unknown_names_before_iteration() -> None:
    with pytest.raises(ValueError, match=r"'nope'.*support-chat"):
        demo_outputs("nope", "v1", START, START + 60)
    with pytest.raises(ValueError, match=r"'support-chat' has no version 'v9'.*v41, v42"):
        demo_outputs("support-chat", "v9", START, START + 60)
    with pytest.raises(ValueError, match="window"):
        demo_outputs("support-chat", "v41", START + 60, START)


def test_the_bad_demo_version_refuses_and_truncates_more_often() -> None:
    good = list(hour_of("support-chat", "v41"))
    bad = list(hour_of("support-chat", "v42"))

    def refusal_rate(records: list[OutputRecord]) -> float:
        return sum(r.refused for r in records) / len(records)

    assert refusal_rate(good) < 0.03
    assert 0.09 < refusal_rate(bad) < 0.17
    good_finish = category_counts(good, OutputFeature.FINISH_REASON)
    bad_finish = category_counts(bad, OutputFeature.FINISH_REASON)
    assert bad_finish["length"] > 5 * good_finish["length"]
    # Answer lengths spread far wider (short answers and long rambles), as in the DEMO's
    # output-token histograms, which share their shape (demo.output_length_shape).
    good_tokens = sorted(r.output_tokens for r in good if not r.refused)
    bad_tokens = sorted(r.output_tokens for r in bad if not r.refused)

    def decile(tokens: list[int], k: int) -> int:
        return tokens[len(tokens) * k // 10]

    assert decile(bad_tokens, 1) < 0.6 * decile(good_tokens, 1)
    assert decile(bad_tokens, 9) > 1.5 * decile(good_tokens, 9)


# Drift service


def test_bad_support_chat_version_alerts_on_refusal_length_and_finish_reason() -> None:
    results = by_feature(
        output_drift(hour_of("support-chat", "v41"), hour_of("support-chat", "v42"))
    )

    for feature in (
        OutputFeature.REFUSAL,
        OutputFeature.OUTPUT_LENGTH,
        OutputFeature.FINISH_REASON,
        OutputFeature.JSON_VALIDITY,
    ):
        assert results[feature].status is DriftStatus.ALERT, (feature, results[feature].psi)
        assert results[feature].psi >= 0.25
        assert results[feature].p_value < 1e-6


def test_healthy_versions_of_doc_qa_do_not_drift() -> None:
    results = output_drift(hour_of("doc-qa", "v7"), hour_of("doc-qa", "v8"))

    assert [r.feature for r in results] == list(OutputFeature)
    for result in results:
        assert result.status is DriftStatus.OK, (result.feature, result.psi)
        assert result.psi < 0.1


@pytest.mark.parametrize(
    ("deployment", "version"),
    [("support-chat", "v41"), ("code-assist", "v3"), ("search-rerank", "v2")],
)
def test_a_healthy_version_stays_below_warn_from_one_hour_to_the_next(
    deployment: str, version: str
) -> None:
    results = output_drift(hour_of(deployment, version, 0), hour_of(deployment, version, 1))

    assert {r.status for r in results} <= {DriftStatus.OK, DriftStatus.INCONCLUSIVE}
    assert DriftStatus.OK in {r.status for r in results}


def test_few_records_are_inconclusive_whatever_the_drift() -> None:
    baseline = demo_outputs("support-chat", "v41", START, START + HOUR)
    current = demo_outputs("support-chat", "v42", START, START + 180)  # 180 samples, ~55 JSON
    results = by_feature(output_drift(baseline, current))

    json = results[OutputFeature.JSON_VALIDITY]
    assert json.status is DriftStatus.INCONCLUSIVE
    assert 0 < json.current_count < 100
    assert math.isfinite(json.psi)
    assert results[OutputFeature.REFUSAL].current_count == 180
    assert results[OutputFeature.REFUSAL].status is not DriftStatus.INCONCLUSIVE

    lenient = by_feature(
        output_drift(
            demo_outputs("support-chat", "v41", START, START + HOUR),
            demo_outputs("support-chat", "v42", START, START + 180),
            min_count=10,
        )
    )
    assert lenient[OutputFeature.JSON_VALIDITY].status is not DriftStatus.INCONCLUSIVE


def test_an_empty_side_is_inconclusive_with_unknown_figures() -> None:
    results = output_drift(hour_of("support-chat", "v41"), iter(()))

    for result in results:
        assert result.status is DriftStatus.INCONCLUSIVE
        assert result.current_count == 0
        assert math.isnan(result.psi) and math.isnan(result.chi2) and math.isnan(result.p_value)


def test_each_record_stream_is_read_once() -> None:
    expected = output_drift(list(hour_of("doc-qa", "v7")), list(hour_of("doc-qa", "v8")))
    baseline = OneShot(hour_of("doc-qa", "v7"))
    current = OneShot(hour_of("doc-qa", "v8"))

    assert output_drift(baseline, current) == expected
    assert (baseline.passes, current.passes) == (1, 1)


def test_chi_square_matches_scipy_on_the_same_counts() -> None:
    results = output_drift(hour_of("support-chat", "v41"), hour_of("support-chat", "v42", 1))

    for result in results:
        assert list(result.baseline_counts) == list(result.current_counts)
        table = [list(result.baseline_counts.values()), list(result.current_counts.values())]
        reference = chi2_contingency(table, correction=False)
        assert result.chi2 == pytest.approx(reference.statistic, rel=1e-9)
        assert result.p_value == pytest.approx(reference.pvalue, rel=1e-6, abs=1e-300)


def test_counts_cover_both_sides_in_display_order() -> None:
    baseline = [record(output_tokens=3000), record(output_tokens=10)]
    current = [record(output_tokens=100, finish_reason="length")]
    results = by_feature(output_drift(baseline, current, min_count=1))

    length = results[OutputFeature.OUTPUT_LENGTH]
    assert list(length.baseline_counts.items()) == [("0-63", 1), ("64-127", 0), ("2048+", 1)]
    assert list(length.current_counts.items()) == [("0-63", 0), ("64-127", 1), ("2048+", 0)]
    finish = results[OutputFeature.FINISH_REASON]
    assert finish.baseline_counts == {"length": 0, "stop": 2}
    assert finish.current_counts == {"length": 1, "stop": 0}


def test_thresholds_and_features_are_passed_through() -> None:
    results = output_drift(
        hour_of("support-chat", "v41"),
        hour_of("support-chat", "v42"),
        features=(OutputFeature.REFUSAL,),
        thresholds=DriftThresholds(warn=10.0, alert=20.0),
    )

    assert [(r.feature, r.status) for r in results] == [(OutputFeature.REFUSAL, DriftStatus.OK)]


def test_by_version_splits_a_mixed_stream_in_order_of_appearance() -> None:
    mixed = itertools.chain(
        demo_outputs("support-chat", "v42", START, START + 120),
        demo_outputs("support-chat", "v41", START, START + 60),
    )
    split = by_version(mixed)

    assert list(split) == ["v42", "v41"]
    assert [len(records) for records in split.values()] == [120, 60]
    assert all(r.version == version for version, records in split.items() for r in records)
