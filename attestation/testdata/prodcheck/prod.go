//go:build teaclave_production

package main

func development() bool { return false }
