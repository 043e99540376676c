package main

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/teaclave-go/teaclave/rpc/pb/frontendpb"
)

func functionCommand() *command {
	return &command{name: "function", summary: "manage functions (register, get, list, update, delete, disable)", sub: []*command{
		{name: "register", summary: "register a function", run: runFunctionRegister},
		{name: "get", summary: "show a function", run: runFunctionGet},
		{name: "list", summary: "list a user's functions", run: runFunctionList},
		{name: "update", summary: "change a function you own", run: runFunctionUpdate},
		{name: "delete", summary: "delete a function you own", run: runFunctionDelete},
		{name: "disable", summary: "disable a function (owner or PlatformAdmin)", run: runFunctionDisable},
	}}
}

// functionFlags are the fields of a function, as register and update take
// them.
type functionFlags struct {
	name, description, executorType, payload string
	public                                   bool
	args, fixedArgs                          multiFlag
	inputs, optionalInputs                   multiFlag
	outputs, optionalOutputs                 multiFlag
	allow                                    multiFlag
	quota                                    int
}

func (ff *functionFlags) register(f *flags) {
	f.StringVar(&ff.name, "name", "", "function name (a built-in's name for executor type builtin, e.g. builtin-echo)")
	f.StringVar(&ff.description, "description", "", "description")
	f.StringVar(&ff.executorType, "executor-type", "builtin", "executor type: builtin, python or wamr")
	f.StringVar(&ff.payload, "payload", "", "payload `file` (Python source or WebAssembly module)")
	f.BoolVar(&ff.public, "public", true, "anyone may use it (--public=false: only the owner and --allow users)")
	f.Var(&ff.args, "arg", "argument `KEY[=DEFAULT]` that tasks may set (repeatable)")
	f.Var(&ff.fixedArgs, "fixed-arg", "argument `KEY=VALUE` that tasks may not change (repeatable)")
	f.Var(&ff.inputs, "input", "input file `NAME[=DESCRIPTION]` (repeatable)")
	f.Var(&ff.optionalInputs, "optional-input", "optional input file `NAME[=DESCRIPTION]` (repeatable)")
	f.Var(&ff.outputs, "output", "output file `NAME[=DESCRIPTION]` (repeatable)")
	f.Var(&ff.optionalOutputs, "optional-output", "optional output file `NAME[=DESCRIPTION]` (repeatable)")
	f.Var(&ff.allow, "allow", "user `id` allowed to use a private function (repeatable)")
	f.IntVar(&ff.quota, "quota", -1, "how many times the function may run; negative means unlimited")
}

func (ff *functionFlags) arguments() ([]*frontendpb.FunctionArgument, error) {
	var out []*frontendpb.FunctionArgument
	for _, a := range ff.args {
		k, v, _ := strings.Cut(a, "=")
		if k == "" {
			return nil, usagef("--arg %q: empty key", a)
		}
		out = append(out, &frontendpb.FunctionArgument{Key: k, DefaultValue: v, AllowOverwrite: true})
	}
	for _, a := range ff.fixedArgs {
		k, v, ok := strings.Cut(a, "=")
		if k == "" || !ok {
			return nil, usagef("--fixed-arg %q: want KEY=VALUE", a)
		}
		out = append(out, &frontendpb.FunctionArgument{Key: k, DefaultValue: v})
	}
	return out, nil
}

func ioSpecs(required, optional multiFlag, what string) ([]string, []string, []bool, error) {
	var names, descs []string
	var opt []bool
	for i, list := range []multiFlag{required, optional} {
		for _, s := range list {
			n, d, _ := strings.Cut(s, "=")
			if n == "" {
				return nil, nil, nil, usagef("--%s %q: empty name", what, s)
			}
			names, descs, opt = append(names, n), append(descs, d), append(opt, i == 1)
		}
	}
	return names, descs, opt, nil
}

func (ff *functionFlags) inputsOutputs() ([]*frontendpb.FunctionInput, []*frontendpb.FunctionOutput, error) {
	var ins []*frontendpb.FunctionInput
	var outs []*frontendpb.FunctionOutput
	n, d, o, err := ioSpecs(ff.inputs, ff.optionalInputs, "input")
	if err != nil {
		return nil, nil, err
	}
	for i := range n {
		ins = append(ins, &frontendpb.FunctionInput{Name: n[i], Description: d[i], Optional: o[i]})
	}
	n, d, o, err = ioSpecs(ff.outputs, ff.optionalOutputs, "output")
	if err != nil {
		return nil, nil, err
	}
	for i := range n {
		outs = append(outs, &frontendpb.FunctionOutput{Name: n[i], Description: d[i], Optional: o[i]})
	}
	return ins, outs, nil
}

