"""A repository statement renumbered to follow the parameters of the statement it joins."""

from __future__ import annotations

from amss.infra.postgres.sql import Statement


def test_parameters_are_renumbered_after_the_ones_taken_casts_and_two_digits_included() -> None:
    statement = Statement("UPDATE t SET a = $2, b = NULLIF($4::text, '')::json WHERE id = $1 AND n = $10", (1,) * 10)
    assert statement.numbered_after(18) == (
        "UPDATE t SET a = $20, b = NULLIF($22::text, '')::json WHERE id = $19 AND n = $28"
    )
    assert statement.numbered_after(0) == statement.sql


def test_a_statement_without_parameters_is_unchanged() -> None:
    assert Statement("SELECT true", ()).numbered_after(18) == "SELECT true"
