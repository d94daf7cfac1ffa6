"""Adapters that implement the application ports: Postgres, Redis, Redis Streams."""
