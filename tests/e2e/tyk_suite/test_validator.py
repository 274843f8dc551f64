"""Tyk's ``apidef/streams/validator_test.go``: the same documents through ``python -m streams
lint`` (and, for the one Tyk checks through the Dashboard's entry point, the management API).

What is compared is accept or refuse, and for a refusal what each problem is about (its config
path and meaning); our wording and positions differ from Tyk's JSON-schema messages. Tyk's
schema lets components it does not know through ("additional properties"); this gateway refuses
a component it does not run (DESIGN §10, kept on purpose): those tests assert the refusal.
Tests of Tyk's schema files themselves (``Test_loadOASSchema``, ``Test_findDefaultVersion``,
``Test_setDefaultVersion``, ``GetOASSchema`` with no version) and of its templates
(``TestValidateOASTemplate*``: partial documents the Dashboard validates before filling them in;
this gateway has no template check) have nothing to replay from outside.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
import requests

from tests.e2e.server import Gunicorn
from tests.e2e.tyk_suite.suite import DEFINITIONS, lint, serve

VALIDATOR = DEFINITIONS / "validator"
SECRET = "tyk-suite-validator"


def problems(name: str) -> list[tuple[str, str]]:
    """``(config path, problem)`` for each line lint prints about ``validator/<name>``; asserts
    the exit status agrees (1 with problems, 0 without)."""
    result = lint(VALIDATOR / name)
    found = []
    for line in result.stdout.splitlines():
        match = re.match(r"^.*?:\d+:\d+: (\S+): (.*)$", line)
        assert match, line
        found.append((match[1], match[2]))
    assert result.returncode == (1 if found else 0), (result.returncode, result.stdout, result.stderr)
    return found


def paths(name: str) -> list[str]:
    return sorted(path for path, _ in problems(name))


# --- TestValidateTykStreamsOASObject -------------------------------------------------------------


def test_valid_tyk_streams_definition() -> None:
    """TestValidateTykStreamsOASObject/Valid_Tyk_Streams_Definition: OAS 3.0.3, an API name, a
    listen path and ``streams: {}`` is a valid definition."""
    assert problems("valid-tyk-streams-definition.json") == []


def test_invalid_oas_object() -> None:
    """TestValidateTykStreamsOASObject/invalid_OAS_object: an empty API name is the one problem
    (gateway tags switched on with no tags are fine)."""
    found = problems("invalid-oas-object.json")
    assert [path for path, _ in found] == ["x-tyk-api-gateway.info.name"], found
    assert "name" in found[0][1]


def test_wrong_typed_oas_object() -> None:
    """TestValidateTykStreamsOASObject/wrong_typed_OAS_object: empty ``x-tyk-api-gateway`` and
    ``x-tyk-streaming`` sections lack exactly three things: the API's info, its server (listen
    path) and the streams."""
    found = problems("wrong-typed-oas-object.json")
    assert len(found) == 3, found
    assert any(path.startswith("x-tyk-api-gateway.info") for path, _ in found), found
    assert any(path.startswith("x-tyk-api-gateway.server") for path, _ in found), found
    assert any(path == "x-tyk-streaming.streams" for path, _ in found), found


def test_should_error_when_requested_oas_schema_not_found() -> None:
    """TestValidateTykStreamsOASObject/should_error_when_requested_oas_schema_not_found: OpenAPI
    4.0.3 has no schema; the document is refused for its ``openapi`` version."""
    found = problems("openapi-4.0.3.json")
    assert [path for path, _ in found] == ["openapi"], found
    assert "4.0.3" in found[0][1]


# --- TestValidateTykStreamsOASObject_3_1 -----------------------------------------------------------


def test_valid_oas_3_1_tyk_streams_document() -> None:
    """TestValidateTykStreamsOASObject_3_1/valid_OAS_3.1_Tyk_Streams_document_with_version_3.1.0
    and ..._with_version_3.1: a minimal OAS 3.1 streams document (``openapi: 3.1.0``,
    ``streams: {}``) is valid. Tyk's two subtests check that one document against the schema
    asked for as ``3.1.0`` and as ``3.1``; here the document's own ``openapi`` picks the schema,
    so one case covers both."""
    assert problems("oas-3.1-streams-document-3.1.0.json") == []


# --- TestGetOASSchema: which ``openapi`` versions have a schema --------------------------------


@pytest.mark.parametrize("version", ["3.0.8", "3.1.0"])
def test_get_oas_schema_known_versions(version: str) -> None:
    """TestGetOASSchema/return_minor_version_schema_when_req_version_is_including_patch_version
    (3.0.8), .../return_minor_version_0_when_only_major_version_is_requested (3),
    .../return_3.1_schema_when_version_3.1_is_requested and ..._3.1.0_is_requested: Tyk picks
    the 3.0 or 3.1 schema for a requested version given with or without its minor and patch
    parts. Here the document's own ``openapi`` is that request: a document declaring a 3.0.x or
    a 3.1.x version is checked and passes."""
    assert problems(f"openapi-{version}.json") == []


@pytest.mark.parametrize("version", ["3", "3.1"])
def test_a_document_names_its_openapi_version_in_full(version: str) -> None:
    """The other side of TestGetOASSchema's short requests: a *document* whose ``openapi`` is
    ``3`` or ``3.1`` fails the OpenAPI schemas' own pattern for the field (``3.0.n``,
    ``3.1.n``), in Tyk's schemas as here."""
    found = problems(f"openapi-{version}.json")
    assert [path for path, _ in found] == ["openapi"] and repr(version) in found[0][1], found


