package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/sdk"
)

func taskCommand() *command {
	return &command{name: "task", summary: "create and run tasks (create, assign, approve, invoke, cancel, get, wait)", sub: []*command{
		{name: "create", summary: "create a task from a function", run: runTaskCreate},
		{name: "assign", summary: "assign your files to a task's inputs and outputs", run: runTaskAssign},
		{name: "approve", summary: "approve a task", run: runTaskApprove},
		{name: "invoke", summary: "start an approved task (creator only)", run: runTaskInvoke},
		{name: "cancel", summary: "cancel a task", run: runTaskCancel},
		{name: "get", summary: "show a task and its result", run: runTaskGet},
		{name: "wait", summary: "wait for a task to end, showing its progress", run: runTaskWait},
	}}
}

// splitPairs parses repeated NAME=VALUE flags.
func splitPairs(flagName string, pairs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" || v == "" {
			return nil, usagef("--%s %q: want NAME=VALUE", flagName, p)
		}
		if _, dup := out[k]; dup {
			return nil, usagef("--%s %s given twice", flagName, k)
		}
		out[k] = v
	}
	return out, nil
}

// ownerMap parses repeated SLOT=OWNER[,OWNER...] flags.
func ownerMap(flagName string, pairs []string) (map[string][]string, error) {
	m, err := splitPairs(flagName, pairs)
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for k, v := range m {
		for _, o := range strings.Split(v, ",") {
			if o = strings.TrimSpace(o); o != "" {
				out[k] = append(out[k], o)
			}
		}
		if len(out[k]) == 0 {
			return nil, usagef("--%s %s: no owner", flagName, k)
		}
	}
	return out, nil
}

// executorFor is the executor that runs functions of an executor type.
func executorFor(executorType string) string {
	switch executorType {
	case sdk.FunctionPython:
		return sdk.ExecutorMesaPy
	case "wamr":
		return sdk.ExecutorWAMR
	}
	return sdk.ExecutorBuiltin
}

func runTaskCreate(a *app, args []string) error {
	var c connFlags
	var out output
	var functionID, executor, argsJSON string
	var argPairs, jsonArgPairs, inputs, outputs multiFlag
	f := a.newFlags("teaclave task create", "--function FUNCTION_ID [--arg KEY=VALUE]... [--input SLOT=OWNER,...]... [--output SLOT=OWNER,...]... [flags]", `
Creates a task and prints its id. Arguments are strings (--arg), JSON values
(--json-arg KEY=JSON), or a whole JSON object (--args). Every input and output
slot of the function gets the users who must own the file assigned to it; they
all become participants and must approve before the creator invokes it.`)
	f.StringVar(&functionID, "function", "", "function `id`")
	f.StringVar(&executor, "executor", "", "executor: builtin, mesapy or wamr (default: the one for the function's executor type)")
	f.StringVar(&argsJSON, "args", "", "arguments as a JSON `object`")
	f.Var(&argPairs, "arg", "string argument `KEY=VALUE` (repeatable)")
	f.Var(&jsonArgPairs, "json-arg", "argument `KEY=JSON` keeping its JSON type (repeatable)")
	f.Var(&inputs, "input", "input slot and its owners, `SLOT=OWNER[,OWNER...]` (repeatable)")
	f.Var(&outputs, "output", "output slot and its owners, `SLOT=OWNER[,OWNER...]` (repeatable)")
	c.register(f, true)
	out.register(f)
	if _, err := f.parseN(args); err != nil {
		return err
	}
	if functionID == "" {
		return usagef("--function is required")
	}
	fargs := map[string]any{}
	if argsJSON != "" {
		if err := json.Unmarshal([]byte(argsJSON), &fargs); err != nil {
			return usagef("--args: not a JSON object: %v", err)
		}
	}
	for _, p := range argPairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return usagef("--arg %q: want KEY=VALUE", p)
		}
		fargs[k] = v
	}
	for _, p := range jsonArgPairs {
		k, v, ok := strings.Cut(p, "=")
		var val any
		if !ok || k == "" || json.Unmarshal([]byte(v), &val) != nil {
			return usagef("--json-arg %q: want KEY=JSON", p)
		}
		fargs[k] = val
	}
	ins, err := ownerMap("input", inputs)
	if err != nil {
		return err
	}
	outs, err := ownerMap("output", outputs)
	if err != nil {
		return err
	}
	switch executor {
	case "", sdk.ExecutorBuiltin, sdk.ExecutorMesaPy, sdk.ExecutorWAMR:
	default:
		return usagef("--executor %q: want builtin, mesapy or wamr", executor)
	}
	s, err := a.openSession(&c)
	if err != nil {
		return err
	}
	defer s.Close()
	if executor == "" {
		fn, err := s.client.GetFunction(a.ctx, functionID)
		if err != nil {
			return withHint(s.platformError("get function "+functionID, err), "check the function id, or give --executor")
		}
		executor = executorFor(fn.Type)
	}
	id, err := s.client.CreateTask(a.ctx, sdk.TaskSpec{FunctionID: functionID, Executor: executor, Arguments: fargs, InputOwners: ins, OutputOwners: outs})
	if err != nil {
		err = s.platformError("create task", err)
		if strings.Contains(err.Error(), "invalid task") {
			err = withHint(err, "the arguments and slots must match the function's: see `teaclave function get "+functionID+"`")
		}
		return err
	}
	return a.print(&out, map[string]string{"task_id": id}, func(w io.Writer) { fmt.Fprintln(w, id) })
}

