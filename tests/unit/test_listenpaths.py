"""Listen path ownership: the bookkeeping alone, then through the gateway that uses it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from streams.engine.gateway import Gateway
from streams.engine.owners import LISTEN_PATH_OWNERS, SHARED_FILE
from streams.engine.testing import make_settings
from streams.listenpaths import ListenPaths, ListenPathTaken, claim_order, duplicate_routes, overlap

SEED = Path(__file__).resolve().parents[2] / "deploy" / "apis" / "streams-demo.yaml"


def test_overlap_is_equal_or_nested_not_a_shared_prefix_of_names() -> None:
    assert overlap("/a/", "/a/") and overlap("/a/", "/a/b/") and overlap("/a/b/", "/a/")
    assert overlap("/", "/anything/")
    assert not overlap("/a/", "/ab/") and not overlap("/a/b/", "/a/c/")


def test_claims_name_both_files_and_release_frees_the_path() -> None:
    table = ListenPaths()
    table.claim("one.yaml", "/a/", "one")
    with pytest.raises(ListenPathTaken) as err:
        table.claim("two.yaml", "/a/", "two")
    assert err.value.http_status == 400
    assert str(err.value) == "listen path /a/ is already used by one.yaml; two.yaml is not served"
    with pytest.raises(ListenPathTaken, match="API name 'one' is already used by one.yaml"):
        table.claim("three.yaml", "/c/", "one")
    table.claim("one.yaml", "/a/", "one")  # the owner again: no conflict with itself
    table.release("one.yaml")
    table.claim("two.yaml", "/a/", "two")
    assert table.owner_of("/a/") == "two.yaml"


class _Def:
    def __init__(self, source: str, listen_path: str = "/a/") -> None:
        self.source, self.listen_path, self.name = source, listen_path, source


def test_claim_order_puts_stored_owners_first_then_age_then_name() -> None:
    defs = [_Def("c"), _Def("b"), _Def("a"), _Def("owner")]
    mtimes = {"a": 5.0, "b": 1.0, "c": 1.0, "owner": 9.0}
    assert [d.source for d in claim_order(defs, {"/a/": "owner"}.get, mtimes)] == ["owner", "b", "c", "a"]
    assert [d.source for d in claim_order(defs, {}.get, mtimes)] == ["b", "c", "a", "owner"]


def test_duplicate_routes() -> None:
    assert duplicate_routes(["/a", "/b", "/a", "/a"]) == ["/a"]
    assert duplicate_routes(["/a", "/b"]) == []


def _defs(tmp_path: Path, *files: tuple[str, str, str, float]) -> Path:
    import os

    defs = tmp_path / "apis"
    defs.mkdir(exist_ok=True)
    for file, name, listen_path, mtime in files:
        text = SEED.read_text().replace("name: stream-demo", f"name: {name}")
        text = text.replace("value: /stream-demo/", f"value: {listen_path}")
        (defs / file).write_text(text)
        os.utime(defs / file, (mtime, mtime))
    return defs


def test_gateway_keeps_the_stored_owner_across_loads(tmp_path: Path) -> None:
    defs = _defs(tmp_path, ("serving.yaml", "serving", "/x/", 2_000.0))
    settings = make_settings(str(tmp_path / "data"), definitions_dir=str(defs))
    first = Gateway.from_settings(settings)
    assert [a.name for a in first.apis] == ["serving"]
    assert first.services.host.cache_get(LISTEN_PATH_OWNERS, "/x/") == b"serving.yaml"
    _defs(tmp_path, ("newcomer.yaml", "newcomer", "/x/", 1_000.0))  # older file, same path
    second = Gateway.from_settings(settings)
    assert [a.name for a in second.apis] == ["serving"]
    assert len(second.problems) == 1 and "newcomer.yaml is not served" in second.problems[0].message
    # Another host sharing the directory reads the owners file beside the definitions.
    assert json.loads((defs / SHARED_FILE).read_text()) == {"/x/": "serving.yaml"}
    other = Gateway.from_settings(make_settings(str(tmp_path / "other"), definitions_dir=str(defs)))
    assert [a.name for a in other.apis] == ["serving"]
    # Without that file (a read-only directory) this host's state file still decides ...
    (defs / SHARED_FILE).unlink()
    (defs / "serving.yaml").touch()  # the owner is now the newer file too
    again = Gateway.from_settings(settings)
    assert [a.name for a in again.apis] == ["serving"]
    # ... and with neither, the older file wins.
    (defs / SHARED_FILE).unlink()
    fresh = Gateway.from_settings(make_settings(str(tmp_path / "fresh"), definitions_dir=str(defs)))
    assert [a.name for a in fresh.apis] == ["newcomer"]


def test_add_definition_refuses_a_colliding_api_with_a_400_error(tmp_path: Path) -> None:
    from streams.definitions import load_file

    defs = _defs(tmp_path, ("one.yaml", "one", "/x/", 1.0), ("two.yaml", "two", "/x/y/", 1.0))
    gateway = Gateway(make_settings(str(tmp_path / "data"), definitions_dir=str(defs)))
    one, _ = load_file(str(defs / "one.yaml"))
    two, _ = load_file(str(defs / "two.yaml"))
    assert one is not None and two is not None
    gateway.add_definition(one)
    with pytest.raises(ListenPathTaken) as err:
        gateway.add_definition(two)
    assert err.value.http_status == 400
    assert "one.yaml" in str(err.value) and "two.yaml" in str(err.value)
    assert [a.name for a in gateway.apis] == ["one"]


def test_two_streams_of_one_api_on_one_path_are_served_with_a_warning(tmp_path: Path, caplog) -> None:
    # Decision: not refused, since Bento's default ws_path (/post/ws) is shared by every
    # http_server input that sets none, and such definitions serve today.
    gateway = Gateway(make_settings(str(tmp_path / "data")))
    stream = {"input": {"http_server": {"path": "/p"}}, "output": {"sync_response": {}}}
    with caplog.at_level("WARNING", logger="streams.engine"):
        api = gateway.add_api("dup", "/dup/", {"a": stream, "b": dict(stream)})
    assert gateway.apis == [api]
    warned = [r.getMessage() for r in caplog.records if "more than one stream" in r.getMessage()]
    assert warned == ["more than one stream of the API serves /dup/p, /dup/post/ws"]
