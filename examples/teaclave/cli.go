package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// Exit statuses.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
	// exitTaskFailed: a waited-for task ended Failed, Canceled or with an
	// Err result.
	exitTaskFailed = 3
)

// app is one invocation of the CLI: its streams and environment. Nothing
// in it is global, so tests run many invocations in one process.
type app struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	// stdinReader buffers stdin once a line has been read from it.
	stdinReader io.Reader
}

// command is a leaf command or a group of subcommands.
type command struct {
	name    string
	summary string
	// run runs a leaf command with the arguments after its name.
	run func(a *app, args []string) error
	// sub are the subcommands of a group.
	sub []*command
}

// run runs the CLI with args (without the program name) and returns the
// exit status. It is main without the process: tests call it directly.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	a := &app{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}
	return a.dispatch(rootCommand(), []string{"teaclave"}, args)
}

func rootCommand() *command {
	return &command{name: "teaclave", summary: "command-line client of Teaclave for Go", sub: []*command{
		loginCommand(),
		logoutCommand(),
		whoamiCommand(),
		userCommand(),
		functionCommand(),
		fileCommand(),
		taskCommand(),
		encryptCommand(),
		decryptCommand(),
		enclaveInfoCommand(),
		attestCommand(),
		adminCommand(),
	}}
}

// dispatch finds the command named by args in c and runs it.
func (a *app) dispatch(c *command, path, args []string) int {
	if c.run != nil {
		err := c.run(a, args)
		return a.report(err)
	}
	if len(args) == 0 {
		a.groupUsage(a.stderr, c, path)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		if args[0] == "help" && len(args) > 1 {
			// "teaclave help task create" is "teaclave task create --help".
			return a.dispatch(c, path, append(args[1:], "--help"))
		}
		a.groupUsage(a.stdout, c, path)
		return exitOK
	}
	for _, s := range c.sub {
		if s.name == args[0] {
			return a.dispatch(s, append(path, s.name), args[1:])
		}
	}
	fmt.Fprintf(a.stderr, "%s: unknown command %q\n", strings.Join(path, " "), args[0])
	if hint := closest(c, args[0]); hint != "" {
		fmt.Fprintf(a.stderr, "Did you mean %q?\n", hint)
	}
	fmt.Fprintf(a.stderr, "Run '%s --help' for the list of commands.\n", strings.Join(path, " "))
	return exitUsage
}

func closest(c *command, name string) string {
	for _, s := range c.sub {
		if strings.HasPrefix(s.name, name) || strings.HasPrefix(name, s.name) {
			return s.name
		}
	}
	return ""
}

func (a *app) groupUsage(w io.Writer, c *command, path []string) {
	fmt.Fprintf(w, "%s: %s\n\nUsage:\n  %s COMMAND [flags] [arguments]\n\nCommands:\n", strings.Join(path, " "), c.summary, strings.Join(path, " "))
	width := 0
	for _, s := range c.sub {
		width = max(width, len(s.name))
	}
	for _, s := range c.sub {
		fmt.Fprintf(w, "  %-*s  %s\n", width, s.name, s.summary)
	}
	fmt.Fprintf(w, "\nRun '%s COMMAND --help' for a command's flags.\n", strings.Join(path, " "))
	if len(path) == 1 {
		fmt.Fprint(w, rootHelpFooter)
	}
}

const rootHelpFooter = `
Environment:
  TEACLAVE_AUTH_ADDR      authentication api endpoint (default 127.0.0.1:7776)
  TEACLAVE_FRONTEND_ADDR  frontend endpoint (default 127.0.0.1:7777)
  TEACLAVE_DATA_DIR       data folder of a development platform, whose attestation
                          root and signed enclave info are pinned (default ./teaclave-data)
  TEACLAVE_CONFIG         credentials file (default $XDG_CONFIG_HOME/teaclave/credentials.json)
  TEACLAVE_USER           saved login to use (default: the last one), and login's default id
  TEACLAVE_PASSWORD       password for login, admin init and user commands that need one

Exit status: 0 success, 1 error, 2 usage error, 3 task ended Failed, Canceled or with an error.
`

// usageError is a mistake in the command line: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// hintError is an error with advice on what to do about it.
type hintError struct {
	err  error
	hint string
}

func (e *hintError) Error() string { return e.err.Error() }
func (e *hintError) Unwrap() error { return e.err }

func withHint(err error, hint string) error {
	if err == nil {
		return nil
	}
	return &hintError{err: err, hint: hint}
}

// exitCodeError carries an exit status other than 1 for a failure that
// has already been reported (a task that ended badly).
type exitCodeError struct {
	code int
	err  error
}

