package execution

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/execution/executor"
	"github.com/teaclave-go/teaclave/execution/fileagent"
	"github.com/teaclave-go/teaclave/execution/filecrypto"
	"github.com/teaclave-go/teaclave/scheduler"
)

// callTimeout bounds one call to the scheduler.
const callTimeout = 30 * time.Second

// run takes a task from its assignment to its report.
func (n *Node) run(r *running) {
	lease := r.a.Lease
	log := n.logger.With("task", lease.TaskID, "lease", lease.ID, "attempt", r.a.Attempt)
	// Wait for a local slot: the scheduler respects the capacity, but a
	// task still winding down after its report may hold one a moment.
	select {
	case n.slots <- struct{}{}:
	case <-r.ctx.Done():
		n.finish(r, log, scheduler.Completion{Canceled: true})
		return
	}
	slotHeld := true
	release := func() {
		if slotHeld {
			slotHeld = false
			<-n.slots
		}
	}
	defer release()
	if err := n.call(r, func(ctx context.Context) error { return n.d.StartTask(ctx, lease) }); err != nil {
		if teaclave.KindOf(err) == teaclave.KindFailedPrecondition {
			log.Info("task not started: the scheduler took the lease back", "reason", err)
		}
		return
	}
	tctx, cancel := context.WithTimeoutCause(r.ctx, n.cfg.TaskTimeout, errTimeLimit)
	defer cancel()
	comp, straggler := n.execute(tctx, r.a)
	switch cause := context.Cause(tctx); {
	case errors.Is(cause, errStopped):
		comp = scheduler.Completion{Canceled: true}
	case errors.Is(cause, errAbandoned), errors.Is(cause, errNodeStopped):
		log.Info("task abandoned", "reason", cause)
		return
	case errors.Is(cause, errTimeLimit):
		comp = scheduler.Completion{Result: failure(fmt.Sprintf("the task exceeded its time limit of %v", n.cfg.TaskTimeout))}
	}
	if straggler != nil {
		// The executor has not returned yet: report now, free the slot
		// when it does.
		slotHeld = false
		go func() {
			<-straggler
			<-n.slots
		}()
	}
	n.finish(r, log, comp)
}

// finish reports comp under r's lease.
func (n *Node) finish(r *running, log interface {
	Info(string, ...any)
	Warn(string, ...any)
}, comp scheduler.Completion) {
	if errors.Is(context.Cause(r.ctx), errAbandoned) || errors.Is(context.Cause(r.ctx), errNodeStopped) {
		return
	}
	err := n.call(r, func(ctx context.Context) error { return n.d.CompleteTask(ctx, r.a.Lease, comp) })
	switch {
	case err == nil:
	case teaclave.KindOf(err) == teaclave.KindFailedPrecondition:
		log.Info("result refused: the scheduler took the lease back", "reason", err)
	default:
		log.Warn("result not delivered", "error", err)
	}
}

