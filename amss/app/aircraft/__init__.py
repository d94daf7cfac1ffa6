"""Aircraft: its commands, their handlers, the service, its views and ports."""
