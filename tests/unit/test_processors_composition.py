"""Processors that run other processors, as Bento documents them: for_each, parallel, while,
retry, group_by, group_by_value and resource."""

from __future__ import annotations

import json
from typing import Any

import pytest

from streams.contracts import ConfigError
from streams.processors.backoff import Backoff
from tests.unit.processor_harness import Harness, contents, errors, jmsgs, msgs


@pytest.fixture
def h(tmp_path: Any) -> Harness:
    return Harness(tmp_path)


def test_for_each_runs_batch_wide_processors_on_one_message_at_a_time(h: Harness) -> None:
    out = h.run([{"for_each": [{"archive": {"format": "lines"}}]}], msgs("a", "b"))
    assert contents(out) == [b"a\n", b"b\n"]  # an archive per message, not one of the batch


def test_parallel_keeps_the_batch_order(h: Harness) -> None:
    procs = [{"parallel": {"cap": 2, "processors": [{"sleep": {"duration": '${! json("wait") }'}}, {"mutation": "root.done = true"}]}}]
    out = h.run(procs, jmsgs({"wait": "30ms", "n": 0}, {"wait": "0s", "n": 1}, {"wait": "10ms", "n": 2}))
    assert [json.loads(m.content)["n"] for m in out] == [0, 1, 2]
    assert all(json.loads(m.content)["done"] for m in out)


def test_while_loops_until_the_check_fails(h: Harness) -> None:
    procs = [{"while": {"check": "this.count < 5", "processors": [{"mutation": "root.count = this.count + 1"}]}}]
    assert json.loads(h.run(procs, jmsgs({"count": 0}))[0].content) == {"count": 5}
    assert json.loads(h.run(procs, jmsgs({"count": 7}))[0].content) == {"count": 7}  # never ran


def test_while_at_least_once_and_max_loops(h: Harness) -> None:
    once = [{"while": {"at_least_once": True, "check": "false", "processors": [{"mutation": "root.n = this.n + 1"}]}}]
    assert json.loads(h.run(once, jmsgs({"n": 0}))[0].content) == {"n": 1}
    capped = [{"while": {"max_loops": 3, "check": "true", "processors": [{"mutation": "root.n = this.n + 1"}]}}]
    assert json.loads(h.run(capped, jmsgs({"n": 0}))[0].content) == {"n": 3}


def test_while_checks_the_first_message_and_a_failing_check_ends_it(h: Harness) -> None:
    procs = [{"while": {"check": "this.n < 2", "processors": [{"mutation": "root.n = this.n + 1"}]}}]
    out = h.run(procs, jmsgs({"n": 0}, {"n": 10}))
    assert [json.loads(c)["n"] for c in contents(out)] == [2, 12]
    failing = [{"while": {"check": "this.missing.number() < 2", "processors": [{"mutation": "root.n = 1"}]}}]
    assert json.loads(h.run(failing, jmsgs({"n": 0}))[0].content) == {"n": 0}


def test_while_needs_a_check(h: Harness) -> None:
    with pytest.raises(ConfigError, match="a check query is required"):
        h.build([{"while": {"processors": [{"noop": {}}]}}])


def test_retry_tries_the_original_message_again_until_it_succeeds(tmp_path: Any) -> None:
    # The first attempt fails (its cache get finds nothing) but stores the key, so the second
    # succeeds; it starts from the message as it entered (the first attempt's mutation is gone).
    h = Harness(tmp_path, cache_resources=[{"label": "c", "memory": {}}])
    procs = [
        {
            "retry": {
                "backoff": {"initial_interval": "1ms", "max_interval": "2ms"},
                "processors": [
                    {"mutation": "root.touched = (this.touched | 0) + 1"},
                    {"branch": {"processors": [{"cache": {"resource": "c", "operator": "get", "key": "seen"}}]}},
                    {"cache": {"resource": "c", "operator": "set", "key": "seen", "value": "1"}},
                ],
            }
        }
    ]
    [out] = h.run(procs, jmsgs({"id": 1}))
    assert out.error is None
    assert json.loads(out.content) == {"id": 1, "touched": 1}
    assert h.res.cache("c").get("seen") == b"1"
    # Without the retry the same processors leave the message flagged.
    h2 = Harness(tmp_path / "plain", cache_resources=[{"label": "c", "memory": {}}])
    [failed] = h2.run(procs[0]["retry"]["processors"], jmsgs({"id": 1}))  # type: ignore[index]
    assert failed.error == "operator failed for key 'seen': key does not exist"


