"""1,000 suite cases at concurrency 32 against a loopback endpoint answering in 20 ms, 3 ways.

The endpoint is tests/support/openai_server.py (a threaded stdlib server, like the one the
issue's figures were measured with). Each way runs in its own process, timed from launch
to exit, with its CPU time (user + system) and peak RSS read from os.wait4:

- the console's runner, through the CLI: ``python -m console run-suite SUITE --target URL
  --model M --concurrency 32`` (history kept in a scratch data dir);
- the floor: a bare loop of httpx.AsyncClient POSTs of the same 1,000 request bodies,
  32 in flight;
- promptfoo (npm ``promptfoo``): ``promptfoo eval -c SUITE -j 32 --no-cache`` on the same
  suite file (its provider points at the same endpoint). When promptfoo is not installed
  its figures are null with the reason.

The three run interleaved, ROUNDS times; the medians are reported (on a busy machine the
CPU seconds are steadier than the wall times). Targets: runner <= 1.2 x
the bare loop and <= 0.6 x promptfoo, CLI peak RSS <= 150 MB.
Run: `python -m benchmarks.suite`.
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks._measure import progress, report
from console.backends.openai_compat import ChatRequest
from console.services.suite_loader import load_suite
from tests.support.openai_server import OpenAIServer

CASES = 1000
CONCURRENCY = 32
LATENCY_S = 0.02
ROUNDS = 3
MODEL = "bench-model"
_PROMPTFOO_ARGS = ("eval", "-j", str(CONCURRENCY), "--no-cache", "-c")
ROOT = Path(__file__).resolve().parents[1]

_BARE_LOOP = """
import asyncio, json, sys
import httpx

async def main() -> None:
    url, path, concurrency = sys.argv[1], sys.argv[2], int(sys.argv[3])
    bodies = json.loads(open(path).read())
    gate = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        async def one(body):
            async with gate:
                response = await client.post(url, json=body)
                response.raise_for_status()
                return response.json()["choices"][0]["message"]["content"]
        answers = await asyncio.gather(*(one(body) for body in bodies))
    print(f"{len(answers)} answers")

