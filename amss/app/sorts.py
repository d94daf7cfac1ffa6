"""The query vocabulary of every list: which fields a list may be sorted by, and the kind of their values.

A port's `list(..., page)` accepts a `PageRequest` whose `sort` is one of these keys; the REST front
checks `?sort=` against the same mapping and the Postgres repositories order by the column it names
(a `SortColumn` *is* its column's SQL text). Declared here so every front and every adapter read one table.
"""

from __future__ import annotations

from typing import Final

from amss.app.paging import SortColumn, SortKind
from amss.domain.enums import Role

# keyset pagination needs a non-null sort column: last_maintenance and next_due are not sortable
AIRCRAFT_SORTS: Final = {
    "created_at": SortColumn("created_at"),
    "updated_at": SortColumn("updated_at"),
    "tail_number": SortColumn("tail_number", SortKind.TEXT),
    "model": SortColumn("model", SortKind.TEXT),
}

USER_SORTS: Final = {
    "created_at": SortColumn("created_at"),
    # the table's columns, not the text the users SELECT casts them to: an index gives their order
    "email": SortColumn("users.email", SortKind.TEXT),
    "role": SortColumn("users.role", SortKind.TEXT, (role.value for role in Role)),
    "updated_at": SortColumn("updated_at"),
}

AUDIT_SORTS: Final = {"timestamp": SortColumn('"timestamp"')}

COMPLIANCE_SORTS: Final = {"created_at": SortColumn("created_at"), "updated_at": SortColumn("updated_at")}

TASK_SORTS: Final = {
    "start_time": SortColumn("start_time"),
    "created_at": SortColumn("created_at"),
    "updated_at": SortColumn("updated_at"),
}

ORGANIZATION_SORTS: Final = {
    "created_at": SortColumn("created_at"),
    "name": SortColumn("name", SortKind.TEXT),
    "updated_at": SortColumn("updated_at"),
}

DEFINITION_SORTS: Final = {
    "created_at": SortColumn("created_at"),
    "updated_at": SortColumn("updated_at"),
    "name": SortColumn("name", SortKind.TEXT),
}

ITEM_SORTS: Final = {
    "created_at": SortColumn("created_at"),
    "updated_at": SortColumn("updated_at"),
    "serial_number": SortColumn("serial_number", SortKind.TEXT),
}

RESERVATION_SORTS: Final = {"created_at": SortColumn("created_at"), "updated_at": SortColumn("updated_at")}

PROGRAM_SORTS: Final = {
    "created_at": SortColumn("created_at"),
    "updated_at": SortColumn("updated_at"),
    "name": SortColumn("name", SortKind.TEXT),
}

WEBHOOK_SORTS: Final = {
    "created_at": SortColumn("created_at"),
    "updated_at": SortColumn("updated_at"),
    "url": SortColumn("url", SortKind.TEXT),
}

# a webhook's deliveries: newest first by default (the route's default sort is -created_at)
DELIVERY_SORTS: Final = {"created_at": SortColumn("created_at")}

# GET /imports lists newest first (sort=-created_at by default)
IMPORT_SORTS: Final = {"created_at": SortColumn("created_at")}

IMPORT_ROW_SORTS: Final = {"row_number": SortColumn("row_number", SortKind.INTEGER)}
