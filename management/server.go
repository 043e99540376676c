package management

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/teaclave-go/teaclave/rpc"
	"github.com/teaclave-go/teaclave/rpc/pb/frontendpb"
	"github.com/teaclave-go/teaclave/rpc/pb/managementpb"
)

// server serves an API as Teaclave's TeaclaveManagement service. Each call
// takes its caller from the id and role metadata the attested frontend set
// (rpc.UnaryServerCaller) and fails Unauthenticated without them, except
// SaveLogs, which carries the frontend's own audit entries. Errors are
// returned as *teaclave.Error for the transport's interceptor to turn into
// status codes.
type server struct {
	managementpb.UnimplementedTeaclaveManagementServer
	api API
}

// NewServer returns the TeaclaveManagement gRPC service of api: each call
// takes its caller from the id and role metadata that only an attested
// frontend can set (rpc.UnaryServerCaller), except SaveLogs, whose entries
// are the frontend's own.
func NewServer(api API) managementpb.TeaclaveManagementServer { return &server{api: api} }

// RegisterServer registers the TeaclaveManagement service of api on r,
// which must be an internal endpoint (rpc.InternalEndpoint): the topology
// admits only the frontend to it.
func RegisterServer(r grpc.ServiceRegistrar, api API) {
	managementpb.RegisterTeaclaveManagementServer(r, NewServer(api))
}

// withCaller runs fn with the forwarded caller in its context.
func withCaller[Req, Resp any](ctx context.Context, req Req, fn func(context.Context, Req) (Resp, error)) (Resp, error) {
	out, err := rpc.UnaryServerCaller(ctx, req, nil, func(ctx context.Context, r any) (any, error) {
		return fn(ctx, r.(Req))
	})
	if err != nil {
		var zero Resp
		return zero, err
	}
	return out.(Resp), nil
}

func (s *server) RegisterInputFile(ctx context.Context, r *frontendpb.RegisterInputFileRequest) (*frontendpb.RegisterInputFileResponse, error) {
	return withCaller(ctx, r, s.api.RegisterInputFile)
}

func (s *server) RegisterOutputFile(ctx context.Context, r *frontendpb.RegisterOutputFileRequest) (*frontendpb.RegisterOutputFileResponse, error) {
	return withCaller(ctx, r, s.api.RegisterOutputFile)
}

func (s *server) UpdateInputFile(ctx context.Context, r *frontendpb.UpdateInputFileRequest) (*frontendpb.UpdateInputFileResponse, error) {
	return withCaller(ctx, r, s.api.UpdateInputFile)
}

func (s *server) UpdateOutputFile(ctx context.Context, r *frontendpb.UpdateOutputFileRequest) (*frontendpb.UpdateOutputFileResponse, error) {
	return withCaller(ctx, r, s.api.UpdateOutputFile)
}

func (s *server) RegisterFusionOutput(ctx context.Context, r *frontendpb.RegisterFusionOutputRequest) (*frontendpb.RegisterFusionOutputResponse, error) {
	return withCaller(ctx, r, s.api.RegisterFusionOutput)
}

func (s *server) RegisterInputFromOutput(ctx context.Context, r *frontendpb.RegisterInputFromOutputRequest) (*frontendpb.RegisterInputFromOutputResponse, error) {
	return withCaller(ctx, r, s.api.RegisterInputFromOutput)
}

func (s *server) GetOutputFile(ctx context.Context, r *frontendpb.GetOutputFileRequest) (*frontendpb.GetOutputFileResponse, error) {
	return withCaller(ctx, r, s.api.GetOutputFile)
}

func (s *server) GetInputFile(ctx context.Context, r *frontendpb.GetInputFileRequest) (*frontendpb.GetInputFileResponse, error) {
	return withCaller(ctx, r, s.api.GetInputFile)
}

func (s *server) RegisterFunction(ctx context.Context, r *frontendpb.RegisterFunctionRequest) (*frontendpb.RegisterFunctionResponse, error) {
	return withCaller(ctx, r, s.api.RegisterFunction)
}

func (s *server) UpdateFunction(ctx context.Context, r *frontendpb.UpdateFunctionRequest) (*frontendpb.UpdateFunctionResponse, error) {
	return withCaller(ctx, r, s.api.UpdateFunction)
}

func (s *server) GetFunction(ctx context.Context, r *frontendpb.GetFunctionRequest) (*frontendpb.GetFunctionResponse, error) {
	return withCaller(ctx, r, s.api.GetFunction)
}

func (s *server) GetFunctionUsageStats(ctx context.Context, r *frontendpb.GetFunctionUsageStatsRequest) (*frontendpb.GetFunctionUsageStatsResponse, error) {
	return withCaller(ctx, r, s.api.GetFunctionUsageStats)
}

func (s *server) DeleteFunction(ctx context.Context, r *frontendpb.DeleteFunctionRequest) (*emptypb.Empty, error) {
	return withCaller(ctx, r, s.api.DeleteFunction)
}

func (s *server) DisableFunction(ctx context.Context, r *frontendpb.DisableFunctionRequest) (*emptypb.Empty, error) {
	return withCaller(ctx, r, s.api.DisableFunction)
}

func (s *server) ListFunctions(ctx context.Context, r *frontendpb.ListFunctionsRequest) (*frontendpb.ListFunctionsResponse, error) {
	return withCaller(ctx, r, s.api.ListFunctions)
}

func (s *server) CreateTask(ctx context.Context, r *frontendpb.CreateTaskRequest) (*frontendpb.CreateTaskResponse, error) {
	return withCaller(ctx, r, s.api.CreateTask)
}

func (s *server) GetTask(ctx context.Context, r *frontendpb.GetTaskRequest) (*frontendpb.GetTaskResponse, error) {
	return withCaller(ctx, r, s.api.GetTask)
}

func (s *server) AssignData(ctx context.Context, r *frontendpb.AssignDataRequest) (*emptypb.Empty, error) {
	return withCaller(ctx, r, s.api.AssignData)
}

func (s *server) ApproveTask(ctx context.Context, r *frontendpb.ApproveTaskRequest) (*emptypb.Empty, error) {
	return withCaller(ctx, r, s.api.ApproveTask)
}

func (s *server) InvokeTask(ctx context.Context, r *frontendpb.InvokeTaskRequest) (*emptypb.Empty, error) {
	return withCaller(ctx, r, s.api.InvokeTask)
}

func (s *server) CancelTask(ctx context.Context, r *frontendpb.CancelTaskRequest) (*emptypb.Empty, error) {
	return withCaller(ctx, r, s.api.CancelTask)
}

// SaveLogs needs no forwarded caller: the entries are the frontend's own.
func (s *server) SaveLogs(ctx context.Context, r *managementpb.SaveLogsRequest) (*emptypb.Empty, error) {
	return s.api.SaveLogs(ctx, r)
}

func (s *server) QueryAuditLogs(ctx context.Context, r *frontendpb.QueryAuditLogsRequest) (*frontendpb.QueryAuditLogsResponse, error) {
	return withCaller(ctx, r, s.api.QueryAuditLogs)
}
