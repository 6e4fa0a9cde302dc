"""The harness's one way of waiting: until a read satisfies, an error built from the last value, or at once
for an exception nobody asked to wait out."""

import pytest

from xcomlab_harness.polling import poll


def test_returns_the_first_value_that_satisfies():
    values = iter(["queued", "running", "success"])
    assert poll(lambda: next(values), lambda v: v == "success", 5, lambda v: AssertionError(v), every=0) == "success"


def test_times_out_naming_the_last_value_read():
    with pytest.raises(TimeoutError, match="still 'running'"):
        poll(lambda: "running", lambda v: v == "success", 0.05, lambda v: TimeoutError(f"still {v!r}"), every=0.01)


def test_an_exception_ends_the_wait_unless_it_is_one_to_wait_out():
    with pytest.raises(KeyError):
        poll(lambda: {}["state"], bool, 5, lambda v: AssertionError(v), every=0)
    tries = iter([ConnectionError("not yet"), ConnectionError("not yet"), True])

    def read():
        value = next(tries)
        if isinstance(value, Exception):
            raise value
        return value

    assert poll(read, bool, 5, lambda v: AssertionError(v), every=0, retry_on=(ConnectionError,)) is True
    with pytest.raises(TimeoutError) as err:
        poll(lambda: (_ for _ in ()).throw(ConnectionError("refused")), bool, 0.05, lambda v: TimeoutError(repr(v)),
             every=0.01, retry_on=(ConnectionError,))
    assert str(err.value) == "None" and isinstance(err.value.__cause__, ConnectionError)
