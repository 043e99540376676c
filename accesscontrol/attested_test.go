//go:build !teaclave_production

package accesscontrol_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/teaclave-go/teaclave/accesscontrol"
	"github.com/teaclave-go/teaclave/attestation"
	"github.com/teaclave-go/teaclave/rpc"
	"github.com/teaclave-go/teaclave/rpc/rpctest"
)

// TestOverAttestedTransport: the frontend (and management, which Teaclave's
// inbound list also names) may ask; no other enclave may.
func TestOverAttestedTransport(t *testing.T) {
	s, err := accesscontrol.New(accesscontrol.Defaults(), accesscontrol.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	env := rpctest.NewEnv(t)
	srv := env.Transport(t, attestation.ServiceAccessControl).NewServer(rpc.InternalEndpoint)
	accesscontrol.Register(srv, s)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)

	ask := func(caller string) (bool, error) {
		cc, err := env.Transport(t, caller).Dial(lis.Addr().String(), attestation.ServiceAccessControl)
		if err != nil {
			t.Fatal(err)
		}
		defer cc.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return accesscontrol.NewClient(cc).Authorize(ctx, "PlatformAdmin", "get_task")
	}
	for _, caller := range []string{attestation.ServiceFrontend, attestation.ServiceManagement} {
		if ok, err := ask(caller); err != nil || !ok {
			t.Errorf("%s: %v %v, want allowed", caller, ok, err)
		}
	}
	for _, caller := range []string{attestation.ServiceScheduler, attestation.ServiceExecution, attestation.ServiceStorage} {
		if _, err := ask(caller); err == nil {
			t.Errorf("%s could call access control", caller)
		}
	}
}