func runTaskAssign(a *app, args []string) error {
	var c connFlags
	var inputs, outputs multiFlag
	f := a.newFlags("teaclave task assign", "TASK_ID [--input SLOT=DATA_ID]... [--output SLOT=DATA_ID]... [flags]", "Assigns files you own to a task's input and output slots.")
	f.Var(&inputs, "input", "`SLOT=DATA_ID` of an input file (repeatable)")
	f.Var(&outputs, "output", "`SLOT=DATA_ID` of an output file (repeatable)")
	c.register(f, true)
	pos, err := f.parseN(args, "TASK_ID")
	if err != nil {
		return err
	}
	ins, err := splitPairs("input", inputs)
	if err != nil {
		return err
	}
	outs, err := splitPairs("output", outputs)
	if err != nil {
		return err
	}
	if len(ins)+len(outs) == 0 {
		return usagef("nothing to assign: give --input or --output")
	}
	s, err := a.openSession(&c)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.client.AssignData(a.ctx, pos[0], ins, outs); err != nil {
		return s.platformError("assign data to "+pos[0], err)
	}
	fmt.Fprintf(a.stdout, "Assigned %d file(s) to %s.\n", len(ins)+len(outs), pos[0])
	return nil
}

func runTaskApprove(a *app, args []string) error {
	return taskAction(a, args, "approve", "Approves a task as one of its participants.", "Approved")
}

func runTaskCancel(a *app, args []string) error {
	return taskAction(a, args, "cancel", "Cancels a task (its creator or a PlatformAdmin). A running task stops shortly after.", "Canceled")
}

func taskAction(a *app, args []string, verb, about, done string) error {
	var c connFlags
	f := a.newFlags("teaclave task "+verb, "TASK_ID [flags]", about)
	c.register(f, true)
	pos, err := f.parseN(args, "TASK_ID")
	if err != nil {
		return err
	}
	s, err := a.openSession(&c)
	if err != nil {
		return err
	}
	defer s.Close()
	if verb == "approve" {
		err = s.client.ApproveTask(a.ctx, pos[0])
	} else {
		err = s.client.CancelTask(a.ctx, pos[0])
	}
	if err != nil {
		return s.platformError(verb+" task "+pos[0], err)
	}
	fmt.Fprintf(a.stdout, "%s %s.\n", done, pos[0])
	return nil
}

func runTaskInvoke(a *app, args []string) error {
	var c connFlags
	var w waitFlags
	var wait bool
	f := a.newFlags("teaclave task invoke", "TASK_ID [--wait] [flags]", "Starts a task once every participant approved and every slot has a file (its creator only).")
	f.BoolVar(&wait, "wait", false, "then wait for the task as `teaclave task wait` does")
	w.register(f)
	c.register(f, true)
	pos, err := f.parseN(args, "TASK_ID")
	if err != nil {
		return err
	}
	s, err := a.openSession(&c)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.client.InvokeTask(a.ctx, pos[0]); err != nil {
		err = s.platformError("invoke task "+pos[0], err)
		if k := teaclave.KindOf(err); k == teaclave.KindFailedPrecondition || strings.Contains(err.Error(), "failed to invoke task") {
			err = withHint(err, "every slot needs a file and every participant's approval first: see `teaclave task get "+pos[0]+"`")
		}
		return err
	}
	if !wait {
		fmt.Fprintf(a.stdout, "Invoked %s.\n", pos[0])
		return nil
	}
	return waitTask(a, s, pos[0], &w)
}

// taskView is a task as get, wait and --json print it.
type taskView struct {
	ID              string              `json:"task_id"`
	Status          string              `json:"status"`
	Creator         string              `json:"creator"`
	FunctionID      string              `json:"function_id"`
	FunctionOwner   string              `json:"function_owner"`
	Arguments       json.RawMessage     `json:"function_arguments"`
	InputOwners     map[string][]string `json:"inputs_ownership"`
	OutputOwners    map[string][]string `json:"outputs_ownership"`
	Participants    []string            `json:"participants"`
	ApprovedUsers   []string            `json:"approved_users"`
	AssignedInputs  map[string]string   `json:"assigned_inputs"`
	AssignedOutputs map[string]string   `json:"assigned_outputs"`
	Result          *resultView         `json:"result,omitempty"`
	FailureReason   string              `json:"failure_reason,omitempty"`
}

