package frontend

import (
	"context"

	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/teaclave-go/teaclave/rpc/pb/frontendpb"
)

// RegisterInputFile authenticates and authorizes the caller and forwards the request to
// management's RegisterInputFile.
func (s *Service) RegisterInputFile(ctx context.Context, req *frontendpb.RegisterInputFileRequest) (*frontendpb.RegisterInputFileResponse, error) {
	return handle(s, ctx, APIRegisterInputFile, req, s.mgmt.RegisterInputFile)
}

// RegisterOutputFile authenticates and authorizes the caller and forwards the request to
// management's RegisterOutputFile.
func (s *Service) RegisterOutputFile(ctx context.Context, req *frontendpb.RegisterOutputFileRequest) (*frontendpb.RegisterOutputFileResponse, error) {
	return handle(s, ctx, APIRegisterOutputFile, req, s.mgmt.RegisterOutputFile)
}

// UpdateInputFile authenticates and authorizes the caller and forwards the request to
// management's UpdateInputFile.
func (s *Service) UpdateInputFile(ctx context.Context, req *frontendpb.UpdateInputFileRequest) (*frontendpb.UpdateInputFileResponse, error) {
	return handle(s, ctx, APIUpdateInputFile, req, s.mgmt.UpdateInputFile)
}

// UpdateOutputFile authenticates and authorizes the caller and forwards the request to
// management's UpdateOutputFile.
func (s *Service) UpdateOutputFile(ctx context.Context, req *frontendpb.UpdateOutputFileRequest) (*frontendpb.UpdateOutputFileResponse, error) {
	return handle(s, ctx, APIUpdateOutputFile, req, s.mgmt.UpdateOutputFile)
}

// RegisterFusionOutput authenticates and authorizes the caller and forwards the request to
// management's RegisterFusionOutput.
func (s *Service) RegisterFusionOutput(ctx context.Context, req *frontendpb.RegisterFusionOutputRequest) (*frontendpb.RegisterFusionOutputResponse, error) {
	return handle(s, ctx, APIRegisterFusionOutput, req, s.mgmt.RegisterFusionOutput)
}

// RegisterInputFromOutput authenticates and authorizes the caller and forwards the request to
// management's RegisterInputFromOutput.
func (s *Service) RegisterInputFromOutput(ctx context.Context, req *frontendpb.RegisterInputFromOutputRequest) (*frontendpb.RegisterInputFromOutputResponse, error) {
	return handle(s, ctx, APIRegisterInputFromOutput, req, s.mgmt.RegisterInputFromOutput)
}

// GetOutputFile authenticates and authorizes the caller and forwards the request to
// management's GetOutputFile.
func (s *Service) GetOutputFile(ctx context.Context, req *frontendpb.GetOutputFileRequest) (*frontendpb.GetOutputFileResponse, error) {
	return handle(s, ctx, APIGetOutputFile, req, s.mgmt.GetOutputFile)
}

// GetInputFile authenticates and authorizes the caller and forwards the request to
// management's GetInputFile.
func (s *Service) GetInputFile(ctx context.Context, req *frontendpb.GetInputFileRequest) (*frontendpb.GetInputFileResponse, error) {
	return handle(s, ctx, APIGetInputFile, req, s.mgmt.GetInputFile)
}

// RegisterFunction authenticates and authorizes the caller and forwards the request to
// management's RegisterFunction.
func (s *Service) RegisterFunction(ctx context.Context, req *frontendpb.RegisterFunctionRequest) (*frontendpb.RegisterFunctionResponse, error) {
	return handle(s, ctx, APIRegisterFunction, req, s.mgmt.RegisterFunction)
}

// GetFunction authenticates and authorizes the caller and forwards the request to
// management's GetFunction.
func (s *Service) GetFunction(ctx context.Context, req *frontendpb.GetFunctionRequest) (*frontendpb.GetFunctionResponse, error) {
	return handle(s, ctx, APIGetFunction, req, s.mgmt.GetFunction)
}

