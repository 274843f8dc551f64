"""A worker raises its soft open-file limit to the hard one: a stream client is a socket."""

from __future__ import annotations

import resource

import pytest

from handlers.server.worker import raise_open_file_limit


def test_the_soft_limit_is_raised_to_the_hard_one_and_left_there() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard <= 256:
        pytest.skip(f"the hard open-file limit ({hard}) leaves nothing to raise")
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
    try:
        assert raise_open_file_limit() == (256, hard)
        assert resource.getrlimit(resource.RLIMIT_NOFILE) == (hard, hard)
        assert raise_open_file_limit() == (hard, hard)  # already there: nothing changes
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
