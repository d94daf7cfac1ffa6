"""Code generated from proto/amss/v1/amss.proto by scripts/gen-proto.sh (`make proto`); do not edit."""
