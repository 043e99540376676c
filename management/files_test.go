//go:build !teaclave_production

package management_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/management"
	mxtest "github.com/teaclave-go/teaclave/management/xtest"
	"github.com/teaclave-go/teaclave/rpc/pb/commonpb"
	"github.com/teaclave-go/teaclave/rpc/pb/frontendpb"
)

func TestURLAndCryptoRules(t *testing.T) {
	for _, allowRaw := range []bool{false, true} {
		e := newEnv(t, inProcess, management.Config{AllowRawInputs: allowRaw, FileRoots: []string{"/srv/data"}})
		ctx := e.as("mock_user", dataOwner)
		reg := func(url string, crypto *commonpb.FileCryptoInfo) error {
			_, err := e.api.RegisterInputFile(ctx, &frontendpb.RegisterInputFileRequest{Url: url, Cmac: mockCmac, CryptoInfo: crypto})
			return err
		}
		for _, url := range []string{
			"https://host/x", "http://127.0.0.1:6789/fixtures/a.enc", "data:text/plain;base64,c+mpvRfZ0fboR0j3rTgOGDBiubSzlCt9",
			"data:,plain", "file:///srv/data/a/b.enc", "file://localhost/srv/data/x",
		} {
			wantOK(t, reg(url, pfsCrypto()), url)
		}
		for _, url := range []string{
			"", "input://path", "ftp://host/x", "https:///nohost", "https:opaque", "data:nocomma",
			"fusion:///TEACLAVE_FUSION_BASE/x.fusion", "FUSION:///TEACLAVE_FUSION_BASE/x.fusion",
			"file:///etc/passwd", "file:///srv/data", "file:///srv/data/../etc/passwd", "file:///srv/data/a/%2e%2e/b",
			"file:///srv/database/x", "file://otherhost/srv/data/x", "file:///srv/data/x?q", "file:srv/data/x",
			"https://host/a b", "https://host/\x00", "https://host/\u00e9", "https://" + strings.Repeat("a", management.MaxURLLen),
		} {
			wantKind(t, reg(url, pfsCrypto()), teaclave.KindInvalidArgument, "url "+url)
		}
		for _, c := range []*commonpb.FileCryptoInfo{
			nil,
			{Schema: "aes-gcm-128", Key: make([]byte, 16), Iv: make([]byte, 16)},
			{Schema: "aes-gcm-256", Key: make([]byte, 16), Iv: make([]byte, 12)},
			{Schema: "teaclave-file-128", Key: make([]byte, 16), Iv: make([]byte, 12)},
			{Schema: "aes_gcm_128", Key: make([]byte, 16), Iv: make([]byte, 12)},
		} {
			wantKind(t, reg("https://host/x", c), teaclave.KindInvalidArgument, "crypto")
		}
		_, err := e.api.RegisterInputFile(ctx, &frontendpb.RegisterInputFileRequest{Url: "https://h/", Cmac: make([]byte, 15), CryptoInfo: pfsCrypto()})
		wantKind(t, err, teaclave.KindInvalidArgument, "15-byte cmac")
		raw := &commonpb.FileCryptoInfo{Schema: "raw", Key: []byte("ignored")}
		if allowRaw {
			wantOK(t, reg("https://host/x", raw), "raw input where enabled")
		} else {
			wantKind(t, reg("https://host/x", raw), teaclave.KindInvalidArgument, "raw input where disabled")
		}
		_, err = e.api.RegisterOutputFile(ctx, &frontendpb.RegisterOutputFileRequest{Url: "https://h/", CryptoInfo: raw})
		wantKind(t, err, teaclave.KindInvalidArgument, "raw output")
		_, err = e.api.RegisterOutputFile(ctx, &frontendpb.RegisterOutputFileRequest{Url: teaclave.FusionURLPrefix + "x.fusion", CryptoInfo: pfsCrypto()})
		wantKind(t, err, teaclave.KindInvalidArgument, "fusion output URL")
	}
	// file:// without configured roots is refused.
	e := newEnv(t, inProcess, management.Config{})
	_, err := e.api.RegisterInputFile(e.as("mock_user", dataOwner), &frontendpb.RegisterInputFileRequest{Url: "file:///srv/data/x", Cmac: mockCmac, CryptoInfo: pfsCrypto()})
	wantKind(t, err, teaclave.KindInvalidArgument, "file URL without roots")
	if _, err := management.New(management.Config{FileRoots: []string{"relative"}}.Defaults(), management.Deps{Store: e.store, Directory: e.dir}); err == nil {
		t.Error("a relative file root was accepted")
	}
}

