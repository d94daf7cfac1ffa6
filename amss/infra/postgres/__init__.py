"""Postgres adapter: pool, migrations, unit of work, repositories, error translation."""
