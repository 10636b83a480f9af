"""`sre-console audit verify` over 100,000 entries: the hash chain walked end to end.

Builds an audit log of 100,000 realistic entries (started/closing pairs with reasons,
versions and check summaries) in a temporary data dir, then times ``AuditLog.verify()``
(read every row, recompute every SHA-256 over canonical JSON, check links and the anchor)
several times and reports the median wall time, and the median CPU time of this process
(less sensitive to other processes on a busy machine). The baseline in the same run is
reading the same entries without verifying them. Target: verify <= 2 s.
Run: `python -m benchmarks.audit`.
"""

import tempfile
import time
from pathlib import Path

from benchmarks._measure import percentile, progress, report
from console.domain.audit import AuditDraft, AuditOutcome
from console.services.audit_log import AuditLog

ENTRIES = 100_000
BATCH = 10_000
RUNS = 5
TARGET_S = 2.0


def draft(n: int) -> AuditDraft:
    """Entry ``n``: pairs of a STARTED entry and its closing entry, as actions write them."""
    action = n // 2
    return AuditDraft(
        actor="alice@workstation (prod-eu/admin/alice)",
        profile="prod-eu",
        action="rollback" if action % 3 else "failover",
        target=f"deployment-{action % 40}",
        outcome=AuditOutcome.STARTED if n % 2 == 0 else AuditOutcome.SUCCEEDED,
        reason=f"incident INC-{action}: p95 latency over SLO since the last release",
        before=f"v{action % 90 + 10}",
        after=f"v{action % 90 + 9}",
        pre_check="suite 'smoke' on deployment@v41: 10/10 passed, 0 failed, 0 errors",
        post_check=None if n % 2 == 0 else "suite 'smoke': 10/10 passed, 0 failed, 0 errors",
        action_id=f"{action:032x}",
        idempotency_key=f"{action:064x}",
    )


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="audit-bench-") as scratch:
        log = AuditLog(Path(scratch) / "audit.sqlite3")
        started = time.perf_counter()
        for first in range(0, ENTRIES, BATCH):
            log.append_many([draft(n) for n in range(first, first + BATCH)])
            progress(f"wrote {first + BATCH} entries")
        build_s = time.perf_counter() - started
        progress(f"built {ENTRIES} entries in {build_s:.1f} s")
        read_times, verify_times, verify_cpu = [], [], []
        for run in range(RUNS):
            began = time.perf_counter()
            count = len(log.entries())
            read_times.append(time.perf_counter() - began)
            began, cpu = time.perf_counter(), time.process_time()
            verdict = log.verify()
            verify_times.append(time.perf_counter() - began)
            verify_cpu.append(time.process_time() - cpu)
            assert verdict.intact and verdict.checked == ENTRIES == count, str(verdict)
            progress(f"run {run + 1}/{RUNS}: verify {verify_times[-1]:.2f} s ({verdict})")
        log.close()
    verify_s = percentile(verify_times, 50)
    report(
        {
            "entries": ENTRIES,
            "verify_s_median": verify_s,
            "verify_s_max": round(max(verify_times), 2),
            "verify_cpu_s_median": percentile(verify_cpu, 50),
            "read_only_s_median": percentile(read_times, 50),
            "build_s": round(build_s, 2),
            "target_s": TARGET_S,
            "meets_target": verify_s <= TARGET_S,
        }
    )


if __name__ == "__main__":
    main()
