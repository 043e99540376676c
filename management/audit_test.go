//go:build !teaclave_production

package management_test

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/management"
	mxtest "github.com/teaclave-go/teaclave/management/xtest"
	"github.com/teaclave-go/teaclave/rpc/pb/commonpb"
	"github.com/teaclave-go/teaclave/rpc/pb/frontendpb"
	"github.com/teaclave-go/teaclave/rpc/pb/managementpb"
)

func ip(s string) []byte {
	a := netip.MustParseAddr(s).As16()
	return a[:]
}

// compatible returns the IPv4-compatible form ::a.b.c.d the frontend
// records for an IPv4 peer.
func compatible(v4 string) []byte {
	b := make([]byte, 16)
	copy(b[12:], netip.MustParseAddr(v4).AsSlice())
	return b
}

func TestAuditLog(t *testing.T) {
	forEachWiring(t, func(t *testing.T, w wiring) {
		e := newEnv(t, w, management.Config{})
		// SaveLogs needs no caller.
		ctx := ctxFor(t)
		entries := []*commonpb.Entry{
			{Microsecond: 1_000, Ip: compatible("10.0.0.1"), User: "{ user: frontend_user, role: PlatformAdmin }", Message: "register_function", Result: true},
			{Microsecond: 2_000, Ip: compatible("10.0.0.2"), User: "", Message: "authenticate to register_function: incorrect credential", Result: false},
			{Microsecond: 3_000, Ip: ip("::1"), User: "{ user: bob, role: DataOwner(\"org1\") }", Message: "create_task", Result: true},
			{Microsecond: 4_000, Ip: ip("::ffff:10.0.0.1"), User: "{ user: bob, role: DataOwner(\"org1\") }", Message: `get_task:status: PermissionDenied, message: "permission denied"`, Result: false},
		}
		_, err := e.api.SaveLogs(ctx, &managementpb.SaveLogsRequest{Logs: entries})
		wantOK(t, err, "save logs")
		_, err = e.api.SaveLogs(ctx, &managementpb.SaveLogsRequest{})
		wantOK(t, err, "save no logs")
		for what, bad := range map[string]*commonpb.Entry{
			"short ip":           {Ip: []byte{127, 0, 0, 1}, Message: "x"},
			"negative time":      {Microsecond: -1, Ip: ip("::1")},
			"long message":       {Ip: ip("::1"), Message: string(make([]byte, management.MaxAuditMessageLen+1))},
			"invalid UTF-8 user": {Ip: ip("::1"), User: "\xff"},
		} {
			if w == overGRPC && what == "invalid UTF-8 user" {
				continue // protobuf refuses to marshal it
			}
			before := e.dump()
			_, err := e.api.SaveLogs(ctx, &managementpb.SaveLogsRequest{Logs: []*commonpb.Entry{entries[0], bad}})
			wantKind(t, err, teaclave.KindInvalidArgument, what)
			if a, r, c := mxtest.Diff(before, e.dump()); len(a)+len(r)+len(c) != 0 {
				t.Fatalf("%s: a refused SaveLogs stored entries", what)
			}
		}
		many := make([]*commonpb.Entry, management.MaxSaveLogsEntries+1)
		for i := range many {
			many[i] = entries[0]
		}
		_, err = e.api.SaveLogs(ctx, &managementpb.SaveLogsRequest{Logs: many})
		wantKind(t, err, teaclave.KindInvalidArgument, "too many entries")

		query := func(q string, limit uint64) []*commonpb.Entry {
			t.Helper()
			r, err := e.api.QueryAuditLogs(e.admin("admin"), &frontendpb.QueryAuditLogsRequest{Query: q, Limit: limit})
			wantOK(t, err, "query "+q)
			return r.GetLogs()
		}
		times := func(logs []*commonpb.Entry) []int64 {
			var out []int64
			for _, l := range logs {
				out = append(out, l.GetMicrosecond())
			}
			return out
		}
		for _, c := range []struct {
			q     string
			limit uint64
			want  []int64
		}{
			{"", 100, []int64{4000, 3000, 2000, 1000}},
			{"*", 0, []int64{4000, 3000, 2000, 1000}},
			{"", 2, []int64{4000, 3000}},
			{"user:frontend_user", 100, []int64{1000}},
			{"message:register_function", 100, []int64{2000, 1000}},
			{"register_function", 100, []int64{2000, 1000}},
			{"message:authenticate", 100, []int64{2000}},
			{"result:false", 100, []int64{4000, 2000}},
			{"user:bob AND result:true", 100, []int64{3000}},
			{"+user:bob -result:true", 100, []int64{4000}},
			{"create_task OR get_task", 100, []int64{4000, 3000}},
			{"NOT result:true", 100, []int64{4000, 2000}},
			{`message:"permission denied"`, 100, []int64{4000}},
			{"ip:10.0.0.1", 100, []int64{4000, 1000}},
			{"ip:::1", 100, []int64{3000}},
			{"user:org1", 100, []int64{4000, 3000}},
			{"user:nobody", 100, nil},
		} {
			if got := times(query(c.q, c.limit)); fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("query %q limit %d: %v, want %v", c.q, c.limit, got, c.want)
			}
		}
		for _, q := range []string{"date:2020", "user:", `"unclosed`, "(a OR b)", "a AND", "result:maybe", "ip:nope", "___", "x~2"} {
			_, err := e.api.QueryAuditLogs(e.admin("admin"), &frontendpb.QueryAuditLogsRequest{Query: q, Limit: 10})
			wantKind(t, err, teaclave.KindInvalidArgument, "query "+q)
		}
		_, err = e.api.QueryAuditLogs(e.as("bob", dataOwner), &frontendpb.QueryAuditLogsRequest{Limit: 10})
		wantKind(t, err, teaclave.KindPermissionDenied, "a data owner queries")
	})
}

