"""Running a suite against OpenAI-compatible targets: async, bounded, cancellable. No Qt.

A :class:`SuiteRun` sends every case of a suite, per prompt, target and repeat (a "send"),
with at most ``concurrency`` requests in flight, and records one
:class:`~console.domain.suite_results.CaseRecord` per send. A send asks for the extra
answers its assertions need (``consistency`` samples, ``sensitivity`` perturbations) and
for logprobs when ``confidence`` or ``perplexity`` is checked.

Targets: :func:`endpoint_target` (a URL and a model), :func:`deployment_target` (a
deployment, e.g. the DEMO's loopback server with ``DemoBackend.serving(deployment)`` as its
shares), :func:`suite_targets` (the suite's providers, keys from the keyring).

Driving it (from the CLI, or a viewmodel on the AsyncRunner's loop)::

    run = SuiteRun(suite, [target], RunOptions(concurrency=8), history=RunHistory())
    future = runner.submit(run.run(on_progress=callback))   # callback runs on the I/O loop
    run.cancel()   # from any thread, at any time; run() then returns, status cancelled

``on_progress`` gets a :class:`RunProgress` after every finished send (counts so far and
the new record): a viewmodel emits a queued Qt signal from it. ``planned`` says how many
sends to expect. Each record is committed to the history before its worker sends again
(group commit in a worker thread, so the loop never waits on the disk). ``cancel()``
cancels every worker and waits for them, so no request outlives the run; ``run()`` then
returns the partial summary with status ``cancelled``. Cancelling the task that awaits
``run()`` does the same and re-raises.
"""

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from console.backends.errors import BackendError
from console.backends.openai_compat import (
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT_S,
    ChatRequest,
    ChatResponse,
    Endpoint,
    OpenAICompatClient,
    tls_context,
)
from console.config.secrets import SecretStore
from console.domain.cost import VersionPrice, price_for
from console.domain.suite import (
    AssertionType,
    PromptTemplate,
    Provider,
    Suite,
    TemplateError,
    TestCase,
)
from console.domain.suite_results import (
    AssertionOutcome,
    CaseRecord,
    CaseStatus,
    RunInfo,
    RunStatus,
    Tally,
)
from console.services.assertions import (
    CaseVerdict,
    ModelOutput,
    ToolCall,
    answer_text,
    evaluate_case,
    extra_requests,
)
from console.services.gc_policy import no_full_collection

DEFAULT_CONCURRENCY = 8
API_KEY_FIELD = "token"
"""A suite provider's ``api_key_ref`` names the keyring entry ``{ref}:token``."""
_LOGPROB_TYPES = frozenset({AssertionType.CONFIDENCE, AssertionType.PERPLEXITY})


class MissingApiKey(ValueError):
    """A provider names a keyring entry that holds no key."""


@dataclass(frozen=True)
class RunTarget:
    """Where sends go: an OpenAI-compatible provider, and what it stands for.

    ``api_key`` is the bearer key the caller read from the keyring. ``deployment`` and
    ``version`` say which deployment and serving version answer (None: not known);
    ``price`` gives each send's cost from its token counts.
    """

    provider: Provider
    api_key: str | None = field(default=None, repr=False)
    profile: str | None = None
    deployment: str | None = None
    version: str | None = None
    price: VersionPrice | None = None

    @property
    def name(self) -> str:
        """What the target is called in views and reports."""
        return self.deployment or self.provider.display_name


def endpoint_target(
    base_url: str,
    model: str,
    *,
    api_key: str | None = None,
    profile: str | None = None,
    deployment: str | None = None,
    version: str | None = None,
    price: VersionPrice | None = None,
) -> RunTarget:
    """A target for a bare endpoint URL and model name (``--target URL --model M``)."""
    provider = Provider(id=f"{model} at {base_url}", base_url=base_url, model=model, label=model)
    return RunTarget(provider, api_key, profile, deployment, version, price)


