"""Webhook signatures: fixed vectors (computed independently with `openssl dgst -sha256 -hmac`) and the
receiver's verification, including every malformed header it must refuse without raising."""

from __future__ import annotations

import pytest

from amss.domain.webhook_signing import signature, signature_header, verify

SECRET = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"
OLD_SECRET = "0" * 63 + "1"
TIMESTAMP_MS = 1_700_000_000_000
BODY = b'{"event_type":"task_created"}'
# printf '%s' '1700000000000.{"event_type":"task_created"}' | openssl dgst -sha256 -hmac "$SECRET"
VECTOR = "6421fda499893e0a793d3c42069b265bffb9508a7da22d62d2746d2950c1b77f"
OLD_VECTOR = "6cb9931905c164f8ca2863aad3dfb4ba3238f6c0de770be4e17d509922cac12d"


def test_signature_matches_the_fixed_vectors() -> None:
    assert signature(SECRET, TIMESTAMP_MS, BODY) == VECTOR
    assert signature(OLD_SECRET, TIMESTAMP_MS, BODY) == OLD_VECTOR


def test_header_lists_the_newest_secret_first() -> None:
    assert signature_header([SECRET], TIMESTAMP_MS, BODY) == f"v1={VECTOR}"
    assert signature_header([SECRET, OLD_SECRET], TIMESTAMP_MS, BODY) == f"v1={VECTOR} v1={OLD_VECTOR}"
    with pytest.raises(ValueError, match="at least one secret"):
        signature_header([], TIMESTAMP_MS, BODY)


@pytest.mark.parametrize("secret", [SECRET, OLD_SECRET])
def test_either_secret_verifies_during_a_rotation(secret: str) -> None:
    header = signature_header([SECRET, OLD_SECRET], TIMESTAMP_MS, BODY)
    assert verify(secret, header, str(TIMESTAMP_MS), BODY, now_ms=TIMESTAMP_MS)


def test_a_third_secret_does_not_verify() -> None:
    header = signature_header([SECRET, OLD_SECRET], TIMESTAMP_MS, BODY)
    assert not verify("f" * 64, header, str(TIMESTAMP_MS), BODY, now_ms=TIMESTAMP_MS)


def test_a_changed_body_or_timestamp_does_not_verify() -> None:
    header = f"v1={VECTOR}"
    assert not verify(SECRET, header, str(TIMESTAMP_MS), BODY + b" ", now_ms=TIMESTAMP_MS)
    assert not verify(SECRET, header, str(TIMESTAMP_MS + 1), BODY, now_ms=TIMESTAMP_MS)


@pytest.mark.parametrize("offset_ms", [-300_000, 300_000, 0])
def test_timestamps_inside_the_window_verify_both_ways(offset_ms: int) -> None:
    assert verify(SECRET, f"v1={VECTOR}", str(TIMESTAMP_MS), BODY, now_ms=TIMESTAMP_MS + offset_ms)


@pytest.mark.parametrize("offset_ms", [-300_001, 300_001, 10**12])
def test_timestamps_outside_the_window_are_refused_both_ways(offset_ms: int) -> None:
    assert not verify(SECRET, f"v1={VECTOR}", str(TIMESTAMP_MS), BODY, now_ms=TIMESTAMP_MS + offset_ms)


def test_the_window_is_the_receivers_choice() -> None:
    late = TIMESTAMP_MS + 10_000
    assert not verify(SECRET, f"v1={VECTOR}", str(TIMESTAMP_MS), BODY, now_ms=late, window_seconds=5)
    assert verify(SECRET, f"v1={VECTOR}", str(TIMESTAMP_MS), BODY, now_ms=late, window_seconds=10)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        " ",
        VECTOR,
        f"v2={VECTOR}",
        f"V1={VECTOR}",
        f"v1={VECTOR.upper()}",
        f"v1={VECTOR[:-1]}",
        f"v1={VECTOR}0",
        f"v1= {VECTOR}",
        "v1=" + "g" * 64,
        f"v1={VECTOR[:63]}\u00e9",
        "v1=\x00" + VECTOR[1:],
        " ".join(["v1=" + "0" * 64] * 40) + f" v1={VECTOR}",
    ],
)
def test_malformed_signature_headers_are_refused_without_raising(header: str | None) -> None:
    assert not verify(SECRET, header, str(TIMESTAMP_MS), BODY, now_ms=TIMESTAMP_MS)


@pytest.mark.parametrize(
    "timestamp",
    [None, "", "abc", "-1700000000000", "1.7e12", "1700000000000.0", "١٧٠٠٠٠٠٠٠٠٠٠٠", "9" * 400, " 1700000000000x"],
)
def test_malformed_timestamps_are_refused_without_raising(timestamp: str | None) -> None:
    assert not verify(SECRET, f"v1={VECTOR}", timestamp, BODY, now_ms=TIMESTAMP_MS)


def test_extra_unknown_schemes_beside_a_good_signature_still_verify() -> None:
    assert verify(SECRET, f"v0=abc v1={VECTOR} v9=zzz", str(TIMESTAMP_MS), BODY, now_ms=TIMESTAMP_MS)
