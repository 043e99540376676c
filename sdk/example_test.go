//go:build !teaclave_production

package sdk_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/sdk"
)

// connect dials the platform named by the environment, as a client
// program would, and logs in.
func connect(ctx context.Context, user, password string) *sdk.Client {
	trust, err := sdk.TrustFromDataDir(os.Getenv("TEACLAVE_DATA_DIR"))
	if err != nil {
		log.Fatal(err)
	}
	c, err := sdk.Dial(ctx, sdk.Config{
		AuthAddr:     os.Getenv("TEACLAVE_AUTH_ADDR"),
		FrontendAddr: os.Getenv("TEACLAVE_FRONTEND_ADDR"),
		Trust:        trust,
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := c.Login(ctx, user, password); err != nil {
		log.Fatal(err)
	}
	return c
}

// put stores a file at url on the users' storage.
func put(url string, data []byte) {
	req, err := http.NewRequest(http.MethodPut, url, bytes.NewReader(data))
	if err != nil {
		log.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
}

// get fetches a file from the users' storage.
func get(url string) []byte {
	resp, err := http.Get(url)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		log.Fatal(err)
	}
	return data
}

// The smallest flow: run the builtin echo function. It needs no files and
// no approvals.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	trust, err := sdk.TrustFromDataDir(os.Getenv("TEACLAVE_DATA_DIR"))
	if err != nil {
		log.Fatal(err)
	}
	c, err := sdk.Dial(ctx, sdk.Config{
		AuthAddr:     os.Getenv("TEACLAVE_AUTH_ADDR"),
		FrontendAddr: os.Getenv("TEACLAVE_FRONTEND_ADDR"),
		Trust:        trust,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(ctx, "admin", "teaclave"); err != nil {
		log.Fatal(err)
	}

	fn, err := c.RegisterFunction(ctx, sdk.Function{
		Name:      "builtin-echo",
		Type:      sdk.FunctionBuiltin,
		Public:    true,
		Arguments: []sdk.Argument{{Key: "message", AllowOverwrite: true}},
	})
	if err != nil {
		log.Fatal(err)
	}
	task, err := c.CreateTask(ctx, sdk.TaskSpec{
		FunctionID: fn,
		Executor:   sdk.ExecutorBuiltin,
		Arguments:  map[string]any{"message": "Hello From Teaclave!"},
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := c.InvokeTask(ctx, task); err != nil {
		log.Fatal(err)
	}
	result, err := c.Wait(ctx, task, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(result.ReturnValue))
	// Output: Hello From Teaclave!
}

// Two data owners intersect their private sets. Each encrypts its own
// file, registers it with the platform, assigns it to the task and
// approves; only then can the task run. Each receives an encrypted output
// that marks which of its lines are common.
func Example_twoParties() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	storage := os.Getenv("TEACLAVE_FILE_SERVER")

	// The administrator registers the two users (once).
	admin := connect(ctx, "admin", "teaclave")
	defer admin.Close()
	for _, id := range []string{"alice", "bob"} {
		err := admin.RegisterUser(ctx, id, id+"-password", teaclave.NewRole(teaclave.RoleNamePlatformAdmin, ""))
		if err != nil && !errors.Is(err, teaclave.ErrAlreadyExists) {
			log.Fatal(err)
		}
	}
	alice := connect(ctx, "alice", "alice-password")
	defer alice.Close()
	bob := connect(ctx, "bob", "bob-password")
	defer bob.Close()

	fn, err := alice.RegisterFunction(ctx, sdk.Function{
		Name: "builtin-ordered-set-intersect", Type: sdk.FunctionBuiltin, Public: true,
		Arguments: []sdk.Argument{{Key: "order", AllowOverwrite: true}},
		Inputs:    []sdk.Slot{{Name: "input_data1"}, {Name: "input_data2"}},
		Outputs:   []sdk.Slot{{Name: "output_result1"}, {Name: "output_result2"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	task, err := alice.CreateTask(ctx, sdk.TaskSpec{
		FunctionID:   fn,
		Executor:     sdk.ExecutorBuiltin,
		Arguments:    map[string]any{"order": "ascending"},
		InputOwners:  map[string][]string{"input_data1": {"alice"}, "input_data2": {"bob"}},
		OutputOwners: map[string][]string{"output_result1": {"alice"}, "output_result2": {"bob"}},
	})
	if err != nil {
		log.Fatal(err)
	}

	// The function reads sorted hex lines.
	hexLines := func(words ...string) []byte {
		var b strings.Builder
		for _, w := range words {
			b.WriteString(hex.EncodeToString([]byte(w)) + "\n")
		}
		return []byte(b.String())
	}
	parties := []struct {
		c        *sdk.Client
		data     []byte
		in, out  string
		inSlot   string
		outSlot  string
		outInfo  sdk.CryptoInfo
		inSchema string
	}{
		{c: alice, data: hexLines("apple", "banana", "cherry", "date"), in: "alice-set.enc", out: "alice-result.enc",
			inSlot: "input_data1", outSlot: "output_result1", inSchema: sdk.SchemaAESGCM128},
		{c: bob, data: hexLines("banana", "date", "fig"), in: "bob-set.enc", out: "bob-result.enc",
			inSlot: "input_data2", outSlot: "output_result2", inSchema: sdk.SchemaTeaclaveFile128},
	}
	for i := range parties {
		p := &parties[i]
		info, err := sdk.NewCryptoInfo(p.inSchema)
		if err != nil {
			log.Fatal(err)
		}
		file, tag, err := sdk.Encrypt(info, p.in, p.data)
		if err != nil {
			log.Fatal(err)
		}
		put(storage+"/"+p.in, file)
		in, err := p.c.RegisterInputFile(ctx, storage+"/"+p.in, tag, info)
		if err != nil {
			log.Fatal(err)
		}
		if p.outInfo, err = sdk.NewCryptoInfo(sdk.SchemaTeaclaveFile128); err != nil {
			log.Fatal(err)
		}
		out, err := p.c.RegisterOutputFile(ctx, storage+"/"+p.out, p.outInfo)
		if err != nil {
			log.Fatal(err)
		}
		if err := p.c.AssignData(ctx, task, map[string]string{p.inSlot: in}, map[string]string{p.outSlot: out}); err != nil {
			log.Fatal(err)
		}
	}
	// Once every file is assigned, each participant approves.
	for _, p := range parties {
		if err := p.c.ApproveTask(ctx, task); err != nil {
			log.Fatal(err)
		}
	}
	if err := alice.InvokeTask(ctx, task); err != nil {
		log.Fatal(err)
	}
	result, err := alice.Wait(ctx, task, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(result.ReturnValue))
	for _, p := range parties {
		tag := result.Tags[p.outSlot]
		plain, _, err := sdk.Decrypt(p.outInfo, p.out, get(storage+"/"+p.out), &tag)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s: %s\n", p.c.UserID(), plain)
	}
	// Output:
	// 2 common items
	// alice: 0101
	// bob: 110
}

// Wait reports each status it sees; a canceled task ends in a *TaskError.
func ExampleClient_Wait() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := connect(ctx, "admin", "teaclave")
	defer c.Close()

	// A python function that never returns.
	fn, err := c.RegisterFunction(ctx, sdk.Function{
		Name: "dead-loop", Type: sdk.FunctionPython, Public: true,
		Payload: []byte("def entrypoint(argv):\n    while True:\n        pass\n"),
	})
	if err != nil {
		log.Fatal(err)
	}
	task, err := c.CreateTask(ctx, sdk.TaskSpec{FunctionID: fn, Executor: sdk.ExecutorMesaPy})
	if err != nil {
		log.Fatal(err)
	}
	if err := c.InvokeTask(ctx, task); err != nil {
		log.Fatal(err)
	}
	var seen []sdk.TaskStatus
	_, err = c.Wait(ctx, task, func(s sdk.TaskStatus) {
		seen = append(seen, s)
		if s == sdk.TaskRunning {
			if err := c.CancelTask(ctx, task); err != nil {
				log.Fatal(err)
			}
		}
	})
	var taskErr *sdk.TaskError
	if errors.As(err, &taskErr) {
		fmt.Println(taskErr.Status, "-", taskErr.Reason)
	}
	fmt.Println("saw Running:", slices.Contains(seen, sdk.TaskRunning))
	// Output:
	// Canceled - Task Canceled by the user
	// saw Running: true
}

// Files are encrypted on the client; the platform receives the key with
// the file's registration, and checks the file against its cmac.
func ExampleEncrypt() {
	info, err := sdk.NewCryptoInfo(sdk.SchemaAESGCM256)
	if err != nil {
		log.Fatal(err)
	}
	file, tag, err := sdk.Encrypt(info, "data.enc", []byte("secret data"))
	if err != nil {
		log.Fatal(err)
	}
	plain, _, err := sdk.Decrypt(info, "data.enc", file, &tag)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(file), string(plain))
	fmt.Println(info) // never shows the key
	// Output:
	// 27 secret data
	// {aes-gcm-256 key:[32 bytes] iv:[12 bytes]}
}

// A production client pins the attestation root and the auditors' keys it
// received out of band, and loads the enclave info with the auditors'
// signatures; the signatures are checked before anything is trusted. (Here
// the material is the development platform's, whose root is simulated.)
func ExampleLoadTrust() {
	dir := os.Getenv("TEACLAVE_DATA_DIR")
	trust, err := sdk.LoadTrust(
		filepath.Join(dir, "attestation_root.pem"),
		filepath.Join(dir, "enclave_info.toml"),
		[]string{filepath.Join(dir, "auditors", "development.public.pem")},
		[]string{filepath.Join(dir, "auditors", "development.sign.sha256")},
		sdk.WithSimulatedRoot(),
	)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("verifies attestation:", !trust.Insecure())
	// Output: verifies attestation: true
}
