package frontend

import (
	"context"

	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/rpc/pb/frontendpb"
)

// API is the frontend as its clients call it: Teaclave's TeaclaveFrontend
// RPCs with their own message types. Every call authenticates the user
// whose credentials the context carries (WithCredentials; over gRPC the id
// and token metadata), so *Service in process and *Client over gRPC behave
// alike. Errors are *teaclave.Error values.
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
	GetFunction(context.Context, *frontendpb.GetFunctionRequest) (*frontendpb.GetFunctionResponse, error)
	GetFunctionUsageStats(context.Context, *frontendpb.GetFunctionUsageStatsRequest) (*frontendpb.GetFunctionUsageStatsResponse, error)
	UpdateFunction(context.Context, *frontendpb.UpdateFunctionRequest) (*frontendpb.UpdateFunctionResponse, error)
	ListFunctions(context.Context, *frontendpb.ListFunctionsRequest) (*frontendpb.ListFunctionsResponse, error)
	DeleteFunction(context.Context, *frontendpb.DeleteFunctionRequest) (*emptypb.Empty, error)
	DisableFunction(context.Context, *frontendpb.DisableFunctionRequest) (*emptypb.Empty, error)
	CreateTask(context.Context, *frontendpb.CreateTaskRequest) (*frontendpb.CreateTaskResponse, error)
	GetTask(context.Context, *frontendpb.GetTaskRequest) (*frontendpb.GetTaskResponse, error)
	AssignData(context.Context, *frontendpb.AssignDataRequest) (*emptypb.Empty, error)
	ApproveTask(context.Context, *frontendpb.ApproveTaskRequest) (*emptypb.Empty, error)
	InvokeTask(context.Context, *frontendpb.InvokeTaskRequest) (*emptypb.Empty, error)
	CancelTask(context.Context, *frontendpb.CancelTaskRequest) (*emptypb.Empty, error)
	QueryAuditLogs(context.Context, *frontendpb.QueryAuditLogsRequest) (*frontendpb.QueryAuditLogsResponse, error)
}

var (
	_ API = (*Service)(nil)
	_ API = (*Client)(nil)
)

// Authenticator verifies a user's id and token and returns who they are.
// Every failure to authenticate is a KindUnauthenticated error; any other
// kind means the check could not be made.
type Authenticator interface {
	Authenticate(ctx context.Context, id, token string) (teaclave.Caller, error)
}

// AuthenticatorFunc adapts a function to Authenticator, for example
//
//	frontend.AuthenticatorFunc(func(ctx context.Context, id, token string) (teaclave.Caller, error) {
//		claims, err := authService.UserAuthenticate(ctx, id, token)
//		return claims.Caller(), err
//	})
type AuthenticatorFunc func(ctx context.Context, id, token string) (teaclave.Caller, error)

// Authenticate implements Authenticator.
func (f AuthenticatorFunc) Authenticate(ctx context.Context, id, token string) (teaclave.Caller, error) {
	return f(ctx, id, token)
}

// Authorizer decides whether a role may call an API. role is the role's
// name without attribute (teaclave.Role.Name, Teaclave's casbin subject)
// and api the snake_case RPC name ("create_task"). accesscontrol.Service
// and accesscontrol.Client implement it.
type Authorizer interface {
	Authorize(ctx context.Context, role, api string) (bool, error)
}

// API names as the access-control policy knows them (protocol §6).
const (
	APIRegisterInputFile       = "register_input_file"
	APIRegisterOutputFile      = "register_output_file"
	APIUpdateInputFile         = "update_input_file"
	APIUpdateOutputFile        = "update_output_file"
	APIRegisterFusionOutput    = "register_fusion_output"
	APIRegisterInputFromOutput = "register_input_from_output"
	APIGetOutputFile           = "get_output_file"
	APIGetInputFile            = "get_input_file"
	APIRegisterFunction        = "register_function"
	APIGetFunction             = "get_function"
	APIGetFunctionUsageStats   = "get_function_usage_stats"
	APIUpdateFunction          = "update_function"
	APIListFunctions           = "list_functions"
	APIDeleteFunction          = "delete_function"
	APIDisableFunction         = "disable_function"
	APICreateTask              = "create_task"
	APIGetTask                 = "get_task"
	APIAssignData              = "assign_data"
	APIApproveTask             = "approve_task"
	APIInvokeTask              = "invoke_task"
	APICancelTask              = "cancel_task"
	APIQueryAuditLogs          = "query_audit_logs"
)
