//go:build teaclave_production

package auth

// productionBuild is true in builds tagged teaclave_production: no
// development admin, a floor on argon2id parameters, the refusal to start
// while admin still has the development password, and that password
// refused for admin.
const productionBuild = true
