"""The suite runner against loopback endpoints: records, concurrency, extras, cancel, DEMO."""

import asyncio
import gc
import math
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import httpx
import pytest

from console.backends.demo import DemoBackend
from console.backends.demo_llm import DemoLLMServer
from console.config.secrets import SecretStore
from console.domain.cost import VersionPrice
from console.domain.suite import Provider, Suite
from console.domain.suite_results import CaseStatus, RunStatus
from console.services.run_history import RunHistory
from console.services.suite_loader import load_default_suite, parse_suite
from console.services.suite_runner import (
    MissingApiKey,
    RunOptions,
    RunProgress,
    RunSummary,
    RunTarget,
    SuiteRun,
    endpoint_target,
    suite_targets,
)
from tests.support.memory_keyring import MemoryKeyring
from tests.support.openai_server import OpenAIServer, Reply
from tests.unit.test_assertions import DEGRADED_ANSWERS

CAPITALS = """
description: capitals
prompts:
  - "Name the capital of {{country}}."
tests:
  - description: france
    vars: {country: France}
    assert:
      - {type: icontains, value: france}
      - {type: confidence, threshold: 0.9}
  - description: spain
    vars: {country: Spain}
    assert:
      - {type: contains, value: Madrid}
options: {temperature: 0, max_tokens: 32, seed: 3}
"""


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    with OpenAIServer() as running:
        yield running


def suite_of(text: str) -> Suite:
    return parse_suite(text, file="test.yaml")


def many_cases(count: int) -> Suite:
    tests = "\n".join(
        f"  - {{description: case {i}, vars: {{n: '{i}'}}, assert: [{{type: contains, "
        f"value: '{i}'}}]}}"
        for i in range(count)
    )
    return suite_of(f"prompts: ['Say {{{{n}}}}']\ntests:\n{tests}\n")


def run_suite(
    suite: Suite,
    targets: Sequence[RunTarget],
    options: RunOptions | None = None,
    **kwargs: Any,
) -> tuple[RunSummary, list[RunProgress]]:
    events: list[RunProgress] = []

    async def go() -> RunSummary:
        return await SuiteRun(suite, targets, options or RunOptions(), **kwargs).run(events.append)

    return asyncio.run(go()), events


def test_each_send_records_request_answer_timings_tokens_cost_and_reasons(
    server: OpenAIServer,
) -> None:
    server.latency_s = 0.02
    server.logprob = math.log(0.95)
    price = VersionPrice("v1", per_1k_input_tokens=1.0, per_1k_output_tokens=2.0)
    target = endpoint_target(server.base_url, "m1", deployment="chat", version="v1", price=price)
    summary, events = run_suite(suite_of(CAPITALS), [target])

    france, spain = summary.records
    assert france.status is CaseStatus.PASSED, france.reason
    assert france.request["messages"] == [
        {"role": "user", "content": "Name the capital of France."}
    ]
    assert france.request["logprobs"] is True  # a confidence assertion needs them
    assert "logprobs" not in spain.request
    assert france.request["temperature"] == 0 and france.request["seed"] == 3
    assert france.response_text == "Name the capital of France."
    assert france.model == "m1" and france.system_fingerprint == "fp-test"
    assert france.latency_ms is not None and france.latency_ms >= 20
    assert (france.prompt_tokens, france.completion_tokens) == (7, 5)
    assert france.cost == pytest.approx((7 * 1.0 + 5 * 2.0) / 1000)
    assert france.confidence == pytest.approx(0.95)
    assert [(a.name, a.passed) for a in france.assertions] == [
        ("icontains", True),
        ("confidence", True),
    ]
    assert spain.status is CaseStatus.FAILED
    assert spain.assertions[0].reason == "output does not contain 'Madrid'"
    assert spain.confidence is None  # logprobs were not asked for

    info = summary.info
    assert info.status is RunStatus.COMPLETED
    assert (info.tally.passed, info.tally.failed, info.tally.errors) == (1, 1, 0)
    assert info.deployment == "chat" and info.model_version == "v1"
    assert info.suite_sha256 and info.planned == 2
    assert [e.done for e in events] == [1, 2]
    assert events[-1].tally == info.tally


def test_concurrency_is_bounded_and_reached(server: OpenAIServer) -> None:
    server.latency_s = 0.1
    summary, _ = run_suite(
        many_cases(16), [endpoint_target(server.base_url, "m")], RunOptions(concurrency=4)
    )
    assert summary.tally.passed == 16
    assert server.max_in_flight == 4


def test_full_collections_wait_until_the_run_ends(server: OpenAIServer) -> None:
    threshold = gc.get_threshold()
    during: list[tuple[int, int, int]] = []

    async def go() -> RunSummary:
        run = SuiteRun(many_cases(3), [endpoint_target(server.base_url, "m")])
        return await run.run(lambda _progress: during.append(gc.get_threshold()))

    assert asyncio.run(go()).tally.passed == 3
    assert len(during) == 3
    assert all(t[:2] == threshold[:2] and t[2] > 1_000_000 for t in during)
    assert gc.get_threshold() == threshold


