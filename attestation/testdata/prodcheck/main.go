// Command prodcheck is wired like a reference main: it imports attestation,
// and package attestation/sim only from a file built without the tag
// teaclave_production. prod_test.go lists its dependencies with and without
// the tag.
package main

import (
	"fmt"

	"github.com/teaclave-go/teaclave/attestation"
)

func main() {
	fmt.Println(attestation.ProductionBuild, development())
}