func (e *exitCodeError) Error() string { return e.err.Error() }
func (e *exitCodeError) Unwrap() error { return e.err }

// report prints err and returns the exit status for it.
func (a *app) report(err error) int {
	if err == nil {
		return exitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(a.stderr, "teaclave: %s\n", ue.msg)
		return exitUsage
	}
	fmt.Fprintf(a.stderr, "teaclave: %s\n", err)
	var he *hintError
	if errors.As(err, &he) && he.hint != "" {
		fmt.Fprintf(a.stderr, "  %s\n", he.hint)
	}
	var ee *exitCodeError
	if errors.As(err, &ee) {
		return ee.code
	}
	return exitError
}

// flags is a command's flag set with the help and usage conventions of
// the CLI.
type flags struct {
	*flag.FlagSet
	a        *app
	synopsis string
	about    string
	// conn names the connection flags, listed in a section of their own.
	conn map[string]bool
}

// newFlags returns a flag set for the command at path; synopsis is what
// follows the command name in the usage line and about is a paragraph
// printed under it.
func (a *app) newFlags(path, synopsis, about string) *flags {
	fs := flag.NewFlagSet(path, flag.ContinueOnError)
	f := &flags{FlagSet: fs, a: a, synopsis: synopsis, about: about}
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return f
}

func (f *flags) printUsage(w io.Writer) {
	fmt.Fprintf(w, "Usage:\n  %s", f.Name())
	if f.synopsis != "" {
		fmt.Fprintf(w, " %s", f.synopsis)
	}
	fmt.Fprintln(w)
	if f.about != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(f.about))
	}
	var own, conn []string
	f.VisitAll(func(fl *flag.Flag) {
		if f.conn[fl.Name] {
			conn = append(conn, fl.Name)
		} else {
			own = append(own, fl.Name)
		}
	})
	f.printFlags(w, "Flags", own)
	f.printFlags(w, "Connection flags", conn)
}

func (f *flags) printFlags(w io.Writer, title string, names []string) {
	if len(names) == 0 {
		return
	}
	fmt.Fprintf(w, "\n%s:\n", title)
	sort.Strings(names)
	for _, n := range names {
		fl := f.Lookup(n)
		kind, usage := flag.UnquoteUsage(fl)
		line := "  --" + n
		if kind != "" {
			line += " " + kind
		}
		def := ""
		if fl.DefValue != "" && fl.DefValue != "false" && fl.DefValue != "[]" && fl.DefValue != "0" && fl.DefValue != "0s" {
			def = fmt.Sprintf(" (default %s)", fl.DefValue)
		}
		fmt.Fprintf(w, "%s\n      %s%s\n", line, usage, def)
	}
}

// parse parses args, allowing flags after positional arguments ("task get
// TASK --json"); "--" ends the flags. It returns the positional arguments,
// flag.ErrHelp after printing the help for -h/--help, or a usage error.
func (f *flags) parse(args []string) ([]string, error) {
	var pos []string
	for {
		if err := f.FlagSet.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				f.printUsage(f.a.stdout)
				return nil, flag.ErrHelp
			}
			return nil, usagef("%s: %v (see '%s --help')", f.Name(), err, f.Name())
		}
		rest := f.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		// Parse stops at the first positional argument or after "--".
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// parseN parses args and requires exactly the named positional arguments.
func (f *flags) parseN(args []string, names ...string) ([]string, error) {
	pos, err := f.parse(args)
	if err != nil {
		return nil, err
	}
	if len(pos) != len(names) {
		if len(pos) < len(names) {
			return nil, usagef("%s: missing %s (usage: %s %s)", f.Name(), strings.Join(names[len(pos):], " "), f.Name(), f.synopsis)
		}
		return nil, usagef("%s: unexpected argument %q (usage: %s %s)", f.Name(), pos[len(names)], f.Name(), f.synopsis)
	}
	return pos, nil
}

// output is the --json switch of a command that prints data.
type output struct {
	json bool
}

func (o *output) register(f *flags) {
	f.BoolVar(&o.json, "json", false, "print the result as JSON")
}

// print writes v as indented JSON with --json, else calls plain.
func (a *app) print(o *output, v any, plain func(w io.Writer)) error {
	if o != nil && o.json {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	plain(a.stdout)
	return nil
}

// multiFlag is a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string { return strings.Join(*m, ",") }

// Set appends a value.
func (m *multiFlag) Set(v string) error {
	*m = append(*m, v)
	return nil
}

// isTerminal reports whether f is an *os.File on a terminal.
func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	if !ok {
		return false
	}
	st, err := file.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
