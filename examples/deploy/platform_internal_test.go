package deploy

import (
	"slices"
	"testing"

	"github.com/teaclave-go/teaclave/execution/fileagent"
)

// TestExecutionConfigOwnAddrs: the file agent refuses the platform's own
// endpoints, and advertised host names do not upset its address policy.
func TestExecutionConfigOwnAddrs(t *testing.T) {
	cfg := Default()
	cfg.Data.Dir = t.TempDir()
	cfg.InternalEndpoints = map[string]Endpoint{
		"storage":   {ListenAddress: "0.0.0.0:17778", AdvertisedAddress: "https://storage.example:17778"},
		"scheduler": {ListenAddress: "127.0.0.1:17780", AdvertisedAddress: "10.0.0.5:17780"},
	}
	ec, err := executionConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{DefaultAuthAddr, DefaultFrontendAddr, "0.0.0.0:17778", "127.0.0.1:17780", "10.0.0.5:17780"} {
		if !slices.Contains(ec.Files.OwnAddrs, want) {
			t.Errorf("own addresses %v lack %s", ec.Files.OwnAddrs, want)
		}
	}
	if _, err := fileagent.NewAddressPolicy(ec.Files.Allow, ec.Files.OwnAddrs, nil); err != nil {
		t.Fatal(err)
	}
	if ec.Files.FusionDir != cfg.DataPath("fusion") {
		t.Errorf("fusion dir %q", ec.Files.FusionDir)
	}
}
