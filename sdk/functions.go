package sdk

import (
	"context"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/rpc/pb/frontendpb"
)

// Function types (RegisterFunctionRequest.executor_type).
const (
	// FunctionBuiltin names a function compiled into the platform
	// (builtin-echo, builtin-ordered-set-intersect, ...); no payload.
	FunctionBuiltin = "builtin"
	// FunctionPython is a Python script payload.
	FunctionPython = "python"
	// FunctionWASM is a WebAssembly module payload.
	FunctionWASM = "wamr"
)

// Executors a task runs on (CreateTaskRequest.executor).
const (
	// ExecutorBuiltin runs builtin functions.
	ExecutorBuiltin = "builtin"
	// ExecutorMesaPy runs python functions.
	ExecutorMesaPy = "mesapy"
	// ExecutorWAMR runs wamr functions.
	ExecutorWAMR = "wamr"
)

// UnlimitedQuota is the usage quota of a function anyone may run any
// number of times.
const UnlimitedQuota = -1

// Argument is a function argument: its key, the default the platform fills
// in when a task does not give it, and whether a task may give it.
type Argument struct {
	Key            string
	Default        string
	AllowOverwrite bool
}

// Slot is a named input or output file of a function.
type Slot struct {
	Name        string
	Description string
	Optional    bool
}

// Function describes a function to register, or one GetFunction returned.
type Function struct {
	// Name is a builtin function's name (builtin-echo, ...), or any name
	// for a python or wamr function (a wamr function's export to call is
	// "entrypoint").
	Name        string
	Description string
	// Type is FunctionBuiltin, FunctionPython or FunctionWASM.
	Type string
	// Payload is the script or module; empty for builtin functions.
	Payload []byte
	// Public functions may be used by anyone; others only by the owner and
	// UserAllowlist.
	Public        bool
	Arguments     []Argument
	Inputs        []Slot
	Outputs       []Slot
	UserAllowlist []string
	// UsageQuota is how many tasks may use the function; UnlimitedQuota
	// (and, when registering, 0) means no limit.
	UsageQuota int32
	// Owner is the id of the user who registered the function (GetFunction
	// only).
	Owner string
}

func (f *Function) quota() int32 {
	if f.UsageQuota == 0 {
		return UnlimitedQuota
	}
	return f.UsageQuota
}

func (f *Function) pbArgs() []*frontendpb.FunctionArgument {
	out := make([]*frontendpb.FunctionArgument, 0, len(f.Arguments))
	for _, a := range f.Arguments {
		out = append(out, &frontendpb.FunctionArgument{Key: a.Key, DefaultValue: a.Default, AllowOverwrite: a.AllowOverwrite})
	}
	return out
}

func (f *Function) pbInputs() []*frontendpb.FunctionInput {
	out := make([]*frontendpb.FunctionInput, 0, len(f.Inputs))
	for _, s := range f.Inputs {
		out = append(out, &frontendpb.FunctionInput{Name: s.Name, Description: s.Description, Optional: s.Optional})
	}
	return out
}

func (f *Function) pbOutputs() []*frontendpb.FunctionOutput {
	out := make([]*frontendpb.FunctionOutput, 0, len(f.Outputs))
	for _, s := range f.Outputs {
		out = append(out, &frontendpb.FunctionOutput{Name: s.Name, Description: s.Description, Optional: s.Optional})
	}
	return out
}

func checkFunction(f Function) error {
	switch f.Type {
	case FunctionBuiltin, FunctionPython, FunctionWASM:
	default:
		return teaclave.Errorf(teaclave.KindInvalidArgument, "sdk: function type %q: want %q, %q or %q", f.Type, FunctionBuiltin, FunctionPython, FunctionWASM)
	}
	if f.Name == "" {
		return teaclave.Errorf(teaclave.KindInvalidArgument, "sdk: function needs a name")
	}
	return nil
}

// RegisterFunction registers f and returns its id.
func (c *Client) RegisterFunction(ctx context.Context, f Function) (string, error) {
	ctx, err := c.loggedIn(ctx)
	if err != nil {
		return "", err
	}
	if err := checkFunction(f); err != nil {
		return "", err
	}
	resp, err := c.Frontend.RegisterFunction(ctx, &frontendpb.RegisterFunctionRequest{
		Name: f.Name, Description: f.Description, ExecutorType: f.Type, Public: f.Public, Payload: f.Payload,
		Arguments: f.pbArgs(), Inputs: f.pbInputs(), Outputs: f.pbOutputs(),
		UserAllowlist: f.UserAllowlist, UsageQuota: f.quota(),
	})
	if err != nil {
		return "", err
	}
	return resp.GetFunctionId(), nil
}

