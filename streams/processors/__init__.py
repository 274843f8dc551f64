"""Processor components; importing this package registers every one of them."""

from streams.processors import (  # noqa: F401
    branch,
    catch,
    dedupe,
    log,
    mapping,
    sleep,
    switch,
    sync_response,
    try_,
)
