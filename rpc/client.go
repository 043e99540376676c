package rpc

import (
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/teaclave-go/teaclave/attestation"
)

// DialAPI returns a connection to the api endpoint of service at addr for a
// client that is not an enclave (an SDK, the CLI): it presents no
// certificate and accepts the server only if verifier attests it as
// service (the root and auditor-signed enclave info the verifier was built
// from are what the client pins). now may be nil for time.Now.
func DialAPI(addr, service string, verifier *attestation.Verifier, now func() time.Time, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	if verifier == nil {
		return nil, errors.New("rpc: DialAPI needs a verifier")
	}
	if now == nil {
		now = time.Now
	}
	creds := &attestedCreds{TransportCredentials: credentials.NewTLS(pinnedClientTLS(verifier, now, service)), verifier: verifier, now: now, service: service}
	base := []grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxMessageSize), grpc.MaxCallSendMsgSize(MaxMessageSize)),
		grpc.WithChainUnaryInterceptor(UnaryClientErrors),
	}
	cc, err := grpc.NewClient(addr, append(base, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("rpc: dial %s at %s: %w", service, addr, err)
	}
	return cc, nil
}
