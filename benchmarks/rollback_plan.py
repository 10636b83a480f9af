"""Building a rollback plan on the DEMO: the service part of "the plan dialog opens in 300 ms".

Times ``ActionService.plan(ROLLBACK, "support-chat")`` (the registry's versions, three
instant metrics per version, the alias history and the run history) on the DEMO backend
and registry, many times, and reports the median and p95. The baseline in the same run is
one instant metric query on the same backend. Run: `python -m benchmarks.rollback_plan`.
"""

import asyncio
import tempfile
import time
from pathlib import Path

from benchmarks._measure import percentile, progress, report
from console.backends.demo import DemoBackend
from console.config.secrets import SecretStore
from console.config.settings import DEMO_PROFILE
from console.domain.signals import Signal
from console.services.alias_history import AliasHistory
from console.services.annotations import AnnotationStore
from console.services.audit_log import AuditLog
from console.services.guarded_action import ActionKind
from console.services.open_actions import open_action_service
from console.services.run_history import RunHistory

RUNS = 50
TARGET_MS = 300.0


async def measure(scratch: Path) -> dict[str, object]:
    backend = DemoBackend()
    service = open_action_service(
        DEMO_PROFILE,
        SecretStore.session_only(),
        backend,
        AnnotationStore(),
        AuditLog(scratch / "audit.sqlite3"),
        alias_history=AliasHistory(scratch / "aliases.sqlite3"),
        run_history=RunHistory(scratch / "runs.sqlite3"),
    )
    plans, queries = [], []
    for run in range(RUNS):
        began = time.perf_counter()
        await backend.instant(Signal.ERROR_RATIO, 300.0, by_version=True)
        queries.append((time.perf_counter() - began) * 1000)
        began = time.perf_counter()
        plan = await service.plan(ActionKind.ROLLBACK, "support-chat")
        plans.append((time.perf_counter() - began) * 1000)
        if run % 10 == 0:
            progress(f"plan {run + 1}/{RUNS}: {plans[-1]:.1f} ms ({plan.target_label})")
    return {
        "plan_ms_median": percentile(plans, 50),
        "plan_ms_p95": percentile(plans, 95),
        "instant_query_ms_median": percentile(queries, 50),
        "target_ms": TARGET_MS,
        "runs": RUNS,
    }


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="plan-bench-") as scratch:
        report(asyncio.run(measure(Path(scratch))))


if __name__ == "__main__":
    main()
