package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/teaclave-go/teaclave/execution/filecrypto"
	"github.com/teaclave-go/teaclave/rpc/pb/commonpb"
	"github.com/teaclave-go/teaclave/rpc/pb/frontendpb"
	"github.com/teaclave-go/teaclave/sdk"
)

func fileCommand() *command {
	return &command{name: "file", summary: "register and inspect data files", sub: []*command{
		{name: "register-input", summary: "register an encrypted input file", run: runFileRegisterInput},
		{name: "register-output", summary: "register where an output file goes", run: runFileRegisterOutput},
		{name: "fusion", summary: "register a fusion output owned by several users", run: runFileFusion},
		{name: "input-from-output", summary: "turn a produced output into an input", run: runFileInputFromOutput},
		{name: "get", summary: "show a file's owners and cmac", run: runFileGet},
		{name: "update", summary: "register a file again at a new URL", run: runFileUpdate},
	}}
}

// cryptoFlags are a file's crypto info: schema, key (from a file or the
// environment) and IV.
type cryptoFlags struct {
	schema string
	key    keySource
	iv     string
}

func (cf *cryptoFlags) register(f *flags) {
	f.StringVar(&cf.schema, "schema", string(filecrypto.SchemaTeaclaveFile128), "file schema: aes-gcm-128, aes-gcm-256 or teaclave-file-128")
	cf.key.register(f)
	f.StringVar(&cf.iv, "iv", "", "IV of an aes-gcm file (24 hex digits)")
}

// info returns the crypto info, checked as the platform checks it.
func (cf *cryptoFlags) info(a *app) (filecrypto.CryptoInfo, error) {
	schema, err := filecrypto.ParseSchema(cf.schema)
	if err != nil || schema == filecrypto.SchemaRaw {
		return filecrypto.CryptoInfo{}, usagef("--schema %q: want aes-gcm-128, aes-gcm-256 or teaclave-file-128", cf.schema)
	}
	info := filecrypto.CryptoInfo{Schema: schema}
	if info.Key, err = cf.key.load(a); err != nil {
		return filecrypto.CryptoInfo{}, err
	}
	switch schema {
	case filecrypto.SchemaTeaclaveFile128:
		if cf.iv != "" {
			return filecrypto.CryptoInfo{}, usagef("--iv: teaclave-file-128 files have no IV")
		}
	default:
		if cf.iv == "" {
			return filecrypto.CryptoInfo{}, usagef("--iv is required for %s (the IV `teaclave encrypt` printed)", schema)
		}
		if info.IV, err = hex.DecodeString(cf.iv); err != nil {
			return filecrypto.CryptoInfo{}, usagef("--iv: not hex")
		}
	}
	if err := info.Validate(); err != nil {
		return filecrypto.CryptoInfo{}, fmt.Errorf("%w (aes-gcm-128 and teaclave-file-128 take 16-byte keys, aes-gcm-256 32; aes-gcm IVs are 12 bytes)", err)
	}
	return info, nil
}

func wire(info filecrypto.CryptoInfo) *commonpb.FileCryptoInfo {
	return &commonpb.FileCryptoInfo{Schema: string(info.Schema), Key: info.Key, Iv: info.IV}
}

// fileTag authenticates the encrypted file at path under info and returns
// its cmac. A teaclave-file-128 file is checked under name, the name it was
// created under.
func fileTag(path, name string, info filecrypto.CryptoInfo) (filecrypto.Tag, error) {
	f, err := os.Open(path)
	if err != nil {
		return filecrypto.Tag{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return filecrypto.Tag{}, err
	}
	r, err := filecrypto.NewReader(f, st.Size(), info, filecrypto.ReaderOptions{Name: name})
	if err != nil {
		return filecrypto.Tag{}, err
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		return filecrypto.Tag{}, err
	}
	tag, ok := r.Tag()
	if !ok {
		return filecrypto.Tag{}, errors.New("the file has no cmac")
	}
	return tag, nil
}

// maxInline is the largest encrypted file --inline embeds: the platform
// takes URLs of up to 8 KiB.
const maxInline = 6000

func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return usagef("--url %q is not an absolute URL (http, https, file or data)", raw)
	}
	return nil
}

