package frontend

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/teaclave-go/teaclave/rpc/pb/frontendpb"
)

// server serves an API as Teaclave's TeaclaveFrontend service: each call's
// credentials come from its id and token metadata and its client address
// from the connection (see incoming); any role metadata is ignored.
type server struct {
	frontendpb.UnimplementedTeaclaveFrontendServer
	api API
}

// NewServer returns the TeaclaveFrontend gRPC service of api.
func NewServer(api API) frontendpb.TeaclaveFrontendServer { return &server{api: api} }

// RegisterServer registers the TeaclaveFrontend service of api on r, which
// should be an API endpoint of the attested transport (rpc.APIEndpoint).
func RegisterServer(r grpc.ServiceRegistrar, api API) {
	frontendpb.RegisterTeaclaveFrontendServer(r, NewServer(api))
}

func (s *server) RegisterInputFile(ctx context.Context, req *frontendpb.RegisterInputFileRequest) (*frontendpb.RegisterInputFileResponse, error) {
	return s.api.RegisterInputFile(incoming(ctx), req)
}

func (s *server) RegisterOutputFile(ctx context.Context, req *frontendpb.RegisterOutputFileRequest) (*frontendpb.RegisterOutputFileResponse, error) {
	return s.api.RegisterOutputFile(incoming(ctx), req)
}

func (s *server) UpdateInputFile(ctx context.Context, req *frontendpb.UpdateInputFileRequest) (*frontendpb.UpdateInputFileResponse, error) {
	return s.api.UpdateInputFile(incoming(ctx), req)
}

func (s *server) UpdateOutputFile(ctx context.Context, req *frontendpb.UpdateOutputFileRequest) (*frontendpb.UpdateOutputFileResponse, error) {
	return s.api.UpdateOutputFile(incoming(ctx), req)
}

func (s *server) RegisterFusionOutput(ctx context.Context, req *frontendpb.RegisterFusionOutputRequest) (*frontendpb.RegisterFusionOutputResponse, error) {
	return s.api.RegisterFusionOutput(incoming(ctx), req)
}

func (s *server) RegisterInputFromOutput(ctx context.Context, req *frontendpb.RegisterInputFromOutputRequest) (*frontendpb.RegisterInputFromOutputResponse, error) {
	return s.api.RegisterInputFromOutput(incoming(ctx), req)
}

func (s *server) GetOutputFile(ctx context.Context, req *frontendpb.GetOutputFileRequest) (*frontendpb.GetOutputFileResponse, error) {
	return s.api.GetOutputFile(incoming(ctx), req)
}

func (s *server) GetInputFile(ctx context.Context, req *frontendpb.GetInputFileRequest) (*frontendpb.GetInputFileResponse, error) {
	return s.api.GetInputFile(incoming(ctx), req)
}

func (s *server) RegisterFunction(ctx context.Context, req *frontendpb.RegisterFunctionRequest) (*frontendpb.RegisterFunctionResponse, error) {
	return s.api.RegisterFunction(incoming(ctx), req)
}

func (s *server) GetFunction(ctx context.Context, req *frontendpb.GetFunctionRequest) (*frontendpb.GetFunctionResponse, error) {
	return s.api.GetFunction(incoming(ctx), req)
}

func (s *server) GetFunctionUsageStats(ctx context.Context, req *frontendpb.GetFunctionUsageStatsRequest) (*frontendpb.GetFunctionUsageStatsResponse, error) {
	return s.api.GetFunctionUsageStats(incoming(ctx), req)
}

func (s *server) UpdateFunction(ctx context.Context, req *frontendpb.UpdateFunctionRequest) (*frontendpb.UpdateFunctionResponse, error) {
	return s.api.UpdateFunction(incoming(ctx), req)
}

func (s *server) ListFunctions(ctx context.Context, req *frontendpb.ListFunctionsRequest) (*frontendpb.ListFunctionsResponse, error) {
	return s.api.ListFunctions(incoming(ctx), req)
}

func (s *server) DeleteFunction(ctx context.Context, req *frontendpb.DeleteFunctionRequest) (*emptypb.Empty, error) {
	return s.api.DeleteFunction(incoming(ctx), req)
}

func (s *server) DisableFunction(ctx context.Context, req *frontendpb.DisableFunctionRequest) (*emptypb.Empty, error) {
	return s.api.DisableFunction(incoming(ctx), req)
}

func (s *server) CreateTask(ctx context.Context, req *frontendpb.CreateTaskRequest) (*frontendpb.CreateTaskResponse, error) {
	return s.api.CreateTask(incoming(ctx), req)
}

func (s *server) GetTask(ctx context.Context, req *frontendpb.GetTaskRequest) (*frontendpb.GetTaskResponse, error) {
	return s.api.GetTask(incoming(ctx), req)
}

func (s *server) AssignData(ctx context.Context, req *frontendpb.AssignDataRequest) (*emptypb.Empty, error) {
	return s.api.AssignData(incoming(ctx), req)
}

func (s *server) ApproveTask(ctx context.Context, req *frontendpb.ApproveTaskRequest) (*emptypb.Empty, error) {
	return s.api.ApproveTask(incoming(ctx), req)
}

func (s *server) InvokeTask(ctx context.Context, req *frontendpb.InvokeTaskRequest) (*emptypb.Empty, error) {
	return s.api.InvokeTask(incoming(ctx), req)
}

func (s *server) CancelTask(ctx context.Context, req *frontendpb.CancelTaskRequest) (*emptypb.Empty, error) {
	return s.api.CancelTask(incoming(ctx), req)
}

func (s *server) QueryAuditLogs(ctx context.Context, req *frontendpb.QueryAuditLogsRequest) (*frontendpb.QueryAuditLogsResponse, error) {
	return s.api.QueryAuditLogs(incoming(ctx), req)
}
