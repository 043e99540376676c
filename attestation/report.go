package attestation

import "time"

// Report is what a verified RA-TLS certificate tells about its enclave.
type Report struct {
	MREnclave  [32]byte
	MRSigner   [32]byte
	ISVProdID  uint16
	ISVSVN     uint16
	Debug      bool
	ReportData [64]byte
	// Status is the quote status the attestation service reported.
	Status string
	// Timestamp is when the attestation service signed the report (UTC).
	Timestamp time.Time
	// ID is the attestation service's report id.
	ID string
	// Simulated is true if the root that verified the report is marked
	// simulated.
	Simulated bool
	// Root names the policy root that verified the report.
	Root string
}

// Measurement returns the report's code identity.
func (r *Report) Measurement() Measurement {
	return Measurement{MREnclave: r.MREnclave, MRSigner: r.MRSigner}
}

func reportFrom(sr *ServiceReport, root Root) *Report {
	return &Report{
		MREnclave:  sr.Quote.MREnclave,
		MRSigner:   sr.Quote.MRSigner,
		ISVProdID:  sr.Quote.ISVProdID,
		ISVSVN:     sr.Quote.ISVSVN,
		Debug:      sr.Quote.Debug(),
		ReportData: sr.Quote.ReportData,
		Status:     sr.Status,
		Timestamp:  sr.Timestamp,
		ID:         sr.ID,
		Simulated:  root.Simulated,
		Root:       root.Name,
	}
}