func TestFiles(t *testing.T) {
	forEachWiring(t, func(t *testing.T, w wiring) {
		e := newEnv(t, w, management.Config{})
		e.dir.Add("alice", "bob")
		alice, bob := e.as("alice", dataOwner), e.as("bob", dataOwner)

		// Stored crypto info is canonical and owned by the caller.
		r, err := e.api.RegisterInputFile(alice, &frontendpb.RegisterInputFileRequest{Url: "https://h/in", Cmac: mockCmac,
			CryptoInfo: &commonpb.FileCryptoInfo{Schema: "aes-gcm-256", Key: bytes.Repeat([]byte{1}, 32), Iv: bytes.Repeat([]byte{2}, 12)}})
		wantOK(t, err, "register input")
		var in teaclave.InputFile
		data, _, err := e.store.Get(context.Background(), teaclave.InputKey(mustID(t, r.GetDataId(), teaclave.PrefixInput)))
		wantOK(t, err, "read input record")
		wantOK(t, json.Unmarshal(data, &in), "decode")
		if in.URL != "https://h/in" || string(in.Cmac[:]) != string(mockCmac) || in.Crypto.Schema != teaclave.SchemaAESGCM256 || len(in.Crypto.Key) != 32 || len(in.Owners) != 1 || in.Owners[0] != "alice" {
			t.Fatalf("stored input %+v", in)
		}

		// Update keeps the old record and makes a new one; only the sole
		// owner may.
		u, err := e.api.UpdateInputFile(alice, &frontendpb.UpdateInputFileRequest{DataId: r.GetDataId(), Url: "https://h/in2"})
		wantOK(t, err, "update input")
		if u.GetDataId() == r.GetDataId() {
			t.Fatal("update kept the id")
		}
		for _, id := range []string{r.GetDataId(), u.GetDataId()} {
			g, err := e.api.GetInputFile(alice, &frontendpb.GetInputFileRequest{DataId: id})
			wantOK(t, err, "get input "+id)
			if string(g.GetCmac()) != string(mockCmac) {
				t.Fatalf("cmac %x", g.GetCmac())
			}
		}
		_, err = e.api.UpdateInputFile(bob, &frontendpb.UpdateInputFileRequest{DataId: r.GetDataId(), Url: "https://h/x"})
		wantKind(t, err, teaclave.KindPermissionDenied, "non-owner updates input")
		_, err = e.api.UpdateInputFile(alice, &frontendpb.UpdateInputFileRequest{DataId: r.GetDataId(), Url: "fusion:///TEACLAVE_FUSION_BASE/x.fusion"})
		wantKind(t, err, teaclave.KindInvalidArgument, "update to a fusion URL")
		_, err = e.api.UpdateInputFile(alice, &frontendpb.UpdateInputFileRequest{DataId: "input-zz", Url: "https://h/x"})
		wantKind(t, err, teaclave.KindInvalidArgument, "update a malformed id")
		out := e.output(alice)
		uo, err := e.api.UpdateOutputFile(alice, &frontendpb.UpdateOutputFileRequest{DataId: out, Url: "https://h/out2"})
		wantOK(t, err, "update output")
		if uo.GetDataId() == out {
			t.Fatal("output update kept the id")
		}
		_, err = e.api.UpdateOutputFile(bob, &frontendpb.UpdateOutputFileRequest{DataId: out, Url: "https://h/x"})
		wantKind(t, err, teaclave.KindPermissionDenied, "non-owner updates output")

		// Fusion outputs: at least two distinct existing owners, the caller
		// among them; the platform mints the URL and a teaclave-file-128 key.
		for _, c := range []struct {
			owners []string
			kind   teaclave.Kind
		}{
			{[]string{"alice"}, teaclave.KindInvalidArgument},
			{[]string{"alice", "alice"}, teaclave.KindInvalidArgument},
			{[]string{"bob", "mock_user"}, teaclave.KindPermissionDenied},
			{[]string{"alice", "ghost"}, teaclave.KindInvalidArgument},
			{[]string{"alice", ""}, teaclave.KindInvalidArgument},
		} {
			_, err := e.api.RegisterFusionOutput(alice, &frontendpb.RegisterFusionOutputRequest{OwnerList: c.owners})
			wantKind(t, err, c.kind, "fusion owners "+strings.Join(c.owners, ","))
		}
		fusion := e.fusion(alice, "bob", "alice", "bob")
		var f teaclave.OutputFile
		data, _, err = e.store.Get(context.Background(), teaclave.OutputKey(mustID(t, fusion, teaclave.PrefixOutput)))
		wantOK(t, err, "read fusion record")
		wantOK(t, json.Unmarshal(data, &f), "decode")
		if !teaclave.IsFusionURL(f.URL) || f.Crypto.Schema != teaclave.SchemaTeaclaveFile128 || f.Crypto.Validate() != nil || f.Cmac != nil ||
			len(f.Owners) != 2 || bytes.Equal(f.Crypto.Key, make([]byte, 16)) {
			t.Fatalf("fusion output %+v", f)
		}
		g, err := e.api.GetOutputFile(bob, &frontendpb.GetOutputFileRequest{DataId: fusion})
		wantOK(t, err, "co-owner reads the fusion output")
		if len(g.GetCmac()) != 0 || len(g.GetOwner()) != 2 {
			t.Fatalf("unwritten fusion output %v", g)
		}

		// Input from output: idempotent, owners only, written outputs only.
		_, err = e.api.RegisterInputFromOutput(bob, &frontendpb.RegisterInputFromOutputRequest{DataId: fusion})
		wantKind(t, err, teaclave.KindFailedPrecondition, "input from an unwritten output")
		ctx1 := e.as("frontend_user", dataOwner)
		a, err := e.api.RegisterInputFromOutput(ctx1, &frontendpb.RegisterInputFromOutputRequest{DataId: mxtest.FixtureOutput1.String()})
		wantOK(t, err, "input from a written output")
		b, err := e.api.RegisterInputFromOutput(ctx1, &frontendpb.RegisterInputFromOutputRequest{DataId: mxtest.FixtureOutput1.String()})
		wantOK(t, err, "again")
		if a.GetDataId() != b.GetDataId() || !strings.HasPrefix(a.GetDataId(), "input-") {
			t.Fatalf("ids %s and %s", a.GetDataId(), b.GetDataId())
		}
		gi, err := e.api.GetInputFile(e.as("mock_user1", dataOwner), &frontendpb.GetInputFileRequest{DataId: a.GetDataId()})
		wantOK(t, err, "the other owner reads the derived input")
		if len(gi.GetOwner()) != 2 || len(gi.GetCmac()) != 16 {
			t.Fatalf("derived input %v", gi)
		}
		_, err = e.api.RegisterInputFromOutput(alice, &frontendpb.RegisterInputFromOutputRequest{DataId: mxtest.FixtureOutput1.String()})
		wantKind(t, err, teaclave.KindPermissionDenied, "non-owner derives an input")
		_, err = e.api.RegisterInputFromOutput(alice, &frontendpb.RegisterInputFromOutputRequest{DataId: a.GetDataId()})
		wantKind(t, err, teaclave.KindInvalidArgument, "an input id where an output id belongs")
		_, err = e.api.GetOutputFile(alice, &frontendpb.GetOutputFileRequest{DataId: teaclave.NewID(teaclave.PrefixOutput).String()})
		wantKind(t, err, teaclave.KindNotFound, "unknown output")
	})
}

