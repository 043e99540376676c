// Command attestation-service is the endorsing attestation service of SGX
// deployments (package attestation/endorser): an EGo enclave that verifies
// services' quotes with enclave.VerifyRemoteReport and answers Teaclave's
// signed report, over Teaclave's HTTPS protocol and over gRPC.
//
// Build, sign and run it in SGX from its folder, where enclave.json names
// the binary and the signing key (docs/sgx.md):
//
//	cd examples/attestation-service
//	ego-go build -trimpath -tags teaclave_production -o attestation-service .
//	ego sign enclave.json
//	ego run attestation-service -hosts teaclave-attestation-service -root-out /var/lib/teaclave-attestation-service/root.pem
//
// Its RSA root and signing keys are generated inside the enclave at first
// start and sealed to -identity with the enclave's product seal key; the
// root certificate, written to -root-out, is the one services and clients
// pin. With -root-out, the file root.pem.report beside it holds EGo's remote
// report whose report data is the SHA-256 of the root certificate's DER
// (then 32 zero bytes): evidence that the root was made in this enclave
// (check its verified claims with endorser.CheckRootEvidence).
//
// -verifier insecure-dev runs it without SGX for development (not in
// teaclave_production builds): quotes are checked for shape only, the
// identity is sealed with a key file, and its root must be marked
// simulated.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/teaclave-go/teaclave/attestation"
	"github.com/teaclave-go/teaclave/attestation/endorser"
	"github.com/teaclave-go/teaclave/attestation/sgx"
	"github.com/teaclave-go/teaclave/rpc"
)

// Default listen addresses: the HTTPS port Teaclave's attestation.url names
// by default, and the next one for gRPC.
const (
	defaultListen     = ":443"
	defaultGRPCListen = ":8444"
	defaultDataDir    = "/var/lib/teaclave-attestation-service"
)

type options struct {
	verifier   string
	dataDir    string
	identity   string
	sealKey    string
	keyBits    int
	listen     string
	grpcListen string
	hosts      string
	rootOut    string
	printRoot  bool
	tlsDays    int
	// stdout receives -print-root's output.
	stdout io.Writer
	// ready, if set, is called with the listening addresses once both
	// servers accept connections (tests).
	ready func(httpAddr, grpcAddr net.Addr)
}

func main() {
	var o options
	flag.StringVar(&o.verifier, "verifier", "ego", `quote verifier: "ego" (SGX: enclave.VerifyRemoteReport) or "insecure-dev" (development without SGX, INSECURE)`)
	flag.StringVar(&o.dataDir, "data-dir", defaultDataDir, "folder of the sealed identity")
	flag.StringVar(&o.identity, "identity", "", "sealed identity file (default DATA-DIR/identity.sealed, or identity-dev.sealed with -verifier insecure-dev)")
	flag.StringVar(&o.sealKey, "seal-key-file", "", "insecure-dev only: key file of the simulated sealer (default DATA-DIR/seal-dev.key)")
	flag.IntVar(&o.keyBits, "key-bits", 3072, "RSA size of the root and signing keys, when they are created")
	flag.StringVar(&o.listen, "listen", defaultListen, "HTTPS listen address for Teaclave's protocol (empty: none)")
	flag.StringVar(&o.grpcListen, "grpc-listen", defaultGRPCListen, "gRPC listen address (empty: none)")
	flag.StringVar(&o.hosts, "hosts", "localhost", "comma-separated host names and IP addresses of the TLS certificate")
	flag.StringVar(&o.rootOut, "root-out", "", "write the root certificate (PEM) here, and in SGX its evidence to FILE.report")
	flag.BoolVar(&o.printRoot, "print-root", false, "print the root certificate (PEM) and exit")
	flag.IntVar(&o.tlsDays, "tls-days", 365, "validity of the TLS certificate issued at each start, in days")
	flag.Parse()
	o.stdout = os.Stdout
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, logger); err != nil {
		logger.Error("attestation service failed", "error", err)
		os.Exit(1)
	}
}

// mode is what the verifier flag selects: the quote verifier, the sealer
// of the identity, and whether the root is simulated.
type mode struct {
	verifier  endorser.QuoteVerifier
	sealer    attestation.Sealer
	simulated bool
	identity  string
}

func selectMode(o options, logger *slog.Logger) (*mode, error) {
	switch o.verifier {
	case "ego":
		v, err := endorser.NewEGoVerifier()
		if err != nil {
			return nil, fmt.Errorf("-verifier ego: %w (run it with `ego run`, or use -verifier insecure-dev for development)", err)
		}
		return &mode{verifier: v, sealer: sgx.NewSealer(), identity: "identity.sealed"}, nil
	case "insecure-dev":
		return devMode(o, logger)
	}
	return nil, fmt.Errorf(`-verifier %q: want "ego" or "insecure-dev"`, o.verifier)
}

