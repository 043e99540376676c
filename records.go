package teaclave

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/google/uuid"
)

// This file holds the records management writes and the scheduler and
// execution nodes read: functions, data files, tasks, the staged task and
// the cancel request, with the storage keys and queue names they live
// under. Records are stored as JSON; the encoding is internal (Teaclave's
// serde layout is not kept) but every service of this module shares it.
//
// Storage layout (protocol §10.1, redesigned where noted):
//
//	function-<uuid>                          Function
//	payload-<uuid>                           the function's payload, raw bytes (new: kept
//	                                         apart so a record never base64-inflates it)
//	usage-<uuid>                             FunctionUsage
//	index/functions/function-<uuid>          empty: every function, for admins' lists (new)
//	index/user/<uuid5>/registered/function-… empty: a user's own functions (new: one key
//	index/user/<uuid5>/allowed/function-…    empty  per entry instead of one growing record)
//	input-<uuid>                             InputFile
//	output-<uuid>                            OutputFile
//	task-<uuid>                              Task
//	taskargs-<uuid>                          the task's merged arguments, a JSON object (new:
//	                                         written once, so later task writes stay small)
//	queue staged-task                        StagedTask
//	queue cancel_queue                       TaskCancel
//
// <uuid5> is the version 5 UUID of the user id in the DNS namespace, as in
// Teaclave's user records (UserIndexID).

// Queue names shared by management (producer) and the scheduler (consumer).
const (
	// QueueStagedTasks holds StagedTask records, one per invoked task.
	QueueStagedTasks = "staged-task"
	// QueueCancel holds TaskCancel records for staged or running tasks.
	QueueCancel = "cancel_queue"
)

// Key prefixes of records that are not ids of their own.
const (
	prefixPayload   = "payload-"
	prefixTaskArgs  = "taskargs-"
	indexFunctions  = "index/functions/"
	indexUserPrefix = "index/user/"
)

// FunctionKey returns the key of a function record.
func FunctionKey(fn ID) []byte { return fn.Key() }

// PayloadKey returns the key of a function's payload.
func PayloadKey(fn ID) []byte { return []byte(prefixPayload + fn.UUID().String()) }

// UsageKey returns the key of a function's usage counter.
func UsageKey(fn ID) []byte { return IDFromUUID(PrefixUsage, fn.UUID()).Key() }

// InputKey returns the key of an input file record.
func InputKey(id ID) []byte { return id.Key() }

// OutputKey returns the key of an output file record.
func OutputKey(id ID) []byte { return id.Key() }

// TaskKey returns the key of a task record.
func TaskKey(id ID) []byte { return id.Key() }

// TaskArgumentsKey returns the key of a task's merged function arguments.
func TaskArgumentsKey(task ID) []byte { return []byte(prefixTaskArgs + task.UUID().String()) }

// FunctionIndexKey returns the key of fn's entry in the index of all
// functions.
func FunctionIndexKey(fn ID) []byte { return []byte(indexFunctions + fn.String()) }

// FunctionIndexPrefix is the key prefix of the index of all functions.
func FunctionIndexPrefix() []byte { return []byte(indexFunctions) }

// UserIndexKind names one of a user's function lists.
type UserIndexKind string

// The two function lists of a user (ListFunctionsResponse).
const (
	// IndexRegistered lists the functions the user owns.
	IndexRegistered UserIndexKind = "registered"
	// IndexAllowed lists the private functions whose allowlist names the user.
	IndexAllowed UserIndexKind = "allowed"
)

// UserIndexPrefix returns the key prefix of one of user's function lists.
func UserIndexPrefix(user string, kind UserIndexKind) []byte {
	return []byte(indexUserPrefix + UserIndexID(user).UUID().String() + "/" + string(kind) + "/")
}

// UserIndexKey returns the key of fn's entry in one of user's lists.
func UserIndexKey(user string, kind UserIndexKind, fn ID) []byte {
	return append(UserIndexPrefix(user, kind), fn.String()...)
}

// FunctionFromIndexKey returns the function id at the end of an index key
// (of either index).
func FunctionFromIndexKey(key []byte) (ID, error) {
	i := strings.LastIndexByte(string(key), '/')
	return ParseID(string(key[i+1:]), PrefixFunction)
}

