//go:build !teaclave_production

package storage_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/attestation"
	"github.com/teaclave-go/teaclave/attestation/sim"
	"github.com/teaclave-go/teaclave/rpc"
	"github.com/teaclave-go/teaclave/rpc/pb/storagepb"
	"github.com/teaclave-go/teaclave/rpc/rpctest"
	"github.com/teaclave-go/teaclave/storage"
	"github.com/teaclave-go/teaclave/storage/xtest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// startService starts a storage service on a sealed database in dir.
func startService(t *testing.T, dir, keyFile string) *storage.Service {
	t.Helper()
	return startServiceSync(t, dir, keyFile, "")
}

// startServiceSync starts a service with the given sync policy. Tests of
// the wire use "none": durability is the store's own tests' subject, and
// fsyncs would only make them slow.
func startServiceSync(t *testing.T, dir, keyFile, sync string) *storage.Service {
	t.Helper()
	svc, err := storage.New(storage.Config{DataDir: dir, Sync: sync}.Defaults(), storage.Deps{Sealer: sim.NewSealer(keyFile, quiet), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Stop(context.Background()) })
	return svc
}

func TestServiceRestartKeepsData(t *testing.T) {
	dir, keyFile := t.TempDir(), filepath.Join(t.TempDir(), "seal.key")
	ctx := context.Background()
	svc := startService(t, dir, keyFile)
	if err := svc.Put(ctx, []byte("function-1"), []byte("f")); err != nil {
		t.Fatal(err)
	}
	if err := svc.Enqueue(ctx, []byte("staged-task"), []byte("t1")); err != nil {
		t.Fatal(err)
	}
	if err := svc.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Get(ctx, []byte("function-1")); !errors.Is(err, teaclave.ErrUnavailable) {
		t.Errorf("Get after Stop: %v, want Unavailable", err)
	}
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if v, _, err := svc.Get(ctx, []byte("function-1")); err != nil || string(v) != "f" {
		t.Errorf("after restart: %q %v", v, err)
	}
	if v, err := svc.Dequeue(ctx, []byte("staged-task")); err != nil || string(v) != "t1" {
		t.Errorf("queue after restart: %q %v", v, err)
	}
}

