"""Redis Streams helpers: publisher, consumer-group reader, claim of stale entries."""
