package frontend

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/teaclave-go/teaclave/rpc"
	"github.com/teaclave-go/teaclave/rpc/pb/frontendpb"
)

// Client is the API over gRPC, the heart of the Go SDK: it calls a remote
// frontend with the credentials in each call's context (WithCredentials)
// as Teaclave's id and token metadata, and returns the service's errors
// as *teaclave.Error values.
//
//	cc, err := transport.Dial(addr, attestation.ServiceFrontend) // verifies the frontend's attestation
//	c := frontend.NewClient(cc)
//	ctx = frontend.WithCredentials(ctx, rpc.Credentials{ID: "alice", Token: token})
//	resp, err := c.CreateTask(ctx, req)
type Client struct {
	c frontendpb.TeaclaveFrontendClient
}

// NewClient returns a Client over cc, which should verify the frontend's
// attestation (rpc.Transport.Dial pinned to attestation.ServiceFrontend).
func NewClient(cc grpc.ClientConnInterface) *Client {
	return &Client{c: frontendpb.NewTeaclaveFrontendClient(cc)}
}

func call[Req, Resp any](ctx context.Context, req Req, fn func(context.Context, Req, ...grpc.CallOption) (Resp, error)) (Resp, error) {
	if c, ok := CredentialsFrom(ctx); ok {
		ctx = rpc.WithCredentials(ctx, c)
	}
	resp, err := fn(ctx, req)
	if err != nil {
		var zero Resp
		return zero, rpc.FromStatus(err)
	}
	return resp, nil
}

// RegisterInputFile implements API.
func (c *Client) RegisterInputFile(ctx context.Context, req *frontendpb.RegisterInputFileRequest) (*frontendpb.RegisterInputFileResponse, error) {
	return call(ctx, req, c.c.RegisterInputFile)
}

// RegisterOutputFile implements API.
func (c *Client) RegisterOutputFile(ctx context.Context, req *frontendpb.RegisterOutputFileRequest) (*frontendpb.RegisterOutputFileResponse, error) {
	return call(ctx, req, c.c.RegisterOutputFile)
}

// UpdateInputFile implements API.
func (c *Client) UpdateInputFile(ctx context.Context, req *frontendpb.UpdateInputFileRequest) (*frontendpb.UpdateInputFileResponse, error) {
	return call(ctx, req, c.c.UpdateInputFile)
}

// UpdateOutputFile implements API.
func (c *Client) UpdateOutputFile(ctx context.Context, req *frontendpb.UpdateOutputFileRequest) (*frontendpb.UpdateOutputFileResponse, error) {
	return call(ctx, req, c.c.UpdateOutputFile)
}

// RegisterFusionOutput implements API.
func (c *Client) RegisterFusionOutput(ctx context.Context, req *frontendpb.RegisterFusionOutputRequest) (*frontendpb.RegisterFusionOutputResponse, error) {
	return call(ctx, req, c.c.RegisterFusionOutput)
}

// RegisterInputFromOutput implements API.
func (c *Client) RegisterInputFromOutput(ctx context.Context, req *frontendpb.RegisterInputFromOutputRequest) (*frontendpb.RegisterInputFromOutputResponse, error) {
	return call(ctx, req, c.c.RegisterInputFromOutput)
}

// GetOutputFile implements API.
func (c *Client) GetOutputFile(ctx context.Context, req *frontendpb.GetOutputFileRequest) (*frontendpb.GetOutputFileResponse, error) {
	return call(ctx, req, c.c.GetOutputFile)
}

// GetInputFile implements API.
func (c *Client) GetInputFile(ctx context.Context, req *frontendpb.GetInputFileRequest) (*frontendpb.GetInputFileResponse, error) {
	return call(ctx, req, c.c.GetInputFile)
}

// RegisterFunction implements API.
func (c *Client) RegisterFunction(ctx context.Context, req *frontendpb.RegisterFunctionRequest) (*frontendpb.RegisterFunctionResponse, error) {
	return call(ctx, req, c.c.RegisterFunction)
}

// GetFunction implements API.
func (c *Client) GetFunction(ctx context.Context, req *frontendpb.GetFunctionRequest) (*frontendpb.GetFunctionResponse, error) {
	return call(ctx, req, c.c.GetFunction)
}

// GetFunctionUsageStats implements API.
func (c *Client) GetFunctionUsageStats(ctx context.Context, req *frontendpb.GetFunctionUsageStatsRequest) (*frontendpb.GetFunctionUsageStatsResponse, error) {
	return call(ctx, req, c.c.GetFunctionUsageStats)
}

// UpdateFunction implements API.
func (c *Client) UpdateFunction(ctx context.Context, req *frontendpb.UpdateFunctionRequest) (*frontendpb.UpdateFunctionResponse, error) {
	return call(ctx, req, c.c.UpdateFunction)
}

// ListFunctions implements API.
func (c *Client) ListFunctions(ctx context.Context, req *frontendpb.ListFunctionsRequest) (*frontendpb.ListFunctionsResponse, error) {
	return call(ctx, req, c.c.ListFunctions)
}

// DeleteFunction implements API.
func (c *Client) DeleteFunction(ctx context.Context, req *frontendpb.DeleteFunctionRequest) (*emptypb.Empty, error) {
	return call(ctx, req, c.c.DeleteFunction)
}

// DisableFunction implements API.
func (c *Client) DisableFunction(ctx context.Context, req *frontendpb.DisableFunctionRequest) (*emptypb.Empty, error) {
	return call(ctx, req, c.c.DisableFunction)
}

// CreateTask implements API.
func (c *Client) CreateTask(ctx context.Context, req *frontendpb.CreateTaskRequest) (*frontendpb.CreateTaskResponse, error) {
	return call(ctx, req, c.c.CreateTask)
}

// GetTask implements API.
func (c *Client) GetTask(ctx context.Context, req *frontendpb.GetTaskRequest) (*frontendpb.GetTaskResponse, error) {
	return call(ctx, req, c.c.GetTask)
}

// AssignData implements API.
func (c *Client) AssignData(ctx context.Context, req *frontendpb.AssignDataRequest) (*emptypb.Empty, error) {
	return call(ctx, req, c.c.AssignData)
}

// ApproveTask implements API.
func (c *Client) ApproveTask(ctx context.Context, req *frontendpb.ApproveTaskRequest) (*emptypb.Empty, error) {
	return call(ctx, req, c.c.ApproveTask)
}

// InvokeTask implements API.
func (c *Client) InvokeTask(ctx context.Context, req *frontendpb.InvokeTaskRequest) (*emptypb.Empty, error) {
	return call(ctx, req, c.c.InvokeTask)
}

// CancelTask implements API.
func (c *Client) CancelTask(ctx context.Context, req *frontendpb.CancelTaskRequest) (*emptypb.Empty, error) {
	return call(ctx, req, c.c.CancelTask)
}

// QueryAuditLogs implements API.
func (c *Client) QueryAuditLogs(ctx context.Context, req *frontendpb.QueryAuditLogsRequest) (*frontendpb.QueryAuditLogsResponse, error) {
	return call(ctx, req, c.c.QueryAuditLogs)
}
