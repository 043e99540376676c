package attestation

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"sync"
	"time"
)

// verifierCacheSize bounds the verified-certificate cache.
const verifierCacheSize = 1024

// Verifier checks peers' RA-TLS certificates against a policy and resolves
// their identities from verified enclave info. It caches verified
// certificates by hash until their age limit. It is safe for concurrent use.
type Verifier struct {
	policy *Policy
	roots  []rootPool
	info   *EnclaveInfo

	mu        sync.Mutex
	cache     map[[32]byte]cacheEntry
	cacheSize int

	chains chainCache
}

type cacheEntry struct {
	report    Report
	notBefore time.Time // the result holds from notBefore ...
	notAfter  time.Time // ... to notAfter, inclusive
}

// NewVerifier returns a verifier for policy (validated and copied). info
// must come from LoadEnclaveInfo, i.e. carry verified auditor signatures; it
// may be nil when only VerifyPeer is used.
func NewVerifier(policy *Policy, info *EnclaveInfo) (*Verifier, error) {
	if policy == nil {
		return nil, fmt.Errorf("%w: nil policy", ErrInvalidPolicy)
	}
	if err := policy.Validate(); err != nil {
		return nil, err
	}
	if info != nil && !info.verified {
		return nil, ErrEnclaveInfoUnverified
	}
	p := policy.clone()
	return &Verifier{
		policy:    p,
		roots:     newRootPools(p.Roots),
		info:      info,
		cache:     make(map[[32]byte]cacheEntry),
		cacheSize: verifierCacheSize,
		chains:    chainCache{entries: make(map[[32]byte]endorsementResult)},
	}, nil
}

// Policy returns a copy of the verifier's policy.
func (v *Verifier) Policy() *Policy { return v.policy.clone() }

// EnclaveInfo returns the verifier's enclave info (nil if none).
func (v *Verifier) EnclaveInfo() *EnclaveInfo { return v.info }

// VerifyPeer verifies the attestation evidence of a peer's end-entity
// certificate rawCerts[0] (a chain the peer sends is ignored) at time now:
// certificate shape and validity, report signing chain to a policy root,
// report signature, report version, key binding, report age, quote status,
// debug attribute, and no simulated root in production. It does not check
// the peer's identity (see VerifyService, VerifyCaller). The returned report
// is the caller's to keep.
func (v *Verifier) VerifyPeer(now time.Time, rawCerts [][]byte) (*Report, error) {
	if len(rawCerts) == 0 || len(rawCerts[0]) == 0 {
		return nil, ErrNoCertificate
	}
	key := sha256.Sum256(rawCerts[0])
	v.mu.Lock()
	e, ok := v.cache[key]
	v.mu.Unlock()
	if ok && !now.Before(e.notBefore) && !now.After(e.notAfter) {
		r := e.report
		return &r, nil
	}
	r, entry, err := v.verify(now, rawCerts[0])
	if err != nil {
		return nil, err
	}
	v.store(now, key, entry)
	return r, nil
}

