"""The gateway's gevent worker spawns its greenlets without gevent's spawn-tree record."""

from __future__ import annotations

from collections.abc import Iterator

import gevent
import pytest

from handlers.server.worker import untrack_greenlet_tree


@pytest.fixture
def restored() -> Iterator[None]:
    before = gevent.config.track_greenlet_tree
    yield
    gevent.config.track_greenlet_tree = before


def test_greenlets_spawned_afterwards_keep_no_spawning_stack(restored, monkeypatch):
    monkeypatch.delenv("GEVENT_TRACK_GREENLET_TREE", raising=False)
    gevent.config.track_greenlet_tree = True
    untrack_greenlet_tree()
    greenlet = gevent.spawn(lambda: None)
    assert greenlet.spawning_stack is None and greenlet.spawn_tree_locals is None
    greenlet.join()


def test_an_operators_setting_wins(restored, monkeypatch):
    monkeypatch.setenv("GEVENT_TRACK_GREENLET_TREE", "1")
    gevent.config.track_greenlet_tree = True
    untrack_greenlet_tree()
    greenlet = gevent.spawn(lambda: None)
    assert greenlet.spawning_stack is not None
    greenlet.join()
