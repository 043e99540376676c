package teaclave

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
)

func TestFileCryptoValidate(t *testing.T) {
	k := func(n int) []byte { return bytes.Repeat([]byte{7}, n) }
	cases := []struct {
		c  FileCrypto
		ok bool
	}{
		{FileCrypto{SchemaAESGCM128, k(16), k(12)}, true},
		{FileCrypto{SchemaAESGCM128, k(32), k(12)}, false},
		{FileCrypto{SchemaAESGCM128, k(16), k(16)}, false},
		{FileCrypto{SchemaAESGCM128, nil, nil}, false},
		{FileCrypto{SchemaAESGCM256, k(32), k(12)}, true},
		{FileCrypto{SchemaAESGCM256, k(16), k(12)}, false},
		{FileCrypto{SchemaTeaclaveFile128, k(16), nil}, true},
		{FileCrypto{SchemaTeaclaveFile128, k(16), k(12)}, false},
		{FileCrypto{SchemaTeaclaveFile128, k(15), nil}, false},
		{FileCrypto{SchemaRaw, k(3), k(5)}, true},
		{FileCrypto{"aes_gcm_128", k(16), k(12)}, false},
		{FileCrypto{"", nil, nil}, false},
	}
	for i, c := range cases {
		err := c.c.Validate()
		if (err == nil) != c.ok {
			t.Errorf("case %d (%s): Validate = %v, want ok=%v", i, c.c.Schema, err, c.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("case %d: error %v is not InvalidArgument", i, err)
		}
	}
}

func TestFileCryptoRedactedAndCanonical(t *testing.T) {
	secret := []byte("0123456789abcdef")
	c := FileCrypto{Schema: SchemaTeaclaveFile128, Key: secret, IV: []byte("iviviviviviv")}
	f := InputFile{URL: "https://x/", Crypto: c}
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", f), fmt.Sprintf("%#v", c), fmt.Sprintf("%x", c)} {
		if strings.Contains(s, string(secret)) || strings.Contains(s, fmt.Sprintf("%x", secret)) || strings.Contains(s, "iviv") {
			t.Errorf("formatted crypto info shows key material: %s", s)
		}
	}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "crypto", c)
	if strings.Contains(buf.String(), string(secret)) {
		t.Errorf("log shows key: %s", buf.String())
	}
	canon := c.Canonical()
	if canon.IV != nil || !bytes.Equal(canon.Key, secret) {
		t.Errorf("canonical teaclave-file-128 = %v", canon)
	}
	canon.Key[0] ^= 1
	if secret[0] != '0' {
		t.Error("Canonical shares memory with its receiver")
	}
	raw := FileCrypto{Schema: SchemaRaw, Key: secret, IV: secret}.Canonical()
	if raw.Key != nil || raw.IV != nil {
		t.Errorf("canonical raw keeps key material: %v", raw)
	}
}

func TestExecutorPairs(t *testing.T) {
	pairs := map[Executor]ExecutorType{ExecutorMesaPy: ExecutorTypePython, ExecutorBuiltin: ExecutorTypeBuiltin, ExecutorWAMR: ExecutorTypeWAMR}
	for e, want := range pairs {
		for _, ty := range []ExecutorType{ExecutorTypeBuiltin, ExecutorTypePython, ExecutorTypeWAMR} {
			if got := e.Runs(ty); got != (ty == want) {
				t.Errorf("%s.Runs(%s) = %v", e, ty, got)
			}
		}
	}
	if _, err := ParseExecutor("MesaPy"); err == nil {
		t.Error("ParseExecutor accepts the stored variant name")
	}
	if _, err := ParseExecutorType(""); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("ParseExecutorType(\"\") = %v", err)
	}
	if e, err := ParseExecutor("wamr"); err != nil || e != ExecutorWAMR {
		t.Errorf("ParseExecutor(wamr) = %v, %v", e, err)
	}
}

