package endorser

import (
	"github.com/edgelesssys/ego/attestation/tcbstatus"

	"github.com/teaclave-go/teaclave/attestation"
)

// StatusFromTCB maps the TCB status of a verified DCAP quote (EGo's
// tcbstatus) to the quote status Teaclave's report carries, as Teaclave's
// DCAP reference server maps Intel's verification results: a revoked TCB is
// KEY_REVOKED, an unknown one UNSPECIFIED. Policies accept OK and
// SW_HARDENING_NEEDED by default for SGX (attestation.SGXStatuses).
func StatusFromTCB(s tcbstatus.Status) string {
	switch s {
	case tcbstatus.UpToDate:
		return attestation.StatusOK
	case tcbstatus.OutOfDate:
		return attestation.StatusOutOfDate
	case tcbstatus.Revoked:
		return attestation.StatusKeyRevoked
	case tcbstatus.ConfigurationNeeded:
		return attestation.StatusConfigurationNeeded
	case tcbstatus.OutOfDateConfigurationNeeded:
		return attestation.StatusOutOfDateConfigurationNeeded
	case tcbstatus.SWHardeningNeeded:
		return attestation.StatusSWHardeningNeeded
	case tcbstatus.ConfigurationAndSWHardeningNeeded:
		return attestation.StatusConfigurationAndSWHardeningNeeded
	}
	return attestation.StatusUnspecified
}