def test_get_oas_schema_non_existing_version() -> None:
    """TestGetOASSchema/return_error_when_non_existing_oas_schema_is_requested: 4.0.3 is refused."""
    found = problems("openapi-4.0.3.json")
    assert [path for path, _ in found] == ["openapi"] and "4.0.3" in found[0][1], found


def test_get_oas_schema_version_not_semver() -> None:
    """TestGetOASSchema/return_error_when_requested_version_is_not_of_semver: ``a.0.3`` is a
    malformed version and refused."""
    found = problems("openapi-a.0.3.json")
    assert [path for path, _ in found] == ["openapi"] and "a.0.3" in found[0][1], found


# --- TestValidateTykStreams_BentoConfigValidation* -----------------------------------------------


def test_bento_config_validation() -> None:
    """TestValidateTykStreams_BentoConfigValidation: a Kafka input (empty address and topic
    lists, Bento's defaults written out) with a ``bloblang`` processor and no output is valid."""
    assert problems("bento-config-validation.json") == []


def test_bento_config_validation_invalid_config() -> None:
    """TestValidateTykStreams_BentoConfigValidation_Invalid_Config: ``auto_replay_nacks: "true"``
    is a string where a boolean belongs, and ``pipeline.bloblang`` is no field of ``pipeline``."""
    found = dict(problems("bento-config-validation-invalid.json"))
    nacks = found.get("streams.test-kafka-stream.input.kafka.auto_replay_nacks", "")
    assert "boolean" in nacks and "string" in nacks, found
    assert "unknown field" in found.get("streams.test-kafka-stream.pipeline.bloblang", ""), found


def test_bento_config_validation_additional_properties_default_validator() -> None:
    """TestValidateTykStreams_BentoConfigValidation_Additional_Properties/with_default_validator:
    Tyk's schema lets a ``mongodb`` input, a ``redis_streams`` output and an input named
    ``some-key`` through. This gateway runs none of them and refuses each by name (DESIGN §10);
    the Kafka stream beside them has no problem."""
    found = dict(problems("bento-config-validation-additional-properties.json"))
    assert "unknown input 'mongodb'" in found.get("streams.test-mongodb-stream.input.mongodb", ""), found
    assert "unknown output 'redis_streams'" in found.get("streams.test-mongodb-stream.output.redis_streams", ""), found
    assert "unknown input 'some-key'" in found.get("streams.some-stream.input.some-key", ""), found
    assert not [path for path in found if path.startswith("streams.test-kafka-stream")], found


def test_bento_config_validation_additional_properties_enable_all_validator() -> None:
    """TestValidateTykStreams_BentoConfigValidation_Additional_Properties/with_enable-all_validator:
    Tyk's "enable all" validator takes an extra ``additional`` key beside the Kafka input and an
    ``aws_sns`` output (with a ``drop_on`` key beside it). This gateway refuses both blocks, naming
    the keys that do not belong (DESIGN §10)."""
    found = dict(problems("bento-config-validation-enable-all.json"))
    assert "additional" in found.get("streams.test-enable-all-stream.input", ""), found
    assert "aws_sns" in found.get("streams.test-enable-all-stream.output", ""), found


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gunicorn]:
    server = serve(tmp_path_factory.mktemp("tyk-validator"), [], env={"STREAMS_SECRET": SECRET})
    yield server
    server.stop()


def test_bento_config_validation_with_config_dashboard_entry(gateway: Gunicorn) -> None:
    """TestValidateTykStreams_BentoConfigValidation_Additional_Properties (ValidateOASObjectWithConfig,
    the entry point Tyk's Dashboard uses): the same document sent to the management API is
    refused with 400 and a JSON body naming the problems, and no API is created (DESIGN §10)."""
    document = json.loads((VALIDATOR / "bento-config-validation-enable-all.json").read_text())
    resp = requests.post(gateway.url("/tyk/apis/oas"), data=json.dumps(document), headers={"x-tyk-authorization": SECRET}, timeout=30)
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert body["status"] == "error"
    named = json.dumps(body["problems"])
    assert "additional" in named and "aws_sns" in named, body
    listed = requests.get(gateway.url("/tyk/apis/oas"), headers={"x-tyk-authorization": SECRET}, timeout=30)
    assert listed.status_code == 200 and listed.json() == [], listed.text
