//go:build !teaclave_production

package auth

// productionBuild is false in development builds: they may seed the
// development admin (Config.DevelopmentAdmin) and bind to 127.0.0.1 by
// default.
const productionBuild = false
