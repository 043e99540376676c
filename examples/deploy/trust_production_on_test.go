//go:build teaclave_production

package deploy

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/teaclave-go/teaclave/attestation"
)

// TestProductionTrustTemplate: a production build of the shipped template
// refuses to start with the error that says what to edit (or, without
// cgo, that SGX needs cgo).
func TestProductionTrustTemplate(t *testing.T) {
	want := ErrNoCompiledInRoot
	if !cgoBuild {
		want = ErrNeedsCgo
	}
	for _, service := range []string{attestation.ServiceStorage, AllInOne} {
		if _, err := ProductionTrust(context.Background(), Default(), service, nil); !errors.Is(err, want) {
			t.Fatalf("%q: %v, want %v", service, err, want)
		}
	}
	// The per-service mains go through it.
	err := Main(ServiceStorage, []string{"-data-dir", t.TempDir(), "-listen", "127.0.0.1:0"}, io.Discard)
	if !errors.Is(err, want) {
		t.Fatalf("Main: %v, want %v", err, want)
	}
	if cgoBuild && !strings.Contains(err.Error(), wantTemplateError) {
		t.Fatalf("Main: %v", err)
	}
	// Development trust is not in production builds.
	if _, err := DevelopmentServiceTrust(context.Background(), Default(), attestation.ServiceStorage, nil); err == nil {
		t.Fatal("development trust in a production build")
	}
}
