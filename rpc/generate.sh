#!/usr/bin/env bash
# Regenerates the Go code under rpc/pb from the .proto files under rpc/proto.
# Run through `go generate ./rpc/...` from anywhere in the module. It needs
# protoc (Debian: protobuf-compiler) with its well-known types; the Go
# plugins are pinned as tool directives in go.mod.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
module=$(go list -m)
include=/usr/include
[ -f "$include/google/protobuf/empty.proto" ] || { echo "generate.sh: protoc's well-known types not found under $include (apt-get install protobuf-compiler)" >&2; exit 1; }
gen_go=$(go tool -n protoc-gen-go)
gen_grpc=$(go tool -n protoc-gen-go-grpc)
rm -rf rpc/pb
mkdir -p rpc/pb
protos=$(cd rpc/proto && find . -name '*.proto' | sed 's|^\./||' | sort)
(cd rpc/proto && protoc -I . -I "$include" \
	--plugin=protoc-gen-go="$gen_go" --plugin=protoc-gen-go-grpc="$gen_grpc" \
	--go_out="$root" --go_opt=module="$module" \
	--go-grpc_out="$root" --go-grpc_opt=module="$module" \
	$protos)
