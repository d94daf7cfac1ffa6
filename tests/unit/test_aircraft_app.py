"""The pure pieces of the aircraft slice: command payloads, change checks, the status event, the rendering."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest

from amss.app.aircraft.commands import AircraftChanges, DeleteAircraft, RecordAircraftUsage, UpdateAircraft
from amss.app.aircraft.ports import NewAircraft
from amss.app.aircraft.service import checked_changes, checked_new, status_updated_event
from amss.app.aircraft.views import aircraft_body, aircraft_view
from amss.app.commands.base import parse_payload
from amss.domain.aircraft import MAX_COUNTER, Aircraft, check_usage_values, normalized_model
from amss.domain.enums import AircraftStatus
from amss.domain.errors import ValidationFailed

PLUS_TWO = timezone(timedelta(hours=2))
CREATED = datetime(2026, 1, 1, 6, 30, tzinfo=UTC)


def _aircraft(**fields: Any) -> Aircraft:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "org_id": uuid.uuid4(),
        "tail_number": "N1",
        "model": "A320",
        "status": AircraftStatus.OPERATIONAL,
        "capacity_slots": 1,
        "flight_hours_total": 0,
        "cycles_total": 0,
        "version": 1,
        "created_at": CREATED,
        "updated_at": CREATED,
    }
    return Aircraft(**{**values, **fields})


def _field(error: pytest.ExceptionInfo[ValidationFailed]) -> set[str]:
    return set(error.value.details["fields"])


# --- payloads -------------------------------------------------------------------------------------


def test_an_update_payload_is_json_and_reads_back_to_the_same_changes() -> None:
    aircraft_id = uuid.uuid4()
    changes: dict[str, object] = {
        "status": AircraftStatus.GROUNDED,
        "next_due": datetime(2026, 5, 1, 12, 0, tzinfo=PLUS_TWO),
        "last_maintenance": None,
        "capacity_slots": 2,
        "model": "A321",
    }
    sent = UpdateAircraft(aircraft_id=aircraft_id, changes=AircraftChanges.model_validate(changes), expected_version=3)
    payload = sent.payload()
    assert orjson.loads(orjson.dumps(payload)) == payload
    assert payload["changes"]["next_due"] == "2026-05-01T10:00:00Z"
    command = parse_payload(UpdateAircraft, payload)
    assert (command.aircraft_id, command.expected_version) == (aircraft_id, 3)
    assert command.changes.changes() == changes


def test_delete_and_usage_payloads_read_back() -> None:
    aircraft_id = uuid.uuid4()
    delete = DeleteAircraft(aircraft_id=aircraft_id, expected_version=None)
    assert parse_payload(DeleteAircraft, delete.payload()) == delete
    usage = RecordAircraftUsage(aircraft_id=aircraft_id, flight_hours=4, cycles=1)
    assert parse_payload(RecordAircraftUsage, usage.payload()) == usage


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"changes": {}}, "aircraft_id"),
        ({"aircraft_id": "nope", "changes": {}}, "aircraft_id"),
        ({"aircraft_id": str(uuid.uuid4()), "changes": []}, "changes"),
        ({"aircraft_id": str(uuid.uuid4()), "changes": {"wingspan": 3}}, "wingspan"),
        ({"aircraft_id": str(uuid.uuid4()), "changes": {"model": None}}, "model"),
        ({"aircraft_id": str(uuid.uuid4()), "changes": {"model": 3}}, "model"),
        ({"aircraft_id": str(uuid.uuid4()), "changes": {"status": "flying"}}, "status"),
        ({"aircraft_id": str(uuid.uuid4()), "changes": {"capacity_slots": "2"}}, "capacity_slots"),
        ({"aircraft_id": str(uuid.uuid4()), "changes": {"capacity_slots": False}}, "capacity_slots"),
        ({"aircraft_id": str(uuid.uuid4()), "changes": {"next_due": "2026-05-01T10:00:00"}}, "next_due"),
        ({"aircraft_id": str(uuid.uuid4()), "changes": {"next_due": "soon"}}, "next_due"),
        ({"aircraft_id": str(uuid.uuid4()), "changes": {"next_due": 17}}, "next_due"),
        ({"aircraft_id": str(uuid.uuid4()), "changes": {}, "expected_version": "2"}, "expected_version"),
    ],
)
def test_a_malformed_update_payload_is_a_validation_error(payload: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationFailed) as error:
        parse_payload(UpdateAircraft, payload)
    assert _field(error) == {field}


def test_a_malformed_usage_payload_is_a_validation_error() -> None:
    with pytest.raises(ValidationFailed) as error:
        parse_payload(RecordAircraftUsage, {"aircraft_id": str(uuid.uuid4()), "flight_hours": 1.5, "cycles": 0})
    assert _field(error) == {"flight_hours"}


# --- checks ---------------------------------------------------------------------------------------


def test_new_aircraft_are_normalised_and_checked() -> None:
    new = checked_new(NewAircraft(tail_number=" N1 ", model=" A320 "))
    assert (new.tail_number, new.model) == ("N1", "A320")
    for bad, field in (
        (NewAircraft("N1", "A320", capacity_slots=0), "capacity_slots"),
        (NewAircraft("N1", ""), "model"),
        (NewAircraft("N1", "A320", last_maintenance=CREATED, next_due=CREATED), "next_due"),
    ):
        with pytest.raises(ValidationFailed) as error:
            checked_new(bad)
        assert _field(error) == {field}


def test_changes_are_checked_one_by_one_and_pairwise_when_both_dates_come() -> None:
    assert checked_changes({"tail_number": " N2 ", "model": " B737 "}) == {"tail_number": "N2", "model": "B737"}
    assert checked_changes({"next_due": CREATED}) == {"next_due": CREATED}
    with pytest.raises(ValidationFailed) as error:
        checked_changes({"last_maintenance": CREATED, "next_due": CREATED - timedelta(days=1)})
    assert _field(error) == {"next_due"}
    with pytest.raises(ValidationFailed) as error:
        checked_changes({"capacity_slots": 0})
    assert _field(error) == {"capacity_slots"}


@pytest.mark.parametrize(
    ("flight_hours", "cycles", "field"),
    [(-1, 0, "flight_hours"), (0, -1, "cycles"), (MAX_COUNTER + 1, 0, "flight_hours")],
)
def test_usage_values_are_checked_on_their_own(flight_hours: int, cycles: int, field: str) -> None:
    check_usage_values(flight_hours=0, cycles=MAX_COUNTER)
    with pytest.raises(ValidationFailed) as error:
        check_usage_values(flight_hours=flight_hours, cycles=cycles)
    assert _field(error) == {field}


def test_model_is_trimmed_and_required() -> None:
    assert normalized_model(" E190 ") == "E190"
    with pytest.raises(ValidationFailed):
        normalized_model(" ")


# --- effects and rendering ------------------------------------------------------------------------


def test_the_status_event_has_the_stable_dedupe_key_and_versioned_payload() -> None:
    before = _aircraft()
    after = _aircraft(
        id=before.id, org_id=before.org_id, status=AircraftStatus.GROUNDED, version=2, updated_at=CREATED + timedelta(1)
    )
    event = status_updated_event(before, after)
    assert event.dedupe_key == f"aircraft_status_updated:{before.org_id}:{before.id}:grounded:2"
    event_id = uuid.uuid4()
    assert event.payload(event_id) == {
        "version": 1,
        "event_id": str(event_id),
        "event_type": "aircraft_status_updated",
        "org_id": str(before.org_id),
        "occurred_at": "2026-01-02T06:30:00Z",
        "aircraft_id": str(before.id),
        "data": {
            "from": "operational",
            "to": "grounded",
            "tail_number": "N1",
            "version": 2,
            "updated_at": "2026-01-02T06:30:00Z",
        },
    }


def test_the_view_is_json_primitives_in_utc() -> None:
    aircraft = _aircraft(last_maintenance=datetime(2026, 1, 1, 12, 0, 0, 500, tzinfo=PLUS_TWO))
    view = aircraft_view(aircraft)
    assert view["last_maintenance"] == "2026-01-01T10:00:00.000500Z"
    assert (view["next_due"], view["created_at"], view["status"]) == (None, "2026-01-01T06:30:00Z", "operational")
    assert orjson.loads(aircraft_body(aircraft)) == view