// TestAuditLimits: limit 0 gives the default, large limits are capped, a
// query reads past one Range page, and the scan limit bounds the work.
func TestAuditLimits(t *testing.T) {
	e := newEnv(t, inProcess, management.Config{AuditScanLimit: 1500})
	ctx := ctxFor(t)
	for batch := range 5 {
		var logs []*commonpb.Entry
		for i := range 500 {
			n := int64(batch*500 + i)
			logs = append(logs, &commonpb.Entry{Microsecond: n, Ip: ip("::1"), Message: fmt.Sprintf("call %d", n), Result: n%2 == 0})
		}
		_, err := e.api.SaveLogs(ctx, &managementpb.SaveLogsRequest{Logs: logs})
		wantOK(t, err, "save")
	}
	q := func(query string, limit uint64) []*commonpb.Entry {
		r, err := e.api.QueryAuditLogs(e.admin("admin"), &frontendpb.QueryAuditLogsRequest{Query: query, Limit: limit})
		wantOK(t, err, "query")
		return r.GetLogs()
	}
	if n := len(q("", 0)); n != management.DefaultAuditQueryLimit {
		t.Errorf("limit 0 gave %d entries", n)
	}
	got := q("", 1<<62)
	if len(got) != management.MaxAuditQueryLimit || got[0].GetMicrosecond() != 2499 || got[999].GetMicrosecond() != 1500 {
		t.Errorf("capped query: %d entries from %d", len(got), got[0].GetMicrosecond())
	}
	// result:true is every other entry: 1000 matches need 2000 entries, but
	// the scan stops after 1500.
	got = q("result:true", 1000)
	if len(got) != 750 || got[0].GetMicrosecond() != 2498 || got[749].GetMicrosecond() != 1000 {
		t.Errorf("scan-limited query: %d entries, first %d last %d", len(got), got[0].GetMicrosecond(), got[len(got)-1].GetMicrosecond())
	}
}
