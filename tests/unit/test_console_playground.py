"""The console's Bloblang playground: Benthos's ``blobl server`` answers, and the bounds of a run
(time, sizes, memory, functions that read the host or change per run)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from streams.playground import REFUSED_FUNCTIONS, Limits, PlaygroundRefused, Run, evaluate
from streams.playground_runner import PlaygroundRunner

NO_META: dict = {}


def test_a_result_is_printed_as_blobl_server_prints_it() -> None:
    answer = evaluate(Run('root = this.merge({ "result": "bar" })\n', '{"message":"hi"}', NO_META))
    assert answer == {
        "parse_error": "",
        "mapping_error": "",
        "result": '{\n  "message": "hi",\n  "result": "bar"\n}',
        "metadata": {},
        "deleted": False,
    }
    assert evaluate(Run('root = this.name.uppercase()', '{"name":"alice"}', NO_META))["result"] == "ALICE"


def test_metadata_goes_in_and_comes_out() -> None:
    answer = evaluate(Run('meta tier = "gold"\nroot.user = @user', "{}", {"user": "alice"}))
    assert answer["result"] == '{\n  "user": "alice"\n}'
    assert answer["metadata"] == {"tier": "gold", "user": "alice"}


def test_a_deleted_message_is_said_so() -> None:
    seed_out = 'root = if this.user_id != "alice" {\n  deleted()\n}\n'
    assert evaluate(Run(seed_out, '{"user_id":"bob"}', NO_META))["deleted"] is True
    assert evaluate(Run(seed_out, '{"user_id":"alice"}', NO_META))["deleted"] is False


def test_a_parse_error_is_benthos_text_with_its_caret() -> None:
    answer = evaluate(Run("root = this\nroot.user = this.user.uppercase(", "{}", NO_META))
    assert answer["parse_error"] == (
        "failed to parse mapping: line 2 char 33: required: expected function argument\n"
        "  |\n"
        "2 | root.user = this.user.uppercase(\n"
        "  |                                 ^---\n"
    )
    assert answer["result"] is None


def test_a_mapping_error_is_benthos_text() -> None:
    answer = evaluate(Run("root.user = this.user.uppercase()", '{"name":"alice"}', NO_META))
    assert answer["mapping_error"] == "failed assignment (line 1): expected string value, got null from field `this.user`"


@pytest.mark.parametrize("name", sorted(REFUSED_FUNCTIONS))
def test_host_reading_and_changing_functions_are_refused(name: str) -> None:
    answer = evaluate(Run(f"root.x = {name}()", "{}", NO_META))
    assert answer["parse_error"].startswith(
        f"failed to parse mapping: line 1 char 10: function '{name}' is not allowed here: {REFUSED_FUNCTIONS[name]}\n"
    ), answer


def test_the_clock_refusal_reads_clearly() -> None:
    answer = evaluate(Run("root.at = now()", "{}", NO_META))
    assert answer["parse_error"] == (
        "failed to parse mapping: line 1 char 11: function 'now' is not allowed here: its result changes from run to run\n"
        "  |\n"
        "1 | root.at = now()\n"
        "  |           ^---\n"
    )


def test_imports_are_refused(tmp_path) -> None:
    (tmp_path / "lib.blobl").write_text("map x { root = 1 }")
    answer = evaluate(Run(f'import "{tmp_path}/lib.blobl"\nroot = 1', "{}", NO_META))
    assert answer["parse_error"].startswith("failed to parse mapping: line 1 char 1: "), answer
    assert answer["result"] is None


def test_the_gateways_own_mappings_still_have_their_functions() -> None:
    from streams import bloblang

    assert bloblang.parse("root.id = uuid_v4()").apply(b"{}") is not None


@pytest.mark.parametrize(
    "body, message",
    [
        ({"mapping": "x" * 65537, "input": ""}, "mapping is 65537 bytes, over the playground's limit of 65536 bytes"),
        ({"mapping": "root = this", "input": "y" * 262145}, "input is 262145 bytes, over the playground's limit of 262144 bytes"),
        ({"mapping": "root = this", "metadata": {"k": "z" * 70000}}, "metadata is 70008 bytes, over the playground's limit of 65536 bytes"),
    ],
)
def test_sizes_over_the_limits_are_refused_with_413(body: dict, message: str) -> None:
    with pytest.raises(PlaygroundRefused) as err:
        Run.from_request(body, Limits())
    assert (err.value.http_status, str(err.value)) == (413, message)


@pytest.mark.parametrize(
    "body, message",
    [
        ([], 'the body must be a JSON object {"mapping": ..., "input": ..., "metadata": {...}}'),
        ({"mapping": 1}, "mapping and input must be strings"),
        ({"mapping": "root = 1", "metadata": [1]}, "metadata must be a JSON object"),
    ],
)
def test_malformed_requests_are_refused_with_400(body: object, message: str) -> None:
    with pytest.raises(PlaygroundRefused) as err:
        Run.from_request(body, Limits())
    assert (err.value.http_status, str(err.value)) == (400, message)


def test_a_result_over_the_output_limit_is_an_error() -> None:
    answer = evaluate(Run('root = "x".repeat(2000)', "{}", NO_META), Limits(output_bytes=1000))
    assert answer["result"] is None
    assert answer["mapping_error"] == "the result is over the playground's limit of 1000 bytes"


EXPONENTIAL = 'map f {\n  root = if this == 0 { 1 } else { (this - 1).apply("f") + (this - 1).apply("f") }\n}\nroot = 40.apply("f")'


@pytest.fixture
def runner():
    runner = PlaygroundRunner(Limits(seconds=1.0, memory_bytes=128 * 1024 * 1024))
    yield runner
    runner.close()


def test_a_run_over_the_time_limit_is_stopped_and_the_next_run_works(runner: PlaygroundRunner) -> None:
    assert runner.run(Run("root = 1", "{}", NO_META))["result"] == "1"  # the helper is up: its start is not timed
    answer = runner.run(Run(EXPONENTIAL, "{}", NO_META))
    assert answer["mapping_error"] == "the mapping ran longer than the playground's limit of 1 s and was stopped"
    assert answer["result"] is None
    assert runner.run(Run("root = 2", "{}", NO_META))["result"] == "2"


def test_a_helper_run_answers_like_an_in_process_one(runner: PlaygroundRunner) -> None:
    for run in (
        Run('root = this.merge({"result": "bar"})\nmeta m = "2"', '{"a":1}', {"m": "1"}),
        Run("root = this.a.", "{}", NO_META),
        Run("root = now()", "{}", NO_META),
        Run("root = deleted()", "{}", NO_META),
    ):
        assert runner.run(run) == evaluate(run), run


def test_a_run_over_the_memory_limit_fails_and_the_helper_goes_on(runner: PlaygroundRunner) -> None:
    answer = runner.run(Run('root = "x".repeat(1000000000)', "{}", NO_META))
    assert answer["mapping_error"] == "failed assignment (line 1): out of memory"
    assert runner.run(Run('root = "x".repeat(3)', "{}", NO_META))["result"] == "xxx"


def test_the_helper_is_stopped_and_collected(runner: PlaygroundRunner) -> None:
    before = children()
    runner.run(Run("root = 1", "{}", NO_META))
    assert children() != before
    runner.run(Run(EXPONENTIAL, "{}", NO_META))  # killed at the deadline
    runner.run(Run("root = 1", "{}", NO_META))  # a new helper
    runner.close()
    assert children() == before  # killed and collected: no zombie left


def children() -> set[str]:
    """This process's child pids as the kernel lists them (zombies included)."""
    return set(Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").read_text().split())