// UpdateFunction replaces the function with id by f and returns its id.
func (c *Client) UpdateFunction(ctx context.Context, id string, f Function) (string, error) {
	ctx, err := c.loggedIn(ctx)
	if err != nil {
		return "", err
	}
	if err := checkFunction(f); err != nil {
		return "", err
	}
	resp, err := c.Frontend.UpdateFunction(ctx, &frontendpb.UpdateFunctionRequest{
		FunctionId: id, Name: f.Name, Description: f.Description, ExecutorType: f.Type, Public: f.Public, Payload: f.Payload,
		Arguments: f.pbArgs(), Inputs: f.pbInputs(), Outputs: f.pbOutputs(),
		UserAllowlist: f.UserAllowlist, UsageQuota: f.quota(),
	})
	if err != nil {
		return "", err
	}
	return resp.GetFunctionId(), nil
}

// GetFunction returns the function with id.
func (c *Client) GetFunction(ctx context.Context, id string) (*Function, error) {
	ctx, err := c.loggedIn(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := c.Frontend.GetFunction(ctx, &frontendpb.GetFunctionRequest{FunctionId: id})
	if err != nil {
		return nil, err
	}
	f := &Function{
		Name: resp.GetName(), Description: resp.GetDescription(), Type: resp.GetExecutorType(),
		Owner: resp.GetOwner(), Payload: resp.GetPayload(), Public: resp.GetPublic(), UserAllowlist: resp.GetUserAllowlist(),
	}
	for _, a := range resp.GetArguments() {
		f.Arguments = append(f.Arguments, Argument{Key: a.GetKey(), Default: a.GetDefaultValue(), AllowOverwrite: a.GetAllowOverwrite()})
	}
	for _, s := range resp.GetInputs() {
		f.Inputs = append(f.Inputs, Slot{Name: s.GetName(), Description: s.GetDescription(), Optional: s.GetOptional()})
	}
	for _, s := range resp.GetOutputs() {
		f.Outputs = append(f.Outputs, Slot{Name: s.GetName(), Description: s.GetDescription(), Optional: s.GetOptional()})
	}
	return f, nil
}

// FunctionUsage is a function's quota and how much of it tasks used.
type FunctionUsage struct {
	Quota, Used int32
}

// GetFunctionUsageStats returns the function's quota and usage.
func (c *Client) GetFunctionUsageStats(ctx context.Context, id string) (FunctionUsage, error) {
	ctx, err := c.loggedIn(ctx)
	if err != nil {
		return FunctionUsage{}, err
	}
	resp, err := c.Frontend.GetFunctionUsageStats(ctx, &frontendpb.GetFunctionUsageStatsRequest{FunctionId: id})
	if err != nil {
		return FunctionUsage{}, err
	}
	return FunctionUsage{Quota: resp.GetFunctionQuota(), Used: resp.GetCurrentUsage()}, nil
}

// ListFunctions returns the ids of the functions userID registered and of
// those it is allowed to use.
func (c *Client) ListFunctions(ctx context.Context, userID string) (registered, allowed []string, err error) {
	ctx, err = c.loggedIn(ctx)
	if err != nil {
		return nil, nil, err
	}
	resp, err := c.Frontend.ListFunctions(ctx, &frontendpb.ListFunctionsRequest{UserId: userID})
	if err != nil {
		return nil, nil, err
	}
	return resp.GetRegisteredFunctions(), resp.GetAllowedFunctions(), nil
}

// DeleteFunction deletes the function with id.
func (c *Client) DeleteFunction(ctx context.Context, id string) error {
	ctx, err := c.loggedIn(ctx)
	if err != nil {
		return err
	}
	_, err = c.Frontend.DeleteFunction(ctx, &frontendpb.DeleteFunctionRequest{FunctionId: id})
	return err
}

// DisableFunction disables the function with id: no new task may use it.
func (c *Client) DisableFunction(ctx context.Context, id string) error {
	ctx, err := c.loggedIn(ctx)
	if err != nil {
		return err
	}
	_, err = c.Frontend.DisableFunction(ctx, &frontendpb.DisableFunctionRequest{FunctionId: id})
	return err
}
