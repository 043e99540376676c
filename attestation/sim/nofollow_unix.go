//go:build !teaclave_production && unix

package sim

import "syscall"

const syscallNoFollow = syscall.O_NOFOLLOW
