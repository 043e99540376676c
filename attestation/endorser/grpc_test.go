package endorser_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/attestation"
	"github.com/teaclave-go/teaclave/attestation/endorser"
	"github.com/teaclave-go/teaclave/rpc/pb/ext/endorserpb"
)

// startGRPC serves s over TLS on 127.0.0.1:0 and returns a connection
// that pins the endorser's root.
func startGRPC(t *testing.T, s *endorser.Service) *grpc.ClientConn {
	t.Helper()
	cert, err := s.Identity().TLSCertificate([]string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})),
		grpc.MaxRecvMsgSize(endorser.MaxGRPCMessage))
	s.Register(srv)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(),
		grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: rootPool(s.Identity()), ServerName: "127.0.0.1"})),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(4<<20)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func TestGRPCEndorse(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stub := &stubVerifier{status: attestation.StatusSWHardeningNeeded}
	conn := startGRPC(t, newService(t, stub))
	c := endorser.NewGRPCClient(conn)
	_, rd := newKey(t)
	body := testBody(rd)
	ev, err := c.Endorse(ctx, oeReport(t, body))
	if err != nil {
		t.Fatal(err)
	}
	sr, err := attestation.ParseServiceReport(ev.Report)
	if err != nil || sr.Quote != body || sr.Status != attestation.StatusSWHardeningNeeded {
		t.Fatalf("%+v %v", sr, err)
	}
	id := identities()[0]
	if _, err := policyFor(t, id).VerifyEndorsement(fixedNow, ev); err != nil {
		t.Fatal(err)
	}
	if _, err := policyFor(t, identities()[1]).VerifyEndorsement(fixedNow, ev); !errors.Is(err, attestation.ErrUnknownRoot) {
		t.Fatalf("another root: %v", err)
	}
	root, err := c.RootCertificate(ctx)
	if err != nil || !bytes.Equal(root, id.Root.Raw) {
		t.Fatalf("root: %v", err)
	}
	good := oeReport(t, body)
	raw := endorserpb.NewTeaclaveEndorserClient(conn)
	for name, tc := range map[string]struct {
		quote []byte
		code  codes.Code
	}{
		"empty":            {nil, codes.InvalidArgument},
		"malformed":        {[]byte("quote"), codes.InvalidArgument},
		"truncated":        {good[:len(good)-1], codes.InvalidArgument},
		"bare body":        {good[16 : 16+432], codes.InvalidArgument},
		"over the cap":     {make([]byte, attestation.MaxQuoteSize+1), codes.InvalidArgument},
		"over the message": {make([]byte, endorser.MaxGRPCMessage+1), codes.ResourceExhausted},
	} {
		_, err := raw.Endorse(ctx, &endorserpb.EndorseRequest{Quote: tc.quote})
		if status.Code(err) != tc.code {
			t.Errorf("%s: %v, want %v", name, err, tc.code)
		}
	}
	if _, err := c.Endorse(ctx, []byte("quote")); teaclave.KindOf(err) != teaclave.KindInvalidArgument {
		t.Fatalf("client error kind: %v", err)
	}
	if n := stub.calls.Load(); n != 1 {
		t.Fatalf("verifier called %d times", n)
	}
	for err, code := range map[error]codes.Code{
		endorser.ErrUnavailable:   codes.Unavailable,
		endorser.ErrQuoteRejected: codes.InvalidArgument,
		errors.New("boom"):        codes.Internal,
	} {
		conn := startGRPC(t, newService(t, &stubVerifier{err: err}))
		_, e := endorserpb.NewTeaclaveEndorserClient(conn).Endorse(ctx, &endorserpb.EndorseRequest{Quote: good})
		if status.Code(e) != code || bytes.Contains([]byte(e.Error()), []byte("boom")) {
			t.Errorf("%v: %v, want %v", err, e, code)
		}
	}
}
