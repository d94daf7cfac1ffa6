"""Webhook subscriptions: the use cases of the Webhooks API (amss/app/webhooks/service.py) and their ports."""
