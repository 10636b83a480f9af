"""Redaction throughput on realistic prompt/output log lines, on one core.

Builds about 8 MB of JSON log lines (OpenTelemetry GenAI style: prompts, completions, model
and usage fields, trace ids, timestamps) where 3 % of the lines hold personal data or a
secret from the labelled corpus, then times ``Redactor.redact_many`` over pages of 1,000
lines (as the log service redacts a page of records), several times, and reports the
median throughput; ``Redactor.redact`` line by line is reported too. The target is per
core and the machines running this are shared, so throughputs are measured in this
process's CPU time (the wall-time figure is reported too). The baseline in the same run is
one pass of a trivial regex (``\\d+``) over the same lines.
Target: >= 20 MB/s. Run: `python -m benchmarks.redaction`.
"""

import json
import random
import re
import time
from collections.abc import Callable

from benchmarks._measure import percentile, progress, report
from console.domain.redaction import Redactor
from tests.support.pii_corpus import look_alikes, positives

TARGET_MB_S = 20.0
TEXT_MB = 8.0
RUNS = 5
PII_SHARE = 0.03
PAGE_LINES = 1000
"""Lines per ``redact_many`` call: a page of log records, as the log service redacts them."""
_TEXT = (
    "the order shipped yesterday and should arrive within three business days please check "
    "your account settings to update the delivery address our team can help with refunds "
    "returns exchanges and warranty questions for any product bought in the last year"
)
_WORDS = _TEXT.split(" ")


def log_lines(seed: int = 3) -> list[str]:
    """JSON log lines totalling about TEXT_MB megabytes."""
    rng = random.Random(seed)
    secrets = [sample.text for sample in positives()]
    noise = [sample.text for sample in look_alikes()]
    lines: list[str] = []
    size = 0
    while size < TEXT_MB * 1e6:
        prompt = " ".join(rng.choices(_WORDS, k=rng.randint(8, 40)))
        output = " ".join(rng.choices(_WORDS, k=rng.randint(10, 80)))
        if rng.random() < PII_SHARE:
            prompt += " " + rng.choice(secrets)
        line = json.dumps(
            {
                "timestamp": f"2026-11-27T13:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}Z",
                "trace_id": f"{rng.getrandbits(128):032x}",
                "gen_ai.request.model": "support-chat",
                "gen_ai.response.model": "support-chat-v42",
                "gen_ai.usage.input_tokens": rng.randint(10, 900),
                "gen_ai.usage.output_tokens": rng.randint(10, 900),
                "latency_ms": round(rng.uniform(100, 9000), 1),
                "note": rng.choice(noise),
                "prompt": prompt,
                "completion": output,
            }
        )
        lines.append(line)
        size += len(line)
    return lines


def median_s(run: Callable[[], object]) -> tuple[float, float]:
    """The median CPU time of this process and the median wall time of RUNS calls, in s."""
    run()
    cpu, wall = [], []
    for _ in range(RUNS):
        cpu_start, wall_start = time.process_time(), time.perf_counter()
        run()
        cpu.append(time.process_time() - cpu_start)
        wall.append(time.perf_counter() - wall_start)
    return percentile(cpu, 50), percentile(wall, 50)


def main() -> None:
    progress(f"building {TEXT_MB:g} MB of JSON log lines, {PII_SHARE:.0%} with PII or secrets")
    lines = log_lines()
    megabytes = sum(len(line) for line in lines) / 1e6
    redactor = Redactor()
    digits = re.compile(r"\d+")
    baseline_s, _ = median_s(lambda: [digits.findall(line) for line in lines])
    progress(f"baseline (findall \\d+): {megabytes / baseline_s:.1f} MB/s")
    redacted = sum(redactor.redact(line).changed for line in lines)
    progress(f"{redacted} of {len(lines)} lines have something to redact")
    single_s, _ = median_s(lambda: [redactor.redact(line) for line in lines])
    progress(f"redact() line by line: {megabytes / single_s:.1f} MB/s")
    pages = [lines[i : i + PAGE_LINES] for i in range(0, len(lines), PAGE_LINES)]
    assert [r for page in pages for r in redactor.redact_many(page)] == [
        redactor.redact(line) for line in lines
    ]
    cpu_s, wall_s = median_s(lambda: [redactor.redact_many(page) for page in pages])
    throughput = megabytes / cpu_s
    progress(
        f"redact_many() in pages of {PAGE_LINES} lines: {throughput:.1f} MB/s of CPU time "
        f"({megabytes / wall_s:.1f} MB/s of wall time)"
    )
    report(
        {
            "text_mb": round(megabytes, 2),
            "lines": len(lines),
            "lines_redacted": redacted,
            "runs": RUNS,
            "page_lines": PAGE_LINES,
            "redact_mb_per_s": round(throughput, 1),
            "redact_wall_mb_per_s": round(megabytes / wall_s, 1),
            "line_by_line_mb_per_s": round(megabytes / single_s, 1),
            "baseline_digits_mb_per_s": round(megabytes / baseline_s, 1),
            "vs_baseline": round(throughput / (megabytes / baseline_s), 2),
            "target_mb_per_s": TARGET_MB_S,
            "within_target": throughput >= TARGET_MB_S,
        }
    )


if __name__ == "__main__":
    main()