def test_retry_gives_up_after_max_elapsed_time_with_the_error(h: Harness) -> None:
    procs = [
        {
            "retry": {
                "backoff": {"initial_interval": "1ms", "max_interval": "5ms", "max_elapsed_time": "50ms"},
                "processors": [{"mutation": 'root = throw("always")'}],
            }
        }
    ]
    batch = msgs("a", "b")
    batch[0].error = "from before"  # cleared on entry, so the retry runs
    out = h.run(procs, batch)
    assert contents(out) == [b"a", b"b"]
    assert all(e and "always" in e for e in errors(out))


COUNT_CALLS = 'meta calls = counter()\nroot = content().string() + " updated"'
FAIL_FIRST_CALLS = 'root = if metadata("calls") <= %d { throw("nope") }'
"""Processors whose first ``%d`` calls fail; ``calls`` metadata counts the calls so far."""


def _retry(fail_first: int, **conf: Any) -> list[Any]:
    backoff = {"initial_interval": "1ms", "max_interval": "2ms"}
    procs = [{"mutation": COUNT_CALLS}, {"mutation": FAIL_FIRST_CALLS % fail_first}]
    return [{"retry": {"backoff": backoff, "processors": procs, **conf}}]


def test_retry_that_succeeds_first_time_counts_no_retries(h: Harness) -> None:
    out = h.run(_retry(0), msgs("hello world a", "hello world b", "hello world c"))
    assert contents(out) == [b"hello world a updated", b"hello world b updated", b"hello world c updated"]
    assert [(m.metadata["retry_count"], m.metadata["backoff_duration"]) for m in out] == [(0, 0)] * 3


def test_retry_after_one_failure_counts_one_retry_and_its_wait(h: Harness) -> None:
    [out] = h.run(_retry(1), msgs("hello world a"))
    assert (out.content, out.error, out.metadata["calls"]) == (b"hello world a updated", None, 2)
    assert out.metadata["retry_count"] == 1
    assert 500_000 <= out.metadata["backoff_duration"] <= 1_500_000  # the 1ms initial wait, ±50%


def test_retry_max_retries_stops_after_that_many_failed_attempts(h: Harness) -> None:
    [out] = h.run(_retry(1000, max_retries=2), msgs("hello world a"))
    assert out.content == b"hello world a updated"
    assert out.error and "nope" in out.error
    assert (out.metadata["calls"], out.metadata["retry_count"]) == (2, 2)
    assert out.metadata["backoff_duration"] > 0  # one wait, between the two attempts


def test_retry_max_retries_of_one_makes_a_single_attempt(h: Harness) -> None:
    [out] = h.run(_retry(1000, max_retries=1), msgs("a"))
    assert out.error and "nope" in out.error
    assert (out.metadata["calls"], out.metadata["retry_count"], out.metadata["backoff_duration"]) == (1, 1, 0)


def test_retry_max_retries_does_not_outlast_max_elapsed_time(h: Harness) -> None:
    procs = _retry(1000, max_retries=1_000_000)
    procs[0]["retry"]["backoff"]["max_elapsed_time"] = "20ms"
    [out] = h.run(procs, msgs("a"))
    assert out.error and "nope" in out.error
    assert 1 < out.metadata["retry_count"] < 1_000_000
    assert out.metadata["retry_count"] == out.metadata["calls"]


def test_retry_metadata_reads_as_bento_prints_it(h: Harness) -> None:
    procs = [*_retry(1, max_retries=3), {"mutation": 'root = "%v %v".format(meta("retry_count"), metadata("retry_count") + 1)'}]
    [out] = h.run(procs, msgs("a"))
    assert out.content == b"1 2"