type resultView struct {
	// ReturnValue is the return value as text when it is UTF-8, else
	// empty with ReturnValueHex set.
	ReturnValue    string            `json:"return_value"`
	ReturnValueHex string            `json:"return_value_hex,omitempty"`
	Tags           map[string]string `json:"output_tags"`
	Log            []string          `json:"log"`
}

func viewResult(r *sdk.TaskResult) *resultView {
	if r == nil {
		return nil
	}
	v := &resultView{Tags: map[string]string{}, Log: nonNil(r.Log)}
	if utf8.Valid(r.ReturnValue) {
		v.ReturnValue = string(r.ReturnValue)
	} else {
		v.ReturnValueHex = fmt.Sprintf("%x", r.ReturnValue)
	}
	for k, t := range r.Tags {
		v.Tags[k] = t.String()
	}
	return v
}

func viewTask(t *sdk.Task) taskView {
	v := taskView{ID: t.ID, Status: t.Status.String(), Creator: t.Creator, FunctionID: t.FunctionID, FunctionOwner: t.FunctionOwner,
		Arguments: t.Arguments, InputOwners: t.InputOwners, OutputOwners: t.OutputOwners,
		Participants: sorted(t.Participants), ApprovedUsers: sorted(t.ApprovedUsers),
		AssignedInputs: t.AssignedInputs, AssignedOutputs: t.AssignedOutputs,
		Result: viewResult(t.Result), FailureReason: t.FailureReason}
	if len(v.Arguments) == 0 {
		v.Arguments = json.RawMessage("{}")
	}
	return v
}

func sorted(s []string) []string {
	out := slices.Clone(nonNil(s))
	slices.Sort(out)
	return out
}

func (v taskView) printPlain(w io.Writer) {
	fmt.Fprintf(w, "task:          %s\nstatus:        %s\ncreator:       %s\nfunction:      %s (owner %s)\narguments:     %s\n",
		v.ID, v.Status, v.Creator, v.FunctionID, v.FunctionOwner, v.Arguments)
	for _, k := range slices.Sorted(maps.Keys(v.InputOwners)) {
		fmt.Fprintf(w, "input:         %s owned by %s: %s\n", k, strings.Join(v.InputOwners[k], ", "), orNone(v.AssignedInputs[k]))
	}
	for _, k := range slices.Sorted(maps.Keys(v.OutputOwners)) {
		fmt.Fprintf(w, "output:        %s owned by %s: %s\n", k, strings.Join(v.OutputOwners[k], ", "), orNone(v.AssignedOutputs[k]))
	}
	fmt.Fprintf(w, "participants:  %s\napproved by:   %s\n", strings.Join(v.Participants, ", "), strings.Join(v.ApprovedUsers, ", "))
	if r := v.Result; r != nil {
		if r.ReturnValueHex != "" {
			fmt.Fprintf(w, "return value:  (hex) %s\n", r.ReturnValueHex)
		} else {
			fmt.Fprintf(w, "return value:  %s\n", r.ReturnValue)
		}
		for _, k := range slices.Sorted(maps.Keys(r.Tags)) {
			fmt.Fprintf(w, "output tag:    %s %s\n", k, r.Tags[k])
		}
		for _, l := range r.Log {
			fmt.Fprintf(w, "log:           %s\n", l)
		}
	}
	if v.FailureReason != "" {
		fmt.Fprintf(w, "error:         %s\n", v.FailureReason)
	}
}

func orNone(s string) string {
	if s == "" {
		return "(not assigned)"
	}
	return s
}

func runTaskGet(a *app, args []string) error {
	var c connFlags
	var out output
	f := a.newFlags("teaclave task get", "TASK_ID [flags]", "Shows a task you take part in: its status, slots, approvals and result.")
	c.register(f, true)
	out.register(f)
	pos, err := f.parseN(args, "TASK_ID")
	if err != nil {
		return err
	}
	s, err := a.openSession(&c)
	if err != nil {
		return err
	}
	defer s.Close()
	t, err := s.client.GetTask(a.ctx, pos[0])
	if err != nil {
		return s.platformError("get task "+pos[0], err)
	}
	v := viewTask(t)
	return a.print(&out, v, v.printPlain)
}

// waitFlags are the flags of task wait (and invoke --wait).
type waitFlags struct {
	out     output
	timeout time.Duration
	quiet   bool
}

func (w *waitFlags) register(f *flags) {
	w.out.register(f)
	f.DurationVar(&w.timeout, "timeout", 0, "give up after this `duration` (e.g. 5m; default: wait until the task ends)")
	f.BoolVar(&w.quiet, "quiet", false, "show no progress")
}

