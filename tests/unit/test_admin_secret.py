"""The management secret a gateway makes for itself: one per data directory, whichever process
asks first, private to its owner, and the console URL that carries it."""

from __future__ import annotations

import multiprocessing
import stat
from pathlib import Path

from streams.admin_secret import SECRET_FILE, console_url, ensure_secret


def test_the_first_call_makes_it_and_later_ones_read_it(tmp_path: Path) -> None:
    first = ensure_secret(str(tmp_path / "data"))
    again = ensure_secret(str(tmp_path / "data"))
    assert first.created and not again.created
    assert first.value == again.value and len(first.value) >= 40
    path = tmp_path / "data" / SECRET_FILE
    assert path.read_text().strip() == first.value
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in (tmp_path / "data").iterdir()] == [SECRET_FILE]  # no temporary file left


def test_another_data_dir_gets_another_secret(tmp_path: Path) -> None:
    assert ensure_secret(str(tmp_path / "a")).value != ensure_secret(str(tmp_path / "b")).value


def _ask(data_dir: str, queue: multiprocessing.Queue) -> None:
    made = ensure_secret(data_dir)
    queue.put((made.value, made.created))


def test_processes_racing_at_start_agree_on_one_secret(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_ask, args=(str(tmp_path), queue)) for _ in range(6)]
    for p in procs:
        p.start()
    answers = [queue.get(timeout=30) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    assert len({value for value, _ in answers}) == 1
    assert sum(created for _, created in answers) == 1


def test_an_unwritable_data_dir_is_an_os_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    try:
        ensure_secret(str(blocker / "data"))
    except OSError:
        pass
    else:
        raise AssertionError("no OSError for a data dir below a file")


def test_console_urls() -> None:
    assert console_url("0.0.0.0:8282", "s3") == "http://127.0.0.1:8282/tyk/console/#secret=s3"
    assert console_url("127.0.0.1:9000") == "http://127.0.0.1:9000/tyk/console/"
    assert console_url("[::]:8282", "x") == "http://127.0.0.1:8282/tyk/console/#secret=x"
    assert console_url("[::1]:8282") == "http://[::1]:8282/tyk/console/"
    assert console_url("gateway.local:80") == "http://gateway.local:80/tyk/console/"
    assert console_url("unix:/run/streams.sock", "x") == "/tyk/console/#secret=x"
