package main

import (
	"fmt"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/attestation"
	"github.com/teaclave-go/teaclave/rpc/pb/ext/authextpb"
)

func adminCommand() *command {
	return &command{name: "admin", summary: "platform administration", sub: []*command{
		{name: "init", summary: "create the first PlatformAdmin of a new platform", run: runAdminInit},
	}}
}

func runAdminInit(a *app, args []string) error {
	var c connFlags
	var id string
	f := a.newFlags("teaclave admin init", "[--id ID] [flags] [ADDR]", `
Creates the first PlatformAdmin of a freshly deployed production platform,
over attested TLS to its authentication api endpoint at ADDR (default
$TEACLAVE_AUTH_ADDR). It succeeds once, while the user database is empty and
was never bootstrapped: whoever calls it first owns the platform, so run it
right after deployment, and treat its failure on a fresh deployment as a
compromise. The password is read from TEACLAVE_PASSWORD, else asked twice on a
terminal, else read from the first line of standard input; the development
password is refused. Development platforms are bootstrapped with admin/teaclave
already.`)
	f.StringVar(&id, "id", "admin", "the administrator's user id")
	c.register(f, false)
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return usagef("unexpected argument %q", pos[1])
	}
	if len(pos) == 1 {
		c.authAddr = pos[0]
	}
	if id == "" {
		return usagef("--id must not be empty")
	}
	t, err := c.trust(a)
	if err != nil {
		return err
	}
	password, err := a.secret("Password for "+id, envPassword, true)
	if err != nil {
		return err
	}
	addr := c.resolvedAuthAddr(a)
	cc, err := dial(addr, attestation.ServiceAuthentication, t)
	if err != nil {
		return err
	}
	defer cc.Close()
	if _, err := authextpb.NewTeaclaveAuthenticationApiExtClient(cc).Bootstrap(a.ctx, &authextpb.BootstrapRequest{Id: id, Password: password}); err != nil {
		err = explain("admin init", err, "", &c, a)
		if teaclave.KindOf(err) == teaclave.KindFailedPrecondition {
			return withHint(err, "the platform already has its first PlatformAdmin: log in with it (`teaclave login --id ...`); if you did not create it, treat the deployment as compromised")
		}
		return err
	}
	fmt.Fprintf(a.stdout, "Created PlatformAdmin %s at %s. Log in with `teaclave login --id %s`.\n", id, addr, id)
	return nil
}