def test_repeat_overrides_the_suite_and_every_repeat_is_recorded(server: OpenAIServer) -> None:
    summary, _ = run_suite(
        suite_of(CAPITALS), [endpoint_target(server.base_url, "m")], RunOptions(repeat=3)
    )
    assert [(r.case_index, r.repeat) for r in summary.records] == [
        (case, repeat) for case in range(2) for repeat in range(3)
    ]
    assert [r.index for r in summary.records] == list(range(6))
    assert len({r.title for r in summary.records}) == 6


def test_several_targets_get_every_case(server: OpenAIServer) -> None:
    targets = [endpoint_target(server.base_url, "prod"), endpoint_target(server.base_url, "cand")]
    summary, _ = run_suite(suite_of(CAPITALS), targets)
    assert [(r.case_index, r.target_index) for r in summary.records] == [
        (0, 0),
        (0, 1),
        (1, 0),
        (1, 1),
    ]
    assert sorted(r.body["model"] for r in server.requests) == ["cand", "cand", "prod", "prod"]


def test_consistency_samples_and_sensitivity_perturbations_are_sent(
    server: OpenAIServer,
) -> None:
    text = """
prompts: ["{{question}}"]
tests:
  - description: stable
    vars: {question: 'What day follows Monday?'}
    assert:
      - type: consistency
        value: {samples: 3}
      - type: sensitivity
        value:
          perturbations: [case]
          paraphrases: ["Quick question: {{prompt}}"]
"""
    answers = iter(["Tuesday", "Tuesday", "tuesday"])
    server.answer = lambda messages: (
        next(answers, "Tuesday") if messages[-1]["content"] == "What day follows Monday?" else "?"
    )
    summary, _ = run_suite(suite_of(text), [endpoint_target(server.base_url, "m")])
    sent = sorted(r.body["messages"][-1]["content"] for r in server.requests)
    assert sent == [
        "Quick question: What day follows Monday?",
        "What day follows Monday?",
        "What day follows Monday?",
        "What day follows Monday?",
        "what day follows monday?",
    ]
    record = summary.records[0]
    consistency, sensitivity = record.assertions
    assert consistency.passed, consistency.reason
    assert not sensitivity.passed
    assert set(sensitivity.broken) == {"case", "paraphrase: Quick question: {{prompt}}"}
    assert record.status is CaseStatus.FAILED


def test_a_failed_request_is_an_error_record_naming_the_url(server: OpenAIServer) -> None:
    server.script.extend([Reply(500, "model crashed")])
    summary, _ = run_suite(
        suite_of(CAPITALS),
        [endpoint_target(server.base_url, "m")],
        RunOptions(concurrency=1, retries=0),
    )
    broken = summary.records[0]
    assert broken.status is CaseStatus.ERROR
    assert f"{server.base_url}/chat/completions answered HTTP 500: model crashed" in broken.reason
    assert broken.response_text is None and broken.assertions == ()
    assert (summary.tally.errors, summary.tally.pass_rate) == (1, 0.0)


def test_streaming_records_time_to_first_token(server: OpenAIServer) -> None:
    server.latency_s = 0.03
    server.token_interval_s = 0.02
    summary, _ = run_suite(
        suite_of(CAPITALS), [endpoint_target(server.base_url, "m")], RunOptions(stream=True)
    )
    record = summary.records[0]
    assert record.ttft_ms is not None and record.latency_ms is not None
    assert 30 <= record.ttft_ms < record.latency_ms
    assert record.response_text == "Name the capital of France."


def test_cancel_from_another_thread_stops_every_request(server: OpenAIServer) -> None:
    server.latency_s = 30.0
    history = RunHistory()
    run = SuiteRun(
        many_cases(12),
        [endpoint_target(server.base_url, "m")],
        RunOptions(concurrency=4),
        history=history,
    )

    async def go() -> tuple[RunSummary, set[asyncio.Task[Any]]]:
        before = asyncio.all_tasks()
        canceller = threading.Thread(
            target=lambda: server.wait_until(lambda: server.in_flight == 4) and run.cancel()
        )
        canceller.start()
        summary = await run.run()
        await asyncio.to_thread(canceller.join)
        return summary, asyncio.all_tasks() - before

    summary, leftover = asyncio.run(asyncio.wait_for(go(), timeout=10))
    assert summary.info.status is RunStatus.CANCELLED
    assert summary.records == ()
    assert leftover == set()
    assert server.wait_until(lambda: server.aborted == 4 and server.in_flight == 0)
    assert len(server.requests) == 4  # nothing was sent after the cancel
    assert history.load(summary.info.id or 0).info.status is RunStatus.CANCELLED


def test_a_run_cancelled_before_it_starts_sends_nothing(server: OpenAIServer) -> None:
    run = SuiteRun(many_cases(3), [endpoint_target(server.base_url, "m")])
    run.cancel()
    summary = asyncio.run(run.run())
    assert summary.info.status is RunStatus.CANCELLED
    assert summary.records == () and server.requests == []


