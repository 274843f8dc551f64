"""The hub's bookkeeping alone (``streams.engine.ledger``): no broker, no gevent, no sockets."""

from __future__ import annotations

from streams.engine.ledger import BroadcastLedger, Claimed, ClientLedger, GetClaim, Move

T0 = ("t", 0)
T1 = ("t", 1)

# --- ClientLedger ------------------------------------------------------------------------------


def test_a_client_with_nothing_queued_has_acknowledged_up_to_the_feed_position() -> None:
    client = ClientLedger()
    assert client.oldest_unacked(T0) is None
    assert client.low(T0, 7) == 7
    assert client.low(T0, None) is None


def test_queued_offsets_hold_the_client_low_until_acknowledged_in_order() -> None:
    client = ClientLedger()
    for offset in (3, 4, 6):
        client.queued(T0, offset)
    assert client.low(T0, 9) == 3
    client.acked(T0, 3)
    assert client.low(T0, 9) == 4
    client.acked(T0, 6)  # acknowledging a later one settles the earlier ones too
    assert client.oldest_unacked(T0) is None
    assert client.low(T0, 9) == 9


def test_acknowledging_an_offset_not_queued_settles_only_those_below() -> None:
    client = ClientLedger()
    client.queued(T0, 5)
    client.queued(T0, 8)
    client.acked(T0, 6)
    assert client.oldest_unacked(T0) == 8


def test_partitions_are_kept_apart() -> None:
    client = ClientLedger()
    client.queued(T0, 2)
    client.queued(T1, 9)
    client.acked(T1, 9)
    assert client.oldest_unacked(T0) == 2
    assert client.oldest_unacked(T1) is None


def test_a_client_wants_only_records_at_or_past_its_skip_below_position() -> None:
    client = ClientLedger()
    assert client.wants(T0, 0)
    client.merged({T0: 5})
    assert not client.wants(T0, 4)
    assert client.wants(T0, 5)
    assert client.wants(T1, 0)


def test_a_catching_up_client_reports_how_far_its_private_reader_read() -> None:
    client = ClientLedger()
    client.catching_up({T0: 4})
    assert client.low(T0, 10) == 4  # the feed's position is not its own
    assert client.low(T1, 10) is None  # nothing read there: no say
    client.read(T0, 4)
    client.read(T0, 5)
    assert client.low(T0, 10) == 6
    client.queued(T0, 7)
    client.read(T0, 7)
    assert client.low(T0, 10) == 7  # queued, unacknowledged
    client.acked(T0, 7)
    assert client.low(T0, 10) == 8


def test_a_merged_client_follows_the_feed_but_never_below_its_skip_position() -> None:
    client = ClientLedger()
    client.catching_up({T0: 0})
    client.read(T0, 11)
    client.merged({T0: 12})
    assert client.reading is None
    assert client.low(T0, 10) == 12  # the feed is still behind what it read privately
    assert client.low(T0, 15) == 15


def test_reading_is_ignored_once_not_catching_up() -> None:
    client = ClientLedger()
    client.read(T0, 3)
    assert client.reading is None


# --- BroadcastLedger ---------------------------------------------------------------------------


def test_the_feed_offers_records_from_its_start_on_and_moves_past_each() -> None:
    ledger = BroadcastLedger()
    assert not ledger.started
    ledger.start({T0: 5})
    assert ledger.started
    assert not ledger.wants(T0, 4)
    assert ledger.wants(T0, 5)
    ledger.offered_through(T0, 5)
    assert ledger.offered == {T0: 6}
    ledger.stop()
    assert not ledger.started


def test_commit_plan_is_the_lowest_position_every_client_acknowledged() -> None:
    ledger = BroadcastLedger()
    ledger.start({T0: 10, T1: 3})
    ahead, behind = ClientLedger(), ClientLedger()
    behind.queued(T0, 7)
    assert ledger.plan([ahead, behind]) == {"t": {0: 7, 1: 3}}
    behind.acked(T0, 7)
    assert ledger.plan([ahead, behind]) == {"t": {0: 10, 1: 3}}


def test_commit_plan_without_clients_keeps_the_feed_position() -> None:
    ledger = BroadcastLedger()
    ledger.start({T0: 4})
    assert ledger.plan([]) == {}


