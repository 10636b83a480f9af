"""A real MLflow tracking server (SQLite store) on a free loopback port: the model registry.

MLflow has many dependencies, so it lives in its own virtualenv, apart from the console's
environment (.ci/run: ``python -m venv /opt/mlflow-venv && /opt/mlflow-venv/bin/pip install
mlflow``). The executable is ``$SRE_CONSOLE_MLFLOW``, else ``mlflow`` on PATH, else that
virtualenv's. ``mlflow server`` starts uvicorn as a child, so the server runs in its own
process group and ``stop()`` signals the whole group.

Models are registered through the REST API (registered-models/create, model-versions/create
with a source URI), so the tests need no mlflow package.
"""

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx

from tests.support.servers import MissingBinary, ServerFailed, free_port

MLFLOW_ENV = "SRE_CONSOLE_MLFLOW"
DEFAULT_VENV_MLFLOW = Path("/opt/mlflow-venv/bin/mlflow")
READY_TIMEOUT_S = 180.0
"""mlflow imports a large web stack: over a minute on a busy 2-core machine."""
API = "api/2.0/mlflow"


def mlflow_executable() -> str:
    """The mlflow executable, or MissingBinary saying how to install it."""
    chosen = os.environ.get(MLFLOW_ENV) or shutil.which("mlflow")
    if chosen:
        return chosen
    if DEFAULT_VENV_MLFLOW.exists():
        return str(DEFAULT_VENV_MLFLOW)
    raise MissingBinary(
        "mlflow is not installed: python -m venv /opt/mlflow-venv && "
        f"/opt/mlflow-venv/bin/pip install mlflow (or set {MLFLOW_ENV} to its executable)"
    )


class MlflowServer:
    """``mlflow server --backend-store-uri sqlite:///…`` on 127.0.0.1."""

    name = "mlflow"

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.log_path = workdir / "mlflow.log"
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The server's base URL (the registry URL a profile names)."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = READY_TIMEOUT_S) -> "MlflowServer":
        """Start and wait for /health; ServerFailed with the log tail otherwise."""
        executable = mlflow_executable()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        argv = [
            executable,
            "server",
            "--backend-store-uri",
            f"sqlite:///{self.workdir / 'mlflow.db'}",
            "--default-artifact-root",
            str(self.workdir / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            "1",
        ]
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                argv,
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self._wait_ready(timeout_s)
        except ServerFailed:
            self.stop()
            raise
        return self

    def _wait_ready(self, timeout_s: float) -> None:
        assert self._process is not None
        deadline = time.monotonic() + timeout_s
        last = "no answer yet"
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise ServerFailed(
                    f"mlflow exited with status {self._process.returncode}\n{self.log_tail()}"
                )
            try:
                if httpx.get(f"{self.url}/health", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError as exc:
                last = type(exc).__name__
            time.sleep(0.2)
        raise ServerFailed(f"mlflow not ready within {timeout_s} s ({last})\n{self.log_tail()}")

    def stop(self, grace_s: float = 5.0) -> None:
        """SIGTERM the process group, SIGKILL after ``grace_s``."""
        process, self._process = self._process, None
        if process is None:
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                break
            try:
                process.wait(grace_s)
                break
            except subprocess.TimeoutExpired:
                continue
        process.wait(grace_s)

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the server's output."""
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(mlflow wrote no log)"
        return "\n".join(text.splitlines()[-lines:])

    # The registry through its REST API

    def post(self, call: str, body: dict[str, object]) -> dict[str, object]:
        """POST a JSON body to the REST API; raises on an error status."""
        response = httpx.post(f"{self.url}/{API}/{call}", json=body, timeout=30.0)
        response.raise_for_status()
        answer: dict[str, object] = response.json()
        return answer

    def get(self, call: str, **params: str) -> dict[str, object]:
        """GET from the REST API; raises on an error status."""
        response = httpx.get(f"{self.url}/{API}/{call}", params=params, timeout=30.0)
        response.raise_for_status()
        answer: dict[str, object] = response.json()
        return answer

    def register(self, model: str, versions: int, *, alias: str, on: int) -> None:
        """A registered model with ``versions`` READY versions and ``alias`` on version ``on``."""
        self.post("registered-models/create", {"name": model, "description": "test model"})
        for number in range(1, versions + 1):
            self.post(
                "model-versions/create",
                {
                    "name": model,
                    "source": f"s3://models/{model}/{number}",
                    "description": f"build {number}",
                    "tags": [{"key": "build", "value": str(number)}],
                },
            )
        self.set_alias(model, alias, str(on))

    def set_alias(self, model: str, alias: str, version: str) -> None:
        """Point ``alias`` of ``model`` at ``version``."""
        self.post("registered-models/alias", {"name": model, "alias": alias, "version": version})

    def alias_version(self, model: str, alias: str) -> str | None:
        """The version ``alias`` points at, from registered-models/get."""
        registered = self.get("registered-models/get", name=model)["registered_model"]
        assert isinstance(registered, dict)
        found = [a["version"] for a in registered.get("aliases", []) if a["alias"] == alias]
        return str(found[0]) if found else None
