package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/teaclave-go/teaclave/attestation"
	"github.com/teaclave-go/teaclave/examples/deploy"
)

func enclaveInfoCommand() *command {
	return &command{name: "enclave-info", summary: "generate, sign and verify enclave_info.toml", sub: []*command{
		{name: "generate", summary: "write enclave info for simulated binaries", run: runEnclaveInfoGenerate},
		{name: "sign", summary: "sign enclave info as an auditor", run: runEnclaveInfoSign},
		{name: "verify", summary: "check auditors' signatures over enclave info and show it", run: runEnclaveInfoVerify},
	}}
}

// serviceName accepts a service's full name (teaclave_frontend_service) or
// its short one (frontend, access_control).
func serviceName(s string) (string, error) {
	for _, full := range attestation.Services() {
		if s == full || "teaclave_"+s+"_service" == full {
			return full, nil
		}
	}
	var short []string
	for _, full := range attestation.Services() {
		short = append(short, strings.TrimSuffix(strings.TrimPrefix(full, "teaclave_"), "_service"))
	}
	return "", usagef("unknown service %q (want one of %s)", s, strings.Join(short, ", "))
}

// readPEM returns the first PEM block of the file at path.
func readPEM(path string) (*pem.Block, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	b, _ := pem.Decode(data)
	if b == nil {
		return nil, fmt.Errorf("%s is not a PEM file", path)
	}
	return b, nil
}

// publicKeyOf reads a public key, or the public half of a private key,
// from a PEM file.
func publicKeyOf(path string) (crypto.PublicKey, error) {
	b, err := readPEM(path)
	if err != nil {
		return nil, err
	}
	switch b.Type {
	case "PUBLIC KEY":
		return x509.ParsePKIXPublicKey(b.Bytes)
	case "RSA PUBLIC KEY":
		return x509.ParsePKCS1PublicKey(b.Bytes)
	case "EC PRIVATE KEY":
		k, err := x509.ParseECPrivateKey(b.Bytes)
		if err != nil {
			return nil, err
		}
		return &k.PublicKey, nil
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(b.Bytes)
		if err != nil {
			return nil, err
		}
		return &k.PublicKey, nil
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
		if err != nil {
			return nil, err
		}
		switch k := k.(type) {
		case *ecdsa.PrivateKey:
			return &k.PublicKey, nil
		case *rsa.PrivateKey:
			return &k.PublicKey, nil
		}
		return nil, fmt.Errorf("%s: unsupported key type %T", path, k)
	}
	return nil, fmt.Errorf("%s: a PEM %q block is not a key", path, b.Type)
}

// rsaPrivateKey reads an auditor's RSA private key (PKCS#1 or PKCS#8 PEM).
func rsaPrivateKey(path string) (*rsa.PrivateKey, error) {
	b, err := readPEM(path)
	if err != nil {
		return nil, err
	}
	switch b.Type {
	case "RSA PRIVATE KEY":
		return x509.ParsePKCS1PrivateKey(b.Bytes)
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
		if err != nil {
			return nil, err
		}
		if rk, ok := k.(*rsa.PrivateKey); ok {
			return rk, nil
		}
		return nil, fmt.Errorf("%s is not an RSA key", path)
	}
	return nil, fmt.Errorf("%s: want an RSA private key (PEM), got a %q block", path, b.Type)
}