// PrefixEnd returns the smallest key greater than every key with the given
// prefix, for Range's exclusive end; nil if there is none.
func PrefixEnd(prefix []byte) []byte {
	end := slices.Clone(prefix)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// FusionURLPrefix begins the URL of every fusion output, a file kept by the
// platform itself (protocol §8.2). Only the platform mints such URLs; users
// cannot register them.
const FusionURLPrefix = "fusion:///TEACLAVE_FUSION_BASE/"

// FusionURL returns the URL of a new fusion file named by u.
func FusionURL(u uuid.UUID) string { return FusionURLPrefix + u.String() + ".fusion" }

// IsFusionURL reports whether url names a fusion file (by scheme).
func IsFusionURL(url string) bool {
	scheme, _, ok := strings.Cut(url, ":")
	return ok && strings.EqualFold(scheme, "fusion")
}

// FileAuthTagSize is the length of a file's cmac (protocol §4.5).
const FileAuthTagSize = 16

// FileAuthTag is a file's cmac: the AES-GCM tag of an aes-gcm file or the
// metadata GMAC of a teaclave-file-128 file. It is stored as 32 lowercase
// hex digits.
type FileAuthTag [FileAuthTagSize]byte

// FileAuthTagFromBytes returns the tag in b, which must be 16 bytes long.
func FileAuthTagFromBytes(b []byte) (FileAuthTag, error) {
	var t FileAuthTag
	if len(b) != FileAuthTagSize {
		return t, Errorf(KindInvalidArgument, "invalid cmac: want %d bytes, got %d", FileAuthTagSize, len(b))
	}
	copy(t[:], b)
	return t, nil
}

// String returns the tag in hex.
func (t FileAuthTag) String() string { return hex.EncodeToString(t[:]) }

// MarshalText implements encoding.TextMarshaler.
func (t FileAuthTag) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (t *FileAuthTag) UnmarshalText(b []byte) error {
	if len(b) != 2*FileAuthTagSize {
		return fmt.Errorf("teaclave: cmac: want %d hex digits, got %d", 2*FileAuthTagSize, len(b))
	}
	_, err := hex.Decode(t[:], b)
	return err
}

// Digest is a SHA-256 digest, stored as 64 lowercase hex digits.
type Digest [sha256.Size]byte

// DigestOf returns the SHA-256 digest of b.
func DigestOf(b []byte) Digest { return sha256.Sum256(b) }

// String returns the digest in hex.
func (d Digest) String() string { return hex.EncodeToString(d[:]) }

// MarshalText implements encoding.TextMarshaler.
func (d Digest) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Digest) UnmarshalText(b []byte) error {
	if len(b) != 2*sha256.Size {
		return fmt.Errorf("teaclave: digest: want %d hex digits, got %d", 2*sha256.Size, len(b))
	}
	_, err := hex.Decode(d[:], b)
	return err
}

// CryptoSchema names how a file is encrypted (protocol §4.4).
type CryptoSchema string

// The file crypto schemas.
const (
	// SchemaAESGCM128: one AES-128-GCM message, 16-byte key, 12-byte IV.
	SchemaAESGCM128 CryptoSchema = "aes-gcm-128"
	// SchemaAESGCM256: one AES-256-GCM message, 32-byte key, 12-byte IV.
	SchemaAESGCM256 CryptoSchema = "aes-gcm-256"
	// SchemaTeaclaveFile128: the SGX protected-file format, 16-byte key,
	// no IV.
	SchemaTeaclaveFile128 CryptoSchema = "teaclave-file-128"
	// SchemaRaw: plaintext, inputs only; key and IV are ignored.
	SchemaRaw CryptoSchema = "raw"
)

// FileCrypto is the crypto info of a file: its schema, key and IV. Its fmt
// and slog forms show the schema and the lengths only, never key or IV.
// Its JSON form, the stored one, holds the key: never log a record that
// contains it through a JSON encoder.
type FileCrypto struct {
	Schema CryptoSchema `json:"schema"`
	Key    []byte       `json:"key,omitempty"`
	IV     []byte       `json:"iv,omitempty"`
}

