"""The event pipeline's ports: the outbox's claims, the events stream, the deliveries and the webhook sender."""
