package endorser

import (
	"context"
	"fmt"

	"google.golang.org/grpc"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/attestation"
	"github.com/teaclave-go/teaclave/rpc"
	"github.com/teaclave-go/teaclave/rpc/pb/ext/endorserpb"
)

// MaxGRPCMessage is the receive limit an endorser's gRPC server should set
// (grpc.MaxRecvMsgSize): a MaxQuoteSize quote and its framing fit, and a
// larger request is refused by gRPC before it is read whole.
const MaxGRPCMessage = attestation.MaxQuoteSize + 1024

type grpcServer struct {
	endorserpb.UnimplementedTeaclaveEndorserServer
	s *Service
}

// GRPC returns the gRPC form of the service (rpc/proto/ext/endorser.proto).
// Errors come back as gRPC statuses: INVALID_ARGUMENT for a bad quote,
// UNAVAILABLE when quotes cannot be verified now.
func (s *Service) GRPC() endorserpb.TeaclaveEndorserServer { return &grpcServer{s: s} }

// Register registers the gRPC form of s on srv.
func (s *Service) Register(srv grpc.ServiceRegistrar) {
	endorserpb.RegisterTeaclaveEndorserServer(srv, s.GRPC())
}

func (g *grpcServer) Endorse(ctx context.Context, req *endorserpb.EndorseRequest) (*endorserpb.EndorseResponse, error) {
	ev, err := g.s.Endorse(ctx, req.GetQuote())
	if err != nil {
		return nil, rpc.ToStatus(err)
	}
	return &endorserpb.EndorseResponse{Report: ev.Report, Signature: ev.Signature, Certs: ev.Certs}, nil
}

func (g *grpcServer) RootCertificate(context.Context, *endorserpb.RootCertificateRequest) (*endorserpb.RootCertificateResponse, error) {
	return &endorserpb.RootCertificateResponse{Certificate: g.s.id.Root.Raw}, nil
}

// GRPCClient sends quotes to an endorser over gRPC. It is an
// attestation.Endorser.
type GRPCClient struct {
	c endorserpb.TeaclaveEndorserClient
}

var _ attestation.Endorser = (*GRPCClient)(nil)

// NewGRPCClient returns a client on conn.
func NewGRPCClient(conn grpc.ClientConnInterface) *GRPCClient {
	return &GRPCClient{c: endorserpb.NewTeaclaveEndorserClient(conn)}
}

// Endorse sends quote and returns the signed report; status errors become
// *teaclave.Error of the matching kind.
func (c *GRPCClient) Endorse(ctx context.Context, quote []byte) (*attestation.EndorsedReport, error) {
	resp, err := c.c.Endorse(ctx, &endorserpb.EndorseRequest{Quote: quote})
	if err != nil {
		return nil, rpc.FromStatus(err)
	}
	if len(resp.GetReport()) == 0 || len(resp.GetSignature()) == 0 || len(resp.GetCerts()) == 0 ||
		len(resp.GetCerts()) > attestation.MaxEndorsementCerts {
		return nil, teaclave.Errorf(teaclave.KindInternal, "endorser: incomplete answer")
	}
	return &attestation.EndorsedReport{Report: resp.GetReport(), Signature: resp.GetSignature(), Certs: resp.GetCerts()}, nil
}

// RootCertificate returns the DER of the endorser's root certificate.
func (c *GRPCClient) RootCertificate(ctx context.Context) ([]byte, error) {
	resp, err := c.c.RootCertificate(ctx, &endorserpb.RootCertificateRequest{})
	if err != nil {
		return nil, rpc.FromStatus(err)
	}
	if len(resp.GetCertificate()) == 0 {
		return nil, fmt.Errorf("endorser: empty root certificate")
	}
	return resp.GetCertificate(), nil
}
