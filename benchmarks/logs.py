"""The log explorer's table with 100,000 rows: first paint, filters and memory.

Takes a sample of real DEMO records (gateway JSON lines parsed and redacted by the log
service), then makes 100,000 distinct records of them (own key, timestamp and text, so that
memory is not shared). It builds the table's rows as the I/O loop does (display strings per
column, off the GUI thread: reported, not part of the paint), and then, on the GUI thread
under QT_QPA_PLATFORM=offscreen, times:

- first paint: handing the rows to the model and painting the table (the explorer's own
  QTableView setup: fixed row height), against painting an empty table in the same run;
- filter: by version (v42), by text ("refund", no match "zzqx"), both, and clearing.

Targets are judged on the medians of CPU time (wall times are reported too: on a machine
shared with other work they wait for the CPU). Memory is the growth of the resident set
from building the rows, filling the model and painting (the records themselves, which the
service returns anyway, are reported apart).
Targets: first paint <= 50 ms, filter <= 100 ms, <= 150 MB more memory.
Run: `python -m benchmarks.logs`.
"""

import asyncio
import dataclasses
import gc
import os
import time
from collections.abc import Callable

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication

from benchmarks._measure import percentile, progress, report
from console.backends.demo_logs import DemoLogBackend
from console.domain.log_records import LogRecord
from console.services.logs import LogService
from console.ui.log_explorer import log_table_view
from console.viewmodels.log_rows import log_rows
from console.viewmodels.log_table import LogTableModel

ROWS = 100_000
SAMPLE_HOURS = 6
RUNS = 7
TARGET_PAINT_MS = 50.0
TARGET_FILTER_MS = 100.0
TARGET_MB = 150.0


def rss_mb() -> float:
    """This process's resident set, in MB."""
    gc.collect()
    with open("/proc/self/statm", encoding="ascii") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def sample() -> list[LogRecord]:
    """Real DEMO records of the last hours, parsed and redacted by the log service."""
    service = LogService(DemoLogBackend())
    end = time.time()

    async def query() -> list[LogRecord]:
        page = await service.query('{app=~".+"}', end - SAMPLE_HOURS * 3600, end, limit=5000)
        return list(page.records)

    return asyncio.run(query())


def distinct(records: list[LogRecord], count: int) -> list[LogRecord]:
    """``count`` records cycling through ``records``, each with its own key, time and text."""
    newest = records[0].timestamp_ns
    made = []
    for i in range(count):
        base = records[i % len(records)]
        made.append(
            dataclasses.replace(
                base,
                key=f"{base.key}-{i}",
                timestamp_ns=newest - i * 250_000_000,
                prompt=None if base.prompt is None else f"{base.prompt} (#{i})",
                output=None if base.output is None else f"{base.output} (#{i})",
                raw=f"{base.raw} ",
            )
        )
    return made


def timed(action: Callable[[], object]) -> tuple[float, float]:
    """Wall and CPU milliseconds ``action`` took (CPU time is what other processes on a
    busy machine disturb least)."""
    began, cpu = time.perf_counter(), time.process_time()
    action()
    return (time.perf_counter() - began) * 1000, (time.process_time() - cpu) * 1000


def main() -> None:
    app = QApplication.instance() or QApplication([])
    assert app is not None
    base = sample()
    progress(f"sampled {len(base)} DEMO records")
    before_records = rss_mb()
    records = distinct(base, ROWS)
    records_mb = rss_mb() - before_records
    progress(f"made {ROWS} records ({records_mb:.0f} MB)")

    model = LogTableModel()
    view = log_table_view(model)
    view.resize(1280, 700)
    view.show()
    before = rss_mb()
    build_ms, _ = timed(lambda: log_rows(records, 0.5))
    rows = log_rows(records, 0.5)
    progress(f"rows built in {build_ms:.0f} ms (I/O loop)")

    def paint_rows() -> None:
        model.set_rows(rows)
        view.grab()

    empty_ms, paint_ms, paint_cpu_ms = [], [], []
    for run in range(RUNS):
        model.set_rows(model.rows.empty())
        empty_ms.append(timed(view.grab)[0])
        wall, cpu = timed(paint_rows)
        paint_ms.append(wall)
        paint_cpu_ms.append(cpu)
        progress(f"run {run + 1}: first paint {wall:.1f} ms, cpu {cpu:.1f} ms")
    added_mb = rss_mb() - before

    def filtered(version: str | None, text: str) -> Callable[[], object]:
        def apply() -> None:
            model.set_filter(version, text)
            view.grab()

        return apply

    cases = {
        "version": filtered("v42", ""),
        "text": filtered(None, "refund"),
        "text_no_match": filtered(None, "zzqx"),
        "version_and_text": filtered("v42", "sorry"),
        "clear": filtered(None, ""),
    }
    filter_ms: dict[str, list[float]] = {name: [] for name in cases}
    filter_cpu_ms: dict[str, list[float]] = {name: [] for name in cases}
    for run in range(RUNS):
        for name, action in cases.items():
            wall, cpu = timed(action)
            filter_ms[name].append(wall)
            filter_cpu_ms[name].append(cpu)
        progress(
            f"run {run + 1}: " + ", ".join(f"{n} {v[-1]:.1f} ms" for n, v in filter_ms.items())
        )
    model.set_filter("v42", "")
    v42_rows = model.rowCount()
    worst_filter = max(percentile(v, 50) for v in filter_cpu_ms.values())
    first_paint = percentile(paint_cpu_ms, 50)
    report(
        {
            "rows": ROWS,
            "first_paint_ms_median": percentile(paint_ms, 50),
            "first_paint_cpu_ms_median": first_paint,
            "first_paint_ms_first_run": round(paint_ms[0], 2),
            "empty_paint_ms_median": percentile(empty_ms, 50),
            "filter_ms_median": {name: percentile(v, 50) for name, v in filter_ms.items()},
            "filter_cpu_ms_median": {n: percentile(v, 50) for n, v in filter_cpu_ms.items()},
            "filter_ms_max": round(max(max(v) for v in filter_ms.values()), 2),
            "rows_build_ms_io_loop": round(build_ms, 1),
            "added_rss_mb": round(added_mb, 1),
            "records_rss_mb": round(records_mb, 1),
            "v42_rows": v42_rows,
            "first_paint_ok": first_paint <= TARGET_PAINT_MS,
            "filter_ok": worst_filter <= TARGET_FILTER_MS,
            "memory_ok": added_mb <= TARGET_MB,
            "median_of_runs": RUNS,
        }
    )


if __name__ == "__main__":
    main()
