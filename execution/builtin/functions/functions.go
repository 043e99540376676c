package functions

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/teaclave-go/teaclave/execution/executor"
)

// Registered names of the built-ins (functions.md §2.1). Two use
// underscores, as in Teaclave.
const (
	NamePasswordCheck               = "builtin-password-check"
	NameOrderedSetIntersect         = "builtin-ordered-set-intersect"
	NameOrderedSetJoin              = "builtin-ordered-set-join"
	NamePrivateJoinAndCompute       = "builtin-private-join-and-compute"
	NameRSASign                     = "builtin-rsa-sign"
	NameOnlineDecrypt               = "builtin_online_decrypt"
	NameLogisticRegressionTrain     = "builtin-logistic-regression-train"
	NameLogisticRegressionPredict   = "builtin-logistic-regression-predict"
	NameGBDTPredict                 = "builtin-gbdt-predict"
	NameGBDTTrain                   = "builtin-gbdt-train"
	NamePrincipalComponentsAnalysis = "builtin_principal_components_analysis"
	NameFaceDetection               = "builtin-face-detection"
)

// Function is one built-in function.
type Function struct {
	// Name is the name the function is registered under.
	Name string
	// Run runs the function with the task's merged arguments (a JSON
	// object) and its files, and returns the summary (the task's
	// return_value). A returned error fails the task with the error's
	// message as the reason; messages never contain data, keys or
	// passwords. When ctx ends, Run returns ctx.Err() itself.
	Run func(ctx context.Context, args json.RawMessage, rt executor.Runtime) ([]byte, error)
}

// All returns the built-ins of this package with DefaultLimits, in a new
// slice on every call.
func All() []Function { return AllWithLimits(DefaultLimits()) }

// AllWithLimits returns the built-ins of this package bounded by l; a zero
// field of l takes its default.
func AllWithLimits(l Limits) []Function {
	l = l.withDefaults()
	return []Function{
		PasswordCheck(l),
		OrderedSetIntersect(l),
		OrderedSetJoin(l),
		PrivateJoinAndCompute(l),
		RSASign(l),
		OnlineDecrypt(l),
		LogisticRegressionTrain(l),
		LogisticRegressionPredict(l),
		GBDTPredict(l),
		GBDTTrain(l),
		PrincipalComponentsAnalysis(l),
		FaceDetection(l),
	}
}

// Default limits. An enclave's heap is small and shared by every task on
// the node, so each input is bounded when it is read, and numeric tables
// are bounded before their storage grows: DefaultMaxCells float64 values
// are 32 MiB.
const (
	DefaultMaxInputBytes = 64 << 20
	DefaultMaxCells      = 1 << 22
	DefaultMaxColumns    = 1024
	// DefaultMaxKeyBytes bounds rsa_key: a 4096-bit PKCS#1 key is about
	// 2.4 KB of DER.
	DefaultMaxKeyBytes = 64 << 10
)

// Limits bound what a built-in reads and allocates.
type Limits struct {
	// MaxInputBytes bounds each input file.
	MaxInputBytes int64
	// MaxCells bounds rows × columns of a numeric table (training data,
	// prediction data, PCA input), the nodes of a GBDT model, the lines of
	// a set to intersect and the names of a party in private join and
	// compute: the things whose count, not only whose bytes, costs memory.
	MaxCells int
	// MaxColumns bounds the columns of a numeric table (feature_size).
	// PCA's SVD costs rows × columns², so this also bounds its time.
	MaxColumns int
	// MaxKeyBytes bounds the rsa_key input.
	MaxKeyBytes int64
}

// DefaultLimits returns the limits All uses.
func DefaultLimits() Limits {
	return Limits{
		MaxInputBytes: DefaultMaxInputBytes,
		MaxCells:      DefaultMaxCells,
		MaxColumns:    DefaultMaxColumns,
		MaxKeyBytes:   DefaultMaxKeyBytes,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxInputBytes <= 0 {
		l.MaxInputBytes = d.MaxInputBytes
	}
	if l.MaxCells <= 0 {
		l.MaxCells = d.MaxCells
	}
	if l.MaxColumns <= 0 {
		l.MaxColumns = d.MaxColumns
	}
	if l.MaxKeyBytes <= 0 {
		l.MaxKeyBytes = d.MaxKeyBytes
	}
	return l
}

// ErrArguments is Teaclave's error for arguments a built-in cannot use
// (functions.md §2.1). Errors of this package wrap it and add which key is
// wrong, never its value: "Cannot deserialize arguments: ...", the way
// anyhow printed a chain of contexts.
var ErrArguments = errors.New("Cannot deserialize arguments")

// ErrTooLarge is wrapped by the errors for an input or a table over its
// Limits.
var ErrTooLarge = errors.New("input too large")