func TestServiceRefusesOtherKey(t *testing.T) {
	dir := t.TempDir()
	svc := startService(t, dir, filepath.Join(t.TempDir(), "a.key"))
	if err := svc.Put(context.Background(), []byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	svc.Stop(context.Background())
	other, err := storage.New(storage.Config{DataDir: dir}.Defaults(), storage.Deps{Sealer: sim.NewSealer(filepath.Join(t.TempDir(), "b.key"), quiet), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	err = other.Start(context.Background())
	if err == nil {
		other.Stop(context.Background())
		t.Fatal("opened a database sealed under another key")
	}
	if !strings.Contains(err.Error(), "sealed by another enclave or key") {
		t.Errorf("unclear error: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := (storage.Config{}).Defaults().Validate(); err == nil {
		t.Error("empty data folder accepted")
	}
	if err := (storage.Config{DataDir: "x", Sync: "sometimes"}).Validate(); err == nil {
		t.Error("unknown sync policy accepted")
	}
	if _, err := storage.New(storage.Config{DataDir: "x"}.Defaults(), storage.Deps{}); err == nil {
		t.Error("missing sealer accepted")
	}
}

// attestedStorage serves a started storage service on an attested internal
// endpoint on 127.0.0.1 and returns its address.
func attestedStorage(t *testing.T, env *rpctest.Env, svc *storage.Service) string {
	t.Helper()
	tr := env.Transport(t, attestation.ServiceStorage)
	srv := tr.NewServer(rpc.InternalEndpoint)
	svc.Register(srv)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

// TestOverAttestedGRPC runs the conformance suite through the gRPC client
// over the attested transport against the sealed LevelDB service, for both
// allowed callers.
func TestOverAttestedGRPC(t *testing.T) {
	env := rpctest.NewEnv(t)
	for _, caller := range []string{attestation.ServiceManagement, attestation.ServiceScheduler} {
		t.Run(caller, func(t *testing.T) {
			xtest.ExerciseStore(t, func(t *testing.T) teaclave.Store {
				svc := startServiceSync(t, t.TempDir(), filepath.Join(t.TempDir(), "seal.key"), "none")
				addr := attestedStorage(t, env, svc)
				cc, err := env.Transport(t, caller).Dial(addr, attestation.ServiceStorage)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { cc.Close() })
				return storage.NewClient(cc)
			})
		})
	}
}

// TestTeaclaveRPCs calls Teaclave's six storage RPCs as a Teaclave peer
// would, with Teaclave's prefix semantics and without its prefix bug.
func TestTeaclaveRPCs(t *testing.T) {
	env := rpctest.NewEnv(t)
	svc := startService(t, t.TempDir(), filepath.Join(t.TempDir(), "seal.key"))
	addr := attestedStorage(t, env, svc)
	cc, err := env.Transport(t, attestation.ServiceManagement).Dial(addr, attestation.ServiceStorage)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	c := storagepb.NewTeaclaveStorageClient(cc)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c.Put(ctx, &storagepb.PutRequest{Key: []byte("test_get_key"), Value: []byte("test_get_value")}))
	resp, err := c.Get(ctx, &storagepb.GetRequest{Key: []byte("test_get_key")})
	if err != nil || string(resp.Value) != "test_get_value" {
		t.Fatalf("Get: %v %v", resp, err)
	}
	must(c.Delete(ctx, &storagepb.DeleteRequest{Key: []byte("test_get_key")}))
	if _, err := c.Get(ctx, &storagepb.GetRequest{Key: []byte("test_get_key")}); !errors.Is(err, teaclave.ErrNotFound) {
		t.Errorf("Get after Delete: %v", err)
	}
	must(c.Delete(ctx, &storagepb.DeleteRequest{Key: []byte("never-there")}))

	for _, v := range []string{"1", "2", "3"} {
		must(c.Enqueue(ctx, &storagepb.EnqueueRequest{Key: []byte("test_enqueue"), Value: []byte(v)}))
	}
	for _, want := range []string{"1", "2", "3"} {
		d, err := c.Dequeue(ctx, &storagepb.DequeueRequest{Key: []byte("test_enqueue")})
		if err != nil || string(d.Value) != want {
			t.Fatalf("Dequeue = %v %v, want %s", d, err, want)
		}
	}
	if _, err := c.Dequeue(ctx, &storagepb.DequeueRequest{Key: []byte("test_enqueue")}); !errors.Is(err, teaclave.ErrNotFound) {
		t.Errorf("Dequeue of empty queue: %v", err)
	}

	// Only an input- key exists: Teaclave returned it for "function"; we
	// return nothing.
	must(c.Put(ctx, &storagepb.PutRequest{Key: []byte("input-1"), Value: []byte("x")}))
	keys, err := c.GetKeysByPrefix(ctx, &storagepb.GetKeysByPrefixRequest{Prefix: []byte("function")})
	if err != nil || len(keys.Keys) != 0 {
		t.Errorf("GetKeysByPrefix(function) = %q %v, want none", keys.GetKeys(), err)
	}
	for _, k := range []string{"function-b", "function-a", "functionx", "function"} {
		must(c.Put(ctx, &storagepb.PutRequest{Key: []byte(k), Value: []byte("v")}))
	}
	keys, err = c.GetKeysByPrefix(ctx, &storagepb.GetKeysByPrefixRequest{Prefix: []byte("function")})
	if err != nil {
		t.Fatal(err)
	}
	got := make([]string, len(keys.Keys))
	for i, k := range keys.Keys {
		got[i] = string(k)
	}
	if !slices.Equal(got, []string{"function-a", "function-b"}) {
		t.Errorf("GetKeysByPrefix(function) = %q, want function-a, function-b", got)
	}

	// Bad input is refused with a clear code and writes nothing.
	before, _ := svc.Range(ctx, []byte{0}, nil, 0, false)
	if _, err := c.Put(ctx, &storagepb.PutRequest{Key: nil, Value: []byte("v")}); !errors.Is(err, teaclave.ErrInvalidArgument) {
		t.Errorf("Put with empty key: %v", err)
	}
	if _, err := c.Put(ctx, &storagepb.PutRequest{Key: bytes.Repeat([]byte("k"), 2000), Value: []byte("v")}); !errors.Is(err, teaclave.ErrInvalidArgument) {
		t.Errorf("Put with long key: %v", err)
	}
	if _, err := c.Put(ctx, &storagepb.PutRequest{Key: []byte("big"), Value: make([]byte, 4<<20)}); err == nil {
		t.Error("Put over the message limit accepted")
	}
	after, _ := svc.Range(ctx, []byte{0}, nil, 0, false)
	if len(before) != len(after) {
		t.Errorf("refused requests wrote: %d entries before, %d after", len(before), len(after))
	}
}

// TestCallersOutsideTopologyRefused: only management and scheduler may call
// storage.
func TestCallersOutsideTopologyRefused(t *testing.T) {
	env := rpctest.NewEnv(t)
	svc := startService(t, t.TempDir(), filepath.Join(t.TempDir(), "seal.key"))
	addr := attestedStorage(t, env, svc)
	for _, caller := range []string{attestation.ServiceFrontend, attestation.ServiceExecution, attestation.ServiceAuthentication, attestation.ServiceAccessControl} {
		cc, err := env.Transport(t, caller).Dial(addr, attestation.ServiceStorage)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = storage.NewClient(cc).Put(ctx, []byte("k"), []byte("v"))
		cancel()
		cc.Close()
		if err == nil {
			t.Errorf("%s could write to storage", caller)
		}
	}
	if _, _, err := svc.Get(context.Background(), []byte("k")); !errors.Is(err, teaclave.ErrNotFound) {
		t.Errorf("a refused caller wrote: %v", err)
	}
}