func checkExecutorType(t string) error {
	switch t {
	case "builtin", "python", "wamr":
		return nil
	}
	return usagef("--executor-type %q: want builtin, python or wamr", t)
}

// maxPayload bounds a payload file: the platform's messages are at most
// 4 MiB.
const maxPayload = 4 << 20

func readPayload(path string) ([]byte, error) {
	if path == "" {
		return nil, nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	if fi.Size() > maxPayload-64<<10 {
		return nil, fmt.Errorf("payload %s is %d bytes: the platform takes at most about 4 MiB", path, fi.Size())
	}
	return os.ReadFile(path)
}

func runFunctionRegister(a *app, args []string) error {
	var c connFlags
	var out output
	var ff functionFlags
	f := a.newFlags("teaclave function register", "--name NAME [flags]", `
Registers a function and prints its id. Built-in functions need only their
name, arguments and files, e.g.

  teaclave function register --name builtin-echo --arg message`)
	ff.register(f)
	c.register(f, true)
	out.register(f)
	if _, err := f.parseN(args); err != nil {
		return err
	}
	if ff.name == "" {
		return usagef("--name is required")
	}
	if err := checkExecutorType(ff.executorType); err != nil {
		return err
	}
	fargs, err := ff.arguments()
	if err != nil {
		return err
	}
	ins, outs, err := ff.inputsOutputs()
	if err != nil {
		return err
	}
	payload, err := readPayload(ff.payload)
	if err != nil {
		return err
	}
	s, err := a.openSession(&c)
	if err != nil {
		return err
	}
	defer s.Close()
	fe, ctx := s.frontend()
	resp, err := fe.RegisterFunction(ctx, &frontendpb.RegisterFunctionRequest{
		Name: ff.name, Description: ff.description, ExecutorType: ff.executorType, Public: ff.public,
		Payload: payload, Arguments: fargs, Inputs: ins, Outputs: outs, UserAllowlist: ff.allow, UsageQuota: int32(ff.quota),
	})
	if err != nil {
		return s.platformError("register function", err)
	}
	return a.print(&out, map[string]string{"function_id": resp.FunctionId}, func(w io.Writer) { fmt.Fprintln(w, resp.FunctionId) })
}

// functionView is a function as get prints it.
type functionView struct {
	ID            string             `json:"function_id"`
	Name          string             `json:"name"`
	Description   string             `json:"description"`
	ExecutorType  string             `json:"executor_type"`
	Owner         string             `json:"owner"`
	Public        bool               `json:"public"`
	PayloadSize   int                `json:"payload_size"`
	PayloadSHA256 string             `json:"payload_sha256,omitempty"`
	Arguments     []argumentView     `json:"arguments"`
	Inputs        []fileSlotView     `json:"inputs"`
	Outputs       []fileSlotView     `json:"outputs"`
	UserAllowlist []string           `json:"user_allowlist"`
	Usage         *functionUsageView `json:"usage,omitempty"`
}

type argumentView struct {
	Key            string `json:"key"`
	DefaultValue   string `json:"default_value"`
	AllowOverwrite bool   `json:"allow_overwrite"`
}

type fileSlotView struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Optional    bool   `json:"optional"`
}

type functionUsageView struct {
	Quota        int32 `json:"quota"`
	CurrentUsage int32 `json:"current_usage"`
}

func viewFunction(id string, r *frontendpb.GetFunctionResponse) functionView {
	v := functionView{ID: id, Name: r.Name, Description: r.Description, ExecutorType: r.ExecutorType, Owner: r.Owner,
		Public: r.Public, PayloadSize: len(r.Payload), UserAllowlist: r.UserAllowlist,
		Arguments: []argumentView{}, Inputs: []fileSlotView{}, Outputs: []fileSlotView{}}
	if v.UserAllowlist == nil {
		v.UserAllowlist = []string{}
	}
	if len(r.Payload) > 0 {
		sum := sha256.Sum256(r.Payload)
		v.PayloadSHA256 = hex.EncodeToString(sum[:])
	}
	for _, a := range r.Arguments {
		v.Arguments = append(v.Arguments, argumentView{a.Key, a.DefaultValue, a.AllowOverwrite})
	}
	for _, i := range r.Inputs {
		v.Inputs = append(v.Inputs, fileSlotView{i.Name, i.Description, i.Optional})
	}
	for _, o := range r.Outputs {
		v.Outputs = append(v.Outputs, fileSlotView{o.Name, o.Description, o.Optional})
	}
	return v
}