func runFileRegisterInput(a *app, args []string) error {
	var c connFlags
	var out output
	var cf cryptoFlags
	var rawURL, cmacHex, local, inline string
	f := a.newFlags("teaclave file register-input", "(--url URL | --inline FILE) [--cmac HEX | --file FILE] --key-file PATH [flags]", `
Registers an encrypted input file, owned by you, and prints its data id. The
platform fetches it from --url when a task runs; --inline FILE instead embeds a
small file (under 6000 bytes) in a data: URL. Its cmac is given with --cmac, or
computed from a local copy with --file (or from the --inline file), which also
checks that the key and IV open it.`)
	f.StringVar(&rawURL, "url", "", "where the platform fetches the file (http, https, file or data URL)")
	f.StringVar(&inline, "inline", "", "embed this encrypted `file` as a data: URL instead of --url")
	f.StringVar(&cmacHex, "cmac", "", "the file's cmac (32 hex digits, as `teaclave encrypt` prints)")
	f.StringVar(&local, "file", "", "local copy of the encrypted `file`, to compute the cmac from")
	cf.register(f)
	c.register(f, true)
	out.register(f)
	if _, err := f.parseN(args); err != nil {
		return err
	}
	if (rawURL == "") == (inline == "") {
		return usagef("give exactly one of --url and --inline")
	}
	if inline != "" {
		if local != "" {
			return usagef("--inline already names the file: drop --file")
		}
		local = inline
	}
	if (cmacHex == "") == (local == "") {
		return usagef("give exactly one of --cmac and --file (or --inline)")
	}
	info, err := cf.info(a)
	if err != nil {
		return err
	}
	var tag filecrypto.Tag
	if cmacHex != "" {
		if tag, err = filecrypto.ParseTag(cmacHex); err != nil {
			return usagef("--cmac %q: want 32 hex digits", cmacHex)
		}
	} else {
		name := filepath.Base(local)
		if rawURL != "" {
			if u, err := url.Parse(rawURL); err == nil && u.Path != "" {
				name = filepath.Base(u.Path)
			}
		}
		if tag, err = fileTag(local, name, info); err != nil {
			return withHint(fmt.Errorf("cannot open %s with the given key: %w", local, err), "check --schema, the key and --iv: they must be those the file was encrypted with")
		}
	}
	if inline != "" {
		data, err := os.ReadFile(inline)
		if err != nil {
			return err
		}
		if len(data) > maxInline {
			return withHint(fmt.Errorf("%s is %d bytes: too large for --inline", inline, len(data)), "serve it over http(s) and give --url")
		}
		rawURL = sdk.DataURL(data)
	} else if err := checkURL(rawURL); err != nil {
		return err
	}
	s, err := a.openSession(&c)
	if err != nil {
		return err
	}
	defer s.Close()
	fe, ctx := s.frontend()
	resp, err := fe.RegisterInputFile(ctx, &frontendpb.RegisterInputFileRequest{Url: rawURL, Cmac: tag.Bytes(), CryptoInfo: wire(info)})
	if err != nil {
		return s.platformError("register input file", err)
	}
	return a.print(&out, map[string]string{"data_id": resp.DataId, "cmac": tag.String()}, func(w io.Writer) { fmt.Fprintln(w, resp.DataId) })
}

func runFileRegisterOutput(a *app, args []string) error {
	var c connFlags
	var out output
	var cf cryptoFlags
	var rawURL string
	f := a.newFlags("teaclave file register-output", "--url URL --key-file PATH [flags]", `
Registers where an output file goes (http(s) PUT or file URL) and the key it
is encrypted under, owned by you; prints its data id. Decrypt the result with
'teaclave decrypt' and the same key.`)
	f.StringVar(&rawURL, "url", "", "where the platform uploads the file")
	cf.register(f)
	c.register(f, true)
	out.register(f)
	if _, err := f.parseN(args); err != nil {
		return err
	}
	if rawURL == "" {
		return usagef("--url is required")
	}
	if err := checkURL(rawURL); err != nil {
		return err
	}
	info, err := cf.info(a)
	if err != nil {
		return err
	}
	s, err := a.openSession(&c)
	if err != nil {
		return err
	}
	defer s.Close()
	fe, ctx := s.frontend()
	resp, err := fe.RegisterOutputFile(ctx, &frontendpb.RegisterOutputFileRequest{Url: rawURL, CryptoInfo: wire(info)})
	if err != nil {
		return s.platformError("register output file", err)
	}
	return a.print(&out, map[string]string{"data_id": resp.DataId}, func(w io.Writer) { fmt.Fprintln(w, resp.DataId) })
}

func runFileFusion(a *app, args []string) error {
	var c connFlags
	var out output
	var owners multiFlag
	f := a.newFlags("teaclave file fusion", "--owner ID --owner ID... [flags]", `
Registers a fusion output: a file the platform keeps, owned jointly by at least
two users (you among them). A later task can read it as an input after
'teaclave file input-from-output'.`)
	f.Var(&owners, "owner", "owner `id` (repeatable; at least two, including you)")
	c.register(f, true)
	out.register(f)
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	owners = append(owners, pos...)
	if len(owners) < 2 {
		return usagef("a fusion output needs at least two --owner")
	}
	s, err := a.openSession(&c)
	if err != nil {
		return err
	}
	defer s.Close()
	fe, ctx := s.frontend()
	resp, err := fe.RegisterFusionOutput(ctx, &frontendpb.RegisterFusionOutputRequest{OwnerList: owners})
	if err != nil {
		return s.platformError("register fusion output", err)
	}
	return a.print(&out, map[string]string{"data_id": resp.DataId}, func(w io.Writer) { fmt.Fprintln(w, resp.DataId) })
}

