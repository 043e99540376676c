//go:build !teaclave_production

package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/teaclave-go/teaclave/sdk"
)

func TestFunction(t *testing.T) {
	c := withPlatform(t)
	c.adminWithUsers("fo")

	id := c.ok("function", "register", "--name", "builtin-echo", "--description", "echoes", "--arg", "message", "--fixed-arg", "mode=loud",
		"--input", "in=the input", "--optional-input", "extra", "--output", "out", "--quota", "5", "--as", "fo")
	if !strings.HasPrefix(id, "function-") {
		t.Fatalf("register printed %q", id)
	}
	var fn functionView
	c.jsonOut(&fn, "function", "get", id, "--as", "fo")
	if fn.Name != "builtin-echo" || fn.Owner != "fo" || !fn.Public || fn.ExecutorType != "builtin" || len(fn.Arguments) != 2 ||
		len(fn.Inputs) != 2 || !fn.Inputs[1].Optional || fn.Inputs[0].Description != "the input" || len(fn.Outputs) != 1 ||
		fn.Usage == nil || fn.Usage.Quota != 5 {
		t.Fatalf("function get: %+v", fn)
	}
	if out := c.ok("function", "get", id, "--as", "fo"); !strings.Contains(out, "argument:      mode (default \"loud\", fixed)") {
		t.Fatalf("plain get:\n%s", out)
	}

	var list struct {
		RegisteredFunctions []string `json:"registered_functions"`
	}
	c.jsonOut(&list, "function", "list", "--as", "fo")
	if len(list.RegisteredFunctions) != 1 || list.RegisteredFunctions[0] != id {
		t.Fatalf("list: %+v", list)
	}

	// update changes only what the flags name.
	c.ok("function", "update", id, "--description", "new", "--public=false", "--allow", "admin", "--as", "fo")
	c.jsonOut(&fn, "function", "get", id, "--as", "fo")
	if fn.Description != "new" || fn.Public || fn.Name != "builtin-echo" || len(fn.Arguments) != 2 || len(fn.UserAllowlist) != 1 {
		t.Fatalf("after update: %+v", fn)
	}

	// Python payloads are read from a file.
	payload := writeFile(t, t.TempDir(), "echo.py", "def entrypoint(argv):\n    return argv[1]\n")
	py := c.ok("function", "register", "--name", "echo", "--executor-type", "python", "--payload", payload, "--arg", "message", "--as", "fo")
	c.jsonOut(&fn, "function", "get", py, "--as", "fo")
	if fn.PayloadSize == 0 || fn.ExecutorType != "python" {
		t.Fatalf("python function: %+v", fn)
	}
	out := filepath.Join(t.TempDir(), "payload")
	c.ok("function", "get", py, "--payload-out", out, "--as", "fo")
	if b, _ := os.ReadFile(out); !strings.Contains(string(b), "entrypoint") {
		t.Fatalf("payload-out wrote %q", b)
	}

	// disable (admin) and delete (owner).
	c.ok("function", "disable", py, "--as", "admin")
	c.ok("function", "delete", id, "--as", "fo")
	c.fail(exitError, []string{"invalid function id"}, "function", "get", id, "--as", "fo")

	// Errors: a missing name, a bad executor type, an unknown function.
	c.fail(exitUsage, []string{"--name is required"}, "function", "register", "--as", "fo")
	c.fail(exitUsage, []string{"--executor-type"}, "function", "register", "--name", "x", "--executor-type", "java", "--as", "fo")
	c.fail(exitError, []string{"invalid function id"}, "function", "delete", "function-00000000-0000-0000-0000-000000000009", "--as", "fo")
}

