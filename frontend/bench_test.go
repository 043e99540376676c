//go:build !teaclave_production

package frontend_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/attestation"
	"github.com/teaclave-go/teaclave/attestation/sim"
	"github.com/teaclave-go/teaclave/frontend"
	fetest "github.com/teaclave-go/teaclave/frontend/xtest"
	"github.com/teaclave-go/teaclave/management"
	mxtest "github.com/teaclave-go/teaclave/management/xtest"
	"github.com/teaclave-go/teaclave/rpc"
	"github.com/teaclave-go/teaclave/rpc/pb/frontendpb"
	"github.com/teaclave-go/teaclave/rpc/rpctest"
	"github.com/teaclave-go/teaclave/storage"
	sxtest "github.com/teaclave-go/teaclave/storage/xtest"
)

// benchEnv is a frontend, management and store for benchmarks, with a
// public two-slot function: alice creates tasks whose output she owns and
// whose input bob owns.
type benchEnv struct {
	api        frontend.API
	alice, bob context.Context
	fn         string
}

func newBenchEnv(b *testing.B, w wiring, durable bool) *benchEnv {
	b.Helper()
	var store teaclave.Store = sxtest.NewMemStore()
	if durable {
		dir := b.TempDir()
		svc, err := storage.New(storage.Config{DataDir: filepath.Join(dir, "db")}.Defaults(),
			storage.Deps{Sealer: sim.NewSealer(filepath.Join(dir, "seal.key"), quiet), Logger: quiet})
		if err != nil {
			b.Fatal(err)
		}
		if err := svc.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { svc.Stop(context.Background()) })
		store = svc
	}
	if err := mxtest.SeedTeaclaveFixtures(context.Background(), store); err != nil {
		b.Fatal(err)
	}
	dir := mxtest.NewDirectory("alice", "bob", "fo")
	mgmt, err := management.New(management.Config{}.Defaults(), management.Deps{Store: store, Directory: dir, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	authn := fetest.NewAuthenticator()
	tokens := map[string]string{"alice": authn.Add("alice", doRole), "bob": authn.Add("bob", doRole), "fo": authn.Add("fo", foRole)}
	var mapi management.API = mgmt
	var renv *rpctest.Env
	if w == overGRPC {
		renv = rpctest.NewEnv(b)
		srv := renv.Transport(b, attestation.ServiceManagement).NewServer(rpc.InternalEndpoint)
		mgmt.Register(srv)
		cc, err := renv.Transport(b, attestation.ServiceFrontend).Dial(serve(b, srv.Serve, srv.Stop), attestation.ServiceManagement)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { cc.Close() })
		mapi = management.NewClient(cc)
	}
	fe, err := frontend.New(frontend.Config{}.Defaults(), frontend.Deps{Authenticator: authn, Authorizer: fetest.TeaclavePolicy(), Management: mapi, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	if err := fe.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { fe.Stop(context.Background()) })
	e := &benchEnv{api: fe}
	if w == overGRPC {
		srv := renv.Transport(b, attestation.ServiceFrontend).NewServer(rpc.APIEndpoint)
		fe.Register(srv)
		cc, err := renv.Transport(b, attestation.ServiceExecution).Dial(serve(b, srv.Serve, srv.Stop), attestation.ServiceFrontend)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { cc.Close() })
		e.api = frontend.NewClient(cc)
	}
	as := func(u string) context.Context {
		return frontend.WithCredentials(context.Background(), rpc.Credentials{ID: u, Token: tokens[u]})
	}
	e.alice, e.bob = as("alice"), as("bob")
	r, err := e.api.RegisterFunction(as("fo"), &frontendpb.RegisterFunctionRequest{Name: "bench", ExecutorType: "builtin", Public: true, UsageQuota: -1,
		Arguments: []*frontendpb.FunctionArgument{{Key: "message", AllowOverwrite: true}},
		Inputs:    []*frontendpb.FunctionInput{{Name: "in"}}, Outputs: []*frontendpb.FunctionOutput{{Name: "out"}}})
	if err != nil {
		b.Fatal(err)
	}
	e.fn = r.GetFunctionId()
	return e
}

