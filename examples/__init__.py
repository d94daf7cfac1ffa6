"""Runnable examples for integrators (not part of the amss package)."""
