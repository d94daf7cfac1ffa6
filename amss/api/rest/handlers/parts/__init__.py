"""Parts: definitions, items and reservations, one route module each; ROUTES in that order."""

from __future__ import annotations

from amss.api.rest.handlers.parts import definitions, items, reservations

ROUTES = [*definitions.ROUTES, *items.ROUTES, *reservations.ROUTES]
