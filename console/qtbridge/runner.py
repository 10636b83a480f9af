"""AsyncRunner: one asyncio loop in a background ``io-loop`` thread. Qt-free."""

import asyncio
import concurrent.futures
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class AsyncRunner:
    """Owns the I/O loop; every network call and parse runs there, never on the GUI thread."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="io-loop", daemon=True)
        self._thread.start()
        self._ready.wait()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The loop, for code that must schedule on it directly."""
        return self._loop

    def submit(self, coro: Coroutine[Any, Any, T]) -> "concurrent.futures.Future[T]":
        """Schedule ``coro`` on the I/O loop; cancel the returned future to cancel it."""
        if not self._thread.is_alive():
            coro.close()
            raise RuntimeError("the I/O loop has stopped")
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def stop(self, timeout: float = 5.0) -> None:
        """Cancel what is pending, stop the loop and join the thread."""
        if not self._thread.is_alive():
            return
        self._loop.call_soon_threadsafe(self._cancel_all_and_stop)
        self._thread.join(timeout)

    def _cancel_all_and_stop(self) -> None:
        tasks = [t for t in asyncio.all_tasks(self._loop) if not t.done()]
        for task in tasks:
            task.cancel()

        async def drain() -> None:
            await asyncio.gather(*tasks, return_exceptions=True)
            self._loop.stop()

        self._loop.create_task(drain())

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.call_soon(self._ready.set)
        try:
            self._loop.run_forever()
        finally:
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()
