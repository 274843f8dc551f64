"""Go's ``sort.Slice`` port (streams/bloblang/gosort.py): the order it leaves equal keys in and
the comparisons it makes are Go's, not merely a correct sort.

The expected permutations below were produced by Go 1.26's ``sort.Slice`` (through Benthos's
``sort_by`` in tests/bloblang_ref); the differential test checks many more against the live
reference."""

from __future__ import annotations

import random
from typing import Any

import pytest

from streams.bloblang.gosort import _Pdq, go_sort_slice


def _ids_sorted_by(keys: list[int]) -> list[int]:
    items = [(k, i) for i, k in enumerate(keys)]
    go_sort_slice(items, lambda v, i, j: v[i][0] < v[j][0])
    return [i for _, i in items]


# (name, keys by element index, Go's resulting order of element indexes)
GO_ORDERS = [
    (
        "20 elements, 3 keys: one partition then insertion sorts",
        [i % 3 for i in range(20)],
        [9, 18, 15, 3, 12, 0, 6, 10, 7, 4, 13, 16, 1, 19, 8, 5, 11, 14, 2, 17],
    ),
    (
        "60 elements, 4 keys: Tukey's ninther and partitions of equal keys",
        [i % 4 for i in range(60)],
        [0, 20, 28, 56, 4, 36, 24, 52, 8, 16, 44, 48, 12, 40, 32, 37, 25, 17, 49, 41, 1, 13, 21, 45, 53, 9, 5, 33,
         57, 29, 14, 46, 30, 58, 34, 2, 26, 54, 38, 6, 22, 50, 42, 10, 18, 15, 7, 47, 11, 43, 19, 51, 31, 39, 23, 55,
         3, 35, 27, 59],
    ),
    (
        "60 elements in descending runs: the range is reversed first",
        [-(i // 6) for i in range(60)],
        [54, 59, 58, 57, 56, 55, 48, 53, 52, 51, 50, 49, 45, 47, 46, 44, 43, 42, 36, 41, 40, 39, 38, 37, 31, 30, 32,
         33, 34, 35, 24, 26, 27, 28, 29, 25, 19, 18, 22, 21, 20, 23, 13, 16, 15, 14, 17, 12, 6, 11, 10, 9, 8, 7, 0,
         5, 4, 3, 2, 1],
    ),
]


@pytest.mark.parametrize(("keys", "expected"), [c[1:] for c in GO_ORDERS], ids=[c[0] for c in GO_ORDERS])
def test_equal_keys_end_in_gos_order(keys: list[int], expected: list[int]) -> None:
    assert _ids_sorted_by(keys) == expected


def test_small_arrays_compare_like_gos_insertion_sort() -> None:
    calls: list[tuple[Any, Any]] = []

    def less(vals: list[Any], i: int, j: int) -> bool:
        calls.append((vals[i], vals[j]))
        return bool(vals[i] < vals[j])

    assert go_sort_slice([3, 1, 2], less) == [1, 2, 3]
    assert calls == [(1, 3), (2, 3), (2, 1)]  # less(1, 0), then less(2, 1) and less(1, 0) after the swap


def test_up_to_twelve_elements_keep_equal_keys_in_input_order() -> None:
    """Insertion sort is stable: below 13 elements Go's order of equal keys is the input's."""
    keys = [1, 0, 1, 0, 2, 1, 0, 2, 1, 0, 1, 0]
    assert _ids_sorted_by(keys) == sorted(range(12), key=lambda i: keys[i])


def test_above_twelve_elements_equal_keys_are_not_kept_in_input_order() -> None:
    keys = [i % 3 for i in range(20)]
    assert _ids_sorted_by(keys) != sorted(range(20), key=lambda i: keys[i])


@pytest.mark.parametrize("size", [0, 1, 2, 13, 49, 50, 51, 200, 2000])
def test_any_input_ends_sorted_and_is_a_permutation(size: int) -> None:
    rnd = random.Random(size)
    for distinct in (1, 3, size or 1):
        values = [rnd.randrange(distinct) for _ in range(size)]
        for shaped in (values, sorted(values), sorted(values, reverse=True)):
            out = go_sort_slice(list(shaped), lambda v, i, j: v[i] < v[j])
            assert out == sorted(shaped)


def test_heap_sort_fallback_sorts() -> None:
    """Reached when the recursion limit is spent; exercised directly, as crafted inputs that
    defeat the pivot choice are long."""
    values = [5, 3, 9, 1, 1, 7, 2, 8, 0, 6, 4, 3, 9, 2]
    sorter = _Pdq(values, lambda v, i, j: v[i] < v[j])
    sorter.heap_sort(2, 12)
    assert values[:2] == [5, 3] and values[2:12] == sorted([9, 1, 1, 7, 2, 8, 0, 6, 4, 3]) and values[12:] == [9, 2]


def test_an_error_in_less_stops_the_sort() -> None:
    seen = []

    def less(vals: list[Any], i: int, j: int) -> bool:
        seen.append((i, j))
        if vals[i] == "x" or vals[j] == "x":
            raise ValueError(f"element {i}")
        return bool(vals[i] < vals[j])

    with pytest.raises(ValueError, match="element 1"):
        go_sort_slice([2, "x", 1], less)
    assert seen == [(1, 0)]
