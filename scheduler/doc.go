// Package scheduler is the scheduler service: it hands the tasks management
// stages to execution nodes, tracks the nodes by heartbeat, passes on
// cancellations and records results.
//
// Teaclave's scheduler drained its queue every 2 s into memory, let each
// node poll every 3 s for one task, and lost every staged task on restart.
// This one dispatches at once and never loses or strands a task:
//
//   - It waits on storage's staged-task queue (WaitQueue, no polling) and,
//     as soon as a node has room, moves the head of the queue into a job
//     record leased to that node in one Commit (DequeueIntoOp plus the
//     lease: lease id, node, attempt, expiry). The node receives it at once
//     on its work stream.
//   - A lease lives while its node heartbeats. When it runs out the task is
//     staged again for another node, at most Config.MaxAttempts leases in
//     all, then it ends Failed with the reason. A restarted scheduler
//     reloads every job: leases whose time is up are re-staged at once, the
//     others wait for their nodes to register again with the leases they
//     hold.
//   - Reports are fenced: a start or result under a lease the scheduler has
//     taken back is refused (KindFailedPrecondition), so a node presumed
//     lost can never overwrite the work of the node that ran the task after
//     it.
//   - A result is one Commit: the task record, each output's cmac (written
//     once) and the removal of the job. A function that fails ends the task
//     Failed with the reason (Teaclave said Finished).
//   - A cancellation takes effect at once for a task no node runs yet, with
//     no node needed; a running task's node is told to stop, and the task
//     ends Canceled when the node reports back or its lease runs out.
//
// Execution nodes in process call the Service through the Dispatcher
// interface; nodes in other processes use NewClient over the attested
// transport, whose SchedulerExtension (rpc/proto/ext/scheduler.proto)
// carries registration, the work stream, leases and payloads. Teaclave's
// own TeaclaveScheduler RPCs are served too, one task at a time as there,
// but their staged task is this platform's internal form (payload by hash,
// prefixed ids), which a stock Teaclave executor cannot decode. Both admit
// attested execution nodes only.
//
//	svc, err := scheduler.New(scheduler.Config{}.Defaults(), scheduler.Deps{Store: store})
//	if err := svc.Start(ctx); err != nil { ... }
//	defer svc.Stop(ctx)
//	var d scheduler.Dispatcher = svc // for in-process execution nodes
//
// Module and RemoteModule (fx.go) do the same in an fx graph.
package scheduler
