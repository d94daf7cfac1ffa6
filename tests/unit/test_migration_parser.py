"""The goose-format parser: sections, statement splitting, blocks, annotations, errors."""

from __future__ import annotations

import re

import pytest

from amss.infra.postgres.migrations import MigrationError, load_migrations, parse_sql


def test_statements_split_at_semicolons_at_line_end() -> None:
    up, down, in_transaction = parse_sql(
        "-- header comment\n"
        "-- +goose Up\n"
        "CREATE TABLE a (\n  id int -- a comment; not an end\n);\n"
        "CREATE INDEX a_idx ON a (id);\n"
        "-- +goose Down\n"
        "DROP TABLE a;\n"
    )
    assert up == ["CREATE TABLE a (\n  id int -- a comment; not an end\n);", "CREATE INDEX a_idx ON a (id);"]
    assert down == ["DROP TABLE a;"]
    assert in_transaction is True


def test_statement_blocks_keep_inner_semicolons() -> None:
    up, _, _ = parse_sql(
        "-- +goose Up\n"
        "-- +goose StatementBegin\n"
        "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$\nBEGIN\n  RETURN 1;\nEND;\n$$;\n"
        "-- +goose StatementEnd\n"
        "SELECT 1;\n"
    )
    assert len(up) == 2
    assert up[0].startswith("CREATE FUNCTION") and up[0].endswith("$$;")
    assert up[1] == "SELECT 1;"


def test_no_transaction_annotation_is_honoured() -> None:
    _, _, in_transaction = parse_sql("-- +goose NO TRANSACTION\n-- +goose Up\nCREATE INDEX CONCURRENTLY i ON t (c);\n")
    assert in_transaction is False


def test_comment_only_fragments_are_dropped() -> None:
    up, down, _ = parse_sql("-- +goose Up\nSELECT 1;\n-- trailing note\n-- +goose Down\n-- nothing to undo\n")
    assert up == ["SELECT 1;"]
    assert down == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("SELECT 1;\n", "no '-- +goose Up'"),
        ("-- +goose Up\n-- +goose StatementBegin\nSELECT 1;\n", "never closed"),
        ("-- +goose Up\n-- +goose StatementEnd\n", "StatementEnd without StatementBegin"),
        ("-- +goose StatementBegin\n", "misplaced StatementBegin"),
        ("-- +goose Up\n-- +goose Sideways\n", "unknown annotation"),
    ],
)
def test_malformed_files_are_refused_with_the_reason(text: str, problem: str) -> None:
    with pytest.raises(MigrationError, match=re.escape(problem)):
        parse_sql(text, "x.sql")


def test_project_migrations_are_ordered_and_each_has_a_down() -> None:
    migrations = load_migrations()
    versions = [m.version for m in migrations]
    assert versions == sorted(versions) and len(set(versions)) == len(versions)
    assert all(m.down_statements for m in migrations)


def test_file_names_must_carry_a_version(tmp_path: object) -> None:
    from pathlib import Path

    directory = Path(str(tmp_path))
    (directory / "create_things.sql").write_text("-- +goose Up\nSELECT 1;\n")
    with pytest.raises(MigrationError, match="expected a name like"):
        load_migrations(directory)