// Validate applies protocol §4.4: aes-gcm-128 takes a 16-byte key and a
// 12-byte IV, aes-gcm-256 a 32-byte key and a 12-byte IV, teaclave-file-128
// a 16-byte key and no IV, raw ignores both. Anything else is a
// KindInvalidArgument error whose message names no key material.
func (c FileCrypto) Validate() error {
	var keyLen, ivLen int
	switch c.Schema {
	case SchemaAESGCM128:
		keyLen, ivLen = 16, 12
	case SchemaAESGCM256:
		keyLen, ivLen = 32, 12
	case SchemaTeaclaveFile128:
		keyLen, ivLen = 16, 0
	case SchemaRaw:
		return nil
	default:
		return Errorf(KindInvalidArgument, "invalid crypto info: unknown schema")
	}
	if len(c.Key) != keyLen {
		return Errorf(KindInvalidArgument, "invalid crypto info: %s needs a %d-byte key, got %d bytes", c.Schema, keyLen, len(c.Key))
	}
	if len(c.IV) != ivLen {
		return Errorf(KindInvalidArgument, "invalid crypto info: %s needs a %d-byte iv, got %d bytes", c.Schema, ivLen, len(c.IV))
	}
	return nil
}

// Canonical returns c as the platform stores and returns it: the IV
// dropped for teaclave-file-128, key and IV dropped for raw. The result
// shares no memory with c.
func (c FileCrypto) Canonical() FileCrypto {
	out := FileCrypto{Schema: c.Schema}
	switch c.Schema {
	case SchemaRaw:
	case SchemaTeaclaveFile128:
		out.Key = slices.Clone(c.Key)
	default:
		out.Key, out.IV = slices.Clone(c.Key), slices.Clone(c.IV)
	}
	return out
}

// Format prints the schema and the key and IV lengths for every verb.
func (c FileCrypto) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "FileCrypto{Schema: %q, Key: [%d bytes redacted], IV: [%d bytes redacted]}", string(c.Schema), len(c.Key), len(c.IV))
}

// LogValue implements slog.LogValuer with the same redaction as Format.
func (c FileCrypto) LogValue() slog.Value {
	return slog.GroupValue(slog.String("schema", string(c.Schema)), slog.Int("key_len", len(c.Key)), slog.Int("iv_len", len(c.IV)))
}

// ExecutorType is the kind of code a function is (protocol §4.3).
type ExecutorType string

// Executor types, by their wire strings.
const (
	ExecutorTypeBuiltin ExecutorType = "builtin"
	ExecutorTypePython  ExecutorType = "python"
	ExecutorTypeWAMR    ExecutorType = "wamr"
)

// ParseExecutorType parses the wire string of an executor type.
func ParseExecutorType(s string) (ExecutorType, error) {
	switch t := ExecutorType(s); t {
	case ExecutorTypeBuiltin, ExecutorTypePython, ExecutorTypeWAMR:
		return t, nil
	}
	return "", Errorf(KindInvalidArgument, "invalid executor type: want builtin, python or wamr")
}

// Executor is the runtime a task asks for (protocol §4.3).
type Executor string

// Executors, by their wire strings.
const (
	ExecutorMesaPy  Executor = "mesapy"
	ExecutorBuiltin Executor = "builtin"
	ExecutorWAMR    Executor = "wamr"
)

// ParseExecutor parses the wire string of an executor.
func ParseExecutor(s string) (Executor, error) {
	switch e := Executor(s); e {
	case ExecutorMesaPy, ExecutorBuiltin, ExecutorWAMR:
		return e, nil
	}
	return "", Errorf(KindInvalidArgument, "invalid executor: want mesapy, builtin or wamr")
}

// Runs reports whether e can run functions of type t: (mesapy, python),
// (builtin, builtin) and (wamr, wamr) are the only pairs.
func (e Executor) Runs(t ExecutorType) bool {
	switch e {
	case ExecutorMesaPy:
		return t == ExecutorTypePython
	case ExecutorBuiltin:
		return t == ExecutorTypeBuiltin
	case ExecutorWAMR:
		return t == ExecutorTypeWAMR
	}
	return false
}

// FunctionArgument is an argument a function declares.
type FunctionArgument struct {
	Key            string `json:"key"`
	DefaultValue   string `json:"default_value"`
	AllowOverwrite bool   `json:"allow_overwrite"`
}

// FunctionSlot is an input or output a function declares.
type FunctionSlot struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Optional    bool   `json:"optional"`
}