func TestKeys(t *testing.T) {
	fn := IDFromUUID(PrefixFunction, uuid.MustParse("00000000-0000-0000-0000-000000000001"))
	task := IDFromUUID(PrefixTask, uuid.MustParse("00000000-0000-0000-0000-000000000002"))
	checks := map[string]string{
		string(FunctionKey(fn)):        "function-00000000-0000-0000-0000-000000000001",
		string(UsageKey(fn)):           "usage-00000000-0000-0000-0000-000000000001",
		string(PayloadKey(fn)):         "payload-00000000-0000-0000-0000-000000000001",
		string(TaskKey(task)):          "task-00000000-0000-0000-0000-000000000002",
		string(TaskArgumentsKey(task)): "taskargs-00000000-0000-0000-0000-000000000002",
		string(FunctionIndexKey(fn)):   "index/functions/function-00000000-0000-0000-0000-000000000001",
	}
	for got, want := range checks {
		if got != want {
			t.Errorf("key %q, want %q", got, want)
		}
	}
	// Task arguments must not be listed with tasks.
	if bytes.HasPrefix(TaskArgumentsKey(task), []byte("task-")) {
		t.Error("task arguments share the task- prefix")
	}
	k := UserIndexKey("alice", IndexAllowed, fn)
	if !bytes.HasPrefix(k, UserIndexPrefix("alice", IndexAllowed)) || bytes.HasPrefix(k, UserIndexPrefix("alice", IndexRegistered)) {
		t.Errorf("user index key %q not under its prefix", k)
	}
	if bytes.Equal(UserIndexPrefix("alice", IndexAllowed), UserIndexPrefix("bob", IndexAllowed)) {
		t.Error("two users share an index prefix")
	}
	got, err := FunctionFromIndexKey(k)
	if err != nil || got != fn {
		t.Errorf("FunctionFromIndexKey = %v, %v", got, err)
	}
	if _, err := FunctionFromIndexKey([]byte("index/functions/input-00000000-0000-0000-0000-000000000001")); err == nil {
		t.Error("FunctionFromIndexKey accepts an input id")
	}
	for _, c := range []struct{ in, want []byte }{
		{[]byte("a/"), []byte("a0")},
		{[]byte{'a', 0xff}, []byte("b")},
		{[]byte{0xff, 0xff}, nil},
	} {
		if got := PrefixEnd(c.in); !bytes.Equal(got, c.want) {
			t.Errorf("PrefixEnd(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestFusionURL(t *testing.T) {
	u := FusionURL(uuid.New())
	if !IsFusionURL(u) || !strings.HasPrefix(u, FusionURLPrefix) || !strings.HasSuffix(u, ".fusion") {
		t.Errorf("FusionURL = %q", u)
	}
	for _, s := range []string{"FUSION://x", "fusion:x"} {
		if !IsFusionURL(s) {
			t.Errorf("IsFusionURL(%q) = false", s)
		}
	}
	for _, s := range []string{"https://fusion/", "file:///fusion:", "nofusion"} {
		if IsFusionURL(s) {
			t.Errorf("IsFusionURL(%q) = true", s)
		}
	}
}

func TestTaskPredicates(t *testing.T) {
	task := Task{
		Participants:     UserSet([]string{"c", "a", "b", "a"}),
		InputsOwnership:  map[string][]string{"in": {"a"}},
		OutputsOwnership: map[string][]string{"out": {"b", "c"}},
	}
	if !slices.Equal(task.Participants, []string{"a", "b", "c"}) {
		t.Fatalf("UserSet = %v", task.Participants)
	}
	if task.AllDataAssigned() || task.EveryoneApproved() {
		t.Fatal("fresh task is assigned or approved")
	}
	task.AssignedInputs = map[string]InputFile{"in": {}}
	if task.AllDataAssigned() {
		t.Fatal("assigned with an output missing")
	}
	task.AssignedOutputs = map[string]OutputFile{"out": {}}
	if !task.AllDataAssigned() {
		t.Fatal("not assigned with every slot filled")
	}
	task.ApprovedUsers = []string{"a", "c"}
	if task.EveryoneApproved() || !task.HasApproved("c") || task.HasApproved("b") {
		t.Fatal("approval predicates wrong")
	}
	task.ApprovedUsers = UserSet(append(task.ApprovedUsers, "b"))
	g := task.Guards(false)
	if !g.AllDataAssigned || !g.EveryoneApproved || g.QuotaAvailable {
		t.Fatalf("guards = %+v", g)
	}
	single := Task{Participants: []string{"a"}}
	if !single.EveryoneApproved() || !single.AllDataAssigned() {
		t.Error("a one-participant task without slots needs nothing")
	}
}

func TestQuota(t *testing.T) {
	q := func(n int32) *int32 { return &n }
	cases := []struct {
		quota *int32
		used  int64
		ok    bool
	}{{nil, 1 << 40, true}, {q(0), 0, false}, {q(2), 1, true}, {q(2), 2, false}}
	for _, c := range cases {
		f := Function{UsageQuota: c.quota}
		if got := f.QuotaAllows(c.used); got != c.ok {
			t.Errorf("quota %v used %d: %v", c.quota, c.used, got)
		}
	}
}

func TestRecordsRoundTrip(t *testing.T) {
	tag := FileAuthTag{1, 2, 3}
	quota := int32(5)
	fn := NewID(PrefixFunction)
	task := Task{
		ID: NewID(PrefixTask), Creator: "a", FunctionID: fn, FunctionRevision: 3, Executor: ExecutorBuiltin,
		InputsOwnership: map[string][]string{"in": {"a"}}, OutputsOwnership: map[string][]string{},
		Participants: []string{"a"}, ApprovedUsers: []string{},
		AssignedInputs:  map[string]InputFile{"in": {ID: NewID(PrefixInput), URL: "data:,x", Cmac: tag, Crypto: FileCrypto{Schema: SchemaRaw}, Owners: []string{"a"}}},
		AssignedOutputs: map[string]OutputFile{},
		Status:          TaskFinished,
		Result:          TaskResult{Ok: &TaskOutputs{ReturnValue: []byte("r"), TagsMap: map[string]FileAuthTag{"o": tag}, Log: []string{"l"}}},
	}
	staged := StagedTask{
		TaskID: task.ID, UserID: "a", FunctionID: fn, FunctionRevision: 3, FunctionName: "f",
		ExecutorType: ExecutorTypeBuiltin, Executor: ExecutorBuiltin, PayloadSHA256: DigestOf([]byte("p")),
		FunctionArguments: json.RawMessage(`{"a":1}`),
		InputData:         map[string]StagedInput{"in": {ID: task.AssignedInputs["in"].ID, URL: "data:,x", Cmac: tag, Crypto: FileCrypto{Schema: SchemaRaw}}},
		OutputData:        map[string]StagedOutput{},
	}
	function := Function{ID: fn, Name: "f", ExecutorType: ExecutorTypePython, PayloadSHA256: DigestOf(nil), UsageQuota: &quota, UserAllowlist: []string{"b"}, Revision: 1}
	for _, v := range []any{&task, &staged, &function, &OutputFile{ID: NewID(PrefixOutput), Cmac: &tag}, &TaskCancel{TaskID: task.ID, RequestedBy: "a"}} {
		data, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		back := reflect.New(reflect.TypeOf(v).Elem()).Interface()
		if err := json.Unmarshal(data, back); err != nil {
			t.Fatalf("%T: %v", v, err)
		}
		if !reflect.DeepEqual(v, back) {
			t.Errorf("%T round trip:\n got %+v\nwant %+v", v, back, v)
		}
	}
	var bad FileAuthTag
	if err := json.Unmarshal([]byte(`"abcd"`), &bad); err == nil {
		t.Error("short cmac decoded")
	}
	if _, err := FileAuthTagFromBytes(make([]byte, 15)); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("15-byte cmac: %v", err)
	}
}
