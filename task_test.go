package teaclave_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/teaclave-go/teaclave"
)

// legal lists every legal move as (from, event, guards) -> to. A guard
// field left as "any" matches both values. Every combination not listed
// must be refused.
type guardReq int

const (
	any_ guardReq = iota
	yes
	no
)

func (r guardReq) ok(v bool) bool { return r == any_ || (r == yes) == v }

type legalMove struct {
	from                      teaclave.TaskStatus
	ev                        teaclave.TaskEvent
	assigned, approved, quota guardReq
	to                        teaclave.TaskStatus
}

const (
	created  = teaclave.TaskCreated
	assigned = teaclave.TaskDataAssigned
	approved = teaclave.TaskApproved
	staged   = teaclave.TaskStaged
	running  = teaclave.TaskRunning
	finished = teaclave.TaskFinished
	canceled = teaclave.TaskCanceled
	failed   = teaclave.TaskFailed
)

var legalMoves = []legalMove{
	// AssignData only in Created; it never reaches Approved.
	{created, teaclave.EventAssignData, no, any_, any_, created},
	{created, teaclave.EventAssignData, yes, any_, any_, assigned},
	// ApproveTask needs all data assigned.
	{created, teaclave.EventApprove, yes, no, any_, assigned},
	{created, teaclave.EventApprove, yes, yes, any_, approved},
	{assigned, teaclave.EventApprove, yes, no, any_, assigned},
	{assigned, teaclave.EventApprove, yes, yes, any_, approved},
	// InvokeTask needs everything and quota.
	{created, teaclave.EventInvoke, yes, yes, yes, staged},
	{assigned, teaclave.EventInvoke, yes, yes, yes, staged},
	{approved, teaclave.EventInvoke, yes, yes, yes, staged},
	// Cancel: immediate before staging, deferred to the scheduler after.
	{created, teaclave.EventCancel, any_, any_, any_, canceled},
	{assigned, teaclave.EventCancel, any_, any_, any_, canceled},
	{approved, teaclave.EventCancel, any_, any_, any_, canceled},
	{staged, teaclave.EventCancel, any_, any_, any_, staged},
	{running, teaclave.EventCancel, any_, any_, any_, running},
	// The scheduler's events.
	{staged, teaclave.EventStart, any_, any_, any_, running},
	{running, teaclave.EventSucceed, any_, any_, any_, finished},
	{running, teaclave.EventFail, any_, any_, any_, failed}, // DESIGN: Failed, not Finished
	{staged, teaclave.EventCancelApplied, any_, any_, any_, canceled},
	{running, teaclave.EventCancelApplied, any_, any_, any_, canceled},
	{staged, teaclave.EventRestage, any_, any_, any_, staged},
	{running, teaclave.EventRestage, any_, any_, any_, staged},
	{staged, teaclave.EventLost, any_, any_, any_, failed},
	{running, teaclave.EventLost, any_, any_, any_, failed},
}

var allEvents = []teaclave.TaskEvent{
	teaclave.EventAssignData, teaclave.EventApprove, teaclave.EventInvoke, teaclave.EventCancel,
	teaclave.EventStart, teaclave.EventSucceed, teaclave.EventFail, teaclave.EventCancelApplied,
	teaclave.EventRestage, teaclave.EventLost,
}

// TestTransitionTable checks every status × event × guard combination
// against the table of legal moves: legal ones land where the table says,
// all others are refused with FailedPrecondition (or ResourceExhausted for
// an exhausted quota) and leave the status unchanged.
func TestTransitionTable(t *testing.T) {
	legalCount, illegalCount := 0, 0
	for _, from := range teaclave.TaskStatuses {
		for _, ev := range allEvents {
			for g := 0; g < 8; g++ {
				guards := teaclave.TaskGuards{AllDataAssigned: g&1 != 0, EveryoneApproved: g&2 != 0, QuotaAvailable: g&4 != 0}
				name := fmt.Sprintf("%s/%s/%+v", from, ev, guards)
				var want *legalMove
				for i := range legalMoves {
					m := &legalMoves[i]
					if m.from == from && m.ev == ev && m.assigned.ok(guards.AllDataAssigned) &&
						m.approved.ok(guards.EveryoneApproved) && m.quota.ok(guards.QuotaAvailable) {
						if want != nil {
							t.Fatalf("%s: table lists two moves", name)
						}
						want = m
					}
				}
				got, err := teaclave.Transition(from, ev, guards)
				if want != nil {
					legalCount++
					if err != nil || got != want.to {
						t.Errorf("%s: got %s, %v; want %s", name, got, err, want.to)
					}
					continue
				}
				illegalCount++
				if err == nil {
					t.Errorf("%s: illegal move allowed to %s", name, got)
					continue
				}
				if got != from {
					t.Errorf("%s: refused move changed status to %s", name, got)
				}
				wantKind := teaclave.KindFailedPrecondition
				if ev == teaclave.EventInvoke && !from.Terminal() && from < staged &&
					guards.AllDataAssigned && guards.EveryoneApproved && !guards.QuotaAvailable {
					wantKind = teaclave.KindResourceExhausted
				}
				if k := teaclave.KindOf(err); k != wantKind {
					t.Errorf("%s: error kind %s, want %s (%v)", name, k, wantKind, err)
				}
			}
		}
	}
	if legalCount == 0 || illegalCount == 0 {
		t.Fatalf("degenerate table: %d legal, %d illegal", legalCount, illegalCount)
	}
}

func TestTerminalStatusesAcceptNothing(t *testing.T) {
	for _, s := range []teaclave.TaskStatus{finished, canceled, failed} {
		if !s.Terminal() {
			t.Errorf("%s not terminal", s)
		}
		for _, ev := range allEvents {
			all := teaclave.TaskGuards{AllDataAssigned: true, EveryoneApproved: true, QuotaAvailable: true}
			if _, err := teaclave.Transition(s, ev, all); !errors.Is(err, teaclave.ErrFailedPrecondition) {
				t.Errorf("%s + %s: %v", s, ev, err)
			}
		}
	}
}

func TestTransitionUnknownStatus(t *testing.T) {
	if _, err := teaclave.Transition(teaclave.TaskStatus(5), teaclave.EventCancel, teaclave.TaskGuards{}); !errors.Is(err, teaclave.ErrInternal) {
		t.Errorf("unknown status: %v", err)
	}
}

func TestTaskStatusWireNumbersAndNames(t *testing.T) {
	want := map[teaclave.TaskStatus]string{
		0: "Created", 1: "DataAssigned", 2: "Approved", 3: "Staged", 4: "Running",
		10: "Finished", 20: "Canceled", 99: "Failed",
	}
	for s, name := range want {
		if s.String() != name || !s.Valid() {
			t.Errorf("%d: %q valid=%v", int32(s), s.String(), s.Valid())
		}
	}
	if teaclave.TaskStatus(7).Valid() {
		t.Error("7 is not a status")
	}
}