// Function is a registered function. Its payload lives apart, at
// PayloadKey, and is pinned by PayloadSHA256.
type Function struct {
	ID            ID                 `json:"id"`
	Name          string             `json:"name"`
	Description   string             `json:"description"`
	Public        bool               `json:"public"`
	ExecutorType  ExecutorType       `json:"executor_type"`
	PayloadSHA256 Digest             `json:"payload_sha256"`
	PayloadSize   int                `json:"payload_size"`
	Arguments     []FunctionArgument `json:"arguments"`
	Inputs        []FunctionSlot     `json:"inputs"`
	Outputs       []FunctionSlot     `json:"outputs"`
	Owner         string             `json:"owner"`
	// UserAllowlist names the users, by user id, who may use a private
	// function. Sorted, without duplicates.
	UserAllowlist []string `json:"user_allowlist"`
	// UsageQuota is the number of invocations allowed; nil means
	// unlimited and 0 means never.
	UsageQuota *int32 `json:"usage_quota"`
	// Disabled functions can no longer be used for tasks.
	Disabled bool `json:"disabled"`
	// Revision counts changes of what the function runs (name, executor
	// type, payload, arguments, inputs, outputs). A task records the
	// revision it was created against and cannot be approved or invoked
	// once the function has moved on.
	Revision uint64 `json:"revision"`
}

// Allowlisted reports whether user is on the function's allowlist.
func (f *Function) Allowlisted(user string) bool {
	_, ok := slices.BinarySearch(f.UserAllowlist, user)
	return ok
}

// QuotaAllows reports whether the quota allows one more invocation after
// used ones.
func (f *Function) QuotaAllows(used int64) bool {
	return f.UsageQuota == nil || int64(*f.UsageQuota) > used
}

// FunctionUsage counts a function's invocations.
type FunctionUsage struct {
	FunctionID ID    `json:"function_id"`
	UseNumbers int64 `json:"use_numbers"`
}

// InputFile is a registered input file.
type InputFile struct {
	ID     ID          `json:"id"`
	URL    string      `json:"url"`
	Cmac   FileAuthTag `json:"cmac"`
	Crypto FileCrypto  `json:"crypto_info"`
	// Owners is sorted, without duplicates.
	Owners []string `json:"owners"`
}

// OwnedBy reports whether user is one of the file's owners.
func (f *InputFile) OwnedBy(user string) bool { return hasUser(f.Owners, user) }

// OutputFile is a registered output file. Cmac is nil until the platform
// has written the file; it is written once.
type OutputFile struct {
	ID     ID           `json:"id"`
	URL    string       `json:"url"`
	Cmac   *FileAuthTag `json:"cmac"`
	Crypto FileCrypto   `json:"crypto_info"`
	// Owners is sorted, without duplicates.
	Owners []string `json:"owners"`
}

// OwnedBy reports whether user is one of the file's owners.
func (f *OutputFile) OwnedBy(user string) bool { return hasUser(f.Owners, user) }

// UserSet returns users sorted and without duplicates, the form every
// owner list, participant list and allowlist is kept in.
func UserSet(users []string) []string {
	out := slices.Clone(users)
	slices.Sort(out)
	return slices.Compact(out)
}

func hasUser(set []string, user string) bool {
	_, ok := slices.BinarySearch(set, user)
	return ok
}

// TaskOutputs is the result of a function that returned.
type TaskOutputs struct {
	ReturnValue []byte                 `json:"return_value"`
	TagsMap     map[string]FileAuthTag `json:"tags_map"`
	Log         []string               `json:"log"`
}

// TaskFailure is the reason a task did not produce outputs.
type TaskFailure struct {
	Reason string `json:"reason"`
}

// TaskResult is a task's result: not ready (both nil), Ok or Err.
type TaskResult struct {
	Ok  *TaskOutputs `json:"ok,omitempty"`
	Err *TaskFailure `json:"err,omitempty"`
}

// Ready reports whether the result is set.
func (r TaskResult) Ready() bool { return r.Ok != nil || r.Err != nil }

