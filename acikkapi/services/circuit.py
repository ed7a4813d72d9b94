"""A circuit breaker for an outside service (identity, SMS).

Closed: calls go through. After `failures_to_open` failures in a row it opens: calls fail at once with
ServiceUnavailable instead of each waiting for a timeout. After `open_seconds` it is half-open: one trial
call goes through; its success closes the breaker, its failure opens it for another pause.
"""

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from acikkapi.services.errors import ServiceUnavailable
from acikkapi.settings import Settings

log = logging.getLogger(__name__)


class CircuitBreaker:
    def __init__(self, name: str, *, failures_to_open: int = 5, open_seconds: float = 30.0,
                 failure: type[BaseException] | tuple[type[BaseException], ...] = ServiceUnavailable,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self.failures_to_open = failures_to_open
        self.open_seconds = open_seconds
        self.failure = failure  # what counts as the service failing; anything else is the caller's business
        self.clock = clock
        self.failures = 0
        self.opened_at: float | None = None
        self.trial_running = False

    @classmethod
    def of(cls, name: str, settings: Settings, **kwargs) -> "CircuitBreaker":
        return cls(name, failures_to_open=settings.circuit_failures_to_open,
                   open_seconds=settings.circuit_open_seconds, **kwargs)

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        return "open" if self.clock() - self.opened_at < self.open_seconds else "half-open"

    @asynccontextmanager
    async def guard(self) -> AsyncIterator[None]:
        """Run one call to the service under the breaker; raises ServiceUnavailable at once while open."""
        state = self.state
        if state == "open" or (state == "half-open" and self.trial_running):
            raise ServiceUnavailable()
        trial = state == "half-open"
        self.trial_running = self.trial_running or trial
        try:
            yield
        except self.failure:
            self._failed(trial)
            raise
        except BaseException:  # cancelled, or the caller's own error: says nothing about the service
            if trial:
                self.trial_running = False
            raise
        else:
            self._succeeded()

    def _failed(self, trial: bool) -> None:
        self.failures += 1
        if trial:
            self.trial_running = False
        if trial or self.failures >= self.failures_to_open:
            if self.opened_at is None or trial:
                log.warning("%s service: circuit open after %s failures in a row", self.name, self.failures)
            self.opened_at = self.clock()

    def _succeeded(self) -> None:
        if self.opened_at is not None:
            log.warning("%s service: circuit closed, the service answers again", self.name)
        self.failures = 0
        self.opened_at = None
        self.trial_running = False
