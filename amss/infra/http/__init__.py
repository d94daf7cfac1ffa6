"""Outbound HTTP: the resolver that keeps webhook deliveries away from non-public addresses."""
