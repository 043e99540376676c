//go:build !teaclave_production

package sdk_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/attestation/sim"
	"github.com/teaclave-go/teaclave/rpc"
	"github.com/teaclave-go/teaclave/sdk"
)

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// dial connects to the shared platform, verifying it from its data
// folder, without logging in.
func dial(t *testing.T) *sdk.Client {
	t.Helper()
	trust, err := sdk.TrustFromDataDir(env.platform.Config.Data.Dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := sdk.Dial(testCtx(t), sdk.Config{AuthAddr: env.platform.AuthAddr, FrontendAddr: env.platform.FrontendAddr, Trust: trust,
		PollInterval: 20 * time.Millisecond, MaxPollInterval: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func login(t *testing.T, id, password string) *sdk.Client {
	t.Helper()
	c := dial(t)
	if err := c.Login(testCtx(t), id, password); err != nil {
		t.Fatalf("login %s: %v", id, err)
	}
	return c
}

func admin(t *testing.T) *sdk.Client { return login(t, "admin", "teaclave") }

var userSeq atomic.Int64

// newUser registers a fresh user with role and logs it in.
func newUser(t *testing.T, role teaclave.Role) *sdk.Client {
	t.Helper()
	id := strings.NewReplacer("/", "-", " ", "-").Replace(t.Name()) + "-" + string(rune('a'+userSeq.Add(1)%26)) + time.Now().Format("150405.000000")
	if err := admin(t).RegisterUser(testCtx(t), id, "pw-"+id, role); err != nil {
		t.Fatalf("register %s: %v", id, err)
	}
	return login(t, id, "pw-"+id)
}

func platformAdminRole() teaclave.Role { return teaclave.NewRole(teaclave.RoleNamePlatformAdmin, "") }

func wantKind(t *testing.T, err error, k teaclave.Kind, what string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error, want %v", what, k)
	}
	if got := teaclave.KindOf(err); got != k {
		t.Fatalf("%s: %v (kind %v), want kind %v", what, err, got, k)
	}
}

func must[T any](t *testing.T) func(v T, err error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// --- Trust and Dial ---

func copyDataDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{sdk.DataDirRootFile, sdk.DataDirEnclaveInfoFile, sdk.DataDirAuditorKeyFile, sdk.DataDirAuditorSignatureFile} {
		data, err := os.ReadFile(filepath.Join(env.platform.Config.Data.Dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestTrustChecksAuditorSignatures(t *testing.T) {
	dir := copyDataDir(t)
	p := func(f string) string { return filepath.Join(dir, f) }
	if _, err := sdk.TrustFromDataDir(dir); err != nil {
		t.Fatalf("intact data folder: %v", err)
	}
	// LoadTrust with the same files, named explicitly.
	tr, err := sdk.LoadTrust(p(sdk.DataDirRootFile), p(sdk.DataDirEnclaveInfoFile),
		[]string{p(sdk.DataDirAuditorKeyFile)}, []string{p(sdk.DataDirAuditorSignatureFile)}, sdk.WithSimulatedRoot(), sdk.WithThreshold(1))
	if err != nil || tr.Insecure() || tr.Verifier() == nil {
		t.Fatalf("LoadTrust = %v, %v", tr, err)
	}
	// No signature, a threshold above the auditors, no auditors.
	_, err = sdk.LoadTrust(p(sdk.DataDirRootFile), p(sdk.DataDirEnclaveInfoFile), []string{p(sdk.DataDirAuditorKeyFile)}, nil, sdk.WithSimulatedRoot())
	wantKind(t, err, teaclave.KindPermissionDenied, "no signature")
	_, err = sdk.LoadTrust(p(sdk.DataDirRootFile), p(sdk.DataDirEnclaveInfoFile), []string{p(sdk.DataDirAuditorKeyFile)},
		[]string{p(sdk.DataDirAuditorSignatureFile)}, sdk.WithSimulatedRoot(), sdk.WithThreshold(2))
	wantKind(t, err, teaclave.KindInvalidArgument, "threshold above the number of auditors")
	_, err = sdk.LoadTrust(p(sdk.DataDirRootFile), p(sdk.DataDirEnclaveInfoFile), nil, []string{p(sdk.DataDirAuditorSignatureFile)})
	wantKind(t, err, teaclave.KindInvalidArgument, "no auditors")
	_, err = sdk.LoadTrust(p("missing.pem"), p(sdk.DataDirEnclaveInfoFile), nil, nil)
	wantKind(t, err, teaclave.KindInvalidArgument, "missing root")
	// The auditor key in place of the root.
	_, err = sdk.LoadTrust(p(sdk.DataDirAuditorKeyFile), p(sdk.DataDirEnclaveInfoFile), []string{p(sdk.DataDirAuditorKeyFile)}, []string{p(sdk.DataDirAuditorSignatureFile)})
	wantKind(t, err, teaclave.KindInvalidArgument, "root that is not a certificate")

	// Tampered enclave info: one byte more.
	info, err := os.ReadFile(p(sdk.DataDirEnclaveInfoFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p(sdk.DataDirEnclaveInfoFile), append(info, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = sdk.TrustFromDataDir(dir)
	wantKind(t, err, teaclave.KindPermissionDenied, "tampered enclave info")
}

// TestDialRefusesAnotherPlatform: a Trust built for another platform (its
// own root and enclave info) cannot talk to this one.
func TestDialRefusesAnotherPlatform(t *testing.T) {
	other := otherPlatformTrust(t)
	c, err := sdk.Dial(testCtx(t), sdk.Config{AuthAddr: env.platform.AuthAddr, FrontendAddr: env.platform.FrontendAddr, Trust: other})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(testCtx(t), 10*time.Second)
	defer cancel()
	err = c.Login(ctx, "admin", "teaclave")
	if err == nil {
		t.Fatal("logged in to a platform the trust does not vouch for")
	}
	if k := teaclave.KindOf(err); k != teaclave.KindUnavailable && k != teaclave.KindDeadlineExceeded {
		t.Fatalf("login: %v (kind %v), want a connection failure", err, k)
	}

	// Wait gives up at once on a platform that fails verification,
	// rather than retrying it as a platform that is down.
	c.SetCredentials(rpc.Credentials{ID: "admin", Token: "any"})
	ctx, cancel = context.WithTimeout(testCtx(t), 20*time.Second)
	defer cancel()
	_, err = c.Wait(ctx, "task-00000000-0000-0000-0000-000000000000", nil)
	if err == nil || ctx.Err() != nil || !rpc.IsHandshakeFailure(err) {
		t.Fatalf("Wait on a platform that fails verification: %v (context: %v), want a handshake failure at once", err, ctx.Err())
	}
}

func TestDialConfig(t *testing.T) {
	ctx := testCtx(t)
	trust, err := sdk.TrustFromDataDir(env.platform.Config.Data.Dir)
	if err != nil {
		t.Fatal(err)
	}
	for name, cfg := range map[string]sdk.Config{
		"no trust":    {AuthAddr: env.platform.AuthAddr, FrontendAddr: env.platform.FrontendAddr},
		"no auth":     {FrontendAddr: env.platform.FrontendAddr, Trust: trust},
		"no frontend": {AuthAddr: env.platform.AuthAddr, Trust: trust},
	} {
		if _, err := sdk.Dial(ctx, cfg); teaclave.KindOf(err) != teaclave.KindInvalidArgument {
			t.Errorf("%s: %v, want InvalidArgument", name, err)
		}
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := sdk.Dial(canceled, sdk.Config{AuthAddr: "a:1", FrontendAddr: "b:1", Trust: trust}); err == nil {
		t.Error("Dial with a canceled context succeeded")
	}
}

func TestInsecureSkipVerificationWarns(t *testing.T) {
	var logs bytes.Buffer
	c, err := sdk.Dial(testCtx(t), sdk.Config{AuthAddr: env.platform.AuthAddr, FrontendAddr: env.platform.FrontendAddr,
		Trust: sdk.InsecureSkipVerification(), Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !strings.Contains(logs.String(), "INSECURE") || !strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("no warning logged: %q", logs.String())
	}
	if !sdk.InsecureSkipVerification().Insecure() || sdk.InsecureSkipVerification().Verifier() != nil {
		t.Error("InsecureSkipVerification is not marked insecure")
	}
	if err := c.Login(testCtx(t), "admin", "teaclave"); err != nil {
		t.Fatalf("insecure login: %v", err)
	}
	if _, _, err := c.ListFunctions(testCtx(t), "admin"); err != nil {
		t.Fatalf("insecure frontend call: %v", err)
	}
}

// --- Sessions and users ---

func TestLoginAndCredentials(t *testing.T) {
	ctx := testCtx(t)
	c := dial(t)
	if _, ok := c.Credentials(); ok || c.UserID() != "" {
		t.Fatal("credentials before Login")
	}
	_, _, err := c.ListFunctions(ctx, "admin")
	wantKind(t, err, teaclave.KindUnauthenticated, "call before Login")
	wantKind(t, c.Login(ctx, "admin", "wrong"), teaclave.KindUnauthenticated, "wrong password")
	ok(t, c.Login(ctx, "admin", "teaclave"))
	creds, has := c.Credentials()
	if !has || creds.ID != "admin" || creds.Token == "" || c.UserID() != "admin" {
		t.Fatalf("credentials after Login: %v %v", creds.ID, has)
	}
	// The raw clients with Context.
	if _, err := c.Auth.ListUsers(c.Context(ctx), "x"); err != nil {
		t.Fatalf("Auth with Context: %v", err)
	}
	if _, err := c.Auth.ListUsers(ctx, "x"); teaclave.KindOf(err) != teaclave.KindUnauthenticated {
		t.Fatalf("Auth without Context: %v", err)
	}
	// Credentials carry over to another client.
	other := dial(t)
	other.SetCredentials(creds)
	if _, _, err := other.ListFunctions(ctx, "admin"); err != nil {
		t.Fatalf("SetCredentials: %v", err)
	}
}

func TestUserManagement(t *testing.T) {
	ctx := testCtx(t)
	a := admin(t)
	mgr := newUser(t, teaclave.NewRole(teaclave.RoleNameDataOwnerManager, "org-"+t.Name()))
	attr := "org-" + t.Name()
	ok(t, mgr.RegisterUser(ctx, "do-"+t.Name(), "pw1", teaclave.NewRole(teaclave.RoleNameDataOwner, attr)))
	ids := must[[]string](t)(mgr.ListUsers(ctx, attr))
	if !slices.Equal(ids, []string{"do-" + t.Name()}) {
		t.Fatalf("manager lists %v", ids)
	}
	wantKind(t, mgr.RegisterUser(ctx, "boss-"+t.Name(), "pw", platformAdminRole()), teaclave.KindPermissionDenied, "manager registers an admin")
	ok(t, mgr.UpdateUser(ctx, "do-"+t.Name(), "pw2", teaclave.NewRole(teaclave.RoleNameDataOwner, attr)))
	do := login(t, "do-"+t.Name(), "pw2")
	ok(t, do.ChangePassword(ctx, "pw3"))
	login(t, "do-"+t.Name(), "pw3")
	pw := must[string](t)(a.ResetUserPassword(ctx, "do-"+t.Name()))
	login(t, "do-"+t.Name(), pw)
	ok(t, mgr.DeleteUser(ctx, "do-"+t.Name()))
	wantKind(t, dial(t).Login(ctx, "do-"+t.Name(), pw), teaclave.KindUnauthenticated, "login after delete")
	all := must[[]string](t)(a.ListUsers(ctx, "any"))
	if !slices.Contains(all, "admin") || slices.Contains(all, "do-"+t.Name()) {
		t.Fatalf("admin lists %v", all)
	}
}

// --- Functions ---

func TestFunctionLifecycle(t *testing.T) {
	ctx := testCtx(t)
	c := newUser(t, platformAdminRole())
	spec := sdk.Function{
		Name: "py-" + t.Name(), Description: "d", Type: sdk.FunctionPython, Public: false,
		Payload:       []byte("def entrypoint(argv):\n    return 'x'\n"),
		Arguments:     []sdk.Argument{{Key: "a", Default: "1", AllowOverwrite: true}, {Key: "b"}},
		Inputs:        []sdk.Slot{{Name: "in", Description: "input", Optional: true}},
		Outputs:       []sdk.Slot{{Name: "out"}},
		UserAllowlist: []string{"admin"},
		UsageQuota:    5,
	}
	id := must[string](t)(c.RegisterFunction(ctx, spec))
	got := must[*sdk.Function](t)(c.GetFunction(ctx, id))
	want := spec
	want.Owner = c.UserID()
	if got.Name != want.Name || got.Description != want.Description || got.Type != want.Type || got.Public || got.Owner != want.Owner ||
		!bytes.Equal(got.Payload, want.Payload) || !slices.Equal(got.Arguments, want.Arguments) ||
		!slices.Equal(got.Inputs, want.Inputs) || !slices.Equal(got.Outputs, want.Outputs) || !slices.Equal(got.UserAllowlist, want.UserAllowlist) {
		t.Fatalf("GetFunction = %+v\nwant %+v", got, want)
	}
	usage := must[sdk.FunctionUsage](t)(c.GetFunctionUsageStats(ctx, id))
	if usage.Quota != 5 || usage.Used != 0 {
		t.Fatalf("usage = %+v", usage)
	}
	spec.Description = "updated"
	if newID := must[string](t)(c.UpdateFunction(ctx, id, spec)); newID != id {
		t.Fatalf("UpdateFunction returned %s for %s", newID, id)
	}
	if got := must[*sdk.Function](t)(c.GetFunction(ctx, id)); got.Description != "updated" {
		t.Fatalf("after update: %q", got.Description)
	}
	second := must[string](t)(c.RegisterFunction(ctx, sdk.Function{Name: "builtin-echo", Type: sdk.FunctionBuiltin, Public: true}))
	registered, _, err := c.ListFunctions(ctx, c.UserID())
	ok(t, err)
	if !slices.Contains(registered, id) || !slices.Contains(registered, second) {
		t.Fatalf("ListFunctions = %v", registered)
	}
	ok(t, c.DisableFunction(ctx, second))
	registered, _, err = c.ListFunctions(ctx, c.UserID())
	ok(t, err)
	if slices.Contains(registered, second) {
		t.Fatalf("disabled function still listed: %v", registered)
	}
	ok(t, c.DeleteFunction(ctx, id))
	_, err = c.GetFunction(ctx, id)
	if err == nil {
		t.Fatal("GetFunction after DeleteFunction succeeded")
	}
	_, err = c.RegisterFunction(ctx, sdk.Function{Name: "x", Type: "cobol"})
	wantKind(t, err, teaclave.KindInvalidArgument, "unknown function type")
	_, err = c.RegisterFunction(ctx, sdk.Function{Type: sdk.FunctionBuiltin})
	wantKind(t, err, teaclave.KindInvalidArgument, "no name")

	do := newUser(t, teaclave.NewRole(teaclave.RoleNameDataOwner, "x"))
	_, err = do.RegisterFunction(ctx, sdk.Function{Name: "builtin-echo", Type: sdk.FunctionBuiltin})
	if err == nil {
		t.Fatal("a DataOwner registered a function")
	}
}

// --- Files ---

func TestFileRegistration(t *testing.T) {
	ctx := testCtx(t)
	c := newUser(t, platformAdminRole())
	info := must[sdk.CryptoInfo](t)(sdk.NewCryptoInfo(sdk.SchemaAESGCM128))
	_, tag, err := sdk.Encrypt(info, "", []byte("hello"))
	ok(t, err)
	in := must[string](t)(c.RegisterInputFile(ctx, "https://example.com/in.enc", tag, info))
	fi := must[*sdk.FileInfo](t)(c.GetInputFile(ctx, in))
	if !fi.HasTag || fi.Tag != tag || !slices.Equal(fi.Owners, []string{c.UserID()}) {
		t.Fatalf("GetInputFile = %+v", fi)
	}
	moved := must[string](t)(c.UpdateInputFile(ctx, in, "https://example.com/in2.enc"))
	if moved == "" {
		t.Fatal("UpdateInputFile returned no id")
	}
	raw := must[string](t)(c.RegisterInputFile(ctx, "https://example.com/raw.txt", sdk.Tag{}, sdk.CryptoInfo{Schema: sdk.SchemaRaw}))
	if fi := must[*sdk.FileInfo](t)(c.GetInputFile(ctx, raw)); fi.Tag != (sdk.Tag{}) {
		t.Fatalf("raw input: %+v", fi)
	}
	outInfo := must[sdk.CryptoInfo](t)(sdk.NewCryptoInfo(sdk.SchemaTeaclaveFile128))
	out := must[string](t)(c.RegisterOutputFile(ctx, "https://example.com/out.enc", outInfo))
	if fi := must[*sdk.FileInfo](t)(c.GetOutputFile(ctx, out)); fi.HasTag || !slices.Equal(fi.Owners, []string{c.UserID()}) {
		t.Fatalf("GetOutputFile = %+v", fi)
	}
	must[string](t)(c.UpdateOutputFile(ctx, out, "https://example.com/out2.enc"))
	_, err = c.RegisterInputFile(ctx, "https://example.com/x", tag, sdk.CryptoInfo{Schema: sdk.SchemaAESGCM128, Key: make([]byte, 5)})
	wantKind(t, err, teaclave.KindInvalidArgument, "bad key length")
	_, err = c.RegisterFusionOutput(ctx, nil)
	wantKind(t, err, teaclave.KindInvalidArgument, "fusion output without owners")
	other := newUser(t, platformAdminRole())
	if _, err := other.GetInputFile(ctx, in); err == nil {
		t.Fatal("another user read the input's information")
	}
}

// TestFusionFlow: a python task writes a fusion output owned by two users,
// which then becomes an input that both must approve.
func TestFusionFlow(t *testing.T) {
	ctx := testCtx(t)
	u0, u1 := newUser(t, platformAdminRole()), newUser(t, platformAdminRole())
	fuse := must[string](t)(u0.RegisterFunction(ctx, sdk.Function{
		Name: "fuse", Type: sdk.FunctionPython, Public: true,
		Payload: []byte(`def entrypoint(argv):
    out = teaclave_open("out", "wb")
    for name in ["a", "b"]:
        f = teaclave_open(name, "rb")
        out.write(f.read())
        f.close()
    out.close()
    return "fused"
`),
		Inputs:  []sdk.Slot{{Name: "a"}, {Name: "b"}},
		Outputs: []sdk.Slot{{Name: "out"}},
	}))
	task := must[string](t)(u0.CreateTask(ctx, sdk.TaskSpec{FunctionID: fuse, Executor: sdk.ExecutorMesaPy,
		InputOwners:  map[string][]string{"a": {u0.UserID()}, "b": {u1.UserID()}},
		OutputOwners: map[string][]string{"out": {u0.UserID(), u1.UserID()}},
	}))
	for i, c := range []*sdk.Client{u0, u1} {
		info := must[sdk.CryptoInfo](t)(sdk.NewCryptoInfo([]string{sdk.SchemaAESGCM128, sdk.SchemaAESGCM256}[i]))
		file, tag, err := sdk.Encrypt(info, "", []byte([]string{"one\n", "two\n"}[i]))
		ok(t, err)
		in := must[string](t)(c.RegisterInputFile(ctx, sdk.DataURL(file), tag, info))
		ok(t, c.AssignData(ctx, task, map[string]string{[]string{"a", "b"}[i]: in}, nil))
	}
	fused := must[string](t)(u0.RegisterFusionOutput(ctx, []string{u0.UserID(), u1.UserID()}))
	ok(t, u0.AssignData(ctx, task, nil, map[string]string{"out": fused}))
	got := must[*sdk.Task](t)(u1.GetTask(ctx, task))
	if got.Status != sdk.TaskDataAssigned || got.Creator != u0.UserID() || got.FunctionID != fuse || got.FunctionOwner != u0.UserID() ||
		got.AssignedOutputs["out"] != fused || len(got.AssignedInputs) != 2 || !slices.Equal(got.OutputOwners["out"], []string{u0.UserID(), u1.UserID()}) ||
		len(got.Participants) != 2 || string(got.Arguments) != "{}" {
		t.Fatalf("GetTask = %+v", got)
	}
	ok(t, u0.ApproveTask(ctx, task))
	wantKindNot(t, u0.InvokeTask(ctx, task), "invoke before u1 approved")
	ok(t, u1.ApproveTask(ctx, task))
	ok(t, u0.InvokeTask(ctx, task))
	var statuses []sdk.TaskStatus
	res := must[*sdk.TaskResult](t)(u1.Wait(ctx, task, func(s sdk.TaskStatus) { statuses = append(statuses, s) }))
	if string(res.ReturnValue) != "fused" || len(statuses) == 0 || statuses[len(statuses)-1] != sdk.TaskFinished {
		t.Fatalf("result %q, statuses %v", res.ReturnValue, statuses)
	}
	for i := 1; i < len(statuses); i++ {
		if statuses[i] == statuses[i-1] {
			t.Fatalf("Wait reported %v twice in a row: %v", statuses[i], statuses)
		}
	}
	fo := must[*sdk.FileInfo](t)(u1.GetOutputFile(ctx, fused))
	if !fo.HasTag || fo.Tag != res.Tags["out"] {
		t.Fatalf("fusion output %+v, result tags %v", fo, res.Tags)
	}
	in := must[string](t)(u1.RegisterInputFromOutput(ctx, fused))
	if fi := must[*sdk.FileInfo](t)(u0.GetInputFile(ctx, in)); fi.Tag != fo.Tag || len(fi.Owners) != 2 {
		t.Fatalf("input from output: %+v", fi)
	}
}

func wantKindNot(t *testing.T, err error, what string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: succeeded", what)
	}
}

// --- Tasks and Wait ---

func TestWaitFailedTask(t *testing.T) {
	ctx := testCtx(t)
	c := newUser(t, platformAdminRole())
	// An empty password file makes builtin-password-check fail.
	fn := must[string](t)(c.RegisterFunction(ctx, sdk.Function{Name: "builtin-password-check", Type: sdk.FunctionBuiltin, Public: true,
		Inputs: []sdk.Slot{{Name: "password"}, {Name: "exposed_passwords"}}}))
	task := must[string](t)(c.CreateTask(ctx, sdk.TaskSpec{FunctionID: fn, Executor: sdk.ExecutorBuiltin,
		InputOwners: map[string][]string{"password": {c.UserID()}, "exposed_passwords": {c.UserID()}}}))
	raw := sdk.CryptoInfo{Schema: sdk.SchemaRaw}
	pw := must[string](t)(c.RegisterInputFile(ctx, sdk.DataURL(nil), sdk.Tag{}, raw))
	list := must[string](t)(c.RegisterInputFile(ctx, sdk.DataURL([]byte("123456\n")), sdk.Tag{}, raw))
	ok(t, c.AssignData(ctx, task, map[string]string{"password": pw, "exposed_passwords": list}, nil))
	ok(t, c.ApproveTask(ctx, task))
	ok(t, c.InvokeTask(ctx, task))
	_, err := c.Wait(ctx, task, nil)
	var te *sdk.TaskError
	if !errors.As(err, &te) || !errors.Is(err, sdk.ErrTaskFailed) || errors.Is(err, sdk.ErrTaskCanceled) || te.TaskID != task || te.Reason == "" {
		t.Fatalf("Wait = %v, want a failed *TaskError", err)
	}
	if !strings.Contains(err.Error(), task) || !strings.Contains(err.Error(), "Failed") {
		t.Errorf("error text %q", err)
	}
	got := must[*sdk.Task](t)(c.GetTask(ctx, task))
	if got.Status != sdk.TaskFailed || got.Result != nil || got.FailureReason != te.Reason || !got.Status.Done() {
		t.Fatalf("GetTask = %+v", got)
	}
}

func TestWaitTimesOutAndUnknownTask(t *testing.T) {
	ctx := testCtx(t)
	c := newUser(t, platformAdminRole())
	fn := must[string](t)(c.RegisterFunction(ctx, sdk.Function{Name: "builtin-echo", Type: sdk.FunctionBuiltin, Public: true,
		Arguments: []sdk.Argument{{Key: "message", AllowOverwrite: true}}}))
	task := must[string](t)(c.CreateTask(ctx, sdk.TaskSpec{FunctionID: fn, Executor: sdk.ExecutorBuiltin, Arguments: map[string]any{"message": 42}}))
	got := must[*sdk.Task](t)(c.GetTask(ctx, task))
	if string(got.Arguments) != `{"message":42}` || got.Status != sdk.TaskCreated || got.Status.Done() {
		t.Fatalf("created task = %+v", got)
	}
	// Never invoked: Wait ends with the context.
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	var seen []sdk.TaskStatus
	_, err := c.Wait(short, task, func(s sdk.TaskStatus) { seen = append(seen, s) })
	if !errors.Is(err, context.DeadlineExceeded) || !slices.Equal(seen, []sdk.TaskStatus{sdk.TaskApproved}) && !slices.Equal(seen, []sdk.TaskStatus{sdk.TaskCreated}) {
		t.Fatalf("Wait = %v, saw %v", err, seen)
	}
	if _, err := c.Wait(ctx, "task-00000000-0000-0000-0000-000000000000", nil); err == nil {
		t.Fatal("Wait for an unknown task succeeded")
	}
	_, err = c.CreateTask(ctx, sdk.TaskSpec{FunctionID: fn, Executor: sdk.ExecutorBuiltin, Arguments: map[string]any{"bad": make(chan int)}})
	wantKind(t, err, teaclave.KindInvalidArgument, "arguments that are not JSON")
	wantKindNot(t, c.CancelTask(ctx, "task-00000000-0000-0000-0000-000000000000"), "cancel an unknown task")
	if sdk.TaskRunning.String() != "Running" || sdk.TaskStatus(1234).Done() {
		t.Error("TaskStatus String/Done")
	}
}

// --- Audit ---

func TestQueryAuditLogs(t *testing.T) {
	ctx := testCtx(t)
	a := newUser(t, platformAdminRole())
	if _, _, err := a.ListFunctions(ctx, a.UserID()); err != nil {
		t.Fatal(err)
	}
	// The frontend saves its entries every second.
	found := false
	var entries []sdk.AuditEntry
	for deadline := time.Now().Add(15 * time.Second); !found && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		entries = must[[]sdk.AuditEntry](t)(a.QueryAuditLogs(ctx, "", 1000))
		for _, e := range entries {
			if strings.Contains(e.User, a.UserID()) && e.Message == "list_functions" && e.Success && !e.Time.IsZero() && e.IP.Is4() && e.IP.IsLoopback() {
				found = true
			}
		}
	}
	if !found {
		t.Fatalf("no list_functions entry by %s in %d entries", a.UserID(), len(entries))
	}
	do := newUser(t, teaclave.NewRole(teaclave.RoleNameDataOwner, "x"))
	if _, err := do.QueryAuditLogs(ctx, "", 10); err == nil {
		t.Fatal("a DataOwner read the audit log")
	}
}

// otherPlatformTrust is the platform's enclave info and auditor under
// another attestation root: what a client of another platform pins.
func otherPlatformTrust(t *testing.T) *sdk.Trust {
	t.Helper()
	svc, err := sim.NewAttestationService(sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	read := func(f string) []byte {
		data, err := os.ReadFile(filepath.Join(env.platform.Config.Data.Dir, f))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	trust, err := sdk.NewTrust(sdk.TrustConfig{
		RootPEM: svc.RootPEM(), SimulatedRoot: true,
		EnclaveInfo:    read(sdk.DataDirEnclaveInfoFile),
		AuditorKeysPEM: [][]byte{read(sdk.DataDirAuditorKeyFile)},
		Signatures:     [][]byte{read(sdk.DataDirAuditorSignatureFile)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return trust
}
