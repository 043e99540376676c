package deploy_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/teaclave-go/teaclave/examples/deploy"
)

func TestLoadAndOverride(t *testing.T) {
	path := filepath.Join(t.TempDir(), "runtime.config.toml")
	os.WriteFile(path, []byte(`
[api_endpoints]
authentication = { listen_address = "0.0.0.0:7776" }
frontend = { listen_address = "0.0.0.0:7777" }

[internal_endpoints]
storage = { listen_address = "0.0.0.0:17778", advertised_address = "https://storage:17778" }

[data]
dir = "/var/lib/teaclave"
`), 0o600)
	c, err := deploy.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.InternalEndpoints["storage"].AdvertisedAddress != "https://storage:17778" || c.Data.Dir != "/var/lib/teaclave" || c.Execution.Workers != 2 {
		t.Errorf("loaded %+v", c)
	}
	env := map[string]string{deploy.EnvAuthAddr: "127.0.0.1:1", deploy.EnvFrontendAddr: "127.0.0.1:2", deploy.EnvDataDir: "/tmp/x"}
	c.ApplyEnv(func(k string) string { return env[k] })
	if c.APIEndpoints.Authentication.ListenAddress != "127.0.0.1:1" || c.APIEndpoints.Frontend.ListenAddress != "127.0.0.1:2" || c.Data.Dir != "/tmp/x" {
		t.Errorf("environment not applied: %+v", c)
	}
}

func TestLoadRefusesMistakes(t *testing.T) {
	cases := map[string]string{
		"unknown key":      "[data]\ndri = \"x\"\n",
		"unknown section":  "[frontend]\nlisten = 1\n",
		"not TOML":         "[data\n",
		"bad address":      "[api_endpoints]\nfrontend = { listen_address = \"nowhere\" }\n",
		"unknown internal": "[internal_endpoints]\nexecution = { listen_address = \"0.0.0.0:17770\" }\n",
		"bad allowlist":    "[execution]\nfile_agent_allowlist = [\"host-without-port\"]\n",
	}
	for name, text := range cases {
		path := filepath.Join(t.TempDir(), "c.toml")
		os.WriteFile(path, []byte(text), 0o600)
		c, err := deploy.Load(path)
		if err == nil {
			err = c.Validate()
		}
		if err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.TrimSpace(err.Error()) == "" {
			t.Errorf("%s: empty error", name)
		}
	}
}

func TestMultiProcessSettings(t *testing.T) {
	path := filepath.Join(t.TempDir(), "runtime.config.toml")
	os.WriteFile(path, []byte(`
[internal_endpoints]
storage = { listen_address = "0.0.0.0:27778", advertised_address = "https://storage.internal:27778" }
scheduler = { listen_address = "127.0.0.1:27780" }

[execution]
workers = 3
wasm_engine = "interpreter"

[[execution.nodes]]
name = "node0"

[[execution.nodes]]
name = "node1"
workers = 8

[mount]
fusion_base_dir = "/shared/fusion"
`), 0o600)
	c, err := deploy.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	eps, err := c.Endpoints()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"teaclave_storage_service":        "storage.internal:27778",
		"teaclave_scheduler_service":      "127.0.0.1:27780",
		"teaclave_authentication_service": "127.0.0.1:17776",
		"teaclave_management_service":     "127.0.0.1:17777",
		"teaclave_access_control_service": "127.0.0.1:17779",
	}
	for s, a := range want {
		if eps[s] != a {
			t.Errorf("endpoint of %s = %q, want %q", s, eps[s], a)
		}
	}
	if len(eps) != len(want) {
		t.Errorf("endpoints %v", eps)
	}
	if ep, _ := c.InternalEndpoint("storage"); ep.ListenAddress != "0.0.0.0:27778" {
		t.Errorf("storage endpoint %+v", ep)
	}
	if _, err := c.InternalEndpoint("execution"); err == nil {
		t.Error("execution has an internal endpoint")
	}
	if n, err := c.Node("node0"); err != nil || n.Workers != 3 {
		t.Errorf("node0 = %+v, %v; want execution.workers", n, err)
	}
	if n, err := c.Node("node1"); err != nil || n.Workers != 8 {
		t.Errorf("node1 = %+v, %v", n, err)
	}
	if _, err := c.Node("node2"); err == nil || !strings.Contains(err.Error(), "node0, node1") {
		t.Errorf("unlisted node: %v", err)
	}
	if c.FusionDir() != "/shared/fusion" {
		t.Errorf("fusion dir %q", c.FusionDir())
	}
	// Without a list, any well-formed name is a node.
	d := deploy.Default()
	if n, err := d.Node("any-node.1"); err != nil || n.Workers != d.Execution.Workers {
		t.Errorf("unlisted node without a list: %+v, %v", n, err)
	}
	if _, err := d.Node("../x"); err == nil {
		t.Error("bad node name accepted")
	}
	if d.FusionDir() != filepath.Join(deploy.DefaultDataDir, "fusion") {
		t.Errorf("default fusion dir %q", d.FusionDir())
	}
}

func TestLoadRefusesMultiProcessMistakes(t *testing.T) {
	cases := map[string]string{
		"duplicate node":     "[[execution.nodes]]\nname = \"a\"\n[[execution.nodes]]\nname = \"a\"\n",
		"bad node name":      "[[execution.nodes]]\nname = \"a b\"\n",
		"empty node name":    "[[execution.nodes]]\nworkers = 2\n",
		"node workers":       "[[execution.nodes]]\nname = \"a\"\nworkers = -1\n",
		"wasm engine":        "[execution]\nwasm_engine = \"jit\"\n",
		"advertised address": "[internal_endpoints]\nstorage = { advertised_address = \"https://storage/x\" }\n",
		"advertised port":    "[internal_endpoints]\nstorage = { advertised_address = \"storage:0\" }\n",
		"unknown mount":      "[mount]\nfusion = \"/x\"\n",
	}
	for name, text := range cases {
		path := filepath.Join(t.TempDir(), "c.toml")
		os.WriteFile(path, []byte(text), 0o600)
		c, err := deploy.Load(path)
		if err == nil {
			err = c.Validate()
		}
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