asyncio.run(main())
"""


def suite_text(base_url: str) -> str:
    """The suite both the console and promptfoo run: each case checks its own code."""
    tests = "\n".join(
        f"  - description: case {i}\n    vars: {{code: C{i:04d}}}" for i in range(CASES)
    )
    return (
        "description: benchmark suite\n"
        "prompts:\n"
        '  - "Reply with the code {{code}}"\n'
        "providers:\n"
        f"  - id: openai:chat:{MODEL}\n"
        f"    config: {{apiBaseUrl: '{base_url}'}}\n"
        "defaultTest:\n"
        "  assert:\n"
        "    - {type: icontains, value: '{{code}}'}\n"
        f"tests:\n{tests}\n"
    )


@dataclass(frozen=True)
class Measured:
    """One process run: wall and CPU (user + system) seconds, peak RSS, its stdout."""

    wall_s: float
    cpu_s: float
    rss_mb: float
    stdout: str


def timed(argv: list[str], env: dict[str, str], scratch: Path) -> Measured:
    """Run ``argv`` to its end and measure it; RuntimeError when it fails."""
    out_path, err_path = scratch / "out.txt", scratch / "err.txt"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.perf_counter()
        process = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    stdout = out_path.read_text(errors="replace")
    if process.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv[:4])}... exited {process.returncode}:\n{stdout[-2000:]}\n"
            f"{err_path.read_text(errors='replace')[-2000:]}"
        )
    return Measured(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0, stdout)


def promptfoo_argv() -> tuple[list[str] | None, str | None]:
    """The promptfoo command, or None and why it cannot run."""
    binary = shutil.which("promptfoo")
    if binary is None:
        return None, "promptfoo is not installed (npm install -g promptfoo)"
    return [binary], None


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="sre-bench-suite-") as scratch_dir:
        scratch = Path(scratch_dir)
        env = {
            **os.environ,
            "SRE_CONSOLE_CONFIG_DIR": str(scratch / "config"),
            "SRE_CONSOLE_DATA_DIR": str(scratch / "data"),
        }
        promptfoo_env = {
            **env,
            "OPENAI_API_KEY": "not-a-key",  # promptfoo insists on one; the endpoint ignores it
            "PROMPTFOO_CONFIG_DIR": str(scratch / "promptfoo"),
            "PROMPTFOO_DISABLE_TELEMETRY": "1",
            "PROMPTFOO_DISABLE_UPDATE": "1",
            "PROMPTFOO_DISABLE_SHARING": "1",
        }
        with OpenAIServer(latency_s=LATENCY_S) as server:
            suite_path = scratch / "promptfooconfig.yaml"
            suite_path.write_text(suite_text(server.base_url))
            suite = load_suite(suite_path)
            bodies = [
                ChatRequest(MODEL, prompt.render(case.vars)).body()
                for case in suite.cases
                for prompt in suite.prompts
            ]
            bodies_path = scratch / "bodies.json"
            bodies_path.write_text(json.dumps(bodies))
            console_argv = [
                sys.executable,
                "-m",
                "console",
                "run-suite",
                str(suite_path),
                "--target",
                server.base_url,
                "--model",
                MODEL,
                "--concurrency",
                str(CONCURRENCY),
            ]
            bare_argv = [
                sys.executable,
                "-c",
                _BARE_LOOP,
                f"{server.base_url}/chat/completions",
                str(bodies_path),
                str(CONCURRENCY),
            ]
            promptfoo, promptfoo_missing = promptfoo_argv()
            runner: list[Measured] = []
            bare: list[Measured] = []
            foo: list[Measured] = []
            promptfoo_failures: list[str] = []
            for round_number in range(1, ROUNDS + 1):
                runner.append(timed(console_argv, env, scratch))
                if f"passed={CASES} failed=0 errors=0" not in runner[-1].stdout:
                    raise RuntimeError(
                        f"the console's run did not pass every case:\n{runner[-1].stdout[-500:]}"
                    )
                bare.append(timed(bare_argv, env, scratch))
                line = (
                    f"round {round_number}/{ROUNDS}: runner {_shown(runner[-1])}, "
                    f"bare loop {_shown(bare[-1])}"
                )
                if promptfoo is not None:
                    try:
                        foo.append(
                            timed(
                                [*promptfoo, *_PROMPTFOO_ARGS, str(suite_path)],
                                promptfoo_env,
                                scratch,
                            )
                        )
                    except RuntimeError as exc:
                        promptfoo_failures.append(str(exc).splitlines()[0])
                        line += f", promptfoo failed: {promptfoo_failures[-1]}"
                    else:
                        line += f", promptfoo {_shown(foo[-1])}"
                progress(line)
    runner_s = _median(runner, "wall_s")
    bare_s = _median(bare, "wall_s")
    foo_s = _median(foo, "wall_s") if foo else None
    unavailable = promptfoo_missing or (
        f"every run failed: {promptfoo_failures[0]}" if not foo else None
    )
    report(
        {
            "cases": CASES,
            "concurrency": CONCURRENCY,
            "endpoint_latency_ms": LATENCY_S * 1000,
            "rounds": ROUNDS,
            "runner_wall_s": runner_s,
            "bare_loop_wall_s": bare_s,
            "promptfoo_wall_s": foo_s,
            "promptfoo_unavailable": unavailable,
            "promptfoo_failed_runs": len(promptfoo_failures),
            "runner_over_bare_loop": round(runner_s / bare_s, 3),
            "runner_over_promptfoo": round(runner_s / foo_s, 3) if foo_s else None,
            "cli_peak_rss_mb": round(max(m.rss_mb for m in runner), 1),
            "bare_loop_peak_rss_mb": round(max(m.rss_mb for m in bare), 1),
            "promptfoo_peak_rss_mb": round(max(m.rss_mb for m in foo), 1) if foo else None,
            "runner_cpu_s": _median(runner, "cpu_s"),
            "bare_loop_cpu_s": _median(bare, "cpu_s"),
            "promptfoo_cpu_s": _median(foo, "cpu_s") if foo else None,
            "runner_wall_s_all": [round(m.wall_s, 3) for m in runner],
            "bare_loop_wall_s_all": [round(m.wall_s, 3) for m in bare],
            "promptfoo_wall_s_all": [round(m.wall_s, 3) for m in foo],
            "targets": {
                "runner_over_bare_loop": 1.2,
                "runner_over_promptfoo": 0.6,
                "cli_peak_rss_mb": 150,
            },
        }
    )


def _shown(measured: Measured) -> str:
    return f"{measured.wall_s:.2f} s ({measured.cpu_s:.2f} s CPU, {measured.rss_mb:.0f} MB)"


def _median(runs: list[Measured], field: str) -> float:
    return round(statistics.median(getattr(m, field) for m in runs), 3)


if __name__ == "__main__":
    main()
