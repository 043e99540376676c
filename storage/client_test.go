package storage_test

import (
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/rpc"
	"github.com/teaclave-go/teaclave/storage"
	"github.com/teaclave-go/teaclave/storage/memstore"
	"github.com/teaclave-go/teaclave/storage/xtest"
)

// serveStore serves store over gRPC on 127.0.0.1 and returns a client.
// The server uses the rpc layer's error interceptor, as the real service
// does; attestation is the transport's business and tested there.
func serveStore(t *testing.T, store teaclave.Store) *storage.Client {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(rpc.UnaryServerErrors))
	storage.NewServer(store).Register(srv)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return storage.NewClient(conn)
}

// TestClientConformance runs the Store conformance suite through the gRPC
// client and server against an in-memory store.
func TestClientConformance(t *testing.T) {
	xtest.ExerciseStore(t, func(t *testing.T) teaclave.Store {
		return serveStore(t, memstore.New())
	})
}
