"""Real servers (Prometheus, VictoriaMetrics) on free 127.0.0.1 ports, for tests and benchmarks.

A server runs in its own directory with its output captured to a log file; ``start()`` waits
for its readiness endpoint with a bounded poll and ``stop()`` always ends it (SIGTERM, then
SIGKILL after a grace period). Failures raise with the tail of the server's log.
"""

import json
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import httpx

from tests.support.exporter import Exporter

READY_TIMEOUT_S = 20.0
SCRAPE_JOB = "exporter"
"""The ``job`` label the scrape config gives the exporter's series."""
BACKFILL_STEP_S = 5.0


class MissingBinary(RuntimeError):
    """A server binary is not installed; the message says which package provides it."""


class ServerFailed(RuntimeError):
    """A server exited or did not become ready; the message ends with its log tail."""


def require_binary(name: str, package: str) -> str:
    """The path of ``name``, or MissingBinary naming the Debian package to install."""
    path = shutil.which(name)
    if path is None:
        raise MissingBinary(f"{name} is not installed: apt-get install {package}")
    return path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """One server process on a free loopback port.

    ``argv_for(port)`` builds the command line; ``ready_path`` is polled until it answers 200.
    A start that loses the race for its port is retried on another one.
    """

    def __init__(
        self,
        name: str,
        argv_for: Callable[[int], Sequence[str]],
        *,
        workdir: Path,
        ready_path: str,
    ) -> None:
        self.name = name
        self._argv_for = argv_for
        self.workdir = workdir
        self._ready_path = ready_path
        self.log_path = workdir / f"{name}.log"
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The server's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = READY_TIMEOUT_S) -> "ServerProcess":
        """Start the server and wait until it is ready; raises ServerFailed."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        attempts = 0
        while True:
            attempts += 1
            self.port = free_port()
            with self.log_path.open("ab") as log:
                self._process = subprocess.Popen(
                    list(self._argv_for(self.port)),
                    cwd=self.workdir,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            try:
                self._wait_ready(timeout_s)
                return self
            except ServerFailed:
                port_taken = "address already in use" in self.log_tail().lower()
                self.stop()
                if not port_taken or attempts == 3:
                    raise

    def _wait_ready(self, timeout_s: float) -> None:
        assert self._process is not None
        deadline = time.monotonic() + timeout_s
        last_error = "no answer yet"
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise ServerFailed(
                    f"{self.name} exited with status {self._process.returncode} "
                    f"before it was ready\n{self.log_tail()}"
                )
            try:
                response = httpx.get(self.url + self._ready_path, timeout=1.0)
                if response.status_code == 200:
                    return
                last_error = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                last_error = f"{type(exc).__name__}: {exc}"
            time.sleep(0.1)
        raise ServerFailed(
            f"{self.name} was not ready at {self.url}{self._ready_path} within {timeout_s} s "
            f"({last_error})\n{self.log_tail()}"
        )

    def stop(self, grace_s: float = 5.0) -> None:
        """End the server: SIGTERM, then SIGKILL after ``grace_s``."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(grace_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(grace_s)

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the server's output."""
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return f"({self.name} wrote no log)"
        tail = "\n".join(text.splitlines()[-lines:])
        return f"--- last lines of {self.log_path} ---\n{tail}"

    def __enter__(self) -> "ServerProcess":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class MetricsServer(ServerProcess):
    """A Prometheus-compatible server scraping the exporter; ready once it can answer rate()."""

    def __init__(
        self,
        name: str,
        argv_for: Callable[[int], Sequence[str]],
        *,
        workdir: Path,
        ready_path: str,
        flush_path: str | None = None,
        scrape_interval_s: float = 1.0,
    ) -> None:
        super().__init__(name, argv_for, workdir=workdir, ready_path=ready_path)
        self._flush_path = flush_path
        self._scrape_interval_s = scrape_interval_s

    def start(self, timeout_s: float = READY_TIMEOUT_S) -> "MetricsServer":
        """Start, then wait until two successful scrapes of the exporter are queryable.

        One scrape is not enough: rate() needs two samples in its window, and
        VictoriaMetrics (which is not backfilled) would answer it with nothing.
        """
        super().start(timeout_s)
        try:
            # Two scrapes take up to two intervals, plus the first one's offset.
            self._wait_for_scrape(max(timeout_s, 3 * self._scrape_interval_s))
        except ServerFailed:
            self.stop()
            raise
        return self

    def _wait_for_scrape(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        result: object = None
        while time.monotonic() < deadline:
            if self._flush_path:
                httpx.get(self.url + self._flush_path, timeout=5.0)
            response = httpx.get(
                f"{self.url}/api/v1/query",
                params={"query": f'sum_over_time(up{{job="{SCRAPE_JOB}"}}[1m])'},
                timeout=5.0,
            )
            result = response.json().get("data", {}).get("result")
            if isinstance(result, list) and any(float(r["value"][1]) >= 2 for r in result):
                return
            time.sleep(0.2)
        raise ServerFailed(
            f"{self.name} had fewer than two successful scrapes of the exporter within "
            f"{timeout_s} s (sum_over_time(up[1m]) = {result!r})\n{self.log_tail()}"
        )

    def __enter__(self) -> "MetricsServer":
        return self.start()


def scrape_config(targets: Sequence[str], interval_s: float) -> str:
    """A scrape config for ``targets`` (JSON, which both servers read as YAML)."""
    interval = f"{round(interval_s * 1000)}ms"
    config = {
        "global": {"scrape_interval": interval},
        "scrape_configs": [
            {
                "job_name": SCRAPE_JOB,
                "scrape_interval": interval,
                "static_configs": [{"targets": list(targets)}],
            }
        ],
    }
    return json.dumps(config, indent=2)


def prometheus(
    workdir: Path, exporter: Exporter, *, scrape_interval_s: float = 1.0, backfill: bool = True
) -> MetricsServer:
    """A Prometheus (Debian ``prometheus``) scraping ``exporter``; call ``start()`` on it.

    With ``backfill`` the exporter's history (see ``Exporter(history_s=…)``) is written into
    the empty TSDB with promtool first, so that ``rate(…[5m])`` is exact from the first query
    instead of being diluted by a window that is mostly empty.
    """
    binary = require_binary("prometheus", "prometheus")
    config = workdir / "prometheus.yml"
    storage = workdir / "data"
    workdir.mkdir(parents=True, exist_ok=True)
    config.write_text(scrape_config([exporter.target], scrape_interval_s))
    if backfill:
        _backfill(storage, exporter, workdir / "history.om")
    return MetricsServer(
        "prometheus",
        lambda port: [
            binary,
            f"--config.file={config}",
            f"--web.listen-address=127.0.0.1:{port}",
            f"--storage.tsdb.path={storage}",
        ],
        workdir=workdir,
        ready_path="/-/ready",
        scrape_interval_s=scrape_interval_s,
    )


def _backfill(storage: Path, exporter: Exporter, scratch: Path) -> None:
    promtool = require_binary("promtool", "prometheus")
    labels = (("job", SCRAPE_JOB), ("instance", exporter.target))
    with scratch.open("w") as out:
        out.writelines(exporter.history(time.time(), BACKFILL_STEP_S, labels))
    result = subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", str(scratch), str(storage)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    scratch.unlink()
    if result.returncode != 0:
        raise ServerFailed(f"promtool could not backfill {storage}:\n{result.stderr[-2000:]}")


def victoria_metrics(
    workdir: Path, exporter: Exporter, *, scrape_interval_s: float = 1.0
) -> MetricsServer:
    """A single-node VictoriaMetrics (Debian ``victoria-metrics``) scraping ``exporter``.

    Its ``rate()`` does not extrapolate over an empty window, so it needs no backfill.
    Fresh samples are queryable at once (no latency offset, no response cache) once its
    in-memory buffer is flushed, which it otherwise does only every few seconds.
    """
    binary = require_binary("victoria-metrics", "victoria-metrics")
    config = workdir / "scrape.yml"
    workdir.mkdir(parents=True, exist_ok=True)
    config.write_text(scrape_config([exporter.target], scrape_interval_s))
    return MetricsServer(
        "victoria-metrics",
        lambda port: [
            binary,
            f"-httpListenAddr=127.0.0.1:{port}",
            f"-storageDataPath={workdir / 'data'}",
            f"-promscrape.config={config}",
            "-search.latencyOffset=0s",
            "-search.disableCache",
        ],
        workdir=workdir,
        ready_path="/health",
        scrape_interval_s=scrape_interval_s,
        flush_path="/internal/force_flush",
    )