func TestTaskEcho(t *testing.T) {
	c := withPlatform(t)
	c.login("admin", "teaclave")
	fn := c.ok("function", "register", "--name", "builtin-echo", "--arg", "message")
	task := c.ok("task", "create", "--function", fn, "--arg", "message=Hello, Teaclave!")
	if !strings.HasPrefix(task, "task-") {
		t.Fatalf("create printed %q", task)
	}
	c.ok("task", "invoke", task)
	r := c.run("task", "wait", task)
	if r.code != 0 || r.stdout != "Hello, Teaclave!\n" {
		t.Fatalf("wait: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	// Not a terminal: progress is plain lines on stderr, ending Finished.
	if !strings.Contains(r.stderr, task+" Finished") {
		t.Fatalf("wait progress:\n%s", r.stderr)
	}
	var v taskView
	c.jsonOut(&v, "task", "get", task)
	if v.Status != "Finished" || v.Result == nil || v.Result.ReturnValue != "Hello, Teaclave!" || v.Creator != "admin" {
		t.Fatalf("get: %+v", v)
	}
	if out := c.ok("task", "get", task); !strings.Contains(out, "return value:  Hello, Teaclave!") {
		t.Fatalf("plain get:\n%s", out)
	}

	// invoke --wait --json in one step.
	task2 := c.ok("task", "create", "--function", fn, "--args", `{"message":"again"}`, "--executor", "builtin")
	c.jsonOut(&v, "task", "invoke", task2, "--wait", "--quiet")
	if v.Result == nil || v.Result.ReturnValue != "again" {
		t.Fatalf("invoke --wait: %+v", v)
	}

	// cancel a created task; wait then reports it with exit status 3.
	task3 := c.ok("task", "create", "--function", fn, "--arg", "message=never")
	c.ok("task", "cancel", task3)
	c.fail(exitTaskFailed, []string{"Canceled"}, "task", "wait", task3)

	// Unknown task, malformed task id, bad arguments.
	c.fail(exitError, []string{"invalid task id"}, "task", "get", "task-00000000-0000-0000-0000-000000000001")
	c.fail(exitError, []string{"invalid task id"}, "task", "wait", "task-00000000-0000-0000-0000-000000000001")
	c.fail(exitError, []string{"invalid task", "teaclave function get"}, "task", "create", "--function", fn, "--arg", "nosuch=1")
	c.fail(exitUsage, []string{"missing TASK_ID"}, "task", "get")
	c.fail(exitUsage, []string{"--function is required"}, "task", "create")
}

// TestTaskTwoParty runs builtin-ordered-set-intersect between two users
// with files the CLI encrypts, served over HTTP, and decrypts the output.
func TestTaskTwoParty(t *testing.T) {
	files := newFileServer(t)
	c := withPlatform(t, files.addr)
	c.adminWithUsers("user0", "user1")
	work := t.TempDir()

	fn := c.ok("function", "register", "--name", "builtin-ordered-set-intersect", "--arg", "order",
		"--input", "input_data1", "--input", "input_data2", "--output", "output_result1", "--output", "output_result2", "--as", "user0")
	task := c.ok("task", "create", "--function", fn, "--arg", "order=ascending",
		"--input", "input_data1=user0", "--input", "input_data2=user1",
		"--output", "output_result1=user0", "--output", "output_result2=user1", "--as", "user0")

	plain := map[string]string{"user0": "01\n02\n03\n04\n", "user1": "02\n04\n05\n"}
	slot := map[string]string{"user0": "1", "user1": "2"}
	for _, u := range []string{"user0", "user1"} {
		key := filepath.Join(work, u+".key")
		in := writeFile(t, work, u+".txt", plain[u])
		enc := filepath.Join(files.dir, u+".enc")
		c.ok("encrypt", "--schema", "teaclave-file-128", "--key-file", key, "--create-key", in, enc)
		input := c.ok("file", "register-input", "--url", files.url(u+".enc"), "--file", enc, "--key-file", key, "--as", u)
		output := c.ok("file", "register-output", "--url", files.url(u+"_out.enc"), "--key-file", key, "--as", u)
		c.ok("task", "assign", task, "--input", "input_data"+slot[u]+"="+input, "--output", "output_result"+slot[u]+"="+output, "--as", u)
	}
	c.ok("task", "approve", task, "--as", "user0")
	// user1 has not approved: invoke fails and says why.
	c.fail(exitError, []string{"invoke task", "approval first"}, "task", "invoke", task, "--as", "user0")
	c.ok("task", "approve", task, "--as", "user1")
	c.ok("task", "invoke", task, "--as", "user0")
	if got := c.ok("task", "wait", task, "--as", "user1"); got != "2 common items" {
		t.Fatalf("result %q", got)
	}

	// user1 decrypts its output, checked against the task's output tag.
	var v taskView
	c.jsonOut(&v, "task", "get", task, "--as", "user1")
	tag := v.Result.Tags["output_result2"]
	dec := filepath.Join(work, "out1.txt")
	c.ok("decrypt", "--schema", "teaclave-file-128", "--key-file", filepath.Join(work, "user1.key"), "--cmac", tag, filepath.Join(files.dir, "user1_out.enc"), dec)
	if b, _ := os.ReadFile(dec); string(b) != "110" {
		t.Fatalf("user1's output %q, want 110", b)
	}
	// user0's key does not open user1's output.
	c.fail(exitError, []string{"wrong key"}, "decrypt", "--schema", "teaclave-file-128", "--key-file", filepath.Join(work, "user0.key"),
		filepath.Join(files.dir, "user1_out.enc"), filepath.Join(work, "x"))
}

// TestProgress checks both displays of task wait: the live line redrawn
// on a terminal, and plain lines otherwise.
func TestProgress(t *testing.T) {
	var live bytes.Buffer
	p := newProgress(&live, "task-1", false)
	p.live = true // as on a terminal
	p.start()
	p.update(sdk.TaskStaged)
	p.update(sdk.TaskRunning)
	p.update(sdk.TaskFinished)
	p.stop(nil)
	out := live.String()
	if !strings.Contains(out, "\r\033[K") || !strings.Contains(out, "✓ task-1  Staged → Running → Finished") || !strings.HasSuffix(out, "\n") {
		t.Fatalf("live display: %q", out)
	}

	var plain bytes.Buffer
	p = newProgress(&plain, "task-1", false)
	p.start()
	p.update(sdk.TaskRunning)
	p.update(sdk.TaskFailed)
	p.stop(errors.New("failed"))
	lines := strings.Split(strings.TrimSpace(plain.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "task-1 Running (") || !strings.HasPrefix(lines[1], "task-1 Failed (") || strings.Contains(plain.String(), "\r") {
		t.Fatalf("plain display: %q", plain.String())
	}

	var quiet bytes.Buffer
	p = newProgress(&quiet, "task-1", true)
	p.start()
	p.update(sdk.TaskRunning)
	p.stop(nil)
	if quiet.Len() != 0 {
		t.Fatalf("--quiet printed %q", quiet.String())
	}
}
