"""Commands: the one message every front (REST, jobs, later gRPC and CSV import) submits, and its outcome."""