func run(ctx context.Context, o options, logger *slog.Logger) error {
	m, err := selectMode(o, logger)
	if err != nil {
		return err
	}
	path := o.identity
	if path == "" {
		path = filepath.Join(o.dataDir, m.identity)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("data folder: %w", err)
	}
	id, created, err := endorser.LoadOrCreateIdentity(ctx, path, m.sealer, endorser.IdentityOptions{KeyBits: o.keyBits})
	if err != nil {
		return err
	}
	logger.Info("attestation service identity", "created", created, "file", path, "root_sha256", id.RootFingerprint(), "simulated", m.simulated)
	if o.printRoot {
		_, err := o.stdout.Write(id.RootPEM())
		return err
	}
	if o.rootOut != "" {
		if err := writeRoot(ctx, o.rootOut, id, m.simulated); err != nil {
			return err
		}
	}
	svc, err := endorser.New(endorser.Config{Identity: id, Verifier: m.verifier, Logger: logger})
	if err != nil {
		return err
	}
	var hosts []string
	for h := range strings.SplitSeq(o.hosts, ",") {
		if h = strings.TrimSpace(h); h != "" {
			hosts = append(hosts, h)
		}
	}
	if o.listen == "" && o.grpcListen == "" {
		return errors.New("nothing to serve: -listen and -grpc-listen are both empty")
	}
	if o.tlsDays < 1 || o.tlsDays > 3650 {
		return fmt.Errorf("-tls-days %d: want 1 to 3650", o.tlsDays)
	}
	cert, err := id.TLSCertificate(hosts, time.Duration(o.tlsDays)*24*time.Hour)
	if err != nil {
		return err
	}
	// TLS 1.2 with ECDHE and an AEAD only, as the attested transport.
	tlsConfig := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, CipherSuites: rpc.TLS12CipherSuites()}
	// Listen on both before serving either, so a bad address leaves
	// nothing running.
	var httpLis, grpcLis net.Listener
	if o.listen != "" {
		if httpLis, err = net.Listen("tcp", o.listen); err != nil {
			return err
		}
		defer httpLis.Close()
	}
	if o.grpcListen != "" {
		if grpcLis, err = net.Listen("tcp", o.grpcListen); err != nil {
			return err
		}
		defer grpcLis.Close()
	}
	errc := make(chan error, 2)
	var httpSrv *http.Server
	var httpAddr, grpcAddr net.Addr
	if httpLis != nil {
		lis := httpLis
		httpSrv = &http.Server{
			Handler:           svc.Handler(),
			TLSConfig:         tlsConfig.Clone(), // http.Server edits its own
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      60 * time.Second,
			IdleTimeout:       60 * time.Second,
			MaxHeaderBytes:    16 << 10,
			ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		}
		httpAddr = lis.Addr()
		logger.Info("serving Teaclave's attestation protocol", "address", httpAddr.String(), "path", endorser.ReportPath)
		go func() { errc <- httpSrv.ServeTLS(lis, "", "") }()
	}
	var grpcSrv *grpc.Server
	if grpcLis != nil {
		lis := grpcLis
		grpcSrv = grpc.NewServer(grpc.Creds(credentials.NewTLS(tlsConfig.Clone())), grpc.MaxRecvMsgSize(endorser.MaxGRPCMessage),
			grpc.ConnectionTimeout(10*time.Second))
		svc.Register(grpcSrv)
		grpcAddr = lis.Addr()
		logger.Info("serving gRPC", "address", grpcAddr.String())
		go func() { errc <- grpcSrv.Serve(lis) }()
	}
	if o.ready != nil {
		o.ready(httpAddr, grpcAddr)
	}
	select {
	case <-ctx.Done():
		logger.Info("stopping")
	case err = <-errc:
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if httpSrv != nil {
		_ = httpSrv.Shutdown(shutdown)
	}
	if grpcSrv != nil {
		// Calls in flight get the same grace as the HTTP server; a
		// client that never ends its call must not hold the stop.
		stopped := make(chan struct{})
		go func() { grpcSrv.GracefulStop(); close(stopped) }()
		select {
		case <-stopped:
		case <-shutdown.Done():
			grpcSrv.Stop()
		}
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// writeRoot writes the root PEM and, in SGX, the evidence binding it to this
// enclave: EGo's remote report whose report data is SHA-256(root DER) and
// 32 zero bytes.
func writeRoot(ctx context.Context, path string, id *endorser.Identity, simulated bool) error {
	if err := os.WriteFile(path, id.RootPEM(), 0o644); err != nil {
		return fmt.Errorf("write root: %w", err)
	}
	if simulated {
		return nil
	}
	report, err := sgx.NewQuoter().Quote(ctx, endorser.RootReportData(id.Root))
	if err != nil {
		return fmt.Errorf("evidence of the root: %w", err)
	}
	if err := os.WriteFile(path+".report", report, 0o644); err != nil {
		return fmt.Errorf("write root evidence: %w", err)
	}
	return nil
}
