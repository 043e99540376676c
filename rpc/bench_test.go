//go:build !teaclave_production

package rpc_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/teaclave-go/teaclave/attestation"
	"github.com/teaclave-go/teaclave/rpc"
	"github.com/teaclave-go/teaclave/rpc/pb/accesscontrolpb"
	"github.com/teaclave-go/teaclave/rpc/rpctest"
)

// plainTLS returns server and client configurations of ordinary TLS with a
// self-signed ECDSA P-256 certificate the client pins as its root: the
// baseline for the attested transport, with the same key type and suites.
func plainTLS(b *testing.B) (server, client *tls.Config) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "plain"},
		DNSNames:     []string{"plain"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		b.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	server = &tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool, MinVersion: tls.VersionTLS12}
	client = &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, ServerName: "plain", MinVersion: tls.VersionTLS12}
	return server, client
}

// benchHandshakes runs b.N full mutual TLS handshakes over 127.0.0.1.
func benchHandshakes(b *testing.B, server, client *tls.Config) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer lis.Close()
	go func() {
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			go func() {
				tc := tls.Server(c, server)
				if tc.Handshake() == nil {
					tc.Write([]byte{1})
				}
				tc.Close()
			}()
		}
	}()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c, err := tls.Dial("tcp", lis.Addr().String(), client)
		if err != nil {
			b.Fatal(err)
		}
		// Read the server's byte: the server has verified us by then.
		if _, err := c.Read(make([]byte, 1)); err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
}

// BenchmarkHandshake compares a full mutual handshake between attested
// peers whose certificates the verifier has cached with plain TLS using
// the same key type.
func BenchmarkHandshake(b *testing.B) {
	b.Run("plain-tls", func(b *testing.B) {
		s, c := plainTLS(b)
		benchHandshakes(b, s, c)
	})
	b.Run("attested-cached", func(b *testing.B) {
		env := rpctest.NewEnv(b)
		server := env.Transport(b, attestation.ServiceStorage)
		client := env.Transport(b, attestation.ServiceManagement)
		benchHandshakes(b, server.ServerTLS(rpc.InternalEndpoint), client.ClientTLS(attestation.ServiceStorage))
	})
}

// BenchmarkRPC compares steady-state unary calls on one connection.
func BenchmarkRPC(b *testing.B) {
	run := func(b *testing.B, srv *grpc.Server, dial func(addr string) (*grpc.ClientConn, error)) {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		accesscontrolpb.RegisterTeaclaveAccessControlServer(srv, peerServer{})
		go srv.Serve(lis)
		defer srv.Stop()
		cc, err := dial(lis.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		defer cc.Close()
		client := accesscontrolpb.NewTeaclaveAccessControlClient(cc)
		req := &accesscontrolpb.AuthorizeApiRequest{UserRole: attestation.ServiceManagement, Api: "get_task"}
		ctx := context.Background()
		if _, err := client.AuthorizeApi(ctx, req); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := client.AuthorizeApi(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("plain-tls", func(b *testing.B) {
		s, c := plainTLS(b)
		run(b, grpc.NewServer(grpc.Creds(credentials.NewTLS(s))), func(addr string) (*grpc.ClientConn, error) {
			return grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(c)))
		})
	})
	b.Run("attested", func(b *testing.B) {
		env := rpctest.NewEnv(b)
		server := env.Transport(b, attestation.ServiceStorage)
		client := env.Transport(b, attestation.ServiceManagement)
		run(b, server.NewServer(rpc.InternalEndpoint), func(addr string) (*grpc.ClientConn, error) {
			return client.Dial(addr, attestation.ServiceStorage)
		})
	})
}
