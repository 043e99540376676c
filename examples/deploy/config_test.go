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
