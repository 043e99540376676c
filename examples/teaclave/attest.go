package main

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/teaclave-go/teaclave/attestation"
)

func attestCommand() *command {
	return &command{name: "attest", summary: "connect to an endpoint and show its verified attestation", run: runAttest}
}

// attestView is what attest prints.
type attestView struct {
	Address   string   `json:"address"`
	Services  []string `json:"services"`
	MREnclave string   `json:"mr_enclave"`
	MRSigner  string   `json:"mr_signer"`
	ISVProdID uint16   `json:"isv_prod_id"`
	ISVSVN    uint16   `json:"isv_svn"`
	Debug     bool     `json:"debug"`
	Status    string   `json:"quote_status"`
	Timestamp string   `json:"report_timestamp"`
	ReportID  string   `json:"report_id"`
	Root      string   `json:"root"`
	Simulated bool     `json:"simulated"`
	// KeySHA256 identifies the attested TLS key (SHA-256 of X‖Y).
	KeySHA256 string `json:"tls_key_sha256"`
	NotAfter  string `json:"certificate_not_after"`
}

func runAttest(a *app, args []string) error {
	var c connFlags
	var out output
	var service string
	var timeout time.Duration
	f := a.newFlags("teaclave attest", "[--service NAME] [flags] ADDR", `
Connects to the attested TLS endpoint at ADDR (host:port), verifies its
certificate as every client does (the report's signature chains to the pinned
attestation root, its status and age are accepted, it binds the TLS key, and
its measurement is in the auditor-signed enclave info) and prints the verified
report and the services that measurement may act as. With --service, the
endpoint must be that service. Nothing else is sent.`)
	f.StringVar(&service, "service", "", "require this service (full or short name, e.g. frontend)")
	f.DurationVar(&timeout, "timeout", 10*time.Second, "connection `timeout`")
	c.register(f, false)
	out.register(f)
	pos, err := f.parseN(args, "ADDR")
	if err != nil {
		return err
	}
	addr := pos[0]
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return usagef("%q is not host:port", addr)
	}
	if service != "" {
		if service, err = serviceName(service); err != nil {
			return err
		}
	}
	t, err := c.trust(a)
	if err != nil {
		return err
	}
	v := t.Verifier()
	var raw [][]byte
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: timeout}, Config: &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"h2"},
		// The certificate is self-signed: trust comes from the attestation
		// evidence, verified below before anything is believed.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			for _, cert := range cs.PeerCertificates {
				raw = append(raw, cert.Raw)
			}
			return nil
		},
	}}
	conn, err := d.DialContext(a.ctx, "tcp", addr)
	if err != nil {
		return withHint(fmt.Errorf("connect to %s: %w", addr, err), "is the platform running at this address?")
	}
	conn.Close()
	now := time.Now()
	var report *attestation.Report
	if service != "" {
		report, err = v.VerifyService(now, raw, service)
	} else {
		report, err = v.VerifyPeer(now, raw)
	}
	if err != nil {
		return withHint(fmt.Errorf("%s failed attestation: %w", addr, err), "do not send it anything; check that --data-dir (or --root and the enclave info) belongs to this platform")
	}
	services, ok := v.EnclaveInfo().Lookup(report.Measurement())
	if !ok {
		return withHint(fmt.Errorf("%s: its measurement is not in the enclave info", addr), "it is not a service the auditors signed for")
	}
	cert, err := attestation.ParseCertificate(raw[0])
	if err != nil {
		return err
	}
	keySum := sha256.Sum256(cert.PublicKey[:])
	view := attestView{
		Address: addr, Services: services,
		MREnclave: hex.EncodeToString(report.MREnclave[:]), MRSigner: hex.EncodeToString(report.MRSigner[:]),
		ISVProdID: report.ISVProdID, ISVSVN: report.ISVSVN, Debug: report.Debug, Status: report.Status,
		Timestamp: report.Timestamp.UTC().Format(time.RFC3339), ReportID: report.ID, Root: report.Root, Simulated: report.Simulated,
		KeySHA256: hex.EncodeToString(keySum[:]), NotAfter: cert.Leaf.NotAfter.UTC().Format(time.RFC3339),
	}
	return a.print(&out, view, func(w io.Writer) {
		fmt.Fprintf(w, "%s: attestation verified\n", addr)
		if view.Simulated {
			fmt.Fprintln(w, "  WARNING: simulated attestation (development platform): no hardware protection")
		}
		fmt.Fprintf(w, "  services     %s\n  mr_enclave   %s\n  mr_signer    %s\n  isv_prod_id  %d\n  isv_svn      %d\n  debug        %t\n  status       %s\n  reported at  %s\n  report id    %s\n  root         %s\n  tls key      sha256:%s\n",
			strings.Join(view.Services, ", "), view.MREnclave, view.MRSigner, view.ISVProdID, view.ISVSVN, view.Debug, view.Status, view.Timestamp, view.ReportID, view.Root, view.KeySHA256)
	})
}
