"""Tyk's ``apidef/streams/bento/validator_test.go``: its Bento stream configs, each the one
stream of a definition, through ``python -m streams lint``.

Tyk's Bento validator lets keys and components it does not know through; this gateway refuses
a component it does not run and a key that is no component (DESIGN §10, kept on purpose).
"""

from __future__ import annotations

from tests.e2e.tyk_suite.test_validator import problems


def test_validate_bento_configuration_valid() -> None:
    """TestValidateBentoConfiguration/Valid_Bento_Configuration: a Kafka input with Bento's
    defaults written out (and no output) is valid."""
    assert problems("bento-valid.json") == []


def test_validate_bento_configuration_invalid() -> None:
    """TestValidateBentoConfiguration/Invalid_Bento_Configuration: ``auto_replay_nacks:
    "some-string"`` is refused: a boolean belongs there."""
    found = dict(problems("bento-invalid.json"))
    nacks = found.get("streams.test.input.kafka.auto_replay_nacks", "")
    assert "boolean" in nacks and "string" in nacks, found


def test_validate_bento_configuration_allow_additional_properties() -> None:
    """TestValidateBentoConfiguration/Allow_Additional_Properties: Tyk accepts an ``additional``
    key beside the Kafka input and an ``aws_sns`` output with a ``drop_on`` key; this gateway
    refuses both blocks naming what does not belong (DESIGN §10)."""
    found = dict(problems("bento-additional-properties.json"))
    assert "additional" in found.get("streams.test.input", ""), found
    assert "aws_sns" in found.get("streams.test.output", ""), found


def test_validate_bento_configuration_new_enable_all_experimental_config_validator() -> None:
    """TestValidateBentoConfiguration_NewEnableAllExperimentalConfigValidator: Tyk's validator
    that accepts everything passes the same config; this gateway has no such switch and refuses
    it as above (DESIGN §10)."""
    found = dict(problems("bento-additional-properties.json"))
    assert set(found) == {"streams.test.input", "streams.test.output"}, found
