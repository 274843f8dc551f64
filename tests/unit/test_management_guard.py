"""The management API's secret check alone."""

from __future__ import annotations

from handlers.management_guard import SecretGuard, Verdict


def test_no_secret_means_the_management_api_is_off() -> None:
    assert SecretGuard(lambda: None).verdict("anything") is Verdict.OFF
    assert SecretGuard(lambda: "").verdict(None) is Verdict.OFF


def test_only_the_exact_secret_is_allowed() -> None:
    guard = SecretGuard(lambda: "s3cret")
    assert guard.verdict("s3cret") is Verdict.ALLOWED
    for presented in (None, "", "s3cre", "s3cret ", "S3CRET", "s3cret\x00", "sécret"):
        assert guard.verdict(presented) is Verdict.DENIED, presented


def test_the_secret_is_asked_for_on_every_request() -> None:
    # The seam for a secret the gateway generates at start: it may appear later.
    current: list[str | None] = [None]
    guard = SecretGuard(lambda: current[0])
    assert guard.verdict("late") is Verdict.OFF
    current[0] = "late"
    assert guard.verdict("late") is Verdict.ALLOWED