func runFunctionGet(a *app, args []string) error {
	var c connFlags
	var out output
	var payloadOut string
	f := a.newFlags("teaclave function get", "FUNCTION_ID [flags]", "Shows a function, and its usage where you may see it.")
	f.StringVar(&payloadOut, "payload-out", "", "also write the payload to `file`")
	c.register(f, true)
	out.register(f)
	pos, err := f.parseN(args, "FUNCTION_ID")
	if err != nil {
		return err
	}
	s, err := a.openSession(&c)
	if err != nil {
		return err
	}
	defer s.Close()
	fe, ctx := s.frontend()
	r, err := fe.GetFunction(ctx, &frontendpb.GetFunctionRequest{FunctionId: pos[0]})
	if err != nil {
		return s.platformError("get function "+pos[0], err)
	}
	v := viewFunction(pos[0], r)
	if u, err := fe.GetFunctionUsageStats(ctx, &frontendpb.GetFunctionUsageStatsRequest{FunctionId: pos[0]}); err == nil {
		v.Usage = &functionUsageView{Quota: u.FunctionQuota, CurrentUsage: u.CurrentUsage}
	}
	if payloadOut != "" {
		if err := os.WriteFile(payloadOut, r.Payload, 0o600); err != nil {
			return fmt.Errorf("write payload: %w", err)
		}
	}
	return a.print(&out, v, func(w io.Writer) {
		fmt.Fprintf(w, "function:      %s\nname:          %s\n", v.ID, v.Name)
		if v.Description != "" {
			fmt.Fprintf(w, "description:   %s\n", v.Description)
		}
		fmt.Fprintf(w, "executor type: %s\nowner:         %s\npublic:        %t\n", v.ExecutorType, v.Owner, v.Public)
		if v.PayloadSize > 0 {
			fmt.Fprintf(w, "payload:       %d bytes, sha256 %s\n", v.PayloadSize, v.PayloadSHA256)
		}
		for _, a := range v.Arguments {
			mode := "overwritable"
			if !a.AllowOverwrite {
				mode = "fixed"
			}
			fmt.Fprintf(w, "argument:      %s (default %q, %s)\n", a.Key, a.DefaultValue, mode)
		}
		for _, i := range v.Inputs {
			fmt.Fprintf(w, "input:         %s%s\n", i.Name, optional(i.Optional))
		}
		for _, o := range v.Outputs {
			fmt.Fprintf(w, "output:        %s%s\n", o.Name, optional(o.Optional))
		}
		if len(v.UserAllowlist) > 0 {
			fmt.Fprintf(w, "allowed users: %s\n", strings.Join(v.UserAllowlist, ", "))
		}
		if v.Usage != nil {
			q := "unlimited"
			if v.Usage.Quota >= 0 {
				q = fmt.Sprint(v.Usage.Quota)
			}
			fmt.Fprintf(w, "usage:         %d (quota %s)\n", v.Usage.CurrentUsage, q)
		}
	})
}

func optional(b bool) string {
	if b {
		return " (optional)"
	}
	return ""
}

