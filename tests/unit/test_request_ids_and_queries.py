"""Request ids the gateway makes up and the query strings it parses (handlers.request_context)."""

from __future__ import annotations

import os
import uuid
from urllib.parse import parse_qs

import pytest

from handlers.request_context import fresh_request_id, parsed_query


def test_a_fresh_request_id_is_a_version_4_uuid_in_its_usual_form() -> None:
    ids = [fresh_request_id() for _ in range(2000)]
    for rid in ids:
        parsed = uuid.UUID(rid)
        assert str(parsed) == rid  # lower-case hex, dashes where uuid puts them
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
    assert len(set(ids)) == len(ids)


def test_forked_workers_make_different_request_ids() -> None:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child, as a gunicorn worker forked from the master
        os.write(write, fresh_request_id().encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    child = os.read(read, 64).decode()
    os.close(read)
    assert child and child != fresh_request_id()


@pytest.mark.parametrize("query", ["user=alice", "user=alice&user=bob&blank=", "a=%20b&c", "", "x=" + "y" * 300])
def test_a_parsed_query_is_parse_qs_keeping_blank_values(query: str) -> None:
    assert parsed_query(query) == parse_qs(query, keep_blank_values=True)
    assert parsed_query(query) == parse_qs(query, keep_blank_values=True)  # remembered or not
