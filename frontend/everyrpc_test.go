//go:build !teaclave_production

package frontend_test

import (
	"context"
	"sync"
	"testing"

	"github.com/teaclave-go/teaclave/frontend"
	mxtest "github.com/teaclave-go/teaclave/management/xtest"
	"github.com/teaclave-go/teaclave/rpc/pb/frontendpb"
)

// recorder is an Authorizer that records the API names it is asked about
// and allows everything.
type recorder struct {
	mu   sync.Mutex
	apis []string
}

func (r *recorder) Authorize(_ context.Context, _, api string) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.apis = append(r.apis, api)
	return true, nil
}

func (r *recorder) last() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.apis) == 0 {
		return ""
	}
	return r.apis[len(r.apis)-1]
}

// TestEveryRPC calls each of the 22 RPCs successfully through the
// frontend, in process and over gRPC, and checks that each asks access
// control about its Teaclave API name (protocol §6).
func TestEveryRPC(t *testing.T) {
	forEachWiring(t, func(t *testing.T, w wiring) {
		rec := &recorder{}
		e := newEnvWith(t, w, frontend.Config{}, rec)
		api, alice, fo := e.api, e.as("alice"), e.as("fo")
		var in, out, fusion, fn, task string
		calls := []struct {
			name string
			call func() error
		}{
			{frontend.APIRegisterInputFile, func() error {
				r, err := api.RegisterInputFile(alice, &frontendpb.RegisterInputFileRequest{Url: fileURL, Cmac: mockCmac, CryptoInfo: pfsCrypto()})
				in = r.GetDataId()
				return err
			}},
			{frontend.APIRegisterOutputFile, func() error {
				r, err := api.RegisterOutputFile(alice, &frontendpb.RegisterOutputFileRequest{Url: fileURL, CryptoInfo: pfsCrypto()})
				out = r.GetDataId()
				return err
			}},
			{frontend.APIUpdateInputFile, func() error {
				_, err := api.UpdateInputFile(alice, &frontendpb.UpdateInputFileRequest{DataId: in, Url: "https://h/new"})
				return err
			}},
			{frontend.APIUpdateOutputFile, func() error {
				_, err := api.UpdateOutputFile(alice, &frontendpb.UpdateOutputFileRequest{DataId: out, Url: "https://h/new"})
				return err
			}},
			{frontend.APIRegisterFusionOutput, func() error {
				r, err := api.RegisterFusionOutput(alice, &frontendpb.RegisterFusionOutputRequest{OwnerList: []string{"alice", "bob"}})
				fusion = r.GetDataId()
				return err
			}},
			{frontend.APIRegisterInputFromOutput, func() error {
				_, err := api.RegisterInputFromOutput(e.as("mock_user1"), &frontendpb.RegisterInputFromOutputRequest{DataId: mxtest.FixtureOutput1.String()})
				return err
			}},
			{frontend.APIGetOutputFile, func() error {
				_, err := api.GetOutputFile(alice, &frontendpb.GetOutputFileRequest{DataId: fusion})
				return err
			}},
			{frontend.APIGetInputFile, func() error {
				_, err := api.GetInputFile(alice, &frontendpb.GetInputFileRequest{DataId: in})
				return err
			}},
			{frontend.APIRegisterFunction, func() error {
				r, err := api.RegisterFunction(fo, &frontendpb.RegisterFunctionRequest{Name: "f", ExecutorType: "builtin", UsageQuota: -1,
					UserAllowlist: []string{"alice"}, Outputs: []*frontendpb.FunctionOutput{{Name: "out"}}})
				fn = r.GetFunctionId()
				return err
			}},
			{frontend.APIGetFunction, func() error {
				_, err := api.GetFunction(alice, &frontendpb.GetFunctionRequest{FunctionId: fn})
				return err
			}},
			{frontend.APIGetFunctionUsageStats, func() error {
				_, err := api.GetFunctionUsageStats(fo, &frontendpb.GetFunctionUsageStatsRequest{FunctionId: fn})
				return err
			}},
			{frontend.APIUpdateFunction, func() error {
				_, err := api.UpdateFunction(fo, &frontendpb.UpdateFunctionRequest{FunctionId: fn, Name: "f", Description: "d", ExecutorType: "builtin",
					UsageQuota: -1, UserAllowlist: []string{"alice"}, Outputs: []*frontendpb.FunctionOutput{{Name: "out"}}})
				return err
			}},
			{frontend.APIListFunctions, func() error {
				r, err := api.ListFunctions(fo, &frontendpb.ListFunctionsRequest{UserId: "fo"})
				if err == nil && len(r.GetRegisteredFunctions()) != 1 {
					t.Errorf("registered %v", r.GetRegisteredFunctions())
				}
				return err
			}},
			{frontend.APICreateTask, func() error {
				r, err := api.CreateTask(alice, &frontendpb.CreateTaskRequest{FunctionId: fn, FunctionArguments: "{}", Executor: "builtin",
					OutputsOwnership: owners(map[string][]string{"out": {"alice"}})})
				task = r.GetTaskId()
				return err
			}},
			{frontend.APIGetTask, func() error { _, err := api.GetTask(alice, &frontendpb.GetTaskRequest{TaskId: task}); return err }},
			{frontend.APIAssignData, func() error {
				_, err := api.AssignData(alice, &frontendpb.AssignDataRequest{TaskId: task, Outputs: dm(map[string]string{"out": out})})
				return err
			}},
			{frontend.APIApproveTask, func() error {
				// The private function's owner takes part and approves too.
				if _, err := api.ApproveTask(fo, &frontendpb.ApproveTaskRequest{TaskId: task}); err != nil {
					return err
				}
				_, err := api.ApproveTask(alice, &frontendpb.ApproveTaskRequest{TaskId: task})
				return err
			}},
			{frontend.APIInvokeTask, func() error { _, err := api.InvokeTask(alice, &frontendpb.InvokeTaskRequest{TaskId: task}); return err }},
			{frontend.APICancelTask, func() error { _, err := api.CancelTask(alice, &frontendpb.CancelTaskRequest{TaskId: task}); return err }},
			{frontend.APIDisableFunction, func() error {
				_, err := api.DisableFunction(fo, &frontendpb.DisableFunctionRequest{FunctionId: fn})
				return err
			}},
			{frontend.APIDeleteFunction, func() error {
				_, err := api.DeleteFunction(fo, &frontendpb.DeleteFunctionRequest{FunctionId: fn})
				return err
			}},
			{frontend.APIQueryAuditLogs, func() error {
				e.flush()
				r, err := api.QueryAuditLogs(e.as("frontend_user"), &frontendpb.QueryAuditLogsRequest{Query: "result:true", Limit: 100})
				if err == nil && len(r.GetLogs()) != 22 {
					t.Errorf("%d successful calls logged, want 22", len(r.GetLogs()))
				}
				return err
			}},
		}
		seen := map[string]bool{}
		for _, c := range calls {
			if err := c.call(); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if got := rec.last(); got != c.name {
				t.Fatalf("%s asked access control about %q", c.name, got)
			}
			seen[c.name] = true
		}
		if len(seen) != 22 {
			t.Fatalf("%d distinct RPCs called", len(seen))
		}
		if s := e.drain("staged-task"); len(s) != 1 {
			t.Fatalf("%d staged", len(s))
		}
	})
}
