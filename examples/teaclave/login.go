package main

import (
	"fmt"
	"io"
	"time"
)

func loginCommand() *command {
	return &command{name: "login", summary: "log in and save the session", run: runLogin}
}

func runLogin(a *app, args []string) error {
	var c connFlags
	var out output
	var id string
	f := a.newFlags("teaclave login", "[--id ID] [flags]", `
Logs in at the authentication service and saves the token in the credentials
file ($TEACLAVE_CONFIG, or $XDG_CONFIG_HOME/teaclave/credentials.json, mode
0600). The password is read from TEACLAVE_PASSWORD, else from a prompt without
echo on a terminal, else from the first line of standard input; never from the
command line. The login becomes the current one; other saved logins stay, and
--as ID (or TEACLAVE_USER) selects one for a command.`)
	f.StringVar(&id, "id", "", "user id (default $TEACLAVE_USER, else asked)")
	c.register(f, false)
	out.register(f)
	if _, err := f.parseN(args); err != nil {
		return err
	}
	if id == "" {
		id = a.getenv(envUser)
	}
	if id == "" {
		if !isTerminal(a.stdin) {
			return usagef("login: --id is required when standard input is not a terminal")
		}
		fmt.Fprint(a.stderr, "User id: ")
		line, err := a.stdinLine()
		if err != nil || line == "" {
			return usagef("login: no user id")
		}
		id = line
	}
	password, err := a.secret("Password for "+id, envPassword, false)
	if err != nil {
		return err
	}
	client, platform, err := a.dialPlatform(&c)
	if err != nil {
		return err
	}
	defer client.Close()
	if err := client.Login(a.ctx, id, password); err != nil {
		return explain("login as "+id, err, "", &c, a)
	}
	cr, _ := client.Credentials()
	token := cr.Token
	creds, path, err := a.loadCredentials()
	if err != nil {
		return err
	}
	s := savedLogin{ID: id, Token: token, AuthAddr: c.resolvedAuthAddr(a), Platform: platform, Expires: tokenExpiry(token), SavedAt: time.Now().UTC().Truncate(time.Second)}
	creds.Logins[id] = s
	creds.Current = id
	if err := creds.save(path); err != nil {
		return err
	}
	return a.print(&out, map[string]any{"id": id, "expires": s.Expires, "credentials": path}, func(w io.Writer) {
		fmt.Fprintf(w, "Logged in as %s", id)
		if !s.Expires.IsZero() {
			fmt.Fprintf(w, " until %s", s.Expires.Local().Format(time.DateTime))
		}
		fmt.Fprintln(w, ".")
	})
}

func logoutCommand() *command {
	return &command{name: "logout", summary: "forget a saved session", run: runLogout}
}

func runLogout(a *app, args []string) error {
	var as string
	var all bool
	f := a.newFlags("teaclave logout", "[--as ID | --all]", "Removes a saved login (the current one by default) from the credentials file. The token stays valid on the platform until it expires.")
	f.StringVar(&as, "as", "", "saved login `id` to forget (default $TEACLAVE_USER, else the current one)")
	f.BoolVar(&all, "all", false, "forget every saved login")
	if _, err := f.parseN(args); err != nil {
		return err
	}
	creds, path, err := a.loadCredentials()
	if err != nil {
		return err
	}
	if all {
		creds.Logins = map[string]savedLogin{}
		creds.Current = ""
		return creds.save(path)
	}
	id := firstNonEmpty(as, a.getenv(envUser), creds.Current)
	if _, ok := creds.Logins[id]; !ok || id == "" {
		return withHint(fmt.Errorf("not logged in as %q", id), "nothing to forget")
	}
	delete(creds.Logins, id)
	if creds.Current == id {
		creds.Current = ""
	}
	if err := creds.save(path); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "Forgot the session of %s.\n", id)
	return nil
}

func whoamiCommand() *command {
	return &command{name: "whoami", summary: "show the saved sessions", run: runWhoami}
}

func runWhoami(a *app, args []string) error {
	var out output
	var as string
	f := a.newFlags("teaclave whoami", "[--as ID] [--json]", "Prints the user commands act as, and the other saved logins.")
	f.StringVar(&as, "as", "", "saved login `id` to check")
	out.register(f)
	if _, err := f.parseN(args); err != nil {
		return err
	}
	s, err := a.session(as)
	if err != nil {
		return err
	}
	creds, _, err := a.loadCredentials()
	if err != nil {
		return err
	}
	return a.print(&out, map[string]any{"id": s.ID, "expires": s.Expires, "auth_addr": s.AuthAddr, "saved_logins": creds.ids()}, func(w io.Writer) {
		fmt.Fprintln(w, s.ID)
	})
}
