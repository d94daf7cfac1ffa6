"""Entry points that serve the outside world: REST and gRPC."""
