package management

import (
	"context"

	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/teaclave-go/teaclave/rpc/pb/frontendpb"
	"github.com/teaclave-go/teaclave/rpc/pb/managementpb"
)

// API is the management service as the frontend calls it: Teaclave's
// TeaclaveManagement RPCs with their own message types. Every method but
// SaveLogs acts for the teaclave.Caller in ctx (set by the frontend after
// authenticating the user) and fails Unauthenticated without one. Errors
// are *teaclave.Error values.
//
// *Service implements it in process and *Client over gRPC, so the frontend
// behaves the same with either.
type API interface {
	RegisterInputFile(context.Context, *frontendpb.RegisterInputFileRequest) (*frontendpb.RegisterInputFileResponse, error)
	RegisterOutputFile(context.Context, *frontendpb.RegisterOutputFileRequest) (*frontendpb.RegisterOutputFileResponse, error)
	UpdateInputFile(context.Context, *frontendpb.UpdateInputFileRequest) (*frontendpb.UpdateInputFileResponse, error)
	UpdateOutputFile(context.Context, *frontendpb.UpdateOutputFileRequest) (*frontendpb.UpdateOutputFileResponse, error)
	RegisterFusionOutput(context.Context, *frontendpb.RegisterFusionOutputRequest) (*frontendpb.RegisterFusionOutputResponse, error)
	RegisterInputFromOutput(context.Context, *frontendpb.RegisterInputFromOutputRequest) (*frontendpb.RegisterInputFromOutputResponse, error)
	GetOutputFile(context.Context, *frontendpb.GetOutputFileRequest) (*frontendpb.GetOutputFileResponse, error)
	GetInputFile(context.Context, *frontendpb.GetInputFileRequest) (*frontendpb.GetInputFileResponse, error)
	RegisterFunction(context.Context, *frontendpb.RegisterFunctionRequest) (*frontendpb.RegisterFunctionResponse, error)
	UpdateFunction(context.Context, *frontendpb.UpdateFunctionRequest) (*frontendpb.UpdateFunctionResponse, error)
	GetFunction(context.Context, *frontendpb.GetFunctionRequest) (*frontendpb.GetFunctionResponse, error)
	GetFunctionUsageStats(context.Context, *frontendpb.GetFunctionUsageStatsRequest) (*frontendpb.GetFunctionUsageStatsResponse, error)
	DeleteFunction(context.Context, *frontendpb.DeleteFunctionRequest) (*emptypb.Empty, error)
	DisableFunction(context.Context, *frontendpb.DisableFunctionRequest) (*emptypb.Empty, error)
	ListFunctions(context.Context, *frontendpb.ListFunctionsRequest) (*frontendpb.ListFunctionsResponse, error)
	CreateTask(context.Context, *frontendpb.CreateTaskRequest) (*frontendpb.CreateTaskResponse, error)
	GetTask(context.Context, *frontendpb.GetTaskRequest) (*frontendpb.GetTaskResponse, error)
	AssignData(context.Context, *frontendpb.AssignDataRequest) (*emptypb.Empty, error)
	ApproveTask(context.Context, *frontendpb.ApproveTaskRequest) (*emptypb.Empty, error)
	InvokeTask(context.Context, *frontendpb.InvokeTaskRequest) (*emptypb.Empty, error)
	CancelTask(context.Context, *frontendpb.CancelTaskRequest) (*emptypb.Empty, error)
	// SaveLogs stores audit entries. It needs no caller: only the
	// frontend reaches management, and it reports its own calls.
	SaveLogs(context.Context, *managementpb.SaveLogsRequest) (*emptypb.Empty, error)
	QueryAuditLogs(context.Context, *frontendpb.QueryAuditLogsRequest) (*frontendpb.QueryAuditLogsResponse, error)
}

var (
	_ API = (*Service)(nil)
	_ API = (*Client)(nil)
)