// GetFunctionUsageStats authenticates and authorizes the caller and forwards the request to
// management's GetFunctionUsageStats.
func (s *Service) GetFunctionUsageStats(ctx context.Context, req *frontendpb.GetFunctionUsageStatsRequest) (*frontendpb.GetFunctionUsageStatsResponse, error) {
	return handle(s, ctx, APIGetFunctionUsageStats, req, s.mgmt.GetFunctionUsageStats)
}

// UpdateFunction authenticates and authorizes the caller and forwards the request to
// management's UpdateFunction.
func (s *Service) UpdateFunction(ctx context.Context, req *frontendpb.UpdateFunctionRequest) (*frontendpb.UpdateFunctionResponse, error) {
	return handle(s, ctx, APIUpdateFunction, req, s.mgmt.UpdateFunction)
}

// ListFunctions authenticates and authorizes the caller and forwards the request to
// management's ListFunctions.
func (s *Service) ListFunctions(ctx context.Context, req *frontendpb.ListFunctionsRequest) (*frontendpb.ListFunctionsResponse, error) {
	return handle(s, ctx, APIListFunctions, req, s.mgmt.ListFunctions)
}

// DeleteFunction authenticates and authorizes the caller and forwards the request to
// management's DeleteFunction.
func (s *Service) DeleteFunction(ctx context.Context, req *frontendpb.DeleteFunctionRequest) (*emptypb.Empty, error) {
	return handle(s, ctx, APIDeleteFunction, req, s.mgmt.DeleteFunction)
}

// DisableFunction authenticates and authorizes the caller and forwards the request to
// management's DisableFunction.
func (s *Service) DisableFunction(ctx context.Context, req *frontendpb.DisableFunctionRequest) (*emptypb.Empty, error) {
	return handle(s, ctx, APIDisableFunction, req, s.mgmt.DisableFunction)
}

// CreateTask authenticates and authorizes the caller and forwards the request to
// management's CreateTask.
func (s *Service) CreateTask(ctx context.Context, req *frontendpb.CreateTaskRequest) (*frontendpb.CreateTaskResponse, error) {
	return handle(s, ctx, APICreateTask, req, s.mgmt.CreateTask)
}

// GetTask authenticates and authorizes the caller and forwards the request to
// management's GetTask.
func (s *Service) GetTask(ctx context.Context, req *frontendpb.GetTaskRequest) (*frontendpb.GetTaskResponse, error) {
	return handle(s, ctx, APIGetTask, req, s.mgmt.GetTask)
}

// AssignData authenticates and authorizes the caller and forwards the request to
// management's AssignData.
func (s *Service) AssignData(ctx context.Context, req *frontendpb.AssignDataRequest) (*emptypb.Empty, error) {
	return handle(s, ctx, APIAssignData, req, s.mgmt.AssignData)
}

// ApproveTask authenticates and authorizes the caller and forwards the request to
// management's ApproveTask.
func (s *Service) ApproveTask(ctx context.Context, req *frontendpb.ApproveTaskRequest) (*emptypb.Empty, error) {
	return handle(s, ctx, APIApproveTask, req, s.mgmt.ApproveTask)
}

// InvokeTask authenticates and authorizes the caller and forwards the request to
// management's InvokeTask.
func (s *Service) InvokeTask(ctx context.Context, req *frontendpb.InvokeTaskRequest) (*emptypb.Empty, error) {
	return handle(s, ctx, APIInvokeTask, req, s.mgmt.InvokeTask)
}

// CancelTask authenticates and authorizes the caller and forwards the request to
// management's CancelTask.
func (s *Service) CancelTask(ctx context.Context, req *frontendpb.CancelTaskRequest) (*emptypb.Empty, error) {
	return handle(s, ctx, APICancelTask, req, s.mgmt.CancelTask)
}

// QueryAuditLogs authenticates and authorizes the caller and forwards the request to
// management's QueryAuditLogs.
func (s *Service) QueryAuditLogs(ctx context.Context, req *frontendpb.QueryAuditLogsRequest) (*frontendpb.QueryAuditLogsResponse, error) {
	return handle(s, ctx, APIQueryAuditLogs, req, s.mgmt.QueryAuditLogs)
}