func (e *benchEnv) create(b *testing.B) string {
	r, err := e.api.CreateTask(e.alice, &frontendpb.CreateTaskRequest{FunctionId: e.fn, FunctionArguments: `{"message":"Hello From Teaclave!"}`, Executor: "builtin",
		InputsOwnership: owners(map[string][]string{"in": {"bob"}}), OutputsOwnership: owners(map[string][]string{"out": {"alice"}})})
	if err != nil {
		b.Fatal(err)
	}
	return r.GetTaskId()
}

func (e *benchEnv) inputAssignment(b *testing.B, task string) *frontendpb.AssignDataRequest {
	in, err := e.api.RegisterInputFile(e.bob, &frontendpb.RegisterInputFileRequest{Url: fileURL, Cmac: mockCmac, CryptoInfo: pfsCrypto()})
	if err != nil {
		b.Fatal(err)
	}
	return &frontendpb.AssignDataRequest{TaskId: task, Inputs: dm(map[string]string{"in": in.GetDataId()})}
}

func (e *benchEnv) assignOutput(b *testing.B, task string) {
	out, err := e.api.RegisterOutputFile(e.alice, &frontendpb.RegisterOutputFileRequest{Url: fileURL, CryptoInfo: pfsCrypto()})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := e.api.AssignData(e.alice, &frontendpb.AssignDataRequest{TaskId: task, Outputs: dm(map[string]string{"out": out.GetDataId()})}); err != nil {
		b.Fatal(err)
	}
}

func (e *benchEnv) must(b *testing.B, err error) {
	if err != nil {
		b.Fatal(err)
	}
}

// measure prepares b.N calls untimed, then times each call and reports
// the median and 99th percentile latency.
func measure(b *testing.B, prepare func() func() error) {
	calls := make([]func() error, b.N)
	b.StopTimer()
	for i := range calls {
		calls[i] = prepare()
	}
	lat := make([]time.Duration, b.N)
	b.StartTimer()
	for i, call := range calls {
		t0 := time.Now()
		if err := call(); err != nil {
			b.Fatal(err)
		}
		lat[i] = time.Since(t0)
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "median-ns")
	b.ReportMetric(float64(lat[(len(lat)*99)/100].Nanoseconds()), "p99-ns")
}

// BenchmarkFrontend measures the latency of the task RPCs through the
// frontend (authentication, access control, management, store), in
// process and over attested gRPC (client → frontend → management), on the
// in-memory store and on the sealed LevelDB store syncing every commit.
// Each iteration's task is brought to the state the call needs untimed.
func BenchmarkFrontend(b *testing.B) {
	for _, w := range []wiring{inProcess, overGRPC} {
		for _, durable := range []bool{false, true} {
			name := string(w) + "/memstore"
			if durable {
				name = string(w) + "/leveldb"
			}
			b.Run(name, func(b *testing.B) {
				e := newBenchEnv(b, w, durable)
				b.Run("CreateTask", func(b *testing.B) {
					measure(b, func() func() error {
						return func() error { e.create(b); return nil }
					})
				})
				b.Run("AssignData", func(b *testing.B) {
					measure(b, func() func() error {
						req := e.inputAssignment(b, e.create(b))
						return func() error { _, err := e.api.AssignData(e.bob, req); return err }
					})
				})
				b.Run("ApproveTask", func(b *testing.B) {
					measure(b, func() func() error {
						task := e.create(b)
						_, err := e.api.AssignData(e.bob, e.inputAssignment(b, task))
						e.must(b, err)
						e.assignOutput(b, task)
						return func() error {
							_, err := e.api.ApproveTask(e.alice, &frontendpb.ApproveTaskRequest{TaskId: task})
							return err
						}
					})
				})
				b.Run("InvokeTask", func(b *testing.B) {
					measure(b, func() func() error {
						task := e.create(b)
						_, err := e.api.AssignData(e.bob, e.inputAssignment(b, task))
						e.must(b, err)
						e.assignOutput(b, task)
						_, err = e.api.ApproveTask(e.alice, &frontendpb.ApproveTaskRequest{TaskId: task})
						e.must(b, err)
						_, err = e.api.ApproveTask(e.bob, &frontendpb.ApproveTaskRequest{TaskId: task})
						e.must(b, err)
						return func() error {
							_, err := e.api.InvokeTask(e.alice, &frontendpb.InvokeTaskRequest{TaskId: task})
							return err
						}
					})
				})
			})
		}
	}
}