func runFileInputFromOutput(a *app, args []string) error {
	var c connFlags
	var out output
	f := a.newFlags("teaclave file input-from-output", "OUTPUT_ID [flags]", "Registers a produced output file (one you own) as an input file; prints the input's data id.")
	c.register(f, true)
	out.register(f)
	pos, err := f.parseN(args, "OUTPUT_ID")
	if err != nil {
		return err
	}
	s, err := a.openSession(&c)
	if err != nil {
		return err
	}
	defer s.Close()
	fe, ctx := s.frontend()
	resp, err := fe.RegisterInputFromOutput(ctx, &frontendpb.RegisterInputFromOutputRequest{DataId: pos[0]})
	if err != nil {
		return s.platformError("register input from output "+pos[0], err)
	}
	return a.print(&out, map[string]string{"data_id": resp.DataId}, func(w io.Writer) { fmt.Fprintln(w, resp.DataId) })
}

// dataKind tells input ids from output ids by their prefix.
func dataKind(id string) (string, error) {
	switch {
	case strings.HasPrefix(id, "input-"):
		return "input", nil
	case strings.HasPrefix(id, "output-"):
		return "output", nil
	}
	return "", usagef("%q is not a data id (input-... or output-...)", id)
}

func runFileGet(a *app, args []string) error {
	var c connFlags
	var out output
	f := a.newFlags("teaclave file get", "DATA_ID [flags]", "Shows the owners and cmac of an input or output file you own (an output's cmac is empty until a task produced it).")
	c.register(f, true)
	out.register(f)
	pos, err := f.parseN(args, "DATA_ID")
	if err != nil {
		return err
	}
	kind, err := dataKind(pos[0])
	if err != nil {
		return err
	}
	s, err := a.openSession(&c)
	if err != nil {
		return err
	}
	defer s.Close()
	fe, ctx := s.frontend()
	var owners []string
	var cmac []byte
	if kind == "input" {
		r, err := fe.GetInputFile(ctx, &frontendpb.GetInputFileRequest{DataId: pos[0]})
		if err != nil {
			return s.platformError("get input file "+pos[0], err)
		}
		owners, cmac = r.Owner, r.Cmac
	} else {
		r, err := fe.GetOutputFile(ctx, &frontendpb.GetOutputFileRequest{DataId: pos[0]})
		if err != nil {
			return s.platformError("get output file "+pos[0], err)
		}
		owners, cmac = r.Owner, r.Cmac
	}
	v := map[string]any{"data_id": pos[0], "owners": nonNil(owners), "cmac": hex.EncodeToString(cmac)}
	return a.print(&out, v, func(w io.Writer) {
		fmt.Fprintf(w, "data id: %s\nowners:  %s\n", pos[0], strings.Join(owners, ", "))
		if len(cmac) > 0 {
			fmt.Fprintf(w, "cmac:    %x\n", cmac)
		} else {
			fmt.Fprintln(w, "cmac:    (not produced yet)")
		}
	})
}

func runFileUpdate(a *app, args []string) error {
	var c connFlags
	var out output
	var rawURL string
	f := a.newFlags("teaclave file update", "DATA_ID --url URL [flags]", "Registers a file you alone own again at a new URL, with the same key and cmac; prints the new data id (the old one stays valid).")
	f.StringVar(&rawURL, "url", "", "the new URL")
	c.register(f, true)
	out.register(f)
	pos, err := f.parseN(args, "DATA_ID")
	if err != nil {
		return err
	}
	if rawURL == "" {
		return usagef("--url is required")
	}
	if err := checkURL(rawURL); err != nil {
		return err
	}
	kind, err := dataKind(pos[0])
	if err != nil {
		return err
	}
	s, err := a.openSession(&c)
	if err != nil {
		return err
	}
	defer s.Close()
	fe, ctx := s.frontend()
	var id string
	if kind == "input" {
		r, err := fe.UpdateInputFile(ctx, &frontendpb.UpdateInputFileRequest{DataId: pos[0], Url: rawURL})
		if err != nil {
			return s.platformError("update input file "+pos[0], err)
		}
		id = r.DataId
	} else {
		r, err := fe.UpdateOutputFile(ctx, &frontendpb.UpdateOutputFileRequest{DataId: pos[0], Url: rawURL})
		if err != nil {
			return s.platformError("update output file "+pos[0], err)
		}
		id = r.DataId
	}
	return a.print(&out, map[string]string{"data_id": id}, func(w io.Writer) { fmt.Fprintln(w, id) })
}