func runFunctionList(a *app, args []string) error {
	var c connFlags
	var out output
	var user string
	f := a.newFlags("teaclave function list", "[--user ID] [flags]", "Lists the functions a user registered and those it is allowed to use (a PlatformAdmin sees every function as allowed).")
	f.StringVar(&user, "user", "", "user `id` (default: you; others need PlatformAdmin)")
	c.register(f, true)
	out.register(f)
	if _, err := f.parseN(args); err != nil {
		return err
	}
	s, err := a.openSession(&c)
	if err != nil {
		return err
	}
	defer s.Close()
	if user == "" {
		user = s.login.ID
	}
	fe, ctx := s.frontend()
	r, err := fe.ListFunctions(ctx, &frontendpb.ListFunctionsRequest{UserId: user})
	if err != nil {
		return s.platformError("list functions", err)
	}
	reg, allowed := nonNil(r.RegisteredFunctions), nonNil(r.AllowedFunctions)
	return a.print(&out, map[string][]string{"registered_functions": reg, "allowed_functions": allowed}, func(w io.Writer) {
		for _, id := range reg {
			fmt.Fprintf(w, "%s\tregistered\n", id)
		}
		for _, id := range allowed {
			fmt.Fprintf(w, "%s\tallowed\n", id)
		}
	})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func runFunctionUpdate(a *app, args []string) error {
	var c connFlags
	var out output
	var ff functionFlags
	f := a.newFlags("teaclave function update", "FUNCTION_ID [flags]", `
Changes a function you own. Only the fields named by flags change: giving any
--arg or --fixed-arg replaces all arguments, any --input or --optional-input
all inputs, any --output or --optional-output all outputs, any --allow the
allowlist.`)
	ff.register(f)
	c.register(f, true)
	out.register(f)
	pos, err := f.parseN(args, "FUNCTION_ID")
	if err != nil {
		return err
	}
	set := map[string]bool{}
	f.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	s, err := a.openSession(&c)
	if err != nil {
		return err
	}
	defer s.Close()
	fe, ctx := s.frontend()
	cur, err := fe.GetFunction(ctx, &frontendpb.GetFunctionRequest{FunctionId: pos[0]})
	if err != nil {
		return s.platformError("get function "+pos[0], err)
	}
	req := &frontendpb.UpdateFunctionRequest{
		FunctionId: pos[0], Name: cur.Name, Description: cur.Description, ExecutorType: cur.ExecutorType, Public: cur.Public,
		Payload: cur.Payload, Arguments: cur.Arguments, Inputs: cur.Inputs, Outputs: cur.Outputs, UserAllowlist: cur.UserAllowlist,
		UsageQuota: -1,
	}
	if u, err := fe.GetFunctionUsageStats(ctx, &frontendpb.GetFunctionUsageStatsRequest{FunctionId: pos[0]}); err == nil {
		req.UsageQuota = u.FunctionQuota
	} else if !set["quota"] {
		return withHint(fmt.Errorf("update function %s: cannot read its current quota: %w", pos[0], err), "give --quota (negative for unlimited)")
	}
	if set["name"] {
		req.Name = ff.name
	}
	if set["description"] {
		req.Description = ff.description
	}
	if set["executor-type"] {
		if err := checkExecutorType(ff.executorType); err != nil {
			return err
		}
		req.ExecutorType = ff.executorType
	}
	if set["public"] {
		req.Public = ff.public
	}
	if set["payload"] {
		if req.Payload, err = readPayload(ff.payload); err != nil {
			return err
		}
	}
	if set["arg"] || set["fixed-arg"] {
		if req.Arguments, err = ff.arguments(); err != nil {
			return err
		}
	}
	ins, outs, err := ff.inputsOutputs()
	if err != nil {
		return err
	}
	if set["input"] || set["optional-input"] {
		req.Inputs = ins
	}
	if set["output"] || set["optional-output"] {
		req.Outputs = outs
	}
	if set["allow"] {
		req.UserAllowlist = ff.allow
	}
	if set["quota"] {
		req.UsageQuota = int32(ff.quota)
	}
	resp, err := fe.UpdateFunction(ctx, req)
	if err != nil {
		return s.platformError("update function "+pos[0], err)
	}
	return a.print(&out, map[string]string{"function_id": resp.FunctionId}, func(w io.Writer) { fmt.Fprintln(w, resp.FunctionId) })
}

func runFunctionDelete(a *app, args []string) error  { return functionAction(a, args, "delete") }
func runFunctionDisable(a *app, args []string) error { return functionAction(a, args, "disable") }

func functionAction(a *app, args []string, verb string) error {
	var c connFlags
	about := map[string]string{
		"delete":  "Deletes a function you own. Tasks created from it can no longer be invoked.",
		"disable": "Disables a function (its owner or a PlatformAdmin): it leaves every user's function lists and its allowlist is cleared.",
	}[verb]
	f := a.newFlags("teaclave function "+verb, "FUNCTION_ID [flags]", about)
	c.register(f, true)
	pos, err := f.parseN(args, "FUNCTION_ID")
	if err != nil {
		return err
	}
	s, err := a.openSession(&c)
	if err != nil {
		return err
	}
	defer s.Close()
	fe, ctx := s.frontend()
	if verb == "delete" {
		_, err = fe.DeleteFunction(ctx, &frontendpb.DeleteFunctionRequest{FunctionId: pos[0]})
	} else {
		_, err = fe.DisableFunction(ctx, &frontendpb.DisableFunctionRequest{FunctionId: pos[0]})
	}
	if err != nil {
		return s.platformError(verb+" function "+pos[0], err)
	}
	fmt.Fprintf(a.stdout, "%sd %s.\n", strings.ToUpper(verb[:1])+verb[1:], pos[0])
	return nil
}
