"""Parse large answers in a worker process, so the GUI thread never waits for the GIL.

json.loads of a 3 MB query_range answer holds the GIL for over 100 ms in one C call; the
GUI thread cannot run meanwhile, however idle the I/O loop's other work is. Answers of at
least OFFLOAD_MIN_BYTES are therefore parsed (into numpy arrays, which pickle compactly)
in one spawned worker process; smaller ones are parsed in place.
"""

import asyncio
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

T = TypeVar("T")

OFFLOAD_MIN_BYTES = 256 * 1024
_pool: ProcessPoolExecutor | None = None


def _executor() -> ProcessPoolExecutor:
    global _pool
    if _pool is None:
        # spawn, not fork: forking a process that runs Qt and the I/O thread is unsafe.
        _pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    return _pool


async def parse_body(parse: Callable[[bytes], T], body: bytes) -> T:
    """``parse(body)``, in the worker process when the body is large.

    ``parse`` must be picklable (a module-level function or a functools.partial of one).
    If the worker died, the pool is replaced and the body is parsed in place once.
    """
    global _pool
    if len(body) < OFFLOAD_MIN_BYTES:
        return parse(body)
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(_executor(), parse, body)
    except BrokenProcessPool:
        _pool = None
        return parse(body)
