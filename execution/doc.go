// Package execution is the execution node: it takes tasks from the
// scheduler the moment they are staged, stages their files, runs them with
// the executor the task asks for, delivers their outputs and reports each
// result under its lease.
//
// For every task the node
//
//  1. reports it Running (StartTask);
//  2. downloads every input at once through the file agent
//     (execution/fileagent) and decrypts it with execution/filecrypto,
//     checking every input's cmac before the function runs, whatever its
//     schema (Teaclave checked protected files only when the function
//     opened them); a mismatch fails the task and writes no output;
//  3. runs the function with the Executor registered for the task's
//     executor (an fx value group, "executors"), which sees its inputs and
//     outputs by name as streams, never as host paths, and its own log
//     through Runtime.Logger (kept in the result when the task passes
//     save_log, and only the task's own lines);
//  4. encrypts every output with its registered crypto and uploads it;
//  5. reports the result: the return value, every output's cmac and the
//     log, or the reason it failed. A function that fails ends the task
//     Failed.
//
// Plaintext never reaches the host's disk: a task's files live in memory
// up to Config.MemoryBudget and beyond it in scratch files sealed under a
// key that never leaves the process. Each task has a time limit
// (Config.TaskTimeout); a canceled task is stopped when the scheduler
// says so; up to Config.Capacity tasks run at once; payloads are fetched
// once per SHA-256 and cached.
//
// In process the node calls the scheduler directly (scheduler.Service is
// a Dispatcher); in another process it uses scheduler.NewClient over the
// attested transport of the execution service:
//
//	node, err := execution.New(execution.Config{}.Defaults(), execution.Deps{
//		Dispatcher: sched,
//		Executors:  []execution.Executor{builtinExecutor},
//	})
//	if err := node.Start(ctx); err != nil { ... }
//	defer node.Stop(ctx)
package execution
