//go:build !teaclave_production

package attestation

// ProductionBuild reports whether this binary was built with the tag
// teaclave_production. Production builds contain no simulation and refuse
// every policy that lists a simulated root.
const ProductionBuild = false
