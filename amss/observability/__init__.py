"""Logging, tracing and metrics set-up."""
