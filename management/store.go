package management

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/teaclave-go/teaclave"
)

// errConflict marks a Commit refused because a record changed since it was
// read; the operation reads again and retries.
var errConflict = errors.New("management: concurrent modification")

// rangePage is the page size of Range scans: the most entries a store
// returns at once (storage/limits.MaxRangeEntries).
const rangePage = 1000

// ctxErr returns nil if ctx has not ended, else an error of its kind.
func ctxErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return teaclave.Wrap(teaclave.KindOf(err), err.Error(), err)
	}
	return nil
}

// storeErr turns a store failure into what a caller may see: context and
// availability errors keep their kind, anything else is an internal error
// whose cause stays in process.
func storeErr(err error) error {
	switch teaclave.KindOf(err) {
	case teaclave.KindCanceled, teaclave.KindDeadlineExceeded, teaclave.KindUnavailable:
		return err
	case teaclave.KindResourceExhausted:
		return teaclave.Wrap(teaclave.KindResourceExhausted, "request too large to store", err)
	}
	return teaclave.Wrap(teaclave.KindInternal, "service internal error", err)
}

// get reads key into v and returns its version. A missing key is returned
// as a bare NotFound error for the caller to describe.
func (s *Service) get(ctx context.Context, key []byte, v any) (uint64, error) {
	data, ver, err := s.store.Get(ctx, key)
	if err != nil {
		if teaclave.KindOf(err) == teaclave.KindNotFound {
			return 0, teaclave.ErrNotFound
		}
		return 0, storeErr(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		s.logger.ErrorContext(ctx, "undecodable record", "key", string(key), "error", err)
		return 0, teaclave.Wrap(teaclave.KindInternal, "service internal error", err)
	}
	return ver, nil
}

// getOr reads key like get, but describes a missing key with notFound.
func (s *Service) getOr(ctx context.Context, key []byte, v any, notFound error) (uint64, error) {
	ver, err := s.get(ctx, key, v)
	if err == teaclave.ErrNotFound {
		return 0, notFound
	}
	return ver, err
}

func (s *Service) readFunction(ctx context.Context, id teaclave.ID) (*teaclave.Function, uint64, error) {
	var f teaclave.Function
	ver, err := s.getOr(ctx, teaclave.FunctionKey(id), &f, teaclave.Errorf(teaclave.KindNotFound, "invalid function id: no such function"))
	return &f, ver, err
}

func (s *Service) readTask(ctx context.Context, id teaclave.ID) (*teaclave.Task, uint64, error) {
	var t teaclave.Task
	ver, err := s.getOr(ctx, teaclave.TaskKey(id), &t, teaclave.Errorf(teaclave.KindNotFound, "invalid task id: no such task"))
	if t.AssignedInputs == nil {
		t.AssignedInputs = map[string]teaclave.InputFile{}
	}
	if t.AssignedOutputs == nil {
		t.AssignedOutputs = map[string]teaclave.OutputFile{}
	}
	return &t, ver, err
}

func (s *Service) readInput(ctx context.Context, id teaclave.ID) (*teaclave.InputFile, uint64, error) {
	var f teaclave.InputFile
	ver, err := s.getOr(ctx, teaclave.InputKey(id), &f, teaclave.Errorf(teaclave.KindNotFound, "invalid data id: no such input file"))
	return &f, ver, err
}

func (s *Service) readOutput(ctx context.Context, id teaclave.ID) (*teaclave.OutputFile, uint64, error) {
	var f teaclave.OutputFile
	ver, err := s.getOr(ctx, teaclave.OutputKey(id), &f, teaclave.Errorf(teaclave.KindNotFound, "invalid data id: no such output file"))
	return &f, ver, err
}

// readRaw reads a value that is stored as is (payloads, task arguments).
func (s *Service) readRaw(ctx context.Context, key []byte) ([]byte, uint64, error) {
	data, ver, err := s.store.Get(ctx, key)
	if err != nil {
		if teaclave.KindOf(err) == teaclave.KindNotFound {
			s.logger.ErrorContext(ctx, "record missing", "key", string(key))
			return nil, 0, teaclave.Errorf(teaclave.KindInternal, "service internal error")
		}
		return nil, 0, storeErr(err)
	}
	return data, ver, nil
}

// encode marshals a record and checks it against maxSize.
func encode(v any, maxSize int, what string) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, teaclave.Wrap(teaclave.KindInternal, "service internal error", err)
	}
	if len(data) > maxSize {
		return nil, tooLarge("%s too large: %d bytes encoded, at most %d", what, len(data), maxSize)
	}
	return data, nil
}

// commit applies a Commit; a failed condition is errConflict.
func (s *Service) commit(ctx context.Context, conds []teaclave.Condition, ops []teaclave.Op) error {
	_, err := s.store.Commit(ctx, conds, ops)
	if err == nil {
		return nil
	}
	if teaclave.KindOf(err) == teaclave.KindFailedPrecondition {
		return errConflict
	}
	return storeErr(err)
}

// retry runs attempt, a read-modify-commit of some records, until it
// returns anything but errConflict, at most cfg.CommitAttempts times, with
// a short randomised pause between attempts so that contenders spread out.
// Every attempt reads afresh, so a retry decides on current records: the
// state machine's checks are never bypassed by a race.
func (s *Service) retry(ctx context.Context, what string, attempt func() error) error {
	for i := range s.cfg.CommitAttempts {
		err := attempt()
		if !errors.Is(err, errConflict) {
			return err
		}
		if err := ctxErr(ctx); err != nil {
			return err
		}
		pause := time.Duration(rand.Int64N(int64(min(i+1, 20)) * int64(100*time.Microsecond)))
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctxErr(ctx)
		case <-t.C:
		}
	}
	s.logger.WarnContext(ctx, "gave up after repeated commit conflicts", "operation", what, "attempts", s.cfg.CommitAttempts)
	return teaclave.Errorf(teaclave.KindAborted, "%s: too many concurrent changes, try again", what)
}

// scanKeys lists the keys with prefix in key order, in pages, up to max
// keys; truncated reports whether there were more.
func (s *Service) scanKeys(ctx context.Context, prefix []byte, max int) (keys [][]byte, truncated bool, err error) {
	start, end := prefix, teaclave.PrefixEnd(prefix)
	for {
		page, err := s.store.Range(ctx, start, end, rangePage, false)
		if err != nil {
			return nil, false, storeErr(err)
		}
		for _, kv := range page {
			if len(keys) == max {
				return keys, true, nil
			}
			keys = append(keys, kv.Key)
		}
		if len(page) == 0 {
			return keys, false, nil
		}
		start = append(append([]byte(nil), page[len(page)-1].Key...), 0)
	}
}
