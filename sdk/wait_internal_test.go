package sdk

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/frontend"
	"github.com/teaclave-go/teaclave/rpc"
	"github.com/teaclave-go/teaclave/rpc/pb/commonpb"
	"github.com/teaclave-go/teaclave/rpc/pb/frontendpb"
)

// scriptedFrontend answers GetTask from a script, one step per call, and
// repeats the last step.
type scriptedFrontend struct {
	frontendpb.UnimplementedTeaclaveFrontendServer
	mu    sync.Mutex
	steps []func() (*frontendpb.GetTaskResponse, error)
	calls int
	ids   []string
}

func (f *scriptedFrontend) GetTask(ctx context.Context, req *frontendpb.GetTaskRequest) (*frontendpb.GetTaskResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	md, _ := metadata.FromIncomingContext(ctx)
	f.ids = append(f.ids, md.Get(rpc.MetadataID)...)
	step := f.steps[min(f.calls, len(f.steps)-1)]
	f.calls++
	return step()
}

func withStatus(s commonpb.TaskStatus, result *commonpb.TaskResult) func() (*frontendpb.GetTaskResponse, error) {
	return func() (*frontendpb.GetTaskResponse, error) {
		return &frontendpb.GetTaskResponse{TaskId: "task-1", Status: s, Result: result}, nil
	}
}

func failing(c codes.Code) func() (*frontendpb.GetTaskResponse, error) {
	return func() (*frontendpb.GetTaskResponse, error) { return nil, status.Error(c, "scripted") }
}

func scriptedClient(t *testing.T, f *scriptedFrontend) *Client {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	frontendpb.RegisterTeaclaveFrontendServer(srv, f)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	cc, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	c := &Client{Frontend: frontend.NewClient(cc), logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		pollMin: time.Millisecond, pollMax: 4 * time.Millisecond}
	c.SetCredentials(rpc.Credentials{ID: "alice", Token: "t"})
	return c
}

func TestWaitRidesOutUnavailableAndReportsChanges(t *testing.T) {
	ok := &commonpb.TaskResult{Result: &commonpb.TaskResult_Ok{Ok: &commonpb.TaskOutputs{
		ReturnValue: []byte("done"), TagsMap: map[string][]byte{"out": make([]byte, 16)}, Log: []string{"l"}}}}
	f := &scriptedFrontend{steps: []func() (*frontendpb.GetTaskResponse, error){
		withStatus(commonpb.TaskStatus_Approved, nil),
		withStatus(commonpb.TaskStatus_Staged, nil),
		failing(codes.Unavailable),
		withStatus(commonpb.TaskStatus_Staged, nil),
		withStatus(commonpb.TaskStatus_Running, nil),
		withStatus(commonpb.TaskStatus_Running, nil),
		withStatus(commonpb.TaskStatus_Finished, ok),
	}}
	c := scriptedClient(t, f)
	var seen []TaskStatus
	res, err := c.Wait(context.Background(), "task-1", func(s TaskStatus) { seen = append(seen, s) })
	if err != nil {
		t.Fatal(err)
	}
	if string(res.ReturnValue) != "done" || len(res.Tags) != 1 || !slices.Equal(res.Log, []string{"l"}) {
		t.Fatalf("result %+v", res)
	}
	if want := []TaskStatus{TaskApproved, TaskStaged, TaskRunning, TaskFinished}; !slices.Equal(seen, want) {
		t.Fatalf("reported %v, want %v", seen, want)
	}
	if f.calls != 7 || len(f.ids) != 7 || f.ids[0] != "alice" {
		t.Fatalf("%d calls with ids %v", f.calls, f.ids)
	}
}

func TestWaitStopsOnOtherErrorsAndBadResults(t *testing.T) {
	c := scriptedClient(t, &scriptedFrontend{steps: []func() (*frontendpb.GetTaskResponse, error){failing(codes.PermissionDenied)}})
	_, err := c.Wait(context.Background(), "task-1", nil)
	if teaclave.KindOf(err) != teaclave.KindPermissionDenied {
		t.Fatalf("Wait = %v, want PermissionDenied", err)
	}

	badTag := &commonpb.TaskResult{Result: &commonpb.TaskResult_Ok{Ok: &commonpb.TaskOutputs{TagsMap: map[string][]byte{"out": {1, 2}}}}}
	c = scriptedClient(t, &scriptedFrontend{steps: []func() (*frontendpb.GetTaskResponse, error){withStatus(commonpb.TaskStatus_Finished, badTag)}})
	if _, err := c.Wait(context.Background(), "task-1", nil); teaclave.KindOf(err) != teaclave.KindInternal {
		t.Fatalf("short output tag: %v, want Internal", err)
	}

	c = scriptedClient(t, &scriptedFrontend{steps: []func() (*frontendpb.GetTaskResponse, error){withStatus(commonpb.TaskStatus_Finished, nil)}})
	if _, err := c.Wait(context.Background(), "task-1", nil); teaclave.KindOf(err) != teaclave.KindInternal {
		t.Fatalf("finished without result: %v, want Internal", err)
	}

	canceled := &commonpb.TaskResult{Result: &commonpb.TaskResult_Err{Err: &commonpb.TaskFailure{Reason: "Task Canceled by the user"}}}
	c = scriptedClient(t, &scriptedFrontend{steps: []func() (*frontendpb.GetTaskResponse, error){withStatus(commonpb.TaskStatus_Canceled, canceled)}})
	_, err = c.Wait(context.Background(), "task-1", nil)
	var te *TaskError
	if !errors.As(err, &te) || !errors.Is(err, ErrTaskCanceled) || te.Reason != "Task Canceled by the user" {
		t.Fatalf("canceled: %v", err)
	}

	// Unavailable forever: Wait ends with the context.
	c = scriptedClient(t, &scriptedFrontend{steps: []func() (*frontendpb.GetTaskResponse, error){failing(codes.Unavailable)}})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.Wait(ctx, "task-1", nil); !errors.Is(err, context.DeadlineExceeded) && teaclave.KindOf(err) != teaclave.KindDeadlineExceeded {
		t.Fatalf("Wait with the platform down: %v", err)
	}
}
