// Package rpc is the attested gRPC layer shared by every service: it turns
// the authenticated Caller and error kinds of package teaclave into gRPC
// metadata and status codes and back, so that service code behaves the same
// in process and over the wire and never reads gRPC metadata itself.
//
// The wire contract lives in rpc/proto (Teaclave's seven files, unchanged but
// for go_package options; our own additions only in rpc/proto/ext) and the
// generated code in rpc/pb, regenerated with
//
//	go generate ./rpc/...
//
// which needs protoc (Debian's protobuf-compiler) on PATH.
package rpc

//go:generate ./generate.sh