func (v *Verifier) verify(now time.Time, der []byte) (*Report, cacheEntry, error) {
	p := v.policy
	cert, err := ParseCertificate(der)
	if err != nil {
		return nil, cacheEntry{}, err
	}
	if now.Add(p.ClockSkew).Before(cert.Leaf.NotBefore) || now.After(cert.Leaf.NotAfter) {
		return nil, cacheEntry{}, fmt.Errorf("%w: valid %s to %s", ErrCertificateExpired,
			cert.Leaf.NotBefore.UTC().Format(time.RFC3339), cert.Leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	end, err := verifyEndorsement(now, v.roots, cert.Evidence, &v.chains)
	if err != nil {
		return nil, cacheEntry{}, err
	}
	if end.root.Simulated && (ProductionBuild || p.Production) {
		return nil, cacheEntry{}, fmt.Errorf("%w: root %q", ErrSimulatedRoot, end.root.Name)
	}
	sr, err := ParseServiceReport(cert.Evidence.Report)
	if err != nil {
		return nil, cacheEntry{}, err
	}
	if sr.Quote.ReportData != cert.PublicKey {
		return nil, cacheEntry{}, ErrKeyMismatch
	}
	if sr.Timestamp.After(now.Add(p.ClockSkew)) {
		return nil, cacheEntry{}, fmt.Errorf("%w: %s", ErrReportFromFuture, FormatTimestamp(sr.Timestamp))
	}
	expires := sr.Timestamp.Add(p.MaxReportAge)
	if now.After(expires) {
		return nil, cacheEntry{}, fmt.Errorf("%w: signed %s, maximum age %s", ErrReportTooOld, FormatTimestamp(sr.Timestamp), p.MaxReportAge)
	}
	if !p.StatusAccepted(sr.Status) {
		return nil, cacheEntry{}, fmt.Errorf("%w: %.64q", ErrStatusNotAccepted, sr.Status)
	}
	if sr.Quote.Debug() && !p.DebugAllowed {
		return nil, cacheEntry{}, ErrDebugForbidden
	}
	r := reportFrom(sr, end.root)
	// The result holds while every time-dependent check above would pass.
	entry := cacheEntry{
		report:    *r,
		notBefore: latest(cert.Leaf.NotBefore.Add(-p.ClockSkew), sr.Timestamp.Add(-p.ClockSkew), end.notBefore),
		notAfter:  earliest(cert.Leaf.NotAfter, expires, end.notAfter),
	}
	return r, entry, nil
}

func latest(ts ...time.Time) time.Time {
	t := ts[0]
	for _, u := range ts[1:] {
		if u.After(t) {
			t = u
		}
	}
	return t
}

func earliest(ts ...time.Time) time.Time {
	t := ts[0]
	for _, u := range ts[1:] {
		if u.Before(t) {
			t = u
		}
	}
	return t
}

func (v *Verifier) store(now time.Time, key [32]byte, e cacheEntry) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.cache) >= v.cacheSize {
		for k, old := range v.cache {
			if now.After(old.notAfter) || now.Before(old.notBefore) {
				delete(v.cache, k)
			}
		}
		for k := range v.cache { // still full: drop arbitrary entries
			if len(v.cache) < v.cacheSize {
				break
			}
			delete(v.cache, k)
		}
	}
	v.cache[key] = e
}

// CachedCertificates returns how many verified certificates are cached.
func (v *Verifier) CachedCertificates() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.cache)
}

// VerifyService verifies a peer that must be service (a client pinning the
// service it dials): VerifyPeer, then the report's measurement must equal
// the one the enclave info records for service.
func (v *Verifier) VerifyService(now time.Time, rawCerts [][]byte, service string) (*Report, error) {
	r, err := v.VerifyPeer(now, rawCerts)
	if err != nil {
		return nil, err
	}
	want, ok := v.info.Identity(service)
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownService, service)
	}
	if err := want.check(r.Measurement()); err != nil {
		return nil, err
	}
	return r, nil
}

// check compares a measurement with the identity's.
func (id Identity) check(m Measurement) error {
	if m.MREnclave != id.MREnclave {
		return fmt.Errorf("%w: peer is not %s", ErrMREnclaveMismatch, id.Service)
	}
	if m.MRSigner != id.MRSigner {
		return fmt.Errorf("%w: peer is not %s", ErrMRSignerMismatch, id.Service)
	}
	return nil
}

// VerifyCaller verifies a client of callee's internal endpoint: VerifyPeer,
// then the enclave info must name a service for the report's measurement
// and the topology must allow it to call callee. When the measurement is
// unknown, the error says how it differs from an allowed caller
// (ErrMREnclaveMismatch, ErrMRSignerMismatch) or ErrUnknownEnclave.
func (v *Verifier) VerifyCaller(now time.Time, rawCerts [][]byte, callee string) (*Report, Identity, error) {
	r, err := v.VerifyPeer(now, rawCerts)
	if err != nil {
		return nil, Identity{}, err
	}
	id, err := v.identifyCaller(r.Measurement(), callee)
	if err != nil {
		return nil, Identity{}, err
	}
	return r, id, nil
}

func (v *Verifier) identifyCaller(m Measurement, callee string) (Identity, error) {
	if services, ok := v.info.Lookup(m); ok {
		// A binary that runs several services may call as any of them.
		for _, service := range services {
			if v.policy.Allowed(service, callee) {
				return Identity{Service: service, MREnclave: m.MREnclave, MRSigner: m.MRSigner}, nil
			}
		}
		return Identity{}, fmt.Errorf("%w: %s may not call %s", ErrCallerNotAllowed, strings.Join(services, "/"), callee)
	}
	// Unknown measurement: say which part differs from an allowed caller,
	// so that a rebuilt or re-signed enclave is easy to diagnose.
	for _, caller := range v.policy.topology()[callee] {
		want, ok := v.info.Identity(caller)
		if !ok {
			continue
		}
		if want.MRSigner == m.MRSigner || want.MREnclave == m.MREnclave {
			return Identity{}, want.check(m)
		}
	}
	return Identity{}, fmt.Errorf("%w: %s", ErrUnknownEnclave, m)
}