// call makes a scheduler call for r, retrying transient failures until it
// succeeds, is refused, or the node stops. Reports go out even after the
// task's own context ended (a stop or a time limit is reported too).
func (n *Node) call(r *running, f func(context.Context) error) error {
	backoff := 20 * time.Millisecond
	for {
		ctx, cancel := context.WithTimeout(n.runCtx, callTimeout)
		err := f(ctx)
		cancel()
		switch teaclave.KindOf(err) {
		case teaclave.KindUnavailable, teaclave.KindDeadlineExceeded, teaclave.KindAborted, teaclave.KindResourceExhausted, teaclave.KindInternal:
		default:
			return err
		}
		if err == nil {
			return nil
		}
		if errors.Is(context.Cause(r.ctx), errAbandoned) {
			return err
		}
		t := time.NewTimer(backoff)
		select {
		case <-n.runCtx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

func failure(reason string) teaclave.TaskResult {
	return teaclave.TaskResult{Err: &teaclave.TaskFailure{Reason: reason}}
}

// execute stages the task's files, runs its function and delivers its
// outputs. If the function has not returned when ctx ends, straggler is
// closed when it does.
func (n *Node) execute(ctx context.Context, a *scheduler.Assignment) (comp scheduler.Completion, straggler <-chan struct{}) {
	st := a.Task
	if !st.Executor.Runs(st.ExecutorType) {
		return scheduler.Completion{Result: failure(fmt.Sprintf("function not available: (%s, %s)", st.ExecutorType, st.Executor))}, nil
	}
	ex := n.executors[st.Executor]
	if ex == nil {
		return scheduler.Completion{Result: failure(fmt.Sprintf("executor %s is not available on this node", st.Executor))}, nil
	}
	saveLog, err := saveLogRequested(st.FunctionArguments)
	if err != nil {
		return scheduler.Completion{Result: failure(err.Error())}, nil
	}
	var payload []byte
	if st.ExecutorType != teaclave.ExecutorTypeBuiltin {
		// Built-ins ignore their payload: no need to fetch it.
		if payload, err = n.payloads.get(ctx, n.d, st.FunctionID, st.PayloadSHA256); err != nil {
			return scheduler.Completion{Result: failure(reasonFor(ctx, "function payload", err))}, nil
		}
	}
	scratch, err := fileagent.NewScratch(n.cfg.ScratchDir, n.cfg.MemoryBudget, n.cfg.ScratchLimit)
	if err != nil {
		return scheduler.Completion{Result: failure("cannot prepare the task's files")}, nil
	}
	defer scratch.Close()
	inputs, err := n.stageInputs(ctx, scratch, st.InputData)
	if err != nil {
		return scheduler.Completion{Result: failure(reasonFor(ctx, "", err))}, nil
	}
	rt := newRuntime(scratch, inputs, slices.Sorted(maps.Keys(st.OutputData)), saveLog, n.cfg.MaxLog, n.cfg.Files.MaxFileSize)
	task := &executor.Task{
		ID: st.TaskID, FunctionName: st.FunctionName, ExecutorType: st.ExecutorType, Executor: st.Executor,
		Payload: payload, Arguments: st.FunctionArguments,
		Inputs: slices.Sorted(maps.Keys(st.InputData)), Outputs: rt.outputNames,
	}
	type outcome struct {
		res executor.Result
		err error
	}
	done := make(chan outcome, 1)
	returned := make(chan struct{})
	go func() {
		defer close(returned)
		var o outcome
		func() {
			defer func() {
				if p := recover(); p != nil {
					o.err = errors.New("the function panicked")
				}
			}()
			o.res, o.err = ex.Execute(ctx, task, rt)
		}()
		done <- o
	}()
	var o outcome
	select {
	case o = <-done:
	case <-ctx.Done():
		return scheduler.Completion{}, returned
	}
	if ctx.Err() != nil {
		return scheduler.Completion{}, nil
	}
	if o.err != nil {
		return scheduler.Completion{Result: failure(o.err.Error())}, nil
	}
	tags, err := n.deliverOutputs(ctx, scratch, rt, st.OutputData)
	if err != nil {
		return scheduler.Completion{Result: failure(reasonFor(ctx, "", err))}, nil
	}
	out := &teaclave.TaskOutputs{ReturnValue: o.res.ReturnValue, TagsMap: tags, Log: rt.log.lines()}
	if out.ReturnValue == nil {
		out.ReturnValue = []byte{}
	}
	return scheduler.Completion{Result: teaclave.TaskResult{Ok: out}}, nil
}

// reasonFor is the failure reason of err, prefixed with what.
func reasonFor(ctx context.Context, what string, err error) string {
	if ctx.Err() != nil {
		return "canceled"
	}
	if what == "" {
		return err.Error()
	}
	return what + ": " + err.Error()
}

// saveLogRequested reads the save_log argument: true or "true" asks for
// the task's log (Teaclave took the string; management also accepts the
// boolean).
func saveLogRequested(args json.RawMessage) (bool, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(args, &m); err != nil {
		return false, errors.New("function arguments are not a JSON object")
	}
	v, ok := m["save_log"]
	if !ok {
		return false, nil
	}
	var b bool
	if json.Unmarshal(v, &b) == nil {
		return b, nil
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s == "true", nil
	}
	return false, nil
}

// fileName is the last segment of a URL's path: the name a
// teaclave-file-128 file is created under (protocol §13.2).
func fileName(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", errors.New("URL does not parse")
	}
	p := u.EscapedPath()
	if u.Opaque != "" {
		p = u.Opaque
	}
	name := p[strings.LastIndexByte(p, '/')+1:]
	if name == "" {
		return "", errors.New("URL names no file")
	}
	return name, nil
}

func cryptoInfo(c teaclave.FileCrypto) filecrypto.CryptoInfo {
	return filecrypto.CryptoInfo{Schema: filecrypto.Schema(c.Schema), Key: c.Key, IV: c.IV}
}

// stageInputs downloads every input at once and decrypts each into a
// plaintext buffer, checking its cmac: the function runs only if every
// input is exactly the file that was registered.
func (n *Node) stageInputs(ctx context.Context, scratch *fileagent.Scratch, inputs map[string]teaclave.StagedInput) (map[string]*fileagent.Buffer, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	out := map[string]*fileagent.Buffer{}
	var first error
	var wg sync.WaitGroup
	for name, in := range inputs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf, err := n.stageInput(ctx, scratch, in)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if first == nil {
					first = fmt.Errorf("input %s: %w", name, err)
					cancel()
				}
				return
			}
			out[name] = buf
		}()
	}
	wg.Wait()
	if first != nil {
		return nil, first
	}
	return out, nil
}