func runTaskWait(a *app, args []string) error {
	var c connFlags
	var w waitFlags
	f := a.newFlags("teaclave task wait", "TASK_ID [flags]", `
Waits until a task ends. Its progress goes to standard error: a live status
line on a terminal, a line per status change otherwise. Then the return value
is printed on standard output (--json: the whole task). The exit status is 3
if the task failed or was canceled.`)
	w.register(f)
	c.register(f, true)
	pos, err := f.parseN(args, "TASK_ID")
	if err != nil {
		return err
	}
	s, err := a.openSession(&c)
	if err != nil {
		return err
	}
	defer s.Close()
	return waitTask(a, s, pos[0], &w)
}

// waitTask waits for task id with a progress display and prints how it
// ended.
func waitTask(a *app, s *session, id string, w *waitFlags) error {
	ctx := a.ctx
	if w.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, w.timeout)
		defer cancel()
	}
	// One call first, so that a wrong id or an unreachable platform is an
	// error now rather than a wait (Wait rides out Unavailable).
	if _, err := s.client.GetTask(ctx, id); err != nil {
		return s.platformError("get task "+id, err)
	}
	p := newProgress(a.stderr, id, w.quiet)
	p.start()
	_, waitErr := s.client.Wait(ctx, id, p.update)
	p.stop(waitErr)

	t, err := s.client.GetTask(a.ctx, id)
	if err != nil {
		if waitErr != nil {
			return s.platformError("wait for task "+id, waitErr)
		}
		return s.platformError("get task "+id, err)
	}
	var te *sdk.TaskError
	switch {
	case waitErr == nil:
	case errors.As(waitErr, &te):
	case ctx.Err() != nil && a.ctx.Err() == nil:
		return withHint(fmt.Errorf("task %s is still %s after %s", id, t.Status, w.timeout), "wait longer with a larger --timeout, or check it later with `teaclave task get "+id+"`")
	default:
		return s.platformError("wait for task "+id, waitErr)
	}
	v := viewTask(t)
	if err := a.print(&w.out, v, func(out io.Writer) {
		if v.Result == nil {
			return
		}
		rv := v.Result.ReturnValue
		if v.Result.ReturnValueHex != "" {
			rv = v.Result.ReturnValueHex
		}
		fmt.Fprint(out, rv)
		if !strings.HasSuffix(rv, "\n") {
			fmt.Fprintln(out)
		}
	}); err != nil {
		return err
	}
	if te != nil {
		reason := te.Reason
		if reason == "" {
			reason = "no reason given"
		}
		return &exitCodeError{code: exitTaskFailed, err: fmt.Errorf("task %s %s: %s", id, te.Status, reason)}
	}
	return nil
}

// progress shows a task's status while waiting: a live line redrawn on a
// terminal, one line per change otherwise.
type progress struct {
	w     io.Writer
	id    string
	live  bool
	quiet bool
	begin time.Time

	mu     sync.Mutex
	status sdk.TaskStatus
	seen   []string
	frame  int
	done   chan struct{}
	wg     sync.WaitGroup
}

func newProgress(w io.Writer, id string, quiet bool) *progress {
	return &progress{w: w, id: id, live: isTerminal(w) && !quiet, quiet: quiet, begin: time.Now(), status: -1, done: make(chan struct{})}
}

var spinner = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

func (p *progress) start() {
	if !p.live {
		return
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-p.done:
				return
			case <-t.C:
				p.mu.Lock()
				p.draw()
				p.mu.Unlock()
			}
		}
	}()
}

// draw redraws the live line; p.mu is held.
func (p *progress) draw() {
	p.frame++
	status := "…"
	if p.status >= 0 {
		status = strings.Join(p.seen, " → ")
	}
	fmt.Fprintf(p.w, "\r\033[K%s %s  %s  %.1fs", spinner[p.frame%len(spinner)], p.id, status, time.Since(p.begin).Seconds())
}

// update records a status Wait saw.
func (p *progress) update(s sdk.TaskStatus) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.status = s
	p.seen = append(p.seen, s.String())
	switch {
	case p.quiet:
	case p.live:
		p.draw()
	default:
		fmt.Fprintf(p.w, "%s %s (%s)\n", p.id, s, time.Since(p.begin).Truncate(time.Millisecond))
	}
}

func (p *progress) stop(err error) {
	close(p.done)
	p.wg.Wait()
	if !p.live {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	mark := "✓"
	if err != nil {
		mark = "✗"
	}
	fmt.Fprintf(p.w, "\r\033[K%s %s  %s  %.1fs\n", mark, p.id, strings.Join(p.seen, " → "), time.Since(p.begin).Seconds())
}
