"""``SendOrder``: record i writes only after every record before it wrote or finished."""

from __future__ import annotations

import pytest

from streams.brokers.send_order import SendOrder


def test_only_the_first_record_is_free_at_the_start() -> None:
    order = SendOrder(3)
    assert [order.is_free(i) for i in range(3)] == [True, False, False]


def test_releasing_in_order_frees_one_record_at_a_time() -> None:
    order = SendOrder(3)
    assert list(order.release(0)) == [1]
    assert list(order.release(1)) == [2]
    assert list(order.release(2)) == []
    assert all(order.is_free(i) for i in range(3))


def test_a_late_release_frees_every_record_waiting_behind_it() -> None:
    order = SendOrder(5)
    assert list(order.release(2)) == []
    assert list(order.release(3)) == []
    assert not order.is_free(2)
    assert list(order.release(0)) == [1]
    assert list(order.release(1)) == [2, 3, 4]
    assert order.is_free(4)


def test_each_record_is_freed_once_and_a_second_release_changes_nothing() -> None:
    order = SendOrder(3)
    freed = [*order.release(0), *order.release(0), *order.release(2), *order.release(1), *order.release(1)]
    assert freed == [1, 2]


def test_one_record_and_no_records() -> None:
    assert list(SendOrder(1).release(0)) == []
    assert SendOrder(0).count == 0
    with pytest.raises(IndexError):
        SendOrder(2).release(2)
    with pytest.raises(ValueError):
        SendOrder(-1)