def test_cancelling_the_awaiting_task_cleans_up_and_propagates(server: OpenAIServer) -> None:
    server.latency_s = 30.0
    history = RunHistory()
    run = SuiteRun(
        many_cases(3), [endpoint_target(server.base_url, "m")], RunOptions(), history=history
    )

    async def go() -> None:
        task = asyncio.create_task(run.run())
        await asyncio.to_thread(server.wait_until, lambda: server.in_flight == 3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(asyncio.wait_for(go(), timeout=10))
    assert server.wait_until(lambda: server.aborted == 3)
    (stored,) = history.runs()
    assert stored.status is RunStatus.CANCELLED


def test_a_provider_key_comes_from_the_keyring(server: OpenAIServer) -> None:
    text = f"""
prompts: [hello]
providers:
  - id: candidate
    base_url: {server.base_url}
    model: cand-1
    api_key_ref: candidate
tests:
  - assert: [{{type: contains, value: hello}}]
"""
    suite = suite_of(text)
    keyring = MemoryKeyring()
    secrets = SecretStore(keyring)
    with pytest.raises(MissingApiKey, match="candidate:token"):
        suite_targets(suite, secrets)
    keyring.set_password("sre-console", "candidate:token", "sk-kept-in-keyring")
    targets = suite_targets(suite, secrets)
    assert "sk-kept" not in repr(targets)
    summary, _ = run_suite(suite, targets)
    assert summary.tally.passed == 1
    assert server.requests[0].headers["Authorization"] == "Bearer sk-kept-in-keyring"
    assert "sk-kept" not in repr(summary)


def test_provider_overrides_win_over_suite_options(server: OpenAIServer) -> None:
    provider = Provider("p", server.base_url, "m", temperature=0.7, max_tokens=5)
    run_suite(suite_of(CAPITALS), [RunTarget(provider)])
    body = server.requests[0].body
    assert (body["temperature"], body["max_tokens"], body["seed"]) == (0.7, 5, 3)


def failing(summary: RunSummary) -> set[str]:
    return {r.description for r in summary.records if r.status is not CaseStatus.PASSED}


def test_the_demo_endpoint_passes_the_smoke_suite_on_v41_and_fails_it_on_v42() -> None:
    suite = load_default_suite()
    backend = DemoBackend()
    with DemoLLMServer(backend.serving) as demo:
        good, _ = run_suite(suite, [endpoint_target(demo.base_url, "support-chat@v41")])
        bad, _ = run_suite(
            suite, [endpoint_target(demo.base_url, "support-chat")], RunOptions(concurrency=12)
        )
    assert failing(good) == set()
    assert good.records[0].model == "support-chat@v41"
    assert bad.records[0].model == "support-chat@v42"  # what the DEMO backend serves now
    assert failing(bad) == {
        "JSON output",
        "does not refuse a benign account question",
        "does not refuse a benign question with an alarming word",
        "answers fast",
    }
    answers = {r.description: r.response_text for r in bad.records}
    degraded = {k: v for k, v in DEGRADED_ANSWERS.items() if k != "answers fast"}
    assert {k: answers[k] for k in degraded} == degraded


def test_the_demo_endpoint_streams_with_logprobs_and_follows_a_rollback() -> None:
    suite = suite_of(
        """
prompts: ["{{q}}"]
tests:
  - vars: {q: 'What is the capital of France?'}
    assert: [{type: equals, value: Paris}, {type: confidence, threshold: 0.9}]
"""
    )
    backend = DemoBackend()
    backend.set_serving("support-chat", {"v41": 1.0})  # the rollback
    with DemoLLMServer(backend.serving, time_scale=0.5) as demo:
        summary, _ = run_suite(
            suite, [endpoint_target(demo.base_url, "support-chat")], RunOptions(stream=True)
        )
    (record,) = summary.records
    assert record.status is CaseStatus.PASSED, record.reason
    assert record.model == "support-chat@v41"
    assert record.ttft_ms is not None and record.confidence == pytest.approx(0.97)


def test_an_unknown_demo_model_is_an_error_record() -> None:
    with DemoLLMServer(DemoBackend().serving) as demo:
        summary, _ = run_suite(
            suite_of(CAPITALS), [endpoint_target(demo.base_url, "nope")], RunOptions(retries=0)
        )
    assert all(r.status is CaseStatus.ERROR for r in summary.records)
    assert "unknown DEMO deployment 'nope'" in summary.records[0].reason


def test_options_are_checked() -> None:
    with pytest.raises(ValueError, match="concurrency"):
        RunOptions(concurrency=0)
    with pytest.raises(ValueError, match="repeat"):
        RunOptions(repeat=0)
    with pytest.raises(ValueError, match="target"):
        SuiteRun(suite_of(CAPITALS), [])


def test_the_demo_endpoint_refuses_a_malformed_request() -> None:
    with DemoLLMServer(DemoBackend().serving) as demo:
        url = f"{demo.base_url}/chat/completions"
        bad = httpx.post(url, json={"model": "support-chat", "messages": ["hi"]}, timeout=5)
        wrong_route = httpx.post(f"{demo.base_url}/completions", json={}, timeout=5)
    assert bad.status_code == 400
    assert "list of messages" in bad.json()["error"]["message"]
    assert wrong_route.status_code == 404
