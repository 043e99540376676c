package management

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"unicode/utf8"

	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/rpc/pb/commonpb"
	"github.com/teaclave-go/teaclave/rpc/pb/frontendpb"
	"github.com/teaclave-go/teaclave/rpc/pb/managementpb"
)

// Audit log limits.
const (
	// MaxSaveLogsEntries is the most entries one SaveLogs call stores (one
	// Commit).
	MaxSaveLogsEntries = 512
	// MaxAuditUserLen is the longest user text of an entry.
	MaxAuditUserLen = 512
	// MaxAuditMessageLen is the longest message of an entry.
	MaxAuditMessageLen = 2048
	// DefaultAuditQueryLimit is the number of entries QueryAuditLogs
	// returns when the request's limit is 0 (Teaclave panicked).
	DefaultAuditQueryLimit = 100
	// MaxAuditQueryLimit caps QueryAuditLogs's limit.
	MaxAuditQueryLimit = 1000
)

// Audit entries are stored under "audit-<µs, 16 hex digits>-<16 random hex
// digits>", so key order is time order and a reverse Range reads the
// newest first. Entries with the same microsecond keep no particular order.
const auditPrefix = "audit-"

// auditRecord is a stored audit entry.
type auditRecord struct {
	Microsecond int64  `json:"microsecond"`
	IP          []byte `json:"ip"`
	User        string `json:"user"`
	Message     string `json:"message"`
	Result      bool   `json:"result"`
}

func auditKey(micros int64) []byte {
	var r [8]byte
	binary.BigEndian.PutUint64(r[:], rand.Uint64())
	return fmt.Appendf(nil, "%s%016x-%x", auditPrefix, uint64(micros), r)
}

func checkEntry(e *commonpb.Entry) error {
	switch {
	case len(e.GetIp()) != 16:
		return invalid("audit log error, reason: ip must be 16 bytes")
	case e.GetMicrosecond() < 0:
		return invalid("audit log error, reason: negative timestamp")
	case len(e.GetUser()) > MaxAuditUserLen || !utf8.ValidString(e.GetUser()):
		return invalid("audit log error, reason: user must be UTF-8 of at most %d bytes", MaxAuditUserLen)
	case len(e.GetMessage()) > MaxAuditMessageLen || !utf8.ValidString(e.GetMessage()):
		return invalid("audit log error, reason: message must be UTF-8 of at most %d bytes", MaxAuditMessageLen)
	}
	return nil
}

// SaveLogs stores audit entries, all or none, each under a time-ordered
// key. It is called by the frontend's audit agent and needs no caller.
func (s *Service) SaveLogs(ctx context.Context, req *managementpb.SaveLogsRequest) (*emptypb.Empty, error) {
	logs := req.GetLogs()
	if len(logs) > MaxSaveLogsEntries {
		return nil, invalid("audit log error, reason: more than %d entries", MaxSaveLogsEntries)
	}
	if len(logs) == 0 {
		return &emptypb.Empty{}, nil
	}
	ops := make([]teaclave.Op, 0, len(logs))
	conds := make([]teaclave.Condition, 0, len(logs))
	for _, e := range logs {
		if err := checkEntry(e); err != nil {
			return nil, err
		}
		rec, err := json.Marshal(&auditRecord{Microsecond: e.GetMicrosecond(), IP: e.GetIp(), User: e.GetUser(), Message: e.GetMessage(), Result: e.GetResult()})
		if err != nil {
			return nil, teaclave.Wrap(teaclave.KindInternal, "service internal error", err)
		}
		key := auditKey(e.GetMicrosecond())
		conds = append(conds, teaclave.Absent(key))
		ops = append(ops, teaclave.PutOp(key, rec))
	}
	if err := s.commit(ctx, conds, ops); err != nil {
		if err == errConflict {
			// Two 64-bit random suffixes collided; the frontend retries.
			return nil, teaclave.Errorf(teaclave.KindAborted, "audit log error, reason: key collision, try again")
		}
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// QueryAuditLogs returns, to a PlatformAdmin, up to limit entries matching
// the query, newest first. A limit of 0 means DefaultAuditQueryLimit and
// larger limits are capped at MaxAuditQueryLimit; at most
// Config.AuditScanLimit entries are examined. The query syntax is
// described at MaxAuditQueryLen.
func (s *Service) QueryAuditLogs(ctx context.Context, req *frontendpb.QueryAuditLogsRequest) (*frontendpb.QueryAuditLogsResponse, error) {
	caller, err := callerOf(ctx)
	if err != nil {
		return nil, err
	}
	if caller.Role.Kind != teaclave.RolePlatformAdmin {
		return nil, denied("")
	}
	q, err := parseQuery(req.GetQuery())
	if err != nil {
		return nil, err
	}
	limit := req.GetLimit()
	if limit == 0 {
		limit = DefaultAuditQueryLimit
	}
	limit = min(limit, MaxAuditQueryLimit)
	resp := &frontendpb.QueryAuditLogsResponse{Logs: []*commonpb.Entry{}}
	start, end := []byte(auditPrefix), teaclave.PrefixEnd([]byte(auditPrefix))
	for scanned := 0; scanned < s.cfg.AuditScanLimit && uint64(len(resp.Logs)) < limit; {
		page, err := s.store.Range(ctx, start, end, min(rangePage, s.cfg.AuditScanLimit-scanned), true)
		if err != nil {
			return nil, storeErr(err)
		}
		if len(page) == 0 {
			break
		}
		for _, kv := range page {
			scanned++
			var r auditRecord
			if err := json.Unmarshal(kv.Value, &r); err != nil {
				s.logger.ErrorContext(ctx, "undecodable audit entry", "key", string(kv.Key))
				continue
			}
			if q.matches(&r) {
				resp.Logs = append(resp.Logs, &commonpb.Entry{Microsecond: r.Microsecond, Ip: r.IP, User: r.User, Message: r.Message, Result: r.Result})
				if uint64(len(resp.Logs)) == limit {
					break
				}
			}
		}
		end = page[len(page)-1].Key
	}
	return resp, nil
}
