#!/usr/bin/env bash
# Generate amss/api/grpc/gen/ from proto/amss/v1/amss.proto (grpcio-tools + mypy-protobuf stubs).
# `scripts/gen-proto.sh --check` regenerates into a temporary directory and fails if the committed
# files differ (part of `make lint`).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
OUT_DIR="amss/api/grpc/gen"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# the well-known types ship with grpcio-tools, google/rpc/status.proto with googleapis-common-protos
tools_include="$("$PY" -c 'import grpc_tools, os; print(os.path.join(os.path.dirname(grpc_tools.__file__), "_proto"))')"
common_include="$("$PY" -c 'import google.rpc, os; print(os.path.dirname(os.path.dirname(google.rpc.__path__[0])))')"
"$PY" -m grpc_tools.protoc \
    -I proto -I "$tools_include" -I "$common_include" \
    --plugin=protoc-gen-mypy="$(dirname "$PY")/protoc-gen-mypy" \
    --plugin=protoc-gen-mypy_grpc="$(dirname "$PY")/protoc-gen-mypy_grpc" \
    --python_out="$work" --grpc_python_out="$work" --mypy_out="$work" --mypy_grpc_out="$work" \
    proto/amss/v1/amss.proto 2> >(grep -v "^Writing mypy to" >&2)
mkdir -p "$work/gen"
for name in amss_pb2.py amss_pb2.pyi amss_pb2_grpc.py amss_pb2_grpc.pyi; do
    # the proto package amss.v1 would shadow this project's amss package: import the generated module by its place;
    # google.rpc (a namespace package without py.typed) is typed for mypy only when imported as a module
    sed -e 's/from amss\.v1 import amss_pb2/from amss.api.grpc.gen import amss_pb2/' \
        -e 's/amss\.v1\.amss_pb2/amss.api.grpc.gen.amss_pb2/g' \
        -e 's/^from google\.rpc import status_pb2 as _status_pb2$/import google.rpc.status_pb2 as _status_pb2/' \
        "$work/amss/v1/$name" > "$work/gen/$name"
done
printf '"""Code generated from proto/amss/v1/amss.proto by scripts/gen-proto.sh (`make proto`); do not edit."""\n' \
    > "$work/gen/__init__.py"
if [[ "${1:-}" == "--check" ]]; then
    if ! diff -r -q "$OUT_DIR" "$work/gen" -x __pycache__; then
        echo "amss/api/grpc/gen/ is stale: run 'make proto' and commit the result" >&2
        exit 1
    fi
    echo "amss/api/grpc/gen/ is up to date"
else
    rm -rf "$OUT_DIR"
    mkdir -p "$OUT_DIR"
    cp "$work/gen/"* "$OUT_DIR/"
fi
