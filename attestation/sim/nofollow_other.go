//go:build !teaclave_production && !unix

package sim

const syscallNoFollow = 0
