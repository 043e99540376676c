package attestation_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/teaclave-go/teaclave/attestation"
)

func infoBytes(t testing.TB) []byte {
	t.Helper()
	data, err := attestation.MarshalEnclaveInfo(map[string]attestation.Measurement{
		attestation.ServiceStorage:    measurement(attestation.ServiceStorage),
		attestation.ServiceManagement: measurement(attestation.ServiceManagement),
	})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestEnclaveInfoRoundTrip(t *testing.T) {
	data := infoBytes(t)
	m := measurement(attestation.ServiceManagement)
	if !bytes.HasPrefix(data, []byte("[teaclave_management_service]\nmr_enclave = \"")) || bytes.ContainsAny(data, "ABCDEF") {
		t.Fatalf("layout:\n%s", data)
	}
	info, err := attestation.ParseEnclaveInfo(data)
	if err != nil {
		t.Fatal(err)
	}
	if info.Verified() {
		t.Fatal("parsed info claims to be verified")
	}
	if s, ok := info.Lookup(m); !ok || len(s) != 1 || s[0] != attestation.ServiceManagement {
		t.Fatalf("Lookup = %q %v", s, ok)
	}
	if _, ok := info.Lookup(measurement("other")); ok {
		t.Fatal("unknown measurement found")
	}
	if id, ok := info.Identity(attestation.ServiceManagement); !ok || id.Measurement() != m || id.Service != attestation.ServiceManagement {
		t.Fatalf("Identity = %+v %v", id, ok)
	}
	if got := info.Services(); len(got) != 2 || got[0] != attestation.ServiceManagement {
		t.Fatalf("Services = %v", got)
	}
	// Teaclave's layout (aligned '=', upper case) parses to the same.
	teaclave := strings.ToUpper(string(data))
	teaclave = strings.ReplaceAll(teaclave, "MR_ENCLAVE = ", "mr_enclave = ")
	teaclave = strings.ReplaceAll(teaclave, "MR_SIGNER = ", "mr_signer  = ")
	teaclave = strings.ToLower(teaclave[:1]) + teaclave[1:]
	teaclave = strings.ReplaceAll(teaclave, "[TEACLAVE_MANAGEMENT_SERVICE]", "[teaclave_management_service]")
	teaclave = strings.ReplaceAll(teaclave, "[TEACLAVE_STORAGE_SERVICE]", "[teaclave_storage_service]")
	info2, err := attestation.ParseEnclaveInfo([]byte("# comment\n" + teaclave))
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := info2.Lookup(m); !ok || len(s) != 1 || s[0] != attestation.ServiceManagement {
		t.Fatal("upper-case hex not equivalent")
	}
}

func TestEnclaveInfoMalformed(t *testing.T) {
	h := strings.Repeat("ab", 32)
	for _, in := range []string{
		`x = 1`,
		"[a]\nmr_enclave = \"" + h + "\"\n",
		"[a]\nmr_enclave = \"" + h + "\"\nmr_signer = \"" + h[:62] + "\"\n",
		"[a]\nmr_enclave = \"" + h + "\"\nmr_signer = \"" + h[:62] + "zz\"\n",
		"[a]\nmr_enclave = \"" + h + "\"\nmr_signer = 5\n",
		"[a]\nmr_enclave = \"" + h + "\"\nmr_signer = \"" + h + "\"\nextra = \"\"\n",
		"[\"a b\"]\nmr_enclave = \"" + h + "\"\nmr_signer = \"" + h + "\"\n",
		"[a]\nmr_enclave = \"" + h + "\"\nmr_signer = \"" + h + "\"\n[a]\n",
		"[a.b]\nmr_enclave = \"" + h + "\"\nmr_signer = \"" + h + "\"\n",
		"[a",
		strings.Repeat("#", attestation.MaxEnclaveInfoSize+1),
	} {
		_, err := attestation.ParseEnclaveInfo([]byte(in))
		assertRefused(t, err, attestation.ErrMalformedEnclaveInfo)
	}
}

// TestEnclaveInfoSignatures: distinct configured auditors up to the
// threshold (2 of 3 in testPolicy), zero never passes (Teaclave's defect 28).
func TestEnclaveInfoSignatures(t *testing.T) {
	p := testPolicy()
	data := infoBytes(t)
	for _, tc := range []struct {
		name string
		sigs [][]byte
		want error
	}{
		{"two auditors", sign(t, data, 3, 4), nil},
		{"three auditors", sign(t, data, 5, 3, 4), nil},
		{"no signature", nil, attestation.ErrMissingSignature},
		{"one of two", sign(t, data, 4), attestation.ErrMissingSignature},
		{"repeated", sign(t, data, 3, 3), attestation.ErrRepeatedSignature},
		{"repeated, threshold met", sign(t, data, 3, 4, 3), attestation.ErrRepeatedSignature},
		{"not an auditor", sign(t, data, 3, 0), attestation.ErrBadAuditorSignature},
		{"over other bytes", append(sign(t, data, 3), sign(t, append(bytes.Clone(data), '\n'), 4)...), attestation.ErrBadAuditorSignature},
		{"garbage", [][]byte{[]byte("godzilla.sign.sha256"), sign(t, data, 4)[0]}, attestation.ErrBadAuditorSignature},
		{"more than auditors", sign(t, data, 3, 4, 5, 0), attestation.ErrTooManySignatures},
	} {
		t.Run(tc.name, func(t *testing.T) {
			info, err := attestation.LoadEnclaveInfo(data, tc.sigs, p)
			if tc.want == nil {
				if err != nil || !info.Verified() {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			assertRefused(t, err, tc.want)
		})
	}
	t.Run("policy without auditors", func(t *testing.T) {
		p := testPolicy()
		p.Auditors, p.AuditorThreshold = nil, 0
		_, err := attestation.LoadEnclaveInfo(data, sign(t, data, 3), p)
		assertRefused(t, err, attestation.ErrMissingSignature)
		_, err = attestation.LoadEnclaveInfo(data, nil, p)
		assertRefused(t, err, attestation.ErrMissingSignature)
	})
	t.Run("malformed but signed", func(t *testing.T) {
		bad := []byte("[a]\nmr_enclave = \"00\"\n")
		_, err := attestation.LoadEnclaveInfo(bad, sign(t, bad, 3, 4), p)
		assertRefused(t, err, attestation.ErrMalformedEnclaveInfo)
	})
}

// TestSharedMeasurement: one binary may run several services (the
// all-in-one platform); a caller with that measurement is identified as
// whichever of its services the callee admits, and refused when none is.
func TestSharedMeasurement(t *testing.T) {
	p := testPolicy()
	shared := measurement("platform")
	data, err := attestation.MarshalEnclaveInfo(map[string]attestation.Measurement{
		attestation.ServiceFrontend:   shared,
		attestation.ServiceManagement: shared,
		attestation.ServiceExecution:  measurement("execution"),
	})
	if err != nil {
		t.Fatal(err)
	}
	info, err := attestation.LoadEnclaveInfo(data, sign(t, data, 3, 4), p)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := info.Lookup(shared)
	if !ok || len(got) != 2 || got[0] != attestation.ServiceFrontend || got[1] != attestation.ServiceManagement {
		t.Fatalf("Lookup = %v %v", got, ok)
	}
	for service, want := range map[string]attestation.Measurement{attestation.ServiceFrontend: shared, attestation.ServiceManagement: shared} {
		if id, ok := info.Identity(service); !ok || id.Measurement() != want {
			t.Errorf("Identity(%s) = %v %v", service, id, ok)
		}
	}

	v, err := attestation.NewVerifier(p, info)
	if err != nil {
		t.Fatal(err)
	}
	der := makeCert(t, evidence{m: shared})
	now := t0.Add(time.Minute)
	for callee, want := range map[string]string{
		attestation.ServiceStorage:        attestation.ServiceManagement, // only management may
		attestation.ServiceAccessControl:  attestation.ServiceFrontend,   // both may: the first by name
		attestation.ServiceAuthentication: attestation.ServiceFrontend,
	} {
		_, id, err := v.VerifyCaller(now, [][]byte{der}, callee)
		if err != nil || id.Service != want {
			t.Errorf("calling %s: identified as %q, %v; want %s", callee, id.Service, err, want)
		}
	}
	// Neither frontend nor management may call the scheduler.
	if _, _, err := v.VerifyCaller(now, [][]byte{der}, attestation.ServiceScheduler); !errors.Is(err, attestation.ErrCallerNotAllowed) {
		t.Errorf("calling the scheduler: %v, want ErrCallerNotAllowed", err)
	}
	// A client pinning either service accepts the shared binary.
	for _, s := range []string{attestation.ServiceFrontend, attestation.ServiceManagement} {
		if _, err := v.VerifyService(now, [][]byte{der}, s); err != nil {
			t.Errorf("pinning %s: %v", s, err)
		}
	}
}
