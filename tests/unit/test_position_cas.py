"""Compare-and-set of a group's positions: the fold that orders moves in the positions log (no
I/O), and the embedded broker's CAS raced by several processes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from streams.brokers.embedded import EmbeddedBroker
from streams.brokers.positions import PositionFold, PositionMove, matches

K = ("user-a", "results")


def move(new: dict[int, int], expected: dict[int, int | None] | None = None, mover: str = "") -> PositionMove:
    return PositionMove(K[0], K[1], new, expected, mover)


# --- matches --------------------------------------------------------------------------------------


def test_matches_compares_only_the_expected_partitions() -> None:
    assert matches({0: 5, 1: 9}, {0: 5})
    assert not matches({0: 6}, {0: 5})
    assert matches({}, {0: None})
    assert not matches({0: 0}, {0: None})


# --- PositionFold ---------------------------------------------------------------------------------


def test_of_two_moves_from_one_position_the_first_in_the_log_wins() -> None:
    fold = PositionFold()
    assert fold.apply(move({0: 5}))
    assert fold.apply(move({0: 6}, {0: 5}))
    assert not fold.apply(move({0: 6}, {0: 5}))  # the second GET read 5 too: it lost
    assert fold.get(K) == {0: 6}


def test_a_plain_commit_always_applies() -> None:
    fold = PositionFold()
    fold.apply(move({0: 5}))
    assert fold.apply(move({0: 2}))
    assert fold.get(K) == {0: 2}


def test_a_key_never_seen_takes_its_first_move_then_only_matching_ones() -> None:
    fold = PositionFold()
    assert fold.get(K) is None
    assert fold.apply(move({0: 11}, {0: 10}))  # its position before came from Kafka's offsets
    assert not fold.apply(move({0: 11}, {0: 10}))
    assert fold.apply(move({0: 10}, {0: 11}))  # a rollback
    assert fold.get(K) == {0: 10}


def test_moves_merge_partitions_and_keys_stay_apart() -> None:
    fold = PositionFold()
    fold.apply(move({0: 1}))
    fold.apply(move({1: 4}, {1: None}))
    fold.apply(PositionMove("user-b", "results", {0: 9}))
    assert fold.get(K) == {0: 1, 1: 4}
    assert fold.get(("user-b", "results")) == {0: 9}


def test_an_entry_is_kept_small_and_read_as_a_fresh_dict() -> None:
    """A worker keeps an entry per user whose position ever moved: pairs, not a dict, and one
    string for a topic however many moves named it."""
    fold = PositionFold()
    for user in ("user-a", "user-b"):
        fold.apply(PositionMove.decode(PositionMove(user, "res" + "ults", {0: 7, 1: 8}).encode()))
    (a_key, a_state), (b_key, b_state) = fold._state.items()
    assert a_state == ((0, 7), (1, 8)) and a_key[1] is b_key[1]
    got = fold.get(("user-a", "results"))
    assert got == {0: 7, 1: 8}
    got[0] = 99  # the caller's copy
    assert fold.get(("user-a", "results")) == {0: 7, 1: 8}
    assert fold.apply(PositionMove("user-a", "results", {0: 9}, {0: 7}))  # still compares as before
    assert not fold.apply(PositionMove("user-a", "results", {0: 10}, {0: 7}))
    assert fold.get(("user-a", "results")) == {0: 9, 1: 8}


def test_verdicts_are_kept_only_for_watched_movers() -> None:
    fold = PositionFold()
    fold.watch("me")
    fold.apply(move({0: 1}, mover="other"))
    assert fold.verdict("other") is None
    assert fold.verdict("me") is None  # not folded yet
    fold.apply(move({0: 2}, {0: 0}, mover="me"))
    assert fold.verdict("me") is False
    assert fold.verdict("me") is None  # told once


def test_every_process_folding_the_same_log_reaches_the_same_state_and_verdicts() -> None:
    log = [move({0: 0}), move({0: 1}, {0: 0}), move({0: 1}, {0: 0}), move({0: 0}, {0: 1}), move({0: 1}, {0: 0})]
    runs = []
    for _ in range(3):
        fold = PositionFold()
        runs.append(([fold.apply(m) for m in log], fold.get(K)))
    assert runs[0] == ([True, True, False, True, True], {0: 1})
    assert runs.count(runs[0]) == 3


def test_a_move_survives_its_encoding() -> None:
    m = PositionMove("g/1", "t", {0: 3, 2: 7}, {0: 2, 2: None}, "abc")
    assert PositionMove.decode(m.encode()) == m
    assert PositionMove.decode(PositionMove("g", "t", {1: 1}).encode()).expected is None
    with pytest.raises(ValueError):
        PositionMove.decode(b"[1, 2]")


# --- the embedded broker's CAS --------------------------------------------------------------------


def test_embedded_compare_and_commit(tmp_path: Path) -> None:
    broker = EmbeddedBroker(str(tmp_path))
    try:
        assert broker.compare_and_commit("g", "t", {0: None}, {0: 4})
        assert not broker.compare_and_commit("g", "t", {0: None}, {0: 9})
        assert not broker.compare_and_commit("g", "t", {0: 3}, {0: 9})
        assert broker.compare_and_commit("g", "t", {0: 4}, {0: 5})
        assert broker.committed("g", "t") == {0: 5}
        assert broker.compare_and_commit("g", "t", {0: 5, 1: None}, {0: 6, 1: 2})
        assert broker.committed("g", "t") == {0: 6, 1: 2}
    finally:
        broker.close()


RACER = textwrap.dedent(
    """
    from gevent import monkey; monkey.patch_all()
    import sys, time
    from streams.brokers.embedded import EmbeddedBroker
    data_dir, at, rounds = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    broker = EmbeddedBroker(data_dir)
    broker.committed("g", "t")  # open the file before the race starts
    time.sleep(max(0.0, at - time.time()))
    wins = 0
    for n in range(rounds):
        # every racer reads the position and claims the next record, as a GET does
        while True:
            now = broker.committed("g", "t").get(0, 0)
            if broker.compare_and_commit("g", "t", {0: now if now else None}, {0: now + 1}):
                print(now, flush=True)
                wins += 1
                break
            if now >= 4 * rounds:
                break
        if now >= 4 * rounds:
            break
    broker.close()
    """
)


def test_processes_racing_for_each_position_each_win_it_once(tmp_path: Path) -> None:
    """Four processes claim positions 0.. from one SQLite file at the same moment: every
    position is won exactly once."""
    rounds = 25
    at = time.time() + 3.0
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, str(tmp_path), str(at), str(rounds)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parents[2],
        )
        for _ in range(4)
    ]
    won = []
    for proc in procs:
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0
        won += [int(line) for line in out.split()]
    assert sorted(won) == list(range(len(won)))  # no position claimed twice, none skipped
    assert len(won) == 4 * rounds
