"""The deployment files agree with each other and with the gateway's settings.

There is no container engine here, so the Dockerfile is read, not built: its base, its user,
its command, and that everything it copies exists and gets past ``.dockerignore``. The
Kubernetes manifests must mount the definitions ConfigMap as a directory (a ``subPath`` mount
never receives updates, so the gateway's watcher would not see them) exactly where
``STREAMS_DEFINITIONS_DIR`` points.
"""

from __future__ import annotations

import fnmatch
import json
import shlex
from pathlib import Path
from typing import Any

import yaml

from streams.definitions import load_directory

REPO = Path(__file__).resolve().parents[2]


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in (REPO / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        word, _, rest = line.partition(" ")
        out.append((word.upper(), rest.strip()))
    assert not pending, "a continued line runs off the end"
    return out


def instructions(name: str) -> list[str]:
    return [args for word, args in dockerfile() if word == name]


def env_of_image() -> dict[str, str]:
    env: dict[str, str] = {}
    for args in instructions("ENV"):
        for item in shlex.split(args):
            key, _, value = item.partition("=")
            env[key] = value
    return env


def dockerignore_includes(path: str) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parent directories wins."""
    included = True
    parts = path.strip("/").split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for raw in (REPO / ".dockerignore").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = line.lstrip("!").rstrip("/")
        if pattern.startswith("**/"):
            hit = any(fnmatch.fnmatchcase(part, pattern[3:]) for part in parts)
        else:
            hit = any(fnmatch.fnmatchcase(prefix, pattern) and prefix.count("/") == pattern.count("/")
                      for prefix in prefixes)
        if hit:
            included = negated
    return included


def source_files(under: str) -> list[str]:
    """The files below ``under`` (repository-relative), bytecode caches and dot-files (state the
    gateway writes, such as .listen-paths.json) left out."""
    return [
        str(path.relative_to(REPO)) for path in sorted((REPO / under).rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts and not path.name.startswith(".")
    ]


def test_base_image_command_and_port() -> None:
    assert instructions("FROM") == ["python:3.11-slim"]
    (cmd,) = instructions("CMD")
    assert json.loads(cmd) == ["gunicorn", "wsgi:app"]
    assert instructions("EXPOSE") == ["8282"]
    assert env_of_image()["STREAMS_BIND"] == "0.0.0.0:8282"


def test_runs_as_a_non_root_user() -> None:
    users = instructions("USER")
    assert users, "no USER: the gateway would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    assert user.isdigit(), "a numeric uid lets Kubernetes' runAsNonRoot verify it"


def test_requirements_installed_before_the_code_is_copied() -> None:
    steps = dockerfile()
    copy_reqs = steps.index(("COPY", "requirements.txt ./"))
    install = next(i for i, (w, a) in enumerate(steps) if w == "RUN" and "pip install -r requirements.txt" in a)
    first_code = next(i for i, (w, a) in enumerate(steps) if w == "COPY" and "streams/" in a)
    assert copy_reqs < install < first_code


def test_everything_copied_exists_and_passes_dockerignore() -> None:
    sources = []
    for args in instructions("COPY"):
        words = [w for w in args.split() if not w.startswith("--")]
        sources += words[:-1]
    assert {"requirements.txt", "wsgi.py", "gunicorn.conf.py", "streams/", "handlers/"} <= set(sources)
    for source in sources:
        assert (REPO / source).exists(), f"COPY {source}: no such file in the repository"
        assert dockerignore_includes(source), f"COPY {source}: excluded by .dockerignore"
        if (REPO / source).is_dir():
            for file in source_files(source):
                assert dockerignore_includes(file), f"{file} would be missing from the image"
    assert not dockerignore_includes("streams/__pycache__/settings.cpython-311.pyc")
    assert not dockerignore_includes("tests/unit/test_lint.py")
    assert not dockerignore_includes(".venv/bin/python")


def test_definitions_and_data_are_volumes() -> None:
    env = env_of_image()
    (volumes,) = instructions("VOLUME")
    assert set(json.loads(volumes)) == {env["STREAMS_DEFINITIONS_DIR"], env["STREAMS_DATA_DIR"]}


def k8s(name: str) -> Any:
    return yaml.safe_load((REPO / "deploy" / "k8s" / name).read_text())


def gateway_container(deployment: Any) -> Any:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container


def test_k8s_mounts_the_configmap_as_a_directory_where_the_gateway_reads() -> None:
    deployment = k8s("deployment.yaml")
    configmap = k8s("configmap.yaml")
    pod = deployment["spec"]["template"]["spec"]
    container = gateway_container(deployment)
    env = {e["name"]: e.get("value") for e in container["env"]}
    (volume,) = [v for v in pod["volumes"] if v.get("configMap", {}).get("name") == configmap["metadata"]["name"]]
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == volume["name"]]
    assert "subPath" not in mount and "subPathExpr" not in mount
    assert "items" not in volume["configMap"], "items would hide definitions added to the ConfigMap"
    assert mount["mountPath"] == env["STREAMS_DEFINITIONS_DIR"] == env_of_image()["STREAMS_DEFINITIONS_DIR"]


def test_k8s_data_dir_is_writable_and_the_image_matches() -> None:
    deployment = k8s("deployment.yaml")
    pod = deployment["spec"]["template"]["spec"]
    container = gateway_container(deployment)
    env = {e["name"]: e.get("value") for e in container["env"]}
    (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == env["STREAMS_DATA_DIR"]]
    assert not mount.get("readOnly")
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    assert "emptyDir" in volume or "persistentVolumeClaim" in volume
    assert container["image"] == "streams:0.1.0"
    assert "docker build -t streams:0.1.0 ." in (REPO / "Dockerfile").read_text()
    uid = instructions("USER")[-1].split(":")[0]
    assert str(pod["securityContext"]["runAsUser"]) == uid
    assert pod["securityContext"]["runAsNonRoot"] is True


def test_k8s_configmap_holds_the_seed_and_loads_clean(tmp_path: Path) -> None:
    data = k8s("configmap.yaml")["data"]
    seed = (REPO / "deploy" / "apis" / "streams-demo.yaml").read_text()
    assert yaml.safe_load(data["streams-demo.yaml"]) == yaml.safe_load(seed)
    for name, text in data.items():
        (tmp_path / name).write_text(text)
    apis, problems = load_directory(str(tmp_path))
    assert problems == []
    assert [a.name for a in apis] == ["stream-demo"]


def test_compose_mounts_the_definitions_directory() -> None:
    compose = yaml.safe_load((REPO / "deploy" / "docker-compose.yml").read_text())
    gateway = compose["services"]["gateway"]
    assert gateway["build"]["context"] == ".." and gateway["image"] == "streams:0.1.0"
    targets = {v.split(":")[1]: v.split(":")[0] for v in gateway["volumes"]}
    assert targets[gateway["environment"]["STREAMS_DEFINITIONS_DIR"]] == "./apis"
    assert gateway["environment"]["STREAMS_DATA_DIR"] in targets
