"""Hygiene for worker processes of the pools that parse feeds and analyse articles."""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import threading
import time

_PR_SET_PDEATHSIG = 1   # from <sys/prctl.h>


def exit_with_parent() -> None:
    """Pool initializer: a worker whose parent died (kill -9, OOM killer) exits within a
    second; otherwise it would wait for work forever, an orphan holding its memory."""
    parent = multiprocessing.parent_process()
    if parent is not None:
        _die_with_parent()
        threading.Thread(target=_exit_when_gone, args=(parent.pid,), daemon=True).start()


def _die_with_parent() -> None:
    """On Linux, ask the kernel for SIGKILL the moment the parent dies, so a worker that
    writes to the database never outlives a killed run (the polling thread is the
    fallback elsewhere)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def _exit_when_gone(pid: int) -> None:
    # By pid, not getppid(): with the forkserver or spawn start methods a worker's OS
    # parent is not the process that owns the pool.
    while True:
        time.sleep(1.0)
        try:
            os.kill(pid, 0)
        except OSError:
            os._exit(1)