def test_retry_needs_processors(h: Harness) -> None:
    with pytest.raises(ConfigError, match="at least one child processor must be specified"):
        h.build([{"retry": {"processors": []}}])


def test_backoff_grows_by_one_and_a_half_up_to_the_max_and_stops_after_elapsed() -> None:
    now = [0.0]
    backoff = Backoff(1.0, 3.0, 10.0, clock=lambda: now[0], rand=lambda: 0.5)  # no jitter at 0.5
    waits = [backoff.next() for _ in range(4)]
    assert waits == [1.0, 1.5, 2.25, 3.0]
    now[0] = 9.0
    assert backoff.next() is None  # 9 + 3 would pass the 10 s budget
    forever = Backoff(1.0, 2.0, 0.0, clock=lambda: 1e9, rand=lambda: 0.0)
    assert forever.next() == 0.5  # -50% jitter, and no budget


def test_group_by_runs_each_groups_processors_and_leaves_the_rest(h: Harness) -> None:
    procs = [
        {
            "group_by": [
                {"check": 'content().contains("this is a foo")', "processors": [{"archive": {"format": "lines"}}]},
                {"check": 'content().contains("bar")', "processors": [{"mutation": 'root = content().uppercase()'}]},
            ]
        }
    ]
    batch = msgs("this is a foo 1", "a bar", "neither", "this is a foo 2", "bar again")
    out = h.batches(procs, batch)
    assert [contents(b) for b in out] == [
        [b"this is a foo 1\nthis is a foo 2\n"],
        [b"A BAR", b"BAR AGAIN"],
        [b"neither"],
    ]


def test_group_by_counts_a_failing_check_as_false(h: Harness) -> None:
    procs = [{"group_by": [{"check": "this.n > 1", "processors": [{"mutation": "root.big = true"}]}]}]
    out = h.batches(procs, msgs('{"n":5}', "not json"))
    assert [contents(b) for b in out] == [[b'{"big":true,"n":5}'], [b"not json"]]


def test_group_by_value_batches_by_value_in_first_seen_order(h: Harness) -> None:
    batch = jmsgs({"k": "b", "n": 0}, {"k": "a", "n": 1}, {"k": "b", "n": 2}, {"k": "c", "n": 3})
    out = h.batches([{"group_by_value": {"value": '${! json("k") }'}}, {"archive": {"format": "json_array"}}], batch)
    assert [[x["n"] for x in json.loads(b[0].content)] for b in out] == [[0, 2], [1], [3]]


def test_resource_runs_a_processor_resource(tmp_path: Any) -> None:
    h = Harness(
        tmp_path,
        processor_resources=[
            {"label": "outer", "for_each": [{"resource": "inner"}]},  # names one listed after it
            {"label": "inner", "mutation": 'root = content() + "!"'},
        ],
    )
    assert contents(h.run([{"resource": "outer"}, {"resource": "inner"}], msgs("a"))) == [b"a!!"]


def test_resource_refuses_an_undeclared_label(h: Harness) -> None:
    with pytest.raises(ConfigError, match="processor resource 'nope' was not found"):
        h.build([{"resource": "nope"}])


def test_an_endless_while_and_retry_stop_once_the_pass_is_abandoned(h: Harness) -> None:
    import gevent

    from streams.contracts import Transaction
    from streams.engine.pipeline import run_batches

    endless = h.build([{"while": {"check": "true", "processors": [{"mutation": "root.n = this.n + 1"}]}}])
    forever = h.build([{"retry": {"backoff": {"initial_interval": "1ms", "max_interval": "1ms", "max_elapsed_time": "0s"}, "processors": [{"mutation": 'root = throw("no")'}]}}])
    for procs in (endless, forever):
        txn = Transaction()
        runner = gevent.spawn(run_batches, procs, jmsgs({"n": 0}), txn)
        gevent.sleep(0.05)
        assert not runner.ready()  # still looping, and other greenlets (this one) still run
        txn.abandon()
        [[out]] = runner.get(timeout=10)
        assert json.loads(out.content)["n"] > 1 if procs is endless else out.error
