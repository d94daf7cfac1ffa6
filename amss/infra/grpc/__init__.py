"""Clients of amss-server's gRPC front, for the worker's jobs (ports in amss/app)."""
