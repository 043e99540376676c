package endorser_test

import (
	"strings"
	"testing"

	"github.com/teaclave-go/teaclave/attestation"
	"github.com/teaclave-go/teaclave/attestation/endorser"
)

// TestClientURLSchemes: https is always accepted; http only outside
// production builds; anything else never.
func TestClientURLSchemes(t *testing.T) {
	if _, err := endorser.NewClient(endorser.ClientConfig{URL: "https://endorser.invalid:8443"}); err != nil {
		t.Fatalf("https: %v", err)
	}
	_, err := endorser.NewClient(endorser.ClientConfig{URL: "http://endorser.invalid:8080"})
	if attestation.ProductionBuild {
		if err == nil || !strings.Contains(err.Error(), "https only") {
			t.Fatalf("http in a production build: %v, want refused", err)
		}
	} else if err != nil {
		t.Fatalf("http in a development build: %v", err)
	}
	for _, u := range []string{"ftp://endorser.invalid", "endorser.invalid:443", "https://"} {
		if _, err := endorser.NewClient(endorser.ClientConfig{URL: u}); err == nil {
			t.Errorf("URL %q accepted", u)
		}
	}
}
