"""The gRPC front (package amss.v1): servicers that translate messages into the same typed commands and
services REST uses, the interceptor pipeline, health and reflection. Generated code lives in gen/."""