// TestOutputsWriteOnce: a written output cannot be assigned again, and one
// output cannot fill two slots of a task.
func TestOutputsWriteOnce(t *testing.T) {
	e := newEnv(t, inProcess, management.Config{})
	ctx := e.admin("frontend_user")
	c, err := e.api.CreateTask(ctx, &frontendpb.CreateTaskRequest{FunctionId: mxtest.FixtureFunction2.String(), FunctionArguments: `{"arg1":"v"}`,
		Executor: "mesapy", OutputsOwnership: owners(map[string][]string{"output": {"mock_user1", "frontend_user"}})})
	wantOK(t, err, "create")
	_, err = e.api.AssignData(ctx, &frontendpb.AssignDataRequest{TaskId: c.GetTaskId(), Outputs: dm(map[string]string{"output": mxtest.FixtureOutput1.String()})})
	wantKind(t, err, teaclave.KindFailedPrecondition, "assign a written output with matching owners")

	r, err := e.api.RegisterFunction(e.as("fo", fnOwner), &frontendpb.RegisterFunctionRequest{Name: "two-out", ExecutorType: "builtin", Public: true, UsageQuota: -1,
		Outputs: []*frontendpb.FunctionOutput{{Name: "a"}, {Name: "b"}}})
	wantOK(t, err, "register")
	c, err = e.api.CreateTask(ctx, &frontendpb.CreateTaskRequest{FunctionId: r.GetFunctionId(), FunctionArguments: `{}`, Executor: "builtin",
		OutputsOwnership: owners(map[string][]string{"a": {"frontend_user"}, "b": {"frontend_user"}})})
	wantOK(t, err, "create")
	out := e.output(ctx)
	_, err = e.api.AssignData(ctx, &frontendpb.AssignDataRequest{TaskId: c.GetTaskId(), Outputs: dm(map[string]string{"a": out, "b": out})})
	wantKind(t, err, teaclave.KindFailedPrecondition, "one output in two slots")
	_, err = e.api.AssignData(ctx, &frontendpb.AssignDataRequest{TaskId: c.GetTaskId(), Outputs: dm(map[string]string{"a": out})})
	wantOK(t, err, "assign a")
	_, err = e.api.AssignData(ctx, &frontendpb.AssignDataRequest{TaskId: c.GetTaskId(), Outputs: dm(map[string]string{"b": out})})
	wantKind(t, err, teaclave.KindFailedPrecondition, "the same output in slot b")
}
