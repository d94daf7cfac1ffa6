"""The event pipeline's loops: outbox publisher, fan-out consumer (group amss.workers), webhook dispatcher."""
