"""Waiting until something holds, the one way the harness does it: tenacity's Retrying, a read every `every`
seconds until done(value), a timeout error built from the last value read."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from tenacity import Retrying, retry_if_exception_type, retry_if_result, stop_after_delay, wait_fixed

T = TypeVar("T")


def poll(read: Callable[[], T], done: Callable[[T], bool], timeout: float, timed_out: Callable[[T | None], Exception],
         every: float = 1.0, retry_on: tuple[type[Exception], ...] = ()) -> T:
    """read() until done(value) holds and return that value; raise timed_out(last value, None if none) after
    timeout seconds. An exception read() raises ends the wait at once, unless it is one of `retry_on`."""

    def give_up(state):
        outcome = state.outcome
        raise timed_out(None if outcome.failed else outcome.result()) from (outcome.exception() if outcome.failed else None)

    retrying = Retrying(stop=stop_after_delay(timeout), wait=wait_fixed(every),
                        retry=retry_if_result(lambda value: not done(value)) | retry_if_exception_type(retry_on),
                        retry_error_callback=give_up)
    return retrying(read)
