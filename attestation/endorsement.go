package attestation

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"
)

// MaxEndorsementCerts bounds the signing chain an endorsed report may carry.
const MaxEndorsementCerts = 4

// EndorsedReport is the payload of the RA-TLS certificate's extension
// (§16.2): the attestation service's exact response body, its signature, and
// the DER signing chain, signing certificate first. On the wire it is
// {"report":[..],"signature":[..],"certs":[[..],..]} with every byte string a
// JSON array of integers.
type EndorsedReport struct {
	Report    []byte
	Signature []byte
	Certs     [][]byte
}

// ParseEndorsedReport decodes the extension payload strictly: report,
// signature and certs are all required (so the legacy signing_cert form is
// refused), duplicate keys are refused, unknown keys are ignored as Teaclave
// does.
func ParseEndorsedReport(data []byte) (*EndorsedReport, error) {
	var e EndorsedReport
	var haveReport, haveSig, haveCerts bool
	err := walkObject(data, func(key string, v json.RawMessage) error {
		var err error
		switch key {
		case "report":
			haveReport = true
			e.Report, err = parseByteArray(v)
		case "signature":
			haveSig = true
			e.Signature, err = parseByteArray(v)
		case "certs":
			haveCerts = true
			list, err := splitArray(v, MaxEndorsementCerts)
			if err != nil {
				return fmt.Errorf("certs: %w", err)
			}
			e.Certs = make([][]byte, len(list))
			for i, c := range list {
				if e.Certs[i], err = parseByteArray(c); err != nil {
					return fmt.Errorf("certs[%d]: %w", i, err)
				}
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedEvidence, err)
	}
	switch {
	case !haveReport:
		return nil, fmt.Errorf("%w: missing key report", ErrMalformedEvidence)
	case !haveSig:
		return nil, fmt.Errorf("%w: missing key signature", ErrMalformedEvidence)
	case !haveCerts:
		return nil, fmt.Errorf("%w: missing key certs", ErrMalformedEvidence)
	}
	return &e, nil
}

// Marshal encodes e as Teaclave does (serde_json, compact, keys in the order
// report, signature, certs).
func (e *EndorsedReport) Marshal() []byte {
	n := 40 + 4*(len(e.Report)+len(e.Signature))
	for _, c := range e.Certs {
		n += 4*len(c) + 3
	}
	b := make([]byte, 0, n)
	b = append(b, `{"report":`...)
	b = appendByteArray(b, e.Report)
	b = append(b, `,"signature":`...)
	b = appendByteArray(b, e.Signature)
	b = append(b, `,"certs":[`...)
	for i, c := range e.Certs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendByteArray(b, c)
	}
	return append(b, "]}"...)
}

// rootPool is a policy root with its single-certificate pool, so that the
// verifier knows which root (simulated or not) a chain ended at.
type rootPool struct {
	Root
	pool *x509.CertPool
}

func newRootPools(roots []Root) []rootPool {
	out := make([]rootPool, len(roots))
	for i, r := range roots {
		pool := x509.NewCertPool()
		pool.AddCert(r.Cert)
		out[i] = rootPool{Root: r, pool: pool}
	}
	return out
}

// endorsementResult is what a verified signing chain tells: which root, the
// signing key, and the period in which the chain is valid.
type endorsementResult struct {
	root      Root
	key       *rsa.PublicKey
	notBefore time.Time
	notAfter  time.Time
}

// chainCacheSize bounds the verifier's cache of verified signing chains
// (one per attestation service signing certificate in practice).
const chainCacheSize = 64

// chainCache remembers verified signing chains by the hash of their DER, so
// that a new peer endorsed by a known attestation service costs one RSA
// verification (its report signature) instead of two.
type chainCache struct {
	mu      sync.Mutex
	entries map[[32]byte]endorsementResult
}

func chainKey(certs [][]byte) [32]byte {
	h := sha256.New()
	var n [8]byte
	for _, c := range certs {
		binary.BigEndian.PutUint64(n[:], uint64(len(c)))
		h.Write(n[:])
		h.Write(c)
	}
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// verifyEndorsement checks that certs[0] chains to one of roots at now (with
// certs[1:] as intermediates) and that the signature over the report bytes
// verifies under it (RSA PKCS#1 v1.5 SHA-256, 2048 to 8192 bits). cache may
// be nil.
func verifyEndorsement(now time.Time, roots []rootPool, e *EndorsedReport, cache *chainCache) (endorsementResult, error) {
	if len(e.Certs) == 0 {
		return endorsementResult{}, fmt.Errorf("%w: no signing certificate", ErrMalformedEvidence)
	}
	var key [32]byte
	var res endorsementResult
	hit := false
	if cache != nil {
		key = chainKey(e.Certs)
		cache.mu.Lock()
		res, hit = cache.entries[key]
		cache.mu.Unlock()
		hit = hit && !now.Before(res.notBefore) && !now.After(res.notAfter)
	}
	if !hit {
		var err error
		if res, err = verifyChain(now, roots, e.Certs); err != nil {
			return endorsementResult{}, err
		}
		if cache != nil {
			cache.mu.Lock()
			if len(cache.entries) >= chainCacheSize {
				clear(cache.entries)
			}
			cache.entries[key] = res
			cache.mu.Unlock()
		}
	}
	digest := sha256.Sum256(e.Report)
	if err := rsa.VerifyPKCS1v15(res.key, crypto.SHA256, digest[:], e.Signature); err != nil {
		return endorsementResult{}, fmt.Errorf("%w: %w", ErrBadReportSignature, err)
	}
	return res, nil
}

func verifyChain(now time.Time, roots []rootPool, ders [][]byte) (endorsementResult, error) {
	certs := make([]*x509.Certificate, len(ders))
	for i, der := range ders {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return endorsementResult{}, fmt.Errorf("%w: certs[%d]: %w", ErrMalformedEvidence, i, err)
		}
		certs[i] = c
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	var chainErr error
	for _, r := range roots {
		chains, err := certs[0].Verify(x509.VerifyOptions{
			Roots:         r.pool,
			Intermediates: inter,
			CurrentTime:   now,
			KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
		})
		if err != nil {
			var unknown x509.UnknownAuthorityError
			if !errors.As(err, &unknown) && chainErr == nil {
				chainErr = err
			}
			continue
		}
		pub, ok := certs[0].PublicKey.(*rsa.PublicKey)
		if !ok {
			return endorsementResult{}, fmt.Errorf("%w: signing key is %T, want RSA", ErrBadReportSignature, certs[0].PublicKey)
		}
		if bits := pub.N.BitLen(); bits < 2048 || bits > 8192 {
			return endorsementResult{}, fmt.Errorf("%w: signing key has %d bits, want 2048 to 8192", ErrBadReportSignature, bits)
		}
		res := endorsementResult{root: r.Root, key: pub, notBefore: certs[0].NotBefore, notAfter: certs[0].NotAfter}
		for _, c := range chains[0] {
			res.notBefore = latest(res.notBefore, c.NotBefore)
			res.notAfter = earliest(res.notAfter, c.NotAfter)
		}
		return res, nil
	}
	if chainErr != nil {
		return endorsementResult{}, fmt.Errorf("%w: %w", ErrEndorsementChain, chainErr)
	}
	return endorsementResult{}, fmt.Errorf("%w (signer %q)", ErrUnknownRoot, certs[0].Subject.String())
}
