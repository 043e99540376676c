package frontend

import (
	"context"
	"net/netip"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/teaclave-go/teaclave/management"
	"github.com/teaclave-go/teaclave/rpc/pb/commonpb"
	"github.com/teaclave-go/teaclave/rpc/pb/managementpb"
)

// entry builds an audit entry within management's limits.
func entry(now time.Time, ip netip.Addr, user, msg string, ok bool) *commonpb.Entry {
	return &commonpb.Entry{
		Microsecond: now.UnixMicro(),
		Ip:          ipBytes(ip),
		User:        truncate(user, management.MaxAuditUserLen),
		Message:     truncate(msg, management.MaxAuditMessageLen),
		Result:      ok,
	}
}

// truncate cuts s to at most n bytes of valid UTF-8.
func truncate(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// auditor buffers audit entries and saves them through management in
// batches. Entries leave the buffer only once saved, so a management
// outage delays them instead of losing them (Teaclave dropped them).
type auditor struct {
	mgmt management.API
	max  int
	kick chan struct{}

	mu      sync.Mutex
	entries []*commonpb.Entry
	notFull chan struct{} // closed when the buffer shrinks

	flushMu sync.Mutex // one flush at a time: only a flush removes entries
}

func newAuditor(mgmt management.API, max int) *auditor {
	return &auditor{mgmt: mgmt, max: max, kick: make(chan struct{}, 1), notFull: make(chan struct{})}
}

func (a *auditor) pending() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.entries)
}

// add appends e, waiting while the buffer is full.
func (a *auditor) add(ctx context.Context, e *commonpb.Entry) error {
	for {
		a.mu.Lock()
		if len(a.entries) < a.max {
			a.entries = append(a.entries, e)
			n := len(a.entries)
			a.mu.Unlock()
			if n >= management.MaxSaveLogsEntries {
				a.wake()
			}
			return nil
		}
		wait := a.notFull
		a.mu.Unlock()
		a.wake()
		select {
		case <-wait:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (a *auditor) wake() {
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

// flush saves every buffered entry, in batches of at most
// management.MaxSaveLogsEntries, oldest first.
func (a *auditor) flush(ctx context.Context) error {
	a.flushMu.Lock()
	defer a.flushMu.Unlock()
	for {
		a.mu.Lock()
		n := min(len(a.entries), management.MaxSaveLogsEntries)
		batch := append([]*commonpb.Entry(nil), a.entries[:n]...)
		a.mu.Unlock()
		if n == 0 {
			return nil
		}
		if _, err := a.mgmt.SaveLogs(ctx, &managementpb.SaveLogsRequest{Logs: batch}); err != nil {
			return err
		}
		a.mu.Lock()
		a.entries = append([]*commonpb.Entry(nil), a.entries[n:]...)
		close(a.notFull)
		a.notFull = make(chan struct{})
		a.mu.Unlock()
	}
}