def test_commit_plan_never_goes_below_what_was_committed() -> None:
    ledger = BroadcastLedger()
    ledger.start({T0: 12})
    ledger.committed("t", {0: 12})
    late = ClientLedger()
    late.queued(T0, 10)  # a leaving client's older position, planned after the newer commit
    assert ledger.plan([late]) == {"t": {0: 12}}


def test_forward_keeps_only_offsets_past_the_groups_commit() -> None:
    ledger = BroadcastLedger()
    assert ledger.forward("t", {0: 5, 1: 3, 2: 1}, {0: 5, 1: 2}) == {1: 3, 2: 1}


def test_a_catching_up_client_holds_the_commit_at_what_it_read() -> None:
    ledger = BroadcastLedger()
    ledger.start({T0: 20})
    live, resuming = ClientLedger(), ClientLedger()
    resuming.catching_up({T0: 8})
    resuming.read(T0, 8)
    assert ledger.plan([live, resuming]) == {"t": {0: 9}}


def test_a_leaving_catching_up_client_plans_its_own_position_before_the_feed_started() -> None:
    ledger = BroadcastLedger()
    resuming = ClientLedger()
    resuming.catching_up({T0: 3, T1: 0})
    for offset in (3, 4, 5):
        resuming.queued(T0, offset)
        resuming.read(T0, offset)
    resuming.acked(T0, 5)
    assert ledger.plan([resuming]) == {"t": {0: 6, 1: 0}}


def test_acknowledgements_make_a_commit_due_until_planned() -> None:
    ledger = BroadcastLedger()
    assert not ledger.dirty
    ledger.acked()
    assert ledger.dirty
    ledger.plan([])
    assert not ledger.dirty


def test_a_catching_up_client_merges_only_at_or_past_the_feed_everywhere() -> None:
    ledger = BroadcastLedger()
    assert not ledger.can_merge({T0: 100})  # the feed has not started: its position is unknown
    ledger.start({T0: 10, T1: 4})
    assert not ledger.can_merge({T0: 9, T1: 4})
    assert not ledger.can_merge({T0: 12})  # partition 1 not read yet
    assert ledger.can_merge({T0: 10, T1: 4})
    assert ledger.can_merge({T0: 15, T1: 6})


# --- GetClaim / Claimed ------------------------------------------------------------------------


def test_claiming_commits_past_the_record_if_the_position_is_still_where_the_get_read_it() -> None:
    get = GetClaim("t", {0: 4})
    move, claimed = get.claim(0, 4)
    assert move == Move({0: 4}, {0: 5})
    assert claimed == Claimed("t", 0, 4)


def test_claiming_on_a_never_committed_partition_expects_it_still_uncommitted() -> None:
    get = GetClaim("t", {0: 0}, committed={})
    move, _ = get.claim(0, 0)
    assert move == Move({0: None}, {0: 1})


def test_claiming_also_commits_past_deleted_records_of_other_partitions() -> None:
    get = GetClaim("t", {0: 4, 1: 7, 2: 2})
    get.skip(1, 7)
    get.skip(1, 8)
    get.skip(0, 4)
    move, _ = get.claim(0, 6)
    assert move.new == {0: 7, 1: 9}  # partition 0: past the claimed record covers the deleted one
    assert move.expected == {0: 4, 1: 7}  # and only if neither moved meanwhile


def test_claiming_ignores_deleted_records_below_the_start() -> None:
    get = GetClaim("t", {1: 9})
    get.skip(1, 3)  # a shared reader started lower
    move, _ = get.claim(0, 0)
    assert move == Move({0: None}, {0: 1})


def test_a_get_without_a_record_moves_past_deleted_ones_per_partition() -> None:
    get = GetClaim("t", {0: 4, 1: 7}, committed={0: 4})
    get.skip(0, 4)
    get.skip(0, 5)
    get.skip(1, 7)
    assert get.skipped_moves() == [Move({0: 4}, {0: 6}), Move({1: None}, {1: 8})]


def test_a_get_that_deleted_nothing_moves_nothing() -> None:
    assert GetClaim("t", {0: 4}).skipped_moves() == []


def test_rollback_moves_back_only_from_just_past_the_record() -> None:
    assert Claimed("t", 0, 4).rollback() == Move({0: 5}, {0: 4})