func (n *Node) stageInput(ctx context.Context, scratch *fileagent.Scratch, in teaclave.StagedInput) (*fileagent.Buffer, error) {
	max := n.cfg.Files.MaxFileSize
	info := cryptoInfo(in.Crypto)
	var name string
	if info.Schema == filecrypto.SchemaTeaclaveFile128 {
		var err error
		if name, err = fileName(in.URL); err != nil {
			return nil, err
		}
	}
	enc := scratch.NewBuffer(max)
	if err := n.agent.Download(ctx, in.URL, enc); err != nil {
		enc.Close()
		return nil, err
	}
	if info.Schema == filecrypto.SchemaRaw {
		// Raw inputs carry no cmac (Teaclave did not check them either);
		// management accepts them only where the platform allows.
		return enc, nil
	}
	defer enc.Close()
	tag := filecrypto.Tag(in.Cmac)
	r, err := filecrypto.NewReader(enc, enc.Size(), info, filecrypto.ReaderOptions{Name: name, ExpectedTag: &tag})
	if err != nil {
		return nil, fileError(err)
	}
	plain := scratch.NewBuffer(max)
	if _, err := io.Copy(plain, r); err != nil {
		plain.Close()
		return nil, fileError(err)
	}
	return plain, nil
}

// fileError says what is wrong with a file without quoting it.
func fileError(err error) error {
	switch {
	case errors.Is(err, filecrypto.ErrTagMismatch):
		return errors.New("cmac mismatch: the file is not the one registered")
	case errors.Is(err, filecrypto.ErrAuthentication):
		return errors.New("the file does not decrypt with its key (wrong key or modified file)")
	case errors.Is(err, filecrypto.ErrNameMismatch):
		return errors.New("the protected file was created under another name than its URL's")
	case errors.Is(err, filecrypto.ErrRecoveryNeeded):
		return errors.New("the protected file was left mid-update and needs its recovery file")
	case errors.Is(err, filecrypto.ErrNonceReused):
		return errors.New("this aes-gcm key and iv were used for an output before; register the output with a fresh iv")
	case errors.Is(err, fileagent.ErrTooLarge), errors.Is(err, fileagent.ErrScratchTampered):
		return err
	case errors.Is(err, filecrypto.ErrMalformed), errors.Is(err, filecrypto.ErrTooLarge), errors.Is(err, filecrypto.ErrInvalidCryptoInfo), errors.Is(err, filecrypto.ErrInvalidOptions):
		return errors.New("not a valid file of its schema")
	}
	return errors.New("cannot read the file")
}

// deliverOutputs encrypts every output, then uploads them all; the tags
// are the encrypted files' cmacs.
func (n *Node) deliverOutputs(ctx context.Context, scratch *fileagent.Scratch, rt *taskRuntime, outputs map[string]teaclave.StagedOutput) (map[string]teaclave.FileAuthTag, error) {
	tags := make(map[string]teaclave.FileAuthTag, len(outputs))
	encs := make(map[string]*fileagent.Buffer, len(outputs))
	for _, name := range slices.Sorted(maps.Keys(outputs)) {
		out := outputs[name]
		plain, err := rt.finished(name)
		if err != nil {
			return nil, fmt.Errorf("output %s: %w", name, err)
		}
		info := cryptoInfo(out.Crypto)
		if info.Schema == filecrypto.SchemaRaw {
			return nil, fmt.Errorf("output %s: OutputFile: unsupported type", name)
		}
		var fname string
		if info.Schema == filecrypto.SchemaTeaclaveFile128 {
			if fname, err = fileName(out.URL); err != nil {
				return nil, fmt.Errorf("output %s: %w", name, err)
			}
		}
		enc := scratch.NewBuffer(n.cfg.Files.MaxFileSize)
		w, err := filecrypto.NewWriter(enc, info, filecrypto.WriterOptions{Name: fname, ClaimNonce: func(key, iv []byte) error {
			err := n.d.ClaimNonce(ctx, scheduler.NonceDigest(key, iv))
			if teaclave.KindOf(err) == teaclave.KindAlreadyExists {
				return fmt.Errorf("%w: %v", filecrypto.ErrNonceReused, err)
			}
			return err
		}})
		if err != nil {
			if errors.Is(err, filecrypto.ErrNonceReused) {
				return nil, fmt.Errorf("output %s: %w", name, fileError(err))
			}
			return nil, fmt.Errorf("output %s: cannot encrypt: %w", name, fileError(err))
		}
		if _, err := io.Copy(w, plain.Reader()); err != nil {
			return nil, fmt.Errorf("output %s: cannot encrypt: %w", name, fileError(err))
		}
		if err := w.Close(); err != nil {
			return nil, fmt.Errorf("output %s: cannot encrypt: %w", name, fileError(err))
		}
		tag, err := w.Tag()
		if err != nil {
			return nil, fmt.Errorf("output %s: cannot encrypt: %w", name, fileError(err))
		}
		plain.Close()
		tags[name] = teaclave.FileAuthTag(tag)
		encs[name] = enc
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	for name, enc := range encs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := n.agent.Upload(ctx, outputs[name].URL, enc); err != nil {
				mu.Lock()
				if first == nil {
					first = fmt.Errorf("output %s: %w", name, err)
					cancel()
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return nil, first
	}
	return tags, nil
}
