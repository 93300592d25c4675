"""Leaving a process that used a Temporal client."""

from __future__ import annotations

import os
import sys


def exit_without_finalizing(code: int) -> None:
    """Exit now, skipping interpreter finalization.

    temporalio's Rust core threads can crash a finalizing interpreter
    ("PyGILState_Release: thread state … must be current", SIGABRT/SIGSEGV — about
    one short-lived process in four on a busy 2-core machine), turning a successful
    command into a failed one. Callers have finished their work and their output;
    nothing is left that finalization would do for them.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
