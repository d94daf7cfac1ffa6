"""The Webhooks API over HTTP, real Postgres and Redis: every route's success and failures, the secret
shown once, URL rules and the SSRF guard of production, the test event, rotation, deliveries, redelivery."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from amss.api.rest.handlers.webhooks import DeliveryOut, WebhookOut
from amss.app.webhooks.service import delivery_view, webhook_view
from amss.bootstrap.server import init_server_app
from amss.config import Settings
from amss.domain.enums import WebhookDeliveryStatus
from amss.domain.webhooks import Webhook, WebhookDelivery
from tests.api_support import Member, Tenant, call
from tests.clients import ApiClient
from tests.integration.api.route_samples import code_of, raise_rate_limits
from tests.integration.factories import make_delivery, make_webhook

BASE = "/api/v1/webhooks"
HEX64 = re.compile(r"^[0-9a-f]{64}$")
PUBLIC_URL = "https://93.184.216.34/hooks/amss"  # an IP literal: public, and no DNS lookup needed


@pytest.fixture
async def home(conn: asyncpg.Connection, tenant: Tenant) -> Tenant:
    await raise_rate_limits(conn, tenant.org_id)
    return tenant


@pytest.fixture
async def elsewhere(conn: asyncpg.Connection, other_tenant: Tenant) -> Tenant:
    await raise_rate_limits(conn, other_tenant.org_id)
    return other_tenant


async def _client(app: web.Application) -> AsyncIterator[ApiClient]:
    client = TestClient(TestServer(app))
    await client.start_server()
    yield client
    await client.close()


@pytest.fixture
async def production_api(api_settings: Settings) -> AsyncIterator[ApiClient]:
    """The same API as APP_ENV=production builds it: https only, the SSRF guard at creation on."""
    async for client in _client(init_server_app(api_settings.model_copy(update={"app_env": "production"}))):
        yield client


@pytest.fixture
async def https_only_api(api_settings: Settings) -> AsyncIterator[ApiClient]:
    async for client in _client(init_server_app(api_settings.model_copy(update={"webhook_allow_http": False}))):
        yield client


FIXED_NOW = datetime(2031, 3, 4, 5, 6, 7, 890000, tzinfo=UTC)


@pytest.fixture
async def clocked_api(api_settings: Settings) -> AsyncIterator[ApiClient]:
    """An API whose one clock stands still at FIXED_NOW."""
    async for client in _client(init_server_app(api_settings, clock=lambda: FIXED_NOW)):
        yield client


async def create(
    api: ApiClient, member: Member, url: str = "http://127.0.0.1:9/hooks/a", events: list[str] | None = None
) -> dict[str, Any]:
    body = {"url": url, "events": events or ["task_created", "task_state_changed"]}
    status, created, _ = await call(api, "POST", BASE, member, json=body)
    assert status == 201, created
    return created  # type: ignore[no-any-return]


async def audit_rows(conn: asyncpg.Connection, webhook_id: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT action::text AS action, entity_version, user_id, details, details::text AS text FROM audit_logs"
        " WHERE entity_type = 'webhook' AND entity_id = $1 ORDER BY timestamp, entity_version",
        uuid.UUID(webhook_id),
    )


def _assert_refused(status: int, body: Any, field: str = "url") -> None:
    assert status == 400, body
    assert code_of(body) == "VALIDATION_ERROR", body
    assert {"error", "code", "request_id"} <= set(body), body
    assert field in body["details"]["fields"], body


def test_views_match_the_out_models() -> None:
    now = datetime.now(UTC)
    webhook = Webhook(uuid.uuid4(), uuid.uuid4(), "https://x.example/", ("task_created",), True, 1, now, now)
    assert set(webhook_view(webhook)) == set(WebhookOut.model_fields)
    WebhookOut.model_validate(webhook_view(webhook))
    delivery = WebhookDelivery(
        uuid.uuid4(),
        uuid.uuid4(),
        uuid.uuid4(),
        uuid.uuid4(),
        "x",
        WebhookDeliveryStatus.FAILED,
        3,
        now,
        500,
        "e",
        now,
        now,
    )
    assert set(delivery_view(delivery)) == set(DeliveryOut.model_fields)
    DeliveryOut.model_validate(delivery_view(delivery))


# --- create, read, list -------------------------------------------------------------------------


async def test_create_shows_the_secret_once_and_nothing_else_ever_does(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    member = home["tenant_admin"]
    status, created, headers = await call(
        api, "POST", BASE, member, json={"url": "http://127.0.0.1:9/in", "events": ["task_created"]}
    )
    assert status == 201, created
    secret = created["secret"]
    assert HEX64.match(secret)
    assert headers["Location"] == f"{BASE}/{created['id']}"
    assert created["url"] == "http://127.0.0.1:9/in"
    assert (created["events"], created["active"], created["version"]) == (["task_created"], True, 1)
    assert created["org_id"] == str(home.org_id)
    row = await conn.fetchrow("SELECT secret, previous_secret FROM webhooks WHERE id = $1", uuid.UUID(created["id"]))
    assert row is not None and (row["secret"], row["previous_secret"]) == (secret, None)

    status, one, _ = await call(api, "GET", headers["Location"], member)
    assert status == 200, one
    assert "secret" not in one and secret not in str(one)
    assert one == {key: value for key, value in created.items() if key != "secret"}
    status, listed, _ = await call(api, "GET", f"{BASE}?limit=200", home["admin"])
    assert status == 200, listed
    assert created["id"] in {item["id"] for item in listed["items"]}
    assert secret not in str(listed) and all("secret" not in item for item in listed["items"])

    [audit] = await audit_rows(conn, created["id"])
    assert (audit["action"], audit["entity_version"], audit["user_id"]) == ("create", 1, member.user_id)
    assert audit["details"] == {"url": "http://127.0.0.1:9/in", "events": ["task_created"], "active": True}
    assert secret not in audit["text"]
    assert not [record for record in caplog.records if secret in record.getMessage() or secret in str(record.__dict__)]


async def test_create_replays_with_the_same_idempotency_key(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant
) -> None:
    member = home["admin"]
    body = {"url": "http://127.0.0.1:9/replayed", "events": ["part_reserved"]}
    key = {"Idempotency-Key": f"webhook-{uuid.uuid4()}"}
    status, first, _ = await call(api, "POST", BASE, member, json=body, headers=key)
    assert status == 201, first
    status, again, headers = await call(api, "POST", BASE, member, json=body, headers=key)
    assert (status, again, headers.get("Idempotent-Replayed")) == (201, first, "true")
    count = await conn.fetchval(
        "SELECT count(*) FROM webhooks WHERE org_id = $1 AND url = $2", home.org_id, body["url"]
    )
    assert count == 1
    status, error, _ = await call(api, "POST", BASE, member, json={**body, "events": ["task_created"]}, headers=key)
    assert (status, code_of(error)) == (409, "IDEMPOTENCY_KEY_REUSED"), error


async def test_duplicate_event_types_are_kept_once_in_order(api: ApiClient, home: Tenant) -> None:
    created = await create(api, home["admin"], events=["part_reserved", "task_created", "part_reserved"])
    assert created["events"] == ["part_reserved", "task_created"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "http://127.0.0.1:9/x", "events": ["no_such_event"]}, "events.0"),
        ({"url": "http://127.0.0.1:9/x", "events": ["task_created", "TASK_CREATED"]}, "events.1"),
        ({"url": "http://127.0.0.1:9/x", "events": []}, "events"),
        ({"url": "http://127.0.0.1:9/x", "events": "task_created"}, "events"),
        ({"url": "http://127.0.0.1:9/x"}, "events"),
        ({"events": ["task_created"]}, "url"),
        ({"url": 42, "events": ["task_created"]}, "url"),
        ({"url": "http://127.0.0.1:9/x", "events": ["task_created"], "secret": "0" * 64}, "secret"),
        ({"url": "http://127.0.0.1:9/x", "events": ["task_created"], "active": False}, "active"),
    ],
)
async def test_bad_event_lists_and_fields_are_400(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant, body: dict[str, Any], field: str
) -> None:
    status, error, _ = await call(api, "POST", BASE, home["admin"], json=body)
    _assert_refused(status, error, field)
    assert await conn.fetchval("SELECT count(*) FROM webhooks WHERE org_id = $1", home.org_id) == 0


BAD_URLS = [
    "ftp://files.example.com/hook",
    "javascript:alert(1)",
    "hooks.example.com/in",
    "https://",
    "https:///path-only",
    "https://user:password@hooks.example.com/in",
    "https://token@hooks.example.com/in",
    "https://hooks.example.com/in#fragment",
    "https://hooks.example.com/in#",
    "https://hooks example.com/in",
    "https://hooks.example.com/in\tx",
    "https://hooks.example.com/in\nHost: evil",
    "https://hooks.exämple.com/in",
    "https://hooks.example.com:0/in",
    "https://hooks.example.com:65536/in",
    "https://hooks.example.com:99999999999999999999/in",
    "https://hooks.example.com:port/in",
    "https://hooks.example.com:/in",
    "https://[::1/in",
    "https://[not-an-address]/in",
    "https://[fe80::1%25eth0]/in",
    "https://-leading-dash.example.com/in",
    "https://double..dot.example.com/in",
    "https://under_score.example.com/in",
    "https://2130706433/in",
    "https://0x7f000001/in",
    "https://0x7f.1/in",
    "https://127.1/in",
    "https://" + "a" * 64 + ".example.com/in",
    "https://hooks.example.com/" + "p" * 2100,
    "https://evil.example.com\\@good.example.com/in",
]


@pytest.mark.parametrize("url", BAD_URLS)
async def test_bad_urls_are_400_naming_url(api: ApiClient, conn: asyncpg.Connection, home: Tenant, url: str) -> None:
    status, error, _ = await call(api, "POST", BASE, home["admin"], json={"url": url, "events": ["task_created"]})
    _assert_refused(status, error)
    assert await conn.fetchval("SELECT count(*) FROM webhooks WHERE org_id = $1", home.org_id) == 0


async def test_a_nul_byte_in_the_url_is_400(api: ApiClient, home: Tenant) -> None:
    status, error, _ = await call(
        api, "POST", BASE, home["admin"], json={"url": "https://x.example/\u0000", "events": ["task_created"]}
    )
    _assert_refused(status, error)


async def test_good_urls_of_every_form_are_accepted(api: ApiClient, home: Tenant) -> None:
    for url in (
        "https://hooks.example.com/in",
        "HTTPS://Hooks.Example.COM:8443/in?tenant=a&x=%20y",
        "http://127.0.0.1:8080/",
        "https://[2001:db8::1]:443/in",
        "https://xn--bcher-kva.example/in",
        "https://hooks.example.com./in",
    ):
        created = await create(api, home["admin"], url=url)
        assert created["url"] == url


async def test_http_is_refused_where_webhook_allow_http_is_false(
    https_only_api: ApiClient, conn: asyncpg.Connection, home: Tenant
) -> None:
    status, error, _ = await call(
        https_only_api, "POST", BASE, home["admin"], json={"url": "http://127.0.0.1:9/in", "events": ["task_created"]}
    )
    _assert_refused(status, error)
    assert "https" in error["details"]["fields"]["url"]
    created = await create(https_only_api, home["admin"], url="https://127.0.0.1:9/in")
    status, error, _ = await call(
        https_only_api, "PATCH", f"{BASE}/{created['id']}", home["admin"], json={"url": "http://127.0.0.1:9/in"}
    )
    _assert_refused(status, error)


@pytest.mark.parametrize(
    "url",
    [
        "http://93.184.216.34/in",
        "https://127.0.0.1/in",
        "https://127.0.0.1:8443/in",
        "https://10.0.0.1/in",
        "https://192.168.1.10/in",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/in",
        "https://[::ffff:127.0.0.1]/in",
        "https://[fd00::1]/in",
        "https://0.0.0.0/in",
        "https://localhost/in",
        "https://localhost:8443/in",
        "https://name-that-does-not-resolve.invalid/in",
    ],
)
async def test_production_refuses_http_and_non_public_destinations(
    production_api: ApiClient, conn: asyncpg.Connection, home: Tenant, url: str
) -> None:
    status, error, _ = await call(
        production_api, "POST", BASE, home["admin"], json={"url": url, "events": ["task_created"]}
    )
    _assert_refused(status, error)
    assert await conn.fetchval("SELECT count(*) FROM webhooks WHERE org_id = $1", home.org_id) == 0


async def test_production_accepts_a_public_https_url_and_guards_patch_too(
    production_api: ApiClient, conn: asyncpg.Connection, home: Tenant
) -> None:
    created = await create(production_api, home["tenant_admin"], url=PUBLIC_URL)
    path = f"{BASE}/{created['id']}"
    before = await conn.fetchval("SELECT to_jsonb(w) FROM webhooks w WHERE id = $1", uuid.UUID(created["id"]))
    for url in ("https://169.254.169.254/latest/meta-data/", "https://localhost/in", "http://93.184.216.34/in"):
        status, error, _ = await call(production_api, "PATCH", path, home["tenant_admin"], json={"url": url})
        _assert_refused(status, error)
    after = await conn.fetchval("SELECT to_jsonb(w) FROM webhooks w WHERE id = $1", uuid.UUID(created["id"]))
    assert after == before


async def test_list_pages_filters_and_sorts(api: ApiClient, home: Tenant) -> None:
    member = home["admin"]
    made = [await create(api, member, url=f"http://127.0.0.1:9/{name}") for name in ("c", "a", "b")]
    status, _, _ = await call(api, "PATCH", f"{BASE}/{made[1]['id']}", member, json={"active": False})
    assert status == 200
    status, body, _ = await call(api, "GET", f"{BASE}?sort=url", member)
    assert [item["url"] for item in body["items"]] == [f"http://127.0.0.1:9/{name}" for name in "abc"]
    status, body, _ = await call(api, "GET", f"{BASE}?active=false", member)
    assert (status, [item["id"] for item in body["items"]]) == (200, [made[1]["id"]])
    status, body, _ = await call(api, "GET", f"{BASE}?active=true&sort=-created_at", member)
    assert [item["id"] for item in body["items"]] == [made[2]["id"], made[0]["id"]]
    seen: list[str] = []
    path: str | None = f"{BASE}?limit=1"
    while path:
        status, body, _ = await call(api, "GET", path, member)
        assert status == 200, body
        seen += [item["id"] for item in body["items"]]
        path = f"{BASE}?limit=1&cursor={body['next_cursor']}" if body["next_cursor"] else None
    assert seen == [item["id"] for item in made]
    for query in ("active=maybe", "sort=secret", "limit=0", "cursor=forged", "event_type=task_created"):
        status, error, _ = await call(api, "GET", f"{BASE}?{query}", member)
        assert (status, code_of(error)) == (400, "VALIDATION_ERROR"), (query, error)


# --- roles, tenancy, authentication ---------------------------------------------------------------


async def test_other_roles_are_forbidden_and_anonymous_callers_unauthorized(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant
) -> None:
    webhook_id = await make_webhook(conn, home.org_id)
    delivery_id = await make_delivery(conn, home.org_id, webhook_id)
    one = f"{BASE}/{webhook_id}"
    requests: list[tuple[str, str, Any]] = [
        ("POST", BASE, {"url": "http://127.0.0.1:9/x", "events": ["task_created"]}),
        ("GET", BASE, None),
        ("GET", one, None),
        ("PATCH", one, {"active": False}),
        ("DELETE", one, None),
        ("POST", f"{one}/test", None),
        ("POST", f"{one}/rotate-secret", None),
        ("GET", f"{one}/deliveries", None),
        ("POST", f"{one}/deliveries/{delivery_id}/redeliver", None),
    ]
    before = await conn.fetchval("SELECT to_jsonb(w) FROM webhooks w WHERE id = $1", webhook_id)
    for method, path, body in requests:
        for role in ("scheduler", "mechanic", "auditor"):
            status, error, _ = await call(api, method, path, home[role], json=body)
            assert (status, code_of(error)) == (403, "FORBIDDEN"), (method, path, role, error)
        status, error, _ = await call(api, method, path, None, json=body)
        assert (status, code_of(error)) == (401, "UNAUTHORIZED"), (method, path, error)
    assert await conn.fetchval("SELECT to_jsonb(w) FROM webhooks w WHERE id = $1", webhook_id) == before
    status_now = await conn.fetchval("SELECT status::text FROM webhook_deliveries WHERE id = $1", delivery_id)
    assert status_now == "failed"
    assert await conn.fetchval("SELECT count(*) FROM webhooks WHERE org_id = $1", home.org_id) == 1


async def test_another_organizations_webhook_is_not_found_on_every_route(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant, elsewhere: Tenant
) -> None:
    webhook_id = await make_webhook(conn, elsewhere.org_id)
    delivery_id = await make_delivery(conn, elsewhere.org_id, webhook_id)
    one = f"{BASE}/{webhook_id}"
    before = await conn.fetchval("SELECT to_jsonb(w) FROM webhooks w WHERE id = $1", webhook_id)
    for method, path, body in [
        ("GET", one, None),
        ("PATCH", one, {"active": False}),
        ("DELETE", one, None),
        ("POST", f"{one}/test", None),
        ("POST", f"{one}/rotate-secret", None),
        ("GET", f"{one}/deliveries", None),
        ("POST", f"{one}/deliveries/{delivery_id}/redeliver", None),
    ]:
        for role in ("tenant_admin", "admin"):
            status, error, _ = await call(api, method, path, home[role], json=body)
            assert (status, code_of(error)) == (404, "NOT_FOUND"), (method, path, role, error)
    assert await conn.fetchval("SELECT to_jsonb(w) FROM webhooks w WHERE id = $1", webhook_id) == before
    assert (
        await conn.fetchval(
            "SELECT count(*) FROM outbox_events WHERE event_type = 'webhook.test' AND org_id = $1", elsewhere.org_id
        )
        == 0
    )
    # the other organization's own admin acting for it, through X-Org-ID, sees it
    acting = {"X-Org-ID": str(elsewhere.org_id)}
    status, body, _ = await call(api, "GET", one, home["admin"], headers=acting)
    assert (status, body["id"]) == (200, str(webhook_id)), body


# --- patch and delete ---------------------------------------------------------------------------


async def test_patch_changes_url_events_and_active_with_if_match(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant
) -> None:
    member = home["tenant_admin"]
    created = await create(api, member)
    path = f"{BASE}/{created['id']}"
    status, error, _ = await call(api, "PATCH", path, member, json={"active": False}, headers={"If-Match": '"7"'})
    assert (status, code_of(error)) == (412, "PRECONDITION_FAILED"), error
    status, patched, _ = await call(
        api,
        "PATCH",
        path,
        member,
        json={"url": "https://hooks.example.com/v2", "events": ["compliance_signed"], "active": False},
        headers={"If-Match": '"1"'},
    )
    assert status == 200, patched
    assert (patched["url"], patched["events"], patched["active"], patched["version"]) == (
        "https://hooks.example.com/v2",
        ["compliance_signed"],
        False,
        2,
    )
    assert "secret" not in patched
    audit = (await audit_rows(conn, created["id"]))[-1]
    assert (audit["action"], audit["entity_version"]) == ("update", 2)
    assert audit["details"]["changes"] == {
        "url": {"from": created["url"], "to": "https://hooks.example.com/v2"},
        "events": {"from": created["events"], "to": ["compliance_signed"]},
        "active": {"from": True, "to": False},
    }
    for body, field in (
        ({"url": None}, "url"),
        ({"events": None}, "events"),
        ({"active": None}, "active"),
        ({"events": []}, "events"),
        ({"events": ["nope"]}, "events.0"),
        ({"url": "https://u:p@hooks.example.com/"}, "url"),
        ({"secret": "0" * 64}, "secret"),
        ({"active": "yes"}, "active"),
    ):
        status, error, _ = await call(api, "PATCH", path, member, json=body)
        _assert_refused(status, error, field)
    status, same, _ = await call(api, "GET", path, member)
    assert same == patched


async def test_delete_is_soft_and_keeps_the_deliveries_listed(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant
) -> None:
    member = home["tenant_admin"]
    created = await create(api, member)
    path = f"{BASE}/{created['id']}"
    webhook_id = uuid.UUID(created["id"])
    delivery_id = await make_delivery(conn, home.org_id, webhook_id)
    status, error, _ = await call(api, "DELETE", path, member, headers={"If-Match": '"5"'})
    assert (status, code_of(error)) == (412, "PRECONDITION_FAILED"), error
    status, body, _ = await call(api, "DELETE", path, member)
    assert (status, body) == (204, None)
    row = await conn.fetchrow("SELECT deleted_at, version FROM webhooks WHERE id = $1", webhook_id)
    assert row is not None and row["deleted_at"] is not None and row["version"] == 2
    audit = (await audit_rows(conn, created["id"]))[-1]
    assert (audit["action"], audit["details"]) == ("delete", {"url": created["url"]})

    for method, suffix, json in (
        ("GET", "", None),
        ("PATCH", "", {"active": False}),
        ("DELETE", "", None),
        ("POST", "/test", None),
        ("POST", "/rotate-secret", None),
        ("POST", f"/deliveries/{delivery_id}/redeliver", None),
    ):
        status, error, _ = await call(api, method, path + suffix, member, json=json)
        assert (status, code_of(error)) == (404, "NOT_FOUND"), (method, suffix, error)
    status, listed, _ = await call(api, "GET", BASE, member)
    assert created["id"] not in {item["id"] for item in listed["items"]}
    status, deliveries, _ = await call(api, "GET", f"{path}/deliveries", member)
    assert status == 200, deliveries
    assert [item["id"] for item in deliveries["items"]] == [str(delivery_id)]
    assert await conn.fetchval("SELECT status::text FROM webhook_deliveries WHERE id = $1", delivery_id) == "failed"


# --- test event ---------------------------------------------------------------------------------


async def test_each_test_call_writes_a_new_webhook_test_event_for_this_webhook(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant
) -> None:
    member = home["tenant_admin"]
    created = await create(api, member, events=["task_created"])
    path = f"{BASE}/{created['id']}/test"
    answers = []
    for _ in range(2):
        status, body, headers = await call(api, "POST", path, member)
        assert status == 202, body
        assert set(body) == {"event_id", "delivery_id"}
        assert headers["Location"] == f"{BASE}/{created['id']}/deliveries"
        answers.append(body)
    assert len({a["event_id"] for a in answers}) == 2 and len({a["delivery_id"] for a in answers}) == 2
    rows = await conn.fetch(
        "SELECT id, aggregate_type, aggregate_id, payload, dedupe_key, processed_at FROM outbox_events"
        " WHERE org_id = $1 AND event_type = 'webhook.test' ORDER BY created_at, id",
        home.org_id,
    )
    assert len(rows) == 2
    by_id = {str(row["id"]): row for row in rows}
    for answer in answers:
        row = by_id[answer["event_id"]]
        assert (row["aggregate_type"], str(row["aggregate_id"]), row["processed_at"]) == (
            "webhook",
            created["id"],
            None,
        )
        payload = row["payload"]
        assert set(payload) == {"version", "event_id", "event_type", "org_id", "occurred_at", "webhook_id", "data"}
        assert (payload["version"], payload["event_id"], payload["event_type"]) == (
            1,
            answer["event_id"],
            "webhook.test",
        )
        assert (payload["org_id"], payload["webhook_id"]) == (str(home.org_id), created["id"])
        assert payload["data"] == {"delivery_id": answer["delivery_id"], "test": True}
        assert payload["occurred_at"].endswith("Z")
    assert len({row["dedupe_key"] for row in rows}) == 2
    tests = [row for row in await audit_rows(conn, created["id"]) if row["details"].get("operation") == "test"]
    assert [(row["details"]["event_id"], row["details"]["delivery_id"]) for row in tests] == [
        (a["event_id"], a["delivery_id"]) for a in answers
    ]
    # an inactive webhook can still be tested (that is how a receiver is checked before switching it on)
    status, _, _ = await call(api, "PATCH", f"{BASE}/{created['id']}", member, json={"active": False})
    assert status == 200
    status, body, _ = await call(api, "POST", path, member)
    assert status == 202, body


async def test_a_test_with_an_idempotency_key_is_one_event(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant
) -> None:
    member = home["admin"]
    created = await create(api, member)
    key = {"Idempotency-Key": f"test-{uuid.uuid4()}"}
    status, first, _ = await call(api, "POST", f"{BASE}/{created['id']}/test", member, headers=key)
    status_again, again, headers = await call(api, "POST", f"{BASE}/{created['id']}/test", member, headers=key)
    assert (status, status_again, again, headers.get("Idempotent-Replayed")) == (202, 202, first, "true")
    count = await conn.fetchval(
        "SELECT count(*) FROM outbox_events WHERE org_id = $1 AND event_type = 'webhook.test'", home.org_id
    )
    assert count == 1


# --- secret rotation ----------------------------------------------------------------------------


async def test_rotation_keeps_the_previous_secret_for_24_hours_and_shows_only_the_new_one(
    clocked_api: ApiClient, conn: asyncpg.Connection, home: Tenant
) -> None:
    member = home["tenant_admin"]
    created = await create(clocked_api, member)
    webhook_id = uuid.UUID(created["id"])
    path = f"{BASE}/{created['id']}"
    status, rotated, _ = await call(clocked_api, "POST", f"{path}/rotate-secret", member)
    assert status == 200, rotated
    new_secret = rotated["secret"]
    assert HEX64.match(new_secret) and new_secret != created["secret"]
    assert rotated["version"] == 2
    assert rotated["previous_secret_expires_at"] == "2031-03-05T05:06:07.890000Z"
    row = await conn.fetchrow(
        "SELECT secret, previous_secret, previous_secret_expires_at FROM webhooks WHERE id = $1", webhook_id
    )
    assert row is not None
    assert (row["secret"], row["previous_secret"]) == (new_secret, created["secret"])
    assert row["previous_secret_expires_at"] == FIXED_NOW + timedelta(hours=24)

    status, one, _ = await call(clocked_api, "GET", path, member)
    assert status == 200 and "secret" not in one
    assert new_secret not in str(one) and created["secret"] not in str(one)
    assert one == {key: value for key, value in rotated.items() if key != "secret"}
    for audit in await audit_rows(conn, created["id"]):
        assert new_secret not in audit["text"] and created["secret"] not in audit["text"]
    rotation = (await audit_rows(conn, created["id"]))[-1]
    assert (rotation["action"], rotation["entity_version"], rotation["details"]) == (
        "update",
        2,
        {"operation": "rotate_secret", "previous_secret_expires_at": "2031-03-05T05:06:07.890000Z"},
    )

    # a second rotation within the overlap: the secret just replaced is the previous one now
    status, again, _ = await call(clocked_api, "POST", f"{path}/rotate-secret", member)
    assert status == 200, again
    row = await conn.fetchrow("SELECT secret, previous_secret FROM webhooks WHERE id = $1", webhook_id)
    assert row is not None and (row["secret"], row["previous_secret"]) == (again["secret"], new_secret)


# --- deliveries ---------------------------------------------------------------------------------


async def test_deliveries_are_listed_newest_first_with_filters_and_pages(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant
) -> None:
    member = home["tenant_admin"]
    webhook_id = await make_webhook(conn, home.org_id)
    other_webhook = await make_webhook(conn, home.org_id)
    start = datetime(2030, 1, 1, tzinfo=UTC)
    made: list[uuid.UUID] = []
    for minute, (state, event_type) in enumerate(
        [
            ("failed", "task_created"),
            ("delivered", "part_reserved"),
            ("pending", "task_created"),
            ("failed", "part_reserved"),
        ]
    ):
        at = start + timedelta(minutes=minute)
        made.append(await make_delivery(conn, home.org_id, webhook_id, state, event_type, created_at=at, updated_at=at))
    await make_delivery(conn, home.org_id, other_webhook)
    path = f"{BASE}/{webhook_id}/deliveries"

    status, body, _ = await call(api, "GET", path, member)
    assert status == 200, body
    assert [item["id"] for item in body["items"]] == [str(d) for d in reversed(made)]
    newest = body["items"][0]
    assert set(newest) == set(DeliveryOut.model_fields)
    assert (newest["event_type"], newest["status"], newest["attempt_count"]) == ("part_reserved", "failed", 10)
    assert (newest["last_response_code"], newest["last_error"], newest["webhook_id"]) == (
        500,
        "HTTP 500",
        str(webhook_id),
    )
    event_type = await conn.fetchval(
        "SELECT e.event_type FROM outbox_events e JOIN webhook_deliveries d ON d.event_id = e.id WHERE d.id = $1",
        made[-1],
    )
    assert event_type == "part_reserved"  # copied from the event by the trigger, not given by the insert

    status, body, _ = await call(api, "GET", f"{path}?status=failed", member)
    assert [item["id"] for item in body["items"]] == [str(made[3]), str(made[0])]
    status, body, _ = await call(api, "GET", f"{path}?event_type=task_created", member)
    assert [item["id"] for item in body["items"]] == [str(made[2]), str(made[0])]
    status, body, _ = await call(api, "GET", f"{path}?event_type=task_created&status=pending", member)
    assert [item["id"] for item in body["items"]] == [str(made[2])]
    status, body, _ = await call(api, "GET", f"{path}?sort=created_at", member)
    assert [item["id"] for item in body["items"]] == [str(d) for d in made]

    seen: list[str] = []
    page: str | None = f"{path}?limit=3"
    while page:
        status, body, _ = await call(api, "GET", page, member)
        assert status == 200, body
        seen += [item["id"] for item in body["items"]]
        page = f"{path}?limit=3&cursor={body['next_cursor']}" if body["next_cursor"] else None
    assert seen == [str(d) for d in reversed(made)]
    for query in ("status=lost", "event_type=nope", "sort=-updated_at", "active=true", "cursor=x"):
        status, error, _ = await call(api, "GET", f"{path}?{query}", member)
        assert (status, code_of(error)) == (400, "VALIDATION_ERROR"), (query, error)
    status, error, _ = await call(api, "GET", f"{BASE}/{uuid.uuid4()}/deliveries", member)
    assert (status, code_of(error)) == (404, "NOT_FOUND"), error


async def test_redeliver_puts_a_failed_delivery_back_to_pending_with_a_fresh_budget(
    clocked_api: ApiClient, conn: asyncpg.Connection, home: Tenant
) -> None:
    member = home["tenant_admin"]
    webhook_id = await make_webhook(conn, home.org_id)
    delivery_id = await make_delivery(
        conn, home.org_id, webhook_id, locked_at=datetime(2030, 1, 1, tzinfo=UTC), locked_by="dispatcher-1"
    )
    path = f"{BASE}/{webhook_id}/deliveries/{delivery_id}/redeliver"
    status, body, _ = await call(clocked_api, "POST", path, member)
    assert status == 202, body
    assert (body["id"], body["status"], body["attempt_count"]) == (str(delivery_id), "pending", 0)
    assert body["next_attempt_at"] == "2031-03-04T05:06:07.890000Z"
    row = await conn.fetchrow("SELECT * FROM webhook_deliveries WHERE id = $1", delivery_id)
    assert row is not None
    assert (row["status"], row["attempt_count"], row["next_attempt_at"]) == ("pending", 0, FIXED_NOW)
    assert (row["locked_at"], row["locked_by"]) == (None, None)
    assert (row["last_error"], row["last_response_code"]) == ("HTTP 500", 500)
    [audit] = [row for row in await audit_rows(conn, str(webhook_id)) if row["details"].get("operation") == "redeliver"]
    assert audit["action"] == "state_change"
    assert audit["details"] == {
        "operation": "redeliver",
        "delivery_id": str(delivery_id),
        "from": "failed",
        "to": "pending",
        "attempt_count_before": 10,
    }

    # now pending: redelivering again is a conflict that says why, and changes nothing
    status, error, _ = await call(clocked_api, "POST", path, member)
    assert (status, code_of(error)) == (409, "CONFLICT"), error
    assert error["details"] == {"delivery_id": str(delivery_id), "status": "pending"}
    delivered = await make_delivery(conn, home.org_id, webhook_id, "delivered")
    status, error, _ = await call(clocked_api, "POST", f"{BASE}/{webhook_id}/deliveries/{delivered}/redeliver", member)
    assert (status, code_of(error), error["details"]["status"]) == (409, "CONFLICT", "delivered"), error

    # a delivery of another webhook, or none at all, is not found under this one
    other = await make_delivery(conn, home.org_id, await make_webhook(conn, home.org_id))
    for missing in (other, uuid.uuid4()):
        status, error, _ = await call(
            clocked_api, "POST", f"{BASE}/{webhook_id}/deliveries/{missing}/redeliver", member
        )
        assert (status, code_of(error)) == (404, "NOT_FOUND"), error
    assert await conn.fetchval("SELECT status::text FROM webhook_deliveries WHERE id = $1", other) == "failed"


async def test_redelivering_to_an_inactive_webhook_is_a_conflict_except_for_a_test(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant
) -> None:
    member = home["admin"]
    webhook_id = await make_webhook(conn, home.org_id, active=False)
    event = await make_delivery(conn, home.org_id, webhook_id, "failed", "task_created")
    status, error, _ = await call(api, "POST", f"{BASE}/{webhook_id}/deliveries/{event}/redeliver", member)
    assert (status, code_of(error), error["details"]) == (409, "CONFLICT", {"delivery_id": str(event), "active": False})
    test = await make_delivery(conn, home.org_id, webhook_id, "failed", "webhook.test")
    status, body, _ = await call(api, "POST", f"{BASE}/{webhook_id}/deliveries/{test}/redeliver", member)
    assert (status, body["status"]) == (202, "pending"), body
