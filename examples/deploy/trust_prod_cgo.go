//go:build cgo

package deploy

// cgoBuild reports whether this build has cgo, which SGX (EGo) needs.
const cgoBuild = true