def deployment_target(
    base_url: str,
    deployment: str,
    shares: Mapping[str, float],
    *,
    profile: str,
    prices: Sequence[VersionPrice] = (),
) -> RunTarget:
    """A deployment answering as model ``deployment`` at ``base_url`` (e.g. the DEMO's).

    ``shares`` is its traffic per version now: with one version, the run records that
    version and prices its sends; with several, the answers' ``model`` tells them apart.
    """
    version = next(iter(shares)) if len(shares) == 1 else None
    return endpoint_target(
        base_url,
        deployment,
        profile=profile,
        deployment=deployment,
        version=version,
        price=price_for(prices, deployment, version) if version is not None else None,
    )


def suite_targets(suite: Suite, secrets: SecretStore) -> list[RunTarget]:
    """The suite's own providers as targets, their keys read from the keyring."""
    targets = []
    for provider in suite.providers:
        key = None
        if provider.api_key_ref is not None:
            key = secrets.get(provider.api_key_ref, API_KEY_FIELD)
            if key is None:
                raise MissingApiKey(
                    f"provider {provider.display_name!r}: no key in the keyring entry "
                    f"{provider.api_key_ref}:{API_KEY_FIELD} (service sre-console)"
                )
        targets.append(RunTarget(provider, api_key=key))
    return targets


@dataclass(frozen=True)
class RunOptions:
    """How to run: requests in flight, repeats (None: the suite's), timeout, retries, streaming."""

    concurrency: int = DEFAULT_CONCURRENCY
    repeat: int | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S
    retries: int = DEFAULT_RETRIES
    stream: bool = False

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, not {self.concurrency}")
        if self.repeat is not None and self.repeat < 1:
            raise ValueError(f"repeat must be at least 1, not {self.repeat}")
        if not self.timeout_s > 0:
            raise ValueError(f"timeout must be positive, not {self.timeout_s}")


@dataclass(frozen=True)
class RunProgress:
    """The run so far, after ``record`` finished."""

    done: int
    planned: int
    tally: Tally
    record: CaseRecord


@dataclass(frozen=True)
class RunSummary:
    """A finished (or cancelled) run: its info and every record, in plan order."""

    info: RunInfo
    records: tuple[CaseRecord, ...]

    @property
    def tally(self) -> Tally:
        """Passed, failed and errored sends."""
        return self.info.tally


class RunRecorder(Protocol):
    """Where a run keeps its records as they finish (the run history)."""

    def start_run(self, info: RunInfo) -> int:
        """Store a new run; its id."""
        ...

    def record(self, run_id: int, records: Sequence[CaseRecord]) -> None:
        """Store finished sends durably, in one transaction (called from a worker thread)."""
        ...

    def finish_run(
        self, run_id: int, status: RunStatus, finished_at: float, model_version: str | None
    ) -> None:
        """Mark the run finished."""
        ...


@dataclass(frozen=True)
class _Send:
    index: int
    case_index: int
    case: TestCase
    prompt_index: int
    prompt: PromptTemplate
    target_index: int
    target: RunTarget
    repeat: int


ProgressCallback = Callable[[RunProgress], None]


