"""Idempotency's pure rules: key syntax, the request hash, what is stored and how it is replayed."""

from __future__ import annotations

import orjson
import pytest
from aiohttp import web

from amss.api.rest.errors import ApiError
from amss.api.rest.idempotency import (
    answer_existing,
    is_storable,
    json_body,
    replay,
    request_hash,
    stored_form,
    valid_key,
)
from amss.api.rest.routing import RouteSpec
from amss.infra.postgres.idempotency_repo import Existing, StoredResponse


async def _unused_handler(request: web.Request) -> web.Response:
    raise AssertionError("never called")


def _spec(asynchronous: bool = False) -> RouteSpec:
    return RouteSpec(
        "POST",
        "/api/v1/things",
        _unused_handler,
        "things.create",
        "Create a thing",
        None,
        "write",
        idempotent=True,
        asynchronous=asynchronous,
    )


@pytest.mark.parametrize(
    ("key", "valid"),
    [
        ("a", True),
        ("x" * 255, True),
        ("order-42:retry_1/~!", True),
        ("", False),
        ("x" * 256, False),
        ("has space", False),
        ("tab\there", False),
        ("naïve", False),
        ("del\x7f", False),
    ],
)
def test_key_is_1_to_255_visible_ascii_characters(key: str, valid: bool) -> None:
    assert valid_key(key) is valid


def test_hash_ignores_json_key_order_and_whitespace() -> None:
    compact = request_hash("POST", "/api/v1/users", b'{"email":"a@b.c","role":"mechanic"}')
    spaced = request_hash("POST", "/api/v1/users", b'{ "role": "mechanic",\n  "email": "a@b.c" }')
    assert compact == spaced


def test_hash_covers_nested_values_of_the_whole_body() -> None:
    first = request_hash("POST", "/p", b'{"a": {"b": [1, 2, {"c": "x"}]}}')
    deep_change = request_hash("POST", "/p", b'{"a": {"b": [1, 2, {"c": "y"}]}}')
    assert first != deep_change


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", "/api/v1/users", b'{"a":1}'),
        ("POST", "/api/v1/users/", b'{"a":1}'),
        ("POST", "/api/v1/users?dry_run=1", b'{"a":1}'),
        ("POST", "/api/v1/users", b'{"a":2}'),
        ("POST", "/api/v1/users", b'{"a":1.5}'),
        ("POST", "/api/v1/users", b'{"a":1,"b":null}'),
        ("POST", "/api/v1/users", b""),
    ],
)
def test_hash_changes_with_method_path_query_or_body(method: str, path: str, body: bytes) -> None:
    assert request_hash(method, path, body) != request_hash("POST", "/api/v1/users", b'{"a":1}')


def test_a_body_that_is_not_json_is_hashed_by_its_raw_bytes() -> None:
    assert request_hash("POST", "/p", b"name=x&y=1") == request_hash("POST", "/p", b"name=x&y=1")
    assert request_hash("POST", "/p", b"name=x&y=1") != request_hash("POST", "/p", b"name=x&y=2")
    assert request_hash("POST", "/p", b"{broken") != request_hash("POST", "/p", b"{broken ")


def test_parts_cannot_be_shifted_from_path_into_body() -> None:
    assert request_hash("POST", "/ab", b"c") != request_hash("POST", "/a", b"bc")


def test_hash_is_sha256_hex() -> None:
    digest = request_hash("POST", "/p", b"{}")
    assert len(digest) == 64
    int(digest, 16)


@pytest.mark.parametrize(
    ("status", "storable"),
    [
        *[(status, True) for status in (200, 201, 204, 302, 400, 404, 409)],
        *[(status, False) for status in (429, 500, 502, 503)],
    ],
)
def test_only_final_outcomes_are_stored(status: int, storable: bool) -> None:
    assert is_storable(status) is storable


def test_stored_form_keeps_status_bytes_and_replayed_headers_only() -> None:
    response = web.Response(
        status=201,
        body=b'{"id":"1"}',
        content_type="application/json",
        headers={"Location": "/api/v1/users/1", "X-Request-ID": "r1", "RateLimit-Remaining": "3"},
    )
    stored = stored_form(response)
    assert stored is not None
    assert stored.status_code == 201
    assert stored.body == b'{"id":"1"}'
    assert stored.headers == {"Content-Type": "application/json", "Location": "/api/v1/users/1"}


def test_a_response_without_body_is_stored_empty() -> None:
    stored = stored_form(web.Response(status=204))
    assert stored is not None
    assert stored.body == b""


@pytest.mark.parametrize(
    "response",
    [
        web.StreamResponse(status=200),
        web.Response(status=500, body=b"{}"),
        web.Response(status=429, body=b"{}"),
    ],
    ids=["streamed", "5xx", "429"],
)
def test_streamed_and_transient_responses_are_not_stored(response: web.StreamResponse) -> None:
    assert stored_form(response) is None


def test_replay_repeats_status_bytes_and_headers_and_says_it_is_a_replay() -> None:
    stored = StoredResponse(201, b'{"b":1,"a":2}', {"Content-Type": "application/json", "Location": "/x/1"})
    response = replay(stored)
    assert response.status == 201
    assert response.body == b'{"b":1,"a":2}'
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Location"] == "/x/1"
    assert response.headers["Idempotent-Replayed"] == "true"


def test_existing_with_another_hash_is_key_reused_even_when_finished() -> None:
    finished = Existing("other", StoredResponse(201, b"{}", {}), 0.0)
    running = Existing("other", None, 30.0)
    for existing in (finished, running):
        with pytest.raises(ApiError) as caught:
            answer_existing(existing, "mine", _spec())
        assert caught.value.code == "IDEMPOTENCY_KEY_REUSED"
        assert caught.value.status == 409


def test_running_request_is_409_in_progress_with_retry_after() -> None:
    with pytest.raises(ApiError) as caught:
        answer_existing(Existing("mine", None, 12.2), "mine", _spec())
    assert caught.value.code == "IDEMPOTENCY_IN_PROGRESS"
    assert caught.value.details == {"retry_after_seconds": 13}
    assert caught.value.headers == {"Retry-After": "13"}


def test_running_request_on_an_asynchronous_route_is_202() -> None:
    response = answer_existing(Existing("mine", None, 0.2), "mine", _spec(asynchronous=True))
    assert response.status == 202
    assert isinstance(response.body, bytes)
    assert orjson.loads(response.body) == {"status": "in_progress", "retry_after_seconds": 1}
    assert response.headers["Retry-After"] == "1"


@pytest.mark.parametrize(("seconds_left", "retry_after"), [(-3.0, 1), (0.0, 1), (0.01, 1), (1.0, 1), (44.1, 45)])
def test_retry_after_is_whole_seconds_at_least_one(seconds_left: float, retry_after: int) -> None:
    assert Existing("h", None, seconds_left).retry_after_seconds == retry_after


def test_json_body_is_kept_for_inspection_only_when_jsonb_can_hold_it() -> None:
    json_type = {"Content-Type": "application/json"}
    assert json_body(StoredResponse(201, b'{"a":[1]}', json_type)) == {"a": [1]}
    assert json_body(StoredResponse(204, b"", json_type)) is None
    assert json_body(StoredResponse(200, b"plain", {"Content-Type": "text/plain"})) is None
    assert json_body(StoredResponse(200, b'{"a":"\\u0000"}', json_type)) is None
