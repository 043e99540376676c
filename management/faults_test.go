//go:build !teaclave_production

package management_test

import (
	"context"
	"net"
	"testing"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/attestation"
	"github.com/teaclave-go/teaclave/management"
	mxtest "github.com/teaclave-go/teaclave/management/xtest"
	"github.com/teaclave-go/teaclave/rpc"
	"github.com/teaclave-go/teaclave/rpc/pb/frontendpb"
	"github.com/teaclave-go/teaclave/rpc/pb/managementpb"
	"github.com/teaclave-go/teaclave/rpc/rpctest"
)

// TestStoreFaults: a failing store gives Unavailable and leaves records and
// queues as they were.
func TestStoreFaults(t *testing.T) {
	e := newEnv(t, inProcess, management.Config{})
	p := newTwoParty(t, e, -1)
	wantOK(t, p.assignIn(p.task), "assign")
	out := e.output(p.alice)
	before := e.dump()

	e.store.FailCommit(true)
	_, err := e.api.AssignData(p.alice, &frontendpb.AssignDataRequest{TaskId: p.task, Outputs: dm(map[string]string{"out": out})})
	wantKind(t, err, teaclave.KindUnavailable, "assign with commits failing")
	e.store.FailCommit(false)
	wantOK(t, p.assignOut(p.task), "assign")
	wantOK(t, p.approve(p.alice, p.task), "approve")
	wantOK(t, p.approve(p.bob, p.task), "approve")
	e.store.FailCommit(true)
	wantKind(t, p.invoke(p.alice, p.task), teaclave.KindUnavailable, "invoke with commits failing")
	e.store.FailCommit(false)
	if s := e.status(p.task); s != teaclave.TaskApproved || len(e.stagedTasks()) != 0 {
		t.Fatalf("a failed invoke left status %s or a staged task", s)
	}
	stats, err := e.api.GetFunctionUsageStats(p.alice, &frontendpb.GetFunctionUsageStatsRequest{FunctionId: p.fn})
	wantOK(t, err, "stats")
	if stats.GetCurrentUsage() != 0 {
		t.Fatal("a failed invoke counted a use")
	}
	e.store.FailGet(true)
	_, err = e.api.GetTask(p.alice, &frontendpb.GetTaskRequest{TaskId: p.task})
	wantKind(t, err, teaclave.KindUnavailable, "get with reads failing")
	e.store.FailGet(false)
	if _, r, _ := mxtest.Diff(before, e.dump()); len(r) != 0 {
		t.Fatalf("faults removed %v", r)
	}
}

// conflictStore refuses every Commit as if another writer had won.
type conflictStore struct{ teaclave.Store }

func (conflictStore) Commit(context.Context, []teaclave.Condition, []teaclave.Op) (teaclave.CommitResult, error) {
	return teaclave.CommitResult{}, teaclave.Errorf(teaclave.KindFailedPrecondition, "storage: condition 0: key is not at version 1")
}

// TestCommitAttemptsBounded: endless conflicts end in Aborted after the
// configured attempts, not in a hang.
func TestCommitAttemptsBounded(t *testing.T) {
	e := newEnv(t, inProcess, management.Config{})
	p := newTwoParty(t, e, -1)
	svc, err := management.New(management.Config{CommitAttempts: 3}.Defaults(), management.Deps{Store: conflictStore{e.store}, Directory: e.dir, Logger: quiet})
	wantOK(t, err, "new")
	_, err = svc.AssignData(p.bob, &frontendpb.AssignDataRequest{TaskId: p.task, Inputs: dm(map[string]string{"in": e.input(p.bob)})})
	wantKind(t, err, teaclave.KindAborted, "assign under endless conflicts")
}

// TestGRPCCallerRequired: over the wire, management acts only for a caller
// the frontend forwarded, and admits only the frontend.
func TestGRPCCallerRequired(t *testing.T) {
	e := newEnv(t, inProcess, management.Config{})
	renv := rpctest.NewEnv(t)
	srv := renv.Transport(t, attestation.ServiceManagement).NewServer(rpc.InternalEndpoint)
	e.svc.Register(srv)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	wantOK(t, err, "listen")
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	cc, err := renv.Transport(t, attestation.ServiceFrontend).Dial(lis.Addr().String(), attestation.ServiceManagement)
	wantOK(t, err, "dial")
	defer cc.Close()
	raw := managementpb.NewTeaclaveManagementClient(cc)
	_, err = raw.GetFunction(ctxFor(t), &frontendpb.GetFunctionRequest{FunctionId: mxtest.FixtureFunction1.String()})
	wantKind(t, err, teaclave.KindUnauthenticated, "call without a caller")
	_, err = raw.SaveLogs(ctxFor(t), &managementpb.SaveLogsRequest{})
	wantOK(t, err, "SaveLogs without a caller")
	_, err = management.NewClient(cc).GetFunction(e.as("mock_user", dataOwner), &frontendpb.GetFunctionRequest{FunctionId: mxtest.FixtureFunction1.String()})
	wantOK(t, err, "call with a caller")

	other, err := renv.Transport(t, attestation.ServiceExecution).Dial(lis.Addr().String(), attestation.ServiceManagement)
	wantOK(t, err, "dial from execution")
	defer other.Close()
	_, err = management.NewClient(other).GetFunction(e.as("mock_user", dataOwner), &frontendpb.GetFunctionRequest{FunctionId: mxtest.FixtureFunction1.String()})
	if err == nil {
		t.Fatal("an execution enclave reached management")
	}
}
