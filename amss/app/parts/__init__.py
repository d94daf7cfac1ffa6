"""Parts: definitions, items and reservations: commands, handlers, the service, views and ports."""
