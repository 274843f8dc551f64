"""Gateway.reload on a real gateway (embedded broker): unchanged APIs keep their very instances,
changed ones are replaced and their old instances end, an invalid file keeps the last good
version, and the directory snapshot notices cp and symlink swaps."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from streams.engine.gateway import Gateway
from streams.engine.testing import make_settings
from streams.engine.watch import snapshot


def api_doc(name: str, mapping: str = "root = this") -> str:
    return json.dumps({
        "openapi": "3.0.3",
        "info": {"title": name, "version": "1"},
        "x-tyk-api-gateway": {"info": {"name": name}, "server": {"listenPath": {"value": f"/{name}/"}}},
        "x-tyk-streaming": {"streams": {"s": {
            "input": {"http_server": {"path": "/in"}},
            "pipeline": {"processors": [{"mapping": mapping}]},
            "output": {"http_server": {"path": "/out"}},
        }}},
    })


def gateway_over(tmp_path: Path, files: dict[str, str]) -> tuple[Gateway, Path]:
    defs = tmp_path / "defs"
    defs.mkdir()
    for name, text in files.items():
        (defs / name).write_text(text)
    settings = make_settings(str(tmp_path / "data"), definitions_dir=str(defs), watch_interval=0.0)
    gateway = Gateway.from_settings(settings)
    gateway.start()
    return gateway, defs


def running(gateway: Gateway) -> dict[str, Any]:
    return {api.name: api for api in gateway.apis}


def test_reload_touches_only_what_changed(tmp_path: Path) -> None:
    gateway, defs = gateway_over(tmp_path, {"a.json": api_doc("a"), "b.json": api_doc("b"), "c.json": api_doc("c")})
    try:
        published: list[list[str]] = []
        gateway.route_listeners.append(lambda routes: published.append(sorted({r.path for r in routes})))
        before = running(gateway)
        instance_a = before["a"].instances()[0]
        instance_b = before["b"].instances()[0]
        (defs / "b.json").write_text(api_doc("b", "root = this\nroot.v = 2"))
        (defs / "c.json").unlink()
        (defs / "d.json").write_text(api_doc("d"))
        plan = gateway.reload()
        assert (plan.keep, plan.replace, plan.stop, plan.start) == (
            [str(defs / "a.json")], [str(defs / "b.json")], [str(defs / "c.json")], [str(defs / "d.json")]
        )
        after = running(gateway)
        assert sorted(after) == ["a", "b", "d"]
        assert after["a"] is before["a"] and after["a"].instances() == [instance_a] and not instance_a.shutting_down
        assert after["b"] is not before["b"] and before["b"].retired and instance_b.shutting_down
        assert before["c"].retired
        assert published and "/d/in" in published[-1] and "/c/in" not in published[-1]
        # Nothing changed: nothing published, nothing touched.
        count = len(published)
        assert not gateway.reload().changes and len(published) == count
    finally:
        gateway.drain(5.0)


def test_an_invalid_file_keeps_the_last_good_version(tmp_path: Path) -> None:
    gateway, defs = gateway_over(tmp_path, {"a.json": api_doc("a")})
    try:
        api = running(gateway)["a"]
        (defs / "a.json").write_text(api_doc("a").replace('"path": "/in"', '"pathx": "/in"'))
        plan = gateway.reload()
        assert plan.kept_broken == [str(defs / "a.json")]
        assert running(gateway)["a"] is api and not api.retired
        assert any("pathx" in str(p) for p in gateway.problems)
        (defs / "a.json").write_text(api_doc("a", "root = this\nroot.fixed = true"))
        assert gateway.reload().replace == [str(defs / "a.json")]
        assert gateway.problems == []
    finally:
        gateway.drain(5.0)


def test_snapshot_follows_links_and_skips_hidden_names(tmp_path: Path) -> None:
    (tmp_path / "..v1").mkdir()
    (tmp_path / "..v1" / "x.yaml").write_text("a: 1\n")
    os.symlink("..v1", tmp_path / "..data")
    os.symlink("..data/x.yaml", tmp_path / "x.yaml")
    (tmp_path / ".listen-paths.json").write_text("{}")
    (tmp_path / "notes.txt").write_text("")
    first = snapshot(str(tmp_path))
    assert first is not None and [entry[0] for entry in first] == ["x.yaml"]
    (tmp_path / "..v2").mkdir()
    (tmp_path / "..v2" / "x.yaml").write_text("a: 2\n")
    os.symlink("..v2", tmp_path / "..tmp")
    os.replace(tmp_path / "..tmp", tmp_path / "..data")
    assert snapshot(str(tmp_path)) != first
    assert snapshot(str(tmp_path / "missing")) is None


def test_a_change_onto_a_taken_listen_path_keeps_the_old_version(tmp_path: Path) -> None:
    gateway, defs = gateway_over(tmp_path, {"a.json": api_doc("a"), "b.json": api_doc("b")})
    try:
        old_b = running(gateway)["b"]
        (defs / "b.json").write_text(api_doc("b").replace('"/b/"', '"/a/"'))
        os.utime(defs / "b.json", (1, 1))  # older than a.json, yet a serves /a/ already
        plan = gateway.reload()
        assert running(gateway)["b"] is old_b and not old_b.retired
        assert plan.kept_broken == [str(defs / "b.json")] and plan.replace == []
        assert any("b.json" in p.file and "/a/" in p.message for p in gateway.problems), gateway.problems
    finally:
        gateway.drain(5.0)
