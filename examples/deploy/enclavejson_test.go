package deploy_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// enclaveConfig is EGo's enclave.json (EGo v1.7.0 reference/config).
type enclaveConfig struct {
	Exe             string `json:"exe"`
	Key             string `json:"key"`
	Debug           bool   `json:"debug"`
	HeapSize        int    `json:"heapSize"`
	ExecutableHeap  bool   `json:"executableHeap"`
	ProductID       int    `json:"productID"`
	SecurityVersion int    `json:"securityVersion"`
	Mounts          []struct {
		Source   string `json:"source"`
		Target   string `json:"target"`
		Type     string `json:"type"`
		ReadOnly bool   `json:"readOnly"`
	} `json:"mounts"`
	Env []struct {
		Name     string `json:"name"`
		Value    string `json:"value"`
		FromHost bool   `json:"fromHost"`
	} `json:"env"`
}

// TestEnclaveConfigs checks the EGo enclave.json of every main: it signs
// the main's own binary with the shared signing key, no executable heap
// (wazero runs as an interpreter in enclaves), no debug enclave, enough
// heap, a product id of its own (so each service seals under its own
// key), and hostfs mounts for the configuration and the data folder.
func TestEnclaveConfigs(t *testing.T) {
	products := map[int]string{}
	for _, dir := range []string{"platform", "authentication", "frontend", "management", "storage", "accesscontrol", "scheduler", "execution"} {
		data, err := os.ReadFile(filepath.Join("..", dir, "enclave.json"))
		if err != nil {
			t.Errorf("%s: %v", dir, err)
			continue
		}
		var c enclaveConfig
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			t.Errorf("%s/enclave.json: %v", dir, err)
			continue
		}
		switch {
		case c.Exe != dir:
			t.Errorf("%s: exe %q", dir, c.Exe)
		case c.Key != "../enclave-signer.pem":
			t.Errorf("%s: key %q, want the shared signer", dir, c.Key)
		case c.ExecutableHeap:
			t.Errorf("%s: executable heap", dir)
		case c.Debug:
			t.Errorf("%s: debug enclave", dir)
		case c.HeapSize < 512:
			t.Errorf("%s: heap %d MB < 512", dir, c.HeapSize)
		case c.ProductID < 1 || c.SecurityVersion < 1:
			t.Errorf("%s: productID %d, securityVersion %d", dir, c.ProductID, c.SecurityVersion)
		case products[c.ProductID] != "":
			t.Errorf("%s and %s share productID %d", dir, products[c.ProductID], c.ProductID)
		}
		products[c.ProductID] = dir
		mounts := map[string]bool{}
		for _, m := range c.Mounts {
			if m.Type != "hostfs" && m.Type != "memfs" || m.Target == "" || m.Target == "/" || m.Type == "hostfs" && m.Source == "" {
				t.Errorf("%s: bad mount %+v", dir, m)
			}
			mounts[m.Target] = m.ReadOnly
		}
		if ro, ok := mounts["/etc/teaclave"]; !ok || !ro {
			t.Errorf("%s: configuration folder not mounted read-only", dir)
		}
		if ro, ok := mounts["/var/lib/teaclave"]; !ok || ro {
			t.Errorf("%s: data folder not mounted read-write", dir)
		}
		for _, e := range c.Env {
			if e.Name == "" || !e.FromHost && e.Value == "" {
				t.Errorf("%s: bad env %+v", dir, e)
			}
		}
	}
}