class SuiteRun:
    """One run of a suite; call :meth:`run` once."""

    def __init__(
        self,
        suite: Suite,
        targets: Sequence[RunTarget],
        options: RunOptions = RunOptions(),
        *,
        history: RunRecorder | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not targets:
            raise ValueError("a run needs at least one target")
        self._suite = suite
        self._targets = tuple(targets)
        self._options = options
        self._history = history
        self._clock = clock
        self._sends = _plan(suite, self._targets, options.repeat or suite.options.repeat)
        self._records: list[CaseRecord] = []
        self._tally = Tally()
        self._cancelled = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._workers: list[asyncio.Task[None]] = []

    @property
    def planned(self) -> int:
        """How many sends the run makes."""
        return len(self._sends)

    @property
    def records(self) -> tuple[CaseRecord, ...]:
        """The records finished so far, in the order they finished."""
        return tuple(self._records)

    def cancel(self) -> None:
        """Stop the run: in-flight requests are cancelled and awaited. Any thread."""
        loop = self._loop
        if loop is None or loop.is_closed():
            self._cancelled = True
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._cancel_workers()
        else:
            loop.call_soon_threadsafe(self._cancel_workers)

    async def run(self, on_progress: ProgressCallback | None = None) -> RunSummary:
        """Send everything (or until cancelled); the summary of what finished."""
        if self._loop is not None:
            raise RuntimeError("a SuiteRun runs once")
        self._loop = asyncio.get_running_loop()
        with no_full_collection():  # the records live on: no walk of the heap per thousand
            return await self._run(on_progress)

    async def _run(self, on_progress: ProgressCallback | None) -> RunSummary:
        info = self._info()
        run_id = self._history.start_run(info) if self._history is not None else None
        # Each worker has its own connection pool per target: httpcore's pool bookkeeping
        # grows with its connections, and one pool of 32 costs more CPU than the requests.
        endpoints = [_endpoint(target, self._options) for target in self._targets]
        tls = [tls_context(endpoint) for endpoint in endpoints]
        workers = min(self._options.concurrency, len(self._sends))
        pools = [
            [
                OpenAICompatClient(e, max_connections=self._options.concurrency, tls=t)
                for e, t in zip(endpoints, tls, strict=True)
            ]
            for _ in range(workers)
        ]
        gate = asyncio.Semaphore(self._options.concurrency)
        queue = iter(self._sends)
        status = RunStatus.COMPLETED

        committer = (
            _Committer(self._history, run_id)
            if self._history is not None and run_id is not None
            else None
        )

        async def worker(clients: list[OpenAICompatClient]) -> None:
            for send in queue:
                record = await self._perform(send, clients[send.target_index], gate)
                self._finished(record, on_progress)
                if committer is not None:
                    await committer.commit(record)  # durable before the next send

        self._workers = [
            asyncio.create_task(worker(clients), name=f"suite-worker-{i}")
            for i, clients in enumerate(pools)
        ]
        if self._cancelled:
            self._stop_workers()
        try:
            await asyncio.gather(*self._workers)
        except asyncio.CancelledError:
            status = RunStatus.CANCELLED
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # cancelled from outside: clean up, then let it propagate
        except Exception:
            status = RunStatus.INTERRUPTED
            raise
        finally:
            self._stop_workers()
            pending = [task for task in self._workers if not task.done()]
            if pending:
                await asyncio.wait(pending)
            if committer is not None:
                await committer.flush()
            for clients in pools:
                for client in clients:
                    await client.aclose()
            info = self._closing_info(info, run_id, status)
        return RunSummary(info, tuple(sorted(self._records, key=lambda r: r.index)))

    def _cancel_workers(self) -> None:
        self._cancelled = True
        self._stop_workers()

    def _stop_workers(self) -> None:
        for task in self._workers:
            task.cancel()

    def _finished(self, record: CaseRecord, on_progress: ProgressCallback | None) -> None:
        self._records.append(record)
        self._tally = self._tally.add(record.status)
        if on_progress is not None:
            on_progress(RunProgress(len(self._records), len(self._sends), self._tally, record))

    def _info(self) -> RunInfo:
        targets = self._targets
        versions = {t.version for t in targets}
        return RunInfo(
            id=None,
            suite=self._suite.description,
            suite_sha256=self._suite.sha256,
            suite_path=self._suite.source,
            target=", ".join(dict.fromkeys(t.name for t in targets)),
            base_url=", ".join(dict.fromkeys(t.provider.base_url for t in targets)),
            model=", ".join(dict.fromkeys(t.provider.model for t in targets)),
            profile=_only({t.profile for t in targets}),
            deployment=_only({t.deployment for t in targets}),
            model_version=_only(versions),
            status=RunStatus.RUNNING,
            started_at=self._clock(),
            planned=len(self._sends),
        )

    def _closing_info(self, info: RunInfo, run_id: int | None, status: RunStatus) -> RunInfo:
        finished_at = self._clock()
        version = info.model_version or _most_common(r.model for r in self._records)
        if self._history is not None and run_id is not None:
            self._history.finish_run(run_id, status, finished_at, version)
        return replace(
            info,
            id=run_id,
            status=status,
            finished_at=finished_at,
            model_version=version,
            tally=self._tally,
        )

    async def _perform(
        self, send: _Send, client: OpenAICompatClient, gate: asyncio.Semaphore
    ) -> CaseRecord:
        options = self._suite.options_for(send.target.provider)
        try:
            messages = send.prompt.render(send.case.vars)
        except TemplateError as exc:
            return self._error_record(send, {}, str(exc))
        request = ChatRequest(
            model=send.target.provider.model,
            messages=messages,
            temperature=options.temperature,
            max_tokens=options.max_tokens,
            seed=options.seed,
            logprobs=any(spec.type in _LOGPROB_TYPES for spec in send.case.asserts),
            stream=self._options.stream,
        )
        body = request.body()
        try:
            extra = extra_requests(send.case, messages, seed=options.seed)
        except (TemplateError, ValueError) as exc:
            return self._error_record(send, body, str(exc))
        perturbed = list(extra.perturbed.items())
        requests = [request] * (1 + extra.samples) + [
            replace(request, messages=changed) for _, changed in perturbed
        ]
        answers = await asyncio.gather(
            *(_send(client, r, gate) for r in requests), return_exceptions=True
        )
        main = answers[0]
        if not _ok(main):
            return self._error_record(send, body, str(main))
        assert isinstance(main, ChatResponse)
        samples = tuple(_answer(a) for a in answers[1 : 1 + extra.samples] if _ok(a))
        perturbed_answers = {
            name: _answer(answer)
            for (name, _), answer in zip(perturbed, answers[1 + extra.samples :], strict=True)
            if _ok(answer)
        }
        output = ModelOutput(
            text=main.text,
            tool_calls=tuple(ToolCall(name, arguments) for name, arguments in main.tool_calls),
            model=main.model,
            system_fingerprint=main.system_fingerprint,
            finish_reason=main.finish_reason,
            latency_ms=main.latency_ms,
            ttft_ms=main.ttft_ms,
            prompt_tokens=main.prompt_tokens,
            completion_tokens=main.completion_tokens,
            cost=_cost(send.target.price, main),
            logprobs=main.logprobs,
            samples=samples,
            perturbed=perturbed_answers,
        )
        return self._record(send, body, output, evaluate_case(send.case, output), main.attempts)

    def _record(
        self,
        send: _Send,
        body: dict[str, object],
        output: ModelOutput,
        verdict: CaseVerdict,
        attempts: int,
    ) -> CaseRecord:
        status = (
            CaseStatus.ERROR
            if verdict.errored
            else CaseStatus.PASSED
            if verdict.passed
            else CaseStatus.FAILED
        )
        return replace(
            _bare_record(send, status, verdict.score, verdict.reason, body, self._clock()),
            response_text=output.answer,
            model=output.model,
            system_fingerprint=output.system_fingerprint,
            finish_reason=output.finish_reason,
            latency_ms=output.latency_ms,
            ttft_ms=output.ttft_ms,
            prompt_tokens=output.prompt_tokens,
            completion_tokens=output.completion_tokens,
            cost=output.cost,
            confidence=output.confidence,
            attempts=attempts,
            assertions=tuple(
                AssertionOutcome(
                    name=r.spec.name,
                    passed=r.passed,
                    score=r.score,
                    reason=r.reason,
                    error=r.error,
                    broken=r.broken,
                    weight=r.spec.weight,
                    metric=r.spec.metric,
                )
                for r in verdict.results
            ),
        )

    def _error_record(self, send: _Send, body: dict[str, object], reason: str) -> CaseRecord:
        return _bare_record(send, CaseStatus.ERROR, 0.0, reason, body, self._clock())


class _Committer:
    """Commits finished records in a worker thread, so the loop never waits on the disk.

    Records that finish while a transaction is being written share the next one (group
    commit): a thousand fast sends cost a few dozen commits, not a thousand.
    """

    def __init__(self, history: RunRecorder, run_id: int) -> None:
        self._history = history
        self._run_id = run_id
        self._queue: list[tuple[CaseRecord, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def commit(self, record: CaseRecord) -> None:
        """Return once ``record`` is committed."""
        committed = asyncio.get_running_loop().create_future()
        self._queue.append((record, committed))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write(), name="suite-history-writer")
        await committed

    async def flush(self) -> None:
        """Wait until every queued record is committed."""
        if self._writer is not None and not self._writer.done():
            await asyncio.wait([self._writer])

    async def _write(self) -> None:
        while self._queue:
            batch, self._queue = self._queue, []
            try:
                await asyncio.to_thread(self._history.record, self._run_id, [r for r, _ in batch])
            except Exception as exc:
                for _, committed in batch:
                    if not committed.done():
                        committed.set_exception(exc)
            else:
                for _, committed in batch:
                    if not committed.done():
                        committed.set_result(None)


def _bare_record(
    send: _Send,
    status: CaseStatus,
    score: float,
    reason: str,
    body: dict[str, object],
    finished_at: float,
) -> CaseRecord:
    return CaseRecord(
        index=send.index,
        case_index=send.case_index,
        description=send.case.description,
        prompt_index=send.prompt_index,
        prompt_label=send.prompt.label,
        target_index=send.target_index,
        target=send.target.name,
        repeat=send.repeat,
        status=status,
        score=score,
        reason=reason,
        request=body,
        finished_at=finished_at,
    )


def _plan(suite: Suite, targets: Sequence[RunTarget], repeat: int) -> tuple[_Send, ...]:
    sends: list[_Send] = []
    for case_index, case in enumerate(suite.cases):
        for prompt_index, prompt in enumerate(suite.prompts):
            for target_index, target in enumerate(targets):
                for repeat_index in range(repeat):
                    sends.append(
                        _Send(
                            len(sends),
                            case_index,
                            case,
                            prompt_index,
                            prompt,
                            target_index,
                            target,
                            repeat_index,
                        )
                    )
    return tuple(sends)


def _endpoint(target: RunTarget, options: RunOptions) -> Endpoint:
    return Endpoint(
        base_url=target.provider.base_url,
        api_key=target.api_key,
        headers=tuple(target.provider.headers.items()),
        timeout_s=options.timeout_s,
        retries=options.retries,
    )


async def _send(
    client: OpenAICompatClient, request: ChatRequest, gate: asyncio.Semaphore
) -> ChatResponse:
    async with gate:
        return await client.complete(request)


def _ok(answer: ChatResponse | BaseException) -> bool:
    """False for a failed request; anything else that went wrong is a bug: raised."""
    if isinstance(answer, BackendError):
        return False
    if isinstance(answer, BaseException):
        raise answer
    return True


def _answer(answer: ChatResponse | BaseException) -> str | None:
    assert isinstance(answer, ChatResponse)
    return answer_text(answer.text, tuple(ToolCall(n, a) for n, a in answer.tool_calls))


def _cost(price: VersionPrice | None, response: ChatResponse) -> float | None:
    """The send's cost from its token counts; None without a token price or counts."""
    if price is None or not (price.per_1k_input_tokens or price.per_1k_output_tokens):
        return None
    if response.prompt_tokens is None or response.completion_tokens is None:
        return None
    return (
        response.prompt_tokens * price.per_1k_input_tokens
        + response.completion_tokens * price.per_1k_output_tokens
    ) / 1000.0


def _only(values: set[str | None]) -> str | None:
    return next(iter(values)) if len(values) == 1 else None


def _most_common(values: Iterable[str | None]) -> str | None:
    counts = Counter(v for v in values if v is not None)
    return counts.most_common(1)[0][0] if counts else None