// Task is a task record. Its merged function arguments live apart, at
// TaskArgumentsKey, because they may be megabytes and never change.
type Task struct {
	ID            ID     `json:"id"`
	Creator       string `json:"creator"`
	FunctionID    ID     `json:"function_id"`
	FunctionOwner string `json:"function_owner"`
	// FunctionRevision is the function's revision at creation.
	FunctionRevision uint64   `json:"function_revision"`
	Executor         Executor `json:"executor"`
	// InputsOwnership and OutputsOwnership map slot names to owner sets
	// (sorted, without duplicates).
	InputsOwnership  map[string][]string `json:"inputs_ownership"`
	OutputsOwnership map[string][]string `json:"outputs_ownership"`
	// Participants and ApprovedUsers are sorted, without duplicates.
	Participants  []string `json:"participants"`
	ApprovedUsers []string `json:"approved_users"`
	// AssignedInputs and AssignedOutputs hold the files as they were when
	// assigned: approvals cover exactly these.
	AssignedInputs  map[string]InputFile  `json:"assigned_inputs"`
	AssignedOutputs map[string]OutputFile `json:"assigned_outputs"`
	Status          TaskStatus            `json:"status"`
	Result          TaskResult            `json:"result"`
	// CancelRequested is set when a staged or running task is asked to
	// cancel; the scheduler applies it (see TaskCancel).
	CancelRequested bool `json:"cancel_requested,omitempty"`
}

// IsParticipant reports whether user takes part in the task.
func (t *Task) IsParticipant(user string) bool { return hasUser(t.Participants, user) }

// HasApproved reports whether user has approved the task.
func (t *Task) HasApproved(user string) bool { return hasUser(t.ApprovedUsers, user) }

// AllDataAssigned reports whether every slot with owners has a file.
func (t *Task) AllDataAssigned() bool {
	for name := range t.InputsOwnership {
		if _, ok := t.AssignedInputs[name]; !ok {
			return false
		}
	}
	for name := range t.OutputsOwnership {
		if _, ok := t.AssignedOutputs[name]; !ok {
			return false
		}
	}
	return true
}

// EveryoneApproved reports whether the task has a single participant or
// every participant has approved it.
func (t *Task) EveryoneApproved() bool {
	return len(t.Participants) == 1 || slices.Equal(t.Participants, t.ApprovedUsers)
}

// Guards returns the task's guards for Transition; quotaAvailable comes
// from the function's usage.
func (t *Task) Guards(quotaAvailable bool) TaskGuards {
	return TaskGuards{AllDataAssigned: t.AllDataAssigned(), EveryoneApproved: t.EveryoneApproved(), QuotaAvailable: quotaAvailable}
}

// StagedInput is an input file as an execution node needs it.
type StagedInput struct {
	ID     ID          `json:"id"`
	URL    string      `json:"url"`
	Cmac   FileAuthTag `json:"cmac"`
	Crypto FileCrypto  `json:"crypto_info"`
}

// StagedOutput is an output file as an execution node needs it.
type StagedOutput struct {
	ID     ID         `json:"id"`
	URL    string     `json:"url"`
	Crypto FileCrypto `json:"crypto_info"`
}

// StagedTask is what management enqueues on QueueStagedTasks when a task
// is invoked, in the same Commit that moves the task to Staged: everything
// an execution node needs except the payload, which it fetches by function
// id and checks against PayloadSHA256 (and may cache by that digest). A
// payload that no longer matches means the function changed after the
// task was invoked; the task must then fail rather than run other code.
type StagedTask struct {
	TaskID           ID           `json:"task_id"`
	UserID           string       `json:"user_id"`
	FunctionID       ID           `json:"function_id"`
	FunctionRevision uint64       `json:"function_revision"`
	FunctionName     string       `json:"function_name"`
	ExecutorType     ExecutorType `json:"executor_type"`
	Executor         Executor     `json:"executor"`
	PayloadSHA256    Digest       `json:"payload_sha256"`
	// FunctionArguments is the merged argument object (compact JSON, keys
	// sorted).
	FunctionArguments json.RawMessage         `json:"function_arguments"`
	InputData         map[string]StagedInput  `json:"input_data"`
	OutputData        map[string]StagedOutput `json:"output_data"`
}

// TaskCancel is what management enqueues on QueueCancel when the creator or
// an admin cancels a staged or running task; the same Commit sets the
// task's CancelRequested. The scheduler applies it: a task still waiting in
// QueueStagedTasks or held unleased moves to Canceled at once
// (EventCancelApplied); a leased task's node is told to stop, and the task
// moves to Canceled when the node confirms or its lease ends. A staged task
// dequeued later whose record says CancelRequested is canceled, not run, so
// the outcome does not depend on which queue is read first.
type TaskCancel struct {
	TaskID      ID     `json:"task_id"`
	RequestedBy string `json:"requested_by"`
}
