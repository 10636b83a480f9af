"""Which process owns a row (a run, an action in progress), and whether it is still alive.

A process killed with ``kill -9`` leaves its rows behind; the next process to open the
store recognises them by their owner token and closes them (interrupted, unknown).
"""

import os
import socket
import sys
from pathlib import Path


def owner_token() -> str:
    """This process: host, pid and (on Linux) its start time, which a reused pid lacks."""
    return f"{socket.gethostname()}|{os.getpid()}|{_start_time(os.getpid())}"


def owner_alive(owner: str) -> bool:
    """Whether the process named by ``owner_token()`` may still run (True: cannot tell)."""
    host, _, rest = owner.partition("|")
    pid_text, _, started = rest.partition("|")
    if owner == owner_token():
        return True
    if host != socket.gethostname():
        return True  # another machine's run (a shared data dir): it cannot be checked
    try:
        pid = int(pid_text)
    except ValueError:
        return False
    if sys.platform == "win32" or not _pid_exists(pid):
        return False
    return started == "" or _start_time(pid) == started


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _start_time(pid: int) -> str:
    """The process start time in clock ticks since boot (Linux), else "".

    A zombie (dead, not yet reaped) gets "dead", which matches no live owner.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    fields = stat.rpartition(")")[2].split()
    if fields and fields[0] == "Z":
        return "dead"
    return fields[19] if len(fields) > 19 else ""