// writeNew writes data to path with mode perm, replacing an existing file
// only when force is set.
func writeNew(path string, data []byte, perm os.FileMode, force bool) error {
	flag := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		flag = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(path, flag, perm)
	if errors.Is(err, os.ErrExist) {
		return withHint(fmt.Errorf("%s exists", path), "give --force to replace it, or another -o")
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func runEnclaveInfoGenerate(a *app, args []string) error {
	var out output
	var signer, outPath, dataDir string
	var force bool
	f := a.newFlags("teaclave enclave-info generate", "{--signer KEY.pem [-o FILE] | --data-dir DIR} SERVICE=BINARY...", `
Writes enclave_info.toml for simulated binaries (development builds only): each
service's mr_enclave is the SHA-256 of its binary and every mr_signer is the
SHA-256 of the signing key's public key (PKIX DER), as the simulated attestor
reports them. SERVICE is a full name (teaclave_frontend_service) or a short one
(frontend). For SGX binaries, take the values from 'ego uniqueid' and
'ego signerid' instead. Sign the result with 'teaclave enclave-info sign'.

With --data-dir, prepares the shared data folder of a multi-process
development deployment instead (docs/deploy.md): it creates the development
trust material there if it is missing, writes the enclave info for the given
binaries and signs it with the development auditor's key, in one step.`)
	f.StringVar(&signer, "signer", "", "the enclave signing key (PEM: public key, or the private key it comes from)")
	f.StringVar(&dataDir, "data-dir", "", "a multi-process development deployment's data `folder` to write and sign the enclave info in")
	f.StringVar(&outPath, "o", "enclave_info.toml", "output `file`; - for standard output")
	f.BoolVar(&force, "force", false, "replace an existing output file")
	out.register(f)
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if (signer == "") == (dataDir == "") {
		return usagef("give --signer or --data-dir (one of them)")
	}
	if len(pos) == 0 {
		return usagef("give at least one SERVICE=BINARY (e.g. frontend=./platform)")
	}
	executables := map[string]string{}
	for _, p := range pos {
		s, bin, ok := strings.Cut(p, "=")
		if !ok || bin == "" {
			return usagef("%q: want SERVICE=BINARY", p)
		}
		name, err := serviceName(s)
		if err != nil {
			return err
		}
		if _, dup := executables[name]; dup {
			return usagef("service %s given twice", name)
		}
		executables[name] = bin
	}
	if dataDir != "" {
		if err := writeDevelopmentEnclaveInfo(dataDir, executables); err != nil {
			return err
		}
		return a.print(&out, map[string]any{"data_dir": dataDir, "services": len(executables)}, func(w io.Writer) {
			fmt.Fprintf(w, "Wrote and signed the enclave info of %d services in %s.\n", len(executables), dataDir)
		})
	}
	pub, err := publicKeyOf(signer)
	if err != nil {
		return fmt.Errorf("signer key: %w", err)
	}
	info, err := simulatedEnclaveInfo(executables, pub)
	if err != nil {
		return err
	}
	if outPath == "-" {
		_, err := a.stdout.Write(info)
		return err
	}
	if err := writeNew(outPath, info, 0o644, force); err != nil {
		return err
	}
	return a.print(&out, map[string]any{"file": outPath, "services": len(executables)}, func(w io.Writer) {
		fmt.Fprintf(w, "Wrote %s (%d services).\n", outPath, len(executables))
	})
}

// auditorName is the auditor name a key file's name suggests:
// auditors/alice.key.pem is alice.
func auditorName(keyPath string) string {
	n := filepath.Base(keyPath)
	for _, suffix := range []string{".pem", ".key", ".private", ".priv"} {
		n = strings.TrimSuffix(n, suffix)
	}
	if n == "" {
		return "auditor"
	}
	return n
}

func runEnclaveInfoSign(a *app, args []string) error {
	var out output
	var key, outPath string
	var force bool
	f := a.newFlags("teaclave enclave-info sign", "--key AUDITOR.pem [-o SIGNATURE] ENCLAVE_INFO", `
Signs the exact bytes of an enclave_info.toml as an auditor (RSA PKCS#1 v1.5
over SHA-256, as 'openssl dgst -sha256 -sign' writes it) and writes the raw
signature to NAME.sign.sha256, NAME being the key file's name (alice.key.pem
gives alice.sign.sha256), unless -o says otherwise.`)
	f.StringVar(&key, "key", "", "the auditor's RSA private key (PEM)")
	f.StringVar(&outPath, "o", "", "signature `file` (default NAME.sign.sha256 in the current folder)")
	f.BoolVar(&force, "force", false, "replace an existing signature file")
	out.register(f)
	pos, err := f.parseN(args, "ENCLAVE_INFO")
	if err != nil {
		return err
	}
	if key == "" {
		return usagef("--key is required")
	}
	data, err := os.ReadFile(pos[0])
	if err != nil {
		return err
	}
	if _, err := attestation.ParseEnclaveInfo(data); err != nil {
		return withHint(fmt.Errorf("%s: %w", pos[0], err), "sign only well-formed enclave info: see 'teaclave enclave-info generate'")
	}
	priv, err := rsaPrivateKey(key)
	if err != nil {
		return fmt.Errorf("auditor key: %w", err)
	}
	sig, err := attestation.SignEnclaveInfo(data, priv)
	if err != nil {
		return err
	}
	if outPath == "" {
		outPath = auditorName(key) + ".sign.sha256"
	}
	if err := writeNew(outPath, sig, 0o644, force); err != nil {
		return err
	}
	return a.print(&out, map[string]string{"file": outPath}, func(w io.Writer) { fmt.Fprintf(w, "Wrote %s.\n", outPath) })
}

// measurementView is a service's measurement as verify prints it.
type measurementView struct {
	MREnclave string `json:"mr_enclave"`
	MRSigner  string `json:"mr_signer"`
}

func runEnclaveInfoVerify(a *app, args []string) error {
	var out output
	var keys, sigs multiFlag
	var threshold int
	var dataDir string
	f := a.newFlags("teaclave enclave-info verify", "(--auditor-key PEM --signature SIG)... [--threshold N] ENCLAVE_INFO | --data-dir DIR", `
Checks auditors' signatures over an enclave_info.toml, as the platform and the
CLI do before trusting it, and prints the services' measurements. At least
--threshold distinct auditors (default: every --auditor-key) must have signed.
--data-dir checks the files a development platform wrote into its data folder.`)
	f.Var(&keys, "auditor-key", "auditor public key `PEM` (repeatable)")
	f.Var(&sigs, "signature", "signature `file` (repeatable)")
	f.IntVar(&threshold, "threshold", 0, "distinct auditor signatures required (default: all keys)")
	f.StringVar(&dataDir, "data-dir", "", "verify the enclave info of a development platform's data `folder`")
	out.register(f)
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	var infoPath string
	switch {
	case dataDir != "" && len(pos) == 0 && len(keys) == 0 && len(sigs) == 0:
		infoPath = filepath.Join(dataDir, deploy.EnclaveInfoFile)
		keys = multiFlag{filepath.Join(dataDir, deploy.AuditorDir, deploy.AuditorName+".public.pem")}
		sigs = multiFlag{filepath.Join(dataDir, deploy.AuditorDir, deploy.AuditorName+".sign.sha256")}
	case dataDir != "":
		return usagef("--data-dir replaces ENCLAVE_INFO, --auditor-key and --signature")
	case len(pos) != 1:
		return usagef("give one ENCLAVE_INFO file (or --data-dir)")
	default:
		infoPath = pos[0]
		if len(keys) == 0 || len(sigs) == 0 {
			return usagef("give at least one --auditor-key and one --signature")
		}
	}
	data, err := os.ReadFile(infoPath)
	if err != nil {
		return err
	}
	var auditors []attestation.Auditor
	for _, k := range keys {
		pemData, err := os.ReadFile(k)
		if err != nil {
			return err
		}
		pub, err := attestation.ParseRSAPublicKeyPEM(pemData)
		if err != nil {
			return fmt.Errorf("auditor key %s: %w", k, err)
		}
		auditors = append(auditors, attestation.Auditor{Name: auditorName(k), Key: pub})
	}
	var signatures [][]byte
	for _, s := range sigs {
		b, err := os.ReadFile(s)
		if err != nil {
			return err
		}
		signatures = append(signatures, b)
	}
	if threshold == 0 {
		threshold = len(auditors)
	}
	if threshold < 1 || threshold > len(auditors) {
		return usagef("--threshold %d: want 1..%d", threshold, len(auditors))
	}
	if err := attestation.VerifyAuditorSignatures(data, signatures, auditors, threshold); err != nil {
		return withHint(fmt.Errorf("%s does not verify: %w", infoPath, err), "do not trust this enclave info: it was changed after signing, or signed by another key")
	}
	info, err := attestation.ParseEnclaveInfo(data)
	if err != nil {
		return err
	}
	services := map[string]measurementView{}
	for name, m := range info.Measurements() {
		services[name] = measurementView{MREnclave: hex.EncodeToString(m.MREnclave[:]), MRSigner: hex.EncodeToString(m.MRSigner[:])}
	}
	return a.print(&out, map[string]any{"verified": true, "signatures": len(signatures), "threshold": threshold, "services": services}, func(w io.Writer) {
		fmt.Fprintf(w, "%s: signed by %d auditor(s), threshold %d: OK\n", infoPath, len(signatures), threshold)
		for _, name := range info.Services() {
			m := services[name]
			fmt.Fprintf(w, "%s\n  mr_enclave %s\n  mr_signer  %s\n", name, m.MREnclave, m.MRSigner)
		}
	})
}
