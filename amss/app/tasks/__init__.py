"""Maintenance tasks and their compliance items: commands, handlers, services, views and ports."""
