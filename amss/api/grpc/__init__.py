"""The grpc.aio services."""
