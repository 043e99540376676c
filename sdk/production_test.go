//go:build teaclave_production

package sdk_test

import (
	"context"
	"testing"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/sdk"
)

// TestProductionRefusesInsecure: a production build never talks to a
// platform it has not verified.
func TestProductionRefusesInsecure(t *testing.T) {
	_, err := sdk.Dial(context.Background(), sdk.Config{AuthAddr: "127.0.0.1:1", FrontendAddr: "127.0.0.1:2", Trust: sdk.InsecureSkipVerification()})
	if teaclave.KindOf(err) != teaclave.KindInvalidArgument {
		t.Fatalf("Dial with InsecureSkipVerification: %v, want InvalidArgument", err)
	}
}
