"""Polling with exponential backoff under a deadline of the resource's own.

The Pulumi engine passes no timeout to a dynamic provider and cannot cancel one, so a resource
that waits must bound itself: poll, and between polls sleep an interval that doubles from a
minimum to a maximum, never past the deadline.
"""

from __future__ import annotations

import time


class Backoff:
    """One wait: counts polls, knows the deadline, sleeps between polls."""

    def __init__(self, timeout: float, minimum: float, maximum: float) -> None:
        self.started = time.monotonic()
        self.deadline = self.started + timeout
        self.interval = minimum
        self.maximum = maximum
        self.polls = 0

    def polled(self) -> float:
        """Count a poll; return the monotonic time it finished."""
        self.polls += 1
        return time.monotonic()

    @property
    def expired(self) -> bool:
        """Whether the deadline has passed."""
        return time.monotonic() >= self.deadline

    @property
    def elapsed(self) -> float:
        """Seconds since the wait began."""
        return time.monotonic() - self.started

    def sleep(self) -> None:
        """Wait the current interval (cut at the deadline), then double it up to the maximum."""
        time.sleep(max(0.0, min(self.interval, self.deadline - time.monotonic())))
        self.interval = min(self.interval * 2, self.maximum)
