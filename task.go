package teaclave

import "fmt"

// TaskStatus is a task's place in its lifecycle. The numbers are the wire
// values of teaclave_common_proto.TaskStatus.
type TaskStatus int32

// Task statuses (protocol §9). Finished, Canceled and Failed are terminal.
const (
	TaskCreated      TaskStatus = 0
	TaskDataAssigned TaskStatus = 1
	TaskApproved     TaskStatus = 2
	TaskStaged       TaskStatus = 3
	TaskRunning      TaskStatus = 4
	TaskFinished     TaskStatus = 10
	TaskCanceled     TaskStatus = 20
	TaskFailed       TaskStatus = 99
)

// TaskStatuses lists every status in lifecycle order.
var TaskStatuses = [...]TaskStatus{
	TaskCreated, TaskDataAssigned, TaskApproved, TaskStaged, TaskRunning,
	TaskFinished, TaskCanceled, TaskFailed,
}

// String returns the status name as Teaclave writes it.
func (s TaskStatus) String() string {
	switch s {
	case TaskCreated:
		return "Created"
	case TaskDataAssigned:
		return "DataAssigned"
	case TaskApproved:
		return "Approved"
	case TaskStaged:
		return "Staged"
	case TaskRunning:
		return "Running"
	case TaskFinished:
		return "Finished"
	case TaskCanceled:
		return "Canceled"
	case TaskFailed:
		return "Failed"
	}
	return fmt.Sprintf("TaskStatus(%d)", int32(s))
}

// Valid reports whether s is one of the defined statuses.
func (s TaskStatus) Valid() bool {
	for _, v := range TaskStatuses {
		if s == v {
			return true
		}
	}
	return false
}

// Terminal reports whether no event can move a task out of s.
func (s TaskStatus) Terminal() bool {
	return s == TaskFinished || s == TaskCanceled || s == TaskFailed
}

// TaskEvent is something that happens to a task.
type TaskEvent uint8

// Task events. The first four are user calls through management; the rest
// come from the scheduler acting on execution nodes' reports.
const (
	// EventAssignData: a participant assigns files to slots.
	EventAssignData TaskEvent = iota + 1
	// EventApprove: a participant approves the task.
	EventApprove
	// EventInvoke: the creator invokes the task.
	EventInvoke
	// EventCancel: the creator or an admin asks to cancel. On a staged or
	// running task the status does not change at once: the scheduler
	// applies the cancellation (EventCancelApplied).
	EventCancel
	// EventStart: an execution node reports that it runs the task.
	EventStart
	// EventSucceed: the function returned a result.
	EventSucceed
	// EventFail: the function failed (DESIGN: the task ends Failed, where
	// Teaclave ended it Finished with an error result).
	EventFail
	// EventCancelApplied: the scheduler has withdrawn or stopped the task.
	EventCancelApplied
	// EventRestage: the lease on the task expired and it is queued again.
	EventRestage
	// EventLost: the task's node went silent too often; the scheduler gives up.
	EventLost
)

// String returns the event's name.
func (e TaskEvent) String() string {
	switch e {
	case EventAssignData:
		return "AssignData"
	case EventApprove:
		return "ApproveTask"
	case EventInvoke:
		return "InvokeTask"
	case EventCancel:
		return "CancelTask"
	case EventStart:
		return "Start"
	case EventSucceed:
		return "Succeed"
	case EventFail:
		return "Fail"
	case EventCancelApplied:
		return "CancelApplied"
	case EventRestage:
		return "Restage"
	case EventLost:
		return "Lost"
	}
	return fmt.Sprintf("TaskEvent(%d)", uint8(e))
}

// TaskGuards are the facts about a task, evaluated after the event's own
// change (for example after the new assignment or approval is recorded),
// that decide where a transition leads.
type TaskGuards struct {
	// AllDataAssigned: every input and output slot named in the task's
	// ownership lists has a file assigned.
	AllDataAssigned bool
	// EveryoneApproved: the task has one participant, or every participant
	// (the creator included) has approved.
	EveryoneApproved bool
	// QuotaAvailable: the function's usage quota allows one more run.
	QuotaAvailable bool
}

// Transition returns the status a task in status from moves to when ev
// happens under guards g. An illegal move returns a FailedPrecondition
// *Error whose message names the event and the status, in Teaclave's terms.
//
// Two mechanics of Teaclave are kept on purpose: AssignData never reaches
// Approved in the same call, and a task whose data is all assigned passes
// through the intermediate statuses in one ApproveTask or InvokeTask.
func Transition(from TaskStatus, ev TaskEvent, g TaskGuards) (TaskStatus, error) {
	if !from.Valid() {
		return from, Errorf(KindInternal, "task in unknown status %d", int32(from))
	}
	if from.Terminal() {
		return from, illegal(from, ev)
	}
	switch ev {
	case EventAssignData:
		if from != TaskCreated {
			return from, illegal(from, ev)
		}
		if g.AllDataAssigned {
			return TaskDataAssigned, nil
		}
		return TaskCreated, nil

	case EventApprove:
		switch from {
		case TaskCreated, TaskDataAssigned:
			if !g.AllDataAssigned {
				return from, Errorf(KindFailedPrecondition, "cannot approve task: data not fully assigned")
			}
			if g.EveryoneApproved {
				return TaskApproved, nil
			}
			return TaskDataAssigned, nil
		}
		return from, illegal(from, ev)

	case EventInvoke:
		switch from {
		case TaskCreated, TaskDataAssigned, TaskApproved:
			if !g.AllDataAssigned {
				return from, Errorf(KindFailedPrecondition, "cannot invoke task: data not fully assigned")
			}
			if !g.EveryoneApproved {
				return from, Errorf(KindFailedPrecondition, "cannot invoke task: not approved by every participant")
			}
			if !g.QuotaAvailable {
				return from, Errorf(KindResourceExhausted, "cannot invoke task: function usage quota exhausted")
			}
			return TaskStaged, nil
		}
		return from, illegal(from, ev)

	case EventCancel:
		switch from {
		case TaskCreated, TaskDataAssigned, TaskApproved:
			return TaskCanceled, nil
		case TaskStaged, TaskRunning:
			// The scheduler owns staged and running tasks; it applies the
			// cancellation and reports EventCancelApplied.
			return from, nil
		}

	case EventStart:
		if from == TaskStaged {
			return TaskRunning, nil
		}

	case EventSucceed:
		if from == TaskRunning {
			return TaskFinished, nil
		}

	case EventFail:
		if from == TaskRunning {
			return TaskFailed, nil
		}

	case EventCancelApplied:
		if from == TaskStaged || from == TaskRunning {
			return TaskCanceled, nil
		}

	case EventRestage:
		if from == TaskStaged || from == TaskRunning {
			return TaskStaged, nil
		}

	case EventLost:
		if from == TaskStaged || from == TaskRunning {
			return TaskFailed, nil
		}
	}
	return from, illegal(from, ev)
}

func illegal(from TaskStatus, ev TaskEvent) error {
	return Errorf(KindFailedPrecondition, "%s not allowed: task is %s", ev, from)
}
