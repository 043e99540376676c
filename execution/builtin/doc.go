// Package builtin is the executor of Teaclave's built-in functions
// (executor type "builtin", executor "builtin"): Go functions compiled
// into the node, chosen by the registered function's name; the payload is
// ignored. An unknown name fails the task with Teaclave's "Function not
// found.". This package ships builtin-echo (functions.md §2.2); the other
// built-ins come in their own packages' issue.
//
// Register it in an fx graph with Module (an executor in the "executors"
// value group), or build one with New, adding functions of your own.
package builtin
