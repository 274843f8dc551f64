"""``python -m streams lint``, run as a real subprocess: exit codes and the exact lines a user
reads (``file:line:column: config.path: problem``), for the seed and for each kind of mistake."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SEED = REPO / "deploy" / "apis" / "streams-demo.yaml"


def run_lint(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("STREAMS_ALLOW_IMPURE_BLOBLANG", None)
    return subprocess.run(
        [sys.executable, "-m", "streams", "lint", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=60,
    )


def seed_with(tmp_path: Path, name: str, old: str, new: str) -> str:
    text = SEED.read_text()
    assert old in text, f"the seed no longer contains {old!r}"
    (tmp_path / name).write_text(text.replace(old, new, 1))
    return name


def test_the_seed_is_clean(tmp_path: Path) -> None:
    (tmp_path / "seed.yaml").write_text(SEED.read_text())
    done = run_lint(tmp_path, "seed.yaml")
    assert (done.returncode, done.stdout) == (0, "")
    assert done.stderr == "1 file, 0 problems\n"


def test_bad_yaml(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("info:\n  title: x\nservers: [1, 2\nother: 3\n")
    done = run_lint(tmp_path, "bad.yaml")
    assert done.returncode == 1
    assert done.stdout == "bad.yaml:4:6: invalid YAML: expected ',' or ']', but got ':'\n"
    assert done.stderr == "1 file, 1 problem\n"


def test_unknown_component_names_the_nearest(tmp_path: Path) -> None:
    name = seed_with(tmp_path, "comp.yaml", "        http_server:\n          path: /push-event",
                     "        http_serverx:\n          path: /push-event")
    done = run_lint(tmp_path, name)
    assert done.returncode == 1
    assert done.stdout == (
        "comp.yaml:38:9: streams.in.input.http_serverx: unknown input 'http_serverx' (did you mean 'http_server'?)\n"
    )


def test_unknown_field_with_did_you_mean(tmp_path: Path) -> None:
    name = seed_with(tmp_path, "field.yaml", "          path: /push-event", "          pathx: /push-event")
    done = run_lint(tmp_path, name)
    assert done.returncode == 1
    assert done.stdout == "field.yaml:39:11: streams.in.input.http_server.pathx: unknown field (did you mean 'path'?)\n"


def test_mapping_that_does_not_parse_points_into_the_block(tmp_path: Path) -> None:
    name = seed_with(tmp_path, "map.yaml", "root.job_id = uuid_v4()", "root.job_id = uuid_v4() +* 3")
    done = run_lint(tmp_path, name)
    assert done.returncode == 1
    # Line 54 is the mapping's third line; column 40 is the '*' (14 spaces of indentation + 26).
    assert done.stdout == (
        "map.yaml:54:40: streams.in.pipeline.processors.0.mapping: "
        "invalid Bloblang: line 3 char 26: expected query\n"
    )
    assert (tmp_path / name).read_text().splitlines()[53][39] == "*"


def test_mapping_in_a_quoted_string(tmp_path: Path) -> None:
    name = seed_with(
        tmp_path, "quoted.yaml",
        '          - mapping: |\n              root = this.merge({ "result": "bar" })',
        "          - mapping: 'root = this.merge({ \"result\": \"bar\" ) }'",
    )
    done = run_lint(tmp_path, name)
    assert done.returncode == 1
    assert done.stdout == (
        "quoted.yaml:24:59: streams.Worker.pipeline.processors.0.mapping: "
        "invalid Bloblang: line 1 char 37: required: expected function argument\n"
    )
    assert (tmp_path / name).read_text().splitlines()[23][58] == ")"


def test_directory_with_two_files_on_one_listen_path(tmp_path: Path) -> None:
    apis = tmp_path / "apis"
    apis.mkdir()
    (apis / "a.yaml").write_text(SEED.read_text())
    (apis / "b.yaml").write_text(SEED.read_text().replace("name: stream-demo", "name: other"))
    os.utime(apis / "a.yaml", (1_700_000_000, 1_700_000_000))
    os.utime(apis / "b.yaml", (1_700_000_100, 1_700_000_100))
    # What a ConfigMap volume holds besides the visible files: skipped, as the gateway does.
    (apis / "..data").mkdir()
    (apis / "..data" / "broken.yaml").write_text("a: [\n")
    (apis / ".hidden.yaml").write_text("a: [\n")
    (apis / "notes.txt").write_text("not a definition")
    done = run_lint(tmp_path, "apis")
    assert done.returncode == 1
    assert done.stdout == (
        "apis/b.yaml:112:7: x-tyk-api-gateway.server.listenPath.value: listen path /stream-demo/ "
        "is already used by apis/a.yaml; apis/b.yaml is not served\n"
    )
    assert done.stderr == "2 files, 1 problem\n"


def test_files_colliding_across_arguments(tmp_path: Path) -> None:
    for sub in ("one", "two"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "api.yaml").write_text(SEED.read_text().replace("name: stream-demo", f"name: {sub}"))
    os.utime(tmp_path / "one" / "api.yaml", (1_700_000_000, 1_700_000_000))
    done = run_lint(tmp_path, "one/api.yaml", "two")
    assert done.returncode == 1
    assert done.stdout == (
        "two/api.yaml:112:7: x-tyk-api-gateway.server.listenPath.value: listen path /stream-demo/ "
        "is already used by one/api.yaml; two/api.yaml is not served\n"
    )


def test_json_format(tmp_path: Path) -> None:
    name = seed_with(tmp_path, "field.yaml", "          path: /push-event", "          pathx: /push-event")
    (tmp_path / "seed.yaml").write_text(SEED.read_text().replace("/stream-demo/", "/elsewhere/").replace(
        "name: stream-demo", "name: elsewhere"))
    done = run_lint(tmp_path, "--format", "json", name, "seed.yaml")
    assert done.returncode == 1
    assert json.loads(done.stdout) == [
        {
            "file": "field.yaml",
            "line": 39,
            "column": 11,
            "path": "streams.in.input.http_server.pathx",
            "message": "unknown field (did you mean 'path'?)",
        }
    ]
    assert done.stderr == "2 files, 1 problem\n"
    clean = run_lint(tmp_path, "--format", "json", "seed.yaml")
    assert (clean.returncode, json.loads(clean.stdout)) == (0, [])


def test_missing_path_and_usage(tmp_path: Path) -> None:
    done = run_lint(tmp_path, "nope.yaml")
    assert (done.returncode, done.stdout) == (1, "nope.yaml:0:0: no such file or directory\n")
    usage = run_lint(tmp_path)
    assert usage.returncode == 2
    assert "PATH" in usage.stderr
    helped = run_lint(tmp_path, "-h")
    assert helped.returncode == 0
    assert "file:line:column: config.path: problem" in helped.stdout


@pytest.mark.parametrize("impure", [False, True])
def test_impure_bloblang_follows_the_gateway_setting(tmp_path: Path, impure: bool) -> None:
    name = seed_with(tmp_path, "env.yaml", "root.job_id = uuid_v4()", 'root.job_id = env("HOME")')
    args = ["--allow-impure-bloblang", name] if impure else [name]
    done = run_lint(tmp_path, *args)
    assert done.returncode == (0 if impure else 1)
    if not impure:
        assert done.stdout.startswith("env.yaml:54:")
        assert "streams.in.pipeline.processors.0.mapping: invalid Bloblang" in done.stdout


def test_lint_says_what_the_gateway_loader_says(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from streams.definitions import load_directory
    from streams.lint import format_text

    apis = tmp_path / "apis"
    apis.mkdir()
    seed_with(apis, "a-field.yaml", "          path: /push-event", "          pathx: /push-event")
    seed_with(apis, "b-map.yaml", "root.job_id = uuid_v4()", "root.job_id = uuid_v4() +* 3")
    (apis / "c-deep.json").write_text('{"a": ' + '{"b": ' * 150 + "1" + "}" * 150 + "}")
    (apis / "d-yaml.yml").write_text("x: [\n")
    seed_with(apis, "e-unsafe.yaml", "        http_server:\n          path: /push-event",
              "        subprocess:\n          name: /bin/sh")
    monkeypatch.chdir(tmp_path)
    _apis, problems = load_directory("apis")
    assert len(problems) >= 5
    done = run_lint(tmp_path, "apis")
    assert done.returncode == 1
    assert done.stdout.splitlines() == [format_text(p) for p in problems]
    assert done.stderr == f"5 files, {len(problems)} problems\n"


def test_a_file_named_twice_is_checked_once(tmp_path: Path) -> None:
    apis = tmp_path / "apis"
    apis.mkdir()
    seed_with(apis, "field.yaml", "          path: /push-event", "          pathx: /push-event")
    done = run_lint(tmp_path, "apis/field.yaml", "apis", "apis/../apis/field.yaml", "apis/")
    assert done.returncode == 1
    assert done.stdout == "apis/field.yaml:39:11: streams.in.input.http_server.pathx: unknown field (did you mean 'path'?)\n"
    assert done.stderr == "1 file, 1 problem\n"


def test_a_json_file_indented_with_tabs_is_placed_on_the_key(tmp_path: Path) -> None:
    """The seed as JSON indented with tabs, one field misspelled deep inside: lint names the
    line and column (a tab is one column) where the key starts."""
    import yaml

    doc = yaml.safe_load(SEED.read_text())
    doc["x-tyk-streaming"]["streams"]["out"]["output"]["http_server"]["ws_pathh"] = "/x"
    text = json.dumps(doc, indent="\t")
    (tmp_path / "seed.json").write_text(text)
    done = run_lint(tmp_path, "seed.json")
    lines = text.splitlines()
    line = next(i for i, content in enumerate(lines, 1) if '"ws_pathh"' in content)
    column = lines[line - 1].index('"ws_pathh"') + 1
    assert lines[line - 1][: column - 1] == "\t" * (column - 1)
    assert (done.returncode, done.stdout) == (
        1, f"seed.json:{line}:{column}: streams.out.output.http_server.ws_pathh: unknown field (did you mean 'ws_path'?)\n"
    )
