package attestation

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"
)

// ReportVersion is the only attestation report version accepted (IAS API v4
// and Teaclave's DCAP reference server).
const ReportVersion = 4

// Quote statuses an attestation service may report (§16.3, §16.4).
const (
	StatusOK                                = "OK"
	StatusSignatureInvalid                  = "SIGNATURE_INVALID"
	StatusGroupRevoked                      = "GROUP_REVOKED"
	StatusSignatureRevoked                  = "SIGNATURE_REVOKED"
	StatusKeyRevoked                        = "KEY_REVOKED"
	StatusSigRLVersionMismatch              = "SIGRL_VERSION_MISMATCH"
	StatusGroupOutOfDate                    = "GROUP_OUT_OF_DATE"
	StatusOutOfDate                         = "OUT_OF_DATE"
	StatusOutOfDateConfigurationNeeded      = "OUT_OF_DATE_CONFIGURATION_NEEDED"
	StatusConfigurationNeeded               = "CONFIGURATION_NEEDED"
	StatusSWHardeningNeeded                 = "SW_HARDENING_NEEDED"
	StatusConfigurationAndSWHardeningNeeded = "CONFIGURATION_AND_SW_HARDENING_NEEDED"
	StatusUnspecified                       = "UNSPECIFIED"
)

// KnownStatuses returns every quote status string this package recognises.
func KnownStatuses() []string {
	return []string{
		StatusOK, StatusSignatureInvalid, StatusGroupRevoked, StatusSignatureRevoked, StatusKeyRevoked,
		StatusSigRLVersionMismatch, StatusGroupOutOfDate, StatusOutOfDate, StatusOutOfDateConfigurationNeeded,
		StatusConfigurationNeeded, StatusSWHardeningNeeded, StatusConfigurationAndSWHardeningNeeded, StatusUnspecified,
	}
}

// DefaultStatuses returns the statuses a policy accepts unless it says
// otherwise: OK only.
func DefaultStatuses() []string { return []string{StatusOK} }

// SGXStatuses returns the statuses SGX deployments accept by default: OK and
// SW_HARDENING_NEEDED (the platform is up to date and the enclave is built
// with the mitigations the advisory asks for).
func SGXStatuses() []string { return []string{StatusOK, StatusSWHardeningNeeded} }

// ServiceReport is the report JSON an attestation service signs (IAS API v4
// shape): {"id","isvEnclaveQuoteBody","isvEnclaveQuoteStatus","timestamp","version":4}.
type ServiceReport struct {
	ID        string
	Timestamp time.Time // UTC
	Status    string
	Quote     QuoteBody
}

// ParseServiceReport parses report JSON strictly: it must be one object
// without duplicate keys, version must be the JSON integer 4, timestamp a
// string with 0 to 9 fractional digits, isvEnclaveQuoteStatus a string, and
// isvEnclaveQuoteBody the standard base64 of exactly 432 valid bytes. Other
// keys (epidPseudonym, advisoryIDs, ...) are ignored.
func ParseServiceReport(data []byte) (*ServiceReport, error) {
	var version, ts, status, body, id json.RawMessage
	err := walkObject(data, func(key string, v json.RawMessage) error {
		switch key {
		case "version":
			version = v
		case "timestamp":
			ts = v
		case "isvEnclaveQuoteStatus":
			status = v
		case "isvEnclaveQuoteBody":
			body = v
		case "id":
			id = v
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedReport, err)
	}
	if version == nil {
		return nil, fmt.Errorf("%w: missing version", ErrMalformedReport)
	}
	// Only the integer literal counts: serde's as_u64 refuses 4.0 and "4".
	v := bytes.TrimSpace(version)
	if len(v) == 0 || v[0] < '0' || v[0] > '9' || bytes.ContainsAny(v, ".eE") {
		return nil, fmt.Errorf("%w: version is not an integer", ErrMalformedReport)
	}
	if string(v) != "4" {
		return nil, fmt.Errorf("%w: version %.20s, want %d", ErrReportVersion, v, ReportVersion)
	}
	r := &ServiceReport{}
	str := func(name string, raw json.RawMessage, required bool) (string, error) {
		if raw == nil {
			if required {
				return "", fmt.Errorf("%w: missing %s", ErrMalformedReport, name)
			}
			return "", nil
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", fmt.Errorf("%w: %s is not a string", ErrMalformedReport, name)
		}
		return s, nil
	}
	if r.ID, err = str("id", id, false); err != nil {
		return nil, err
	}
	tsStr, err := str("timestamp", ts, true)
	if err != nil {
		return nil, err
	}
	if r.Timestamp, err = ParseTimestamp(tsStr); err != nil {
		return nil, err
	}
	if r.Status, err = str("isvEnclaveQuoteStatus", status, true); err != nil {
		return nil, err
	}
	b64, err := str("isvEnclaveQuoteBody", body, true)
	if err != nil {
		return nil, err
	}
	if len(b64) != base64.StdEncoding.EncodedLen(QuoteBodySize) {
		return nil, fmt.Errorf("%w: isvEnclaveQuoteBody has %d characters, want %d", ErrMalformedReport, len(b64), base64.StdEncoding.EncodedLen(QuoteBodySize))
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("%w: isvEnclaveQuoteBody: %w", ErrMalformedReport, err)
	}
	q, err := ParseQuoteBody(raw)
	if err != nil {
		return nil, err
	}
	r.Quote = *q
	return r, nil
}

// Marshal encodes r as the DCAP reference server does: keys in alphabetical
// order, version 4, the timestamp with nine fractional digits.
func (r *ServiceReport) Marshal() ([]byte, error) {
	body, err := r.Quote.MarshalBinary()
	if err != nil {
		return nil, err
	}
	id, err := json.Marshal(r.ID)
	if err != nil {
		return nil, err
	}
	status, err := json.Marshal(r.Status)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString(`{"id":`)
	b.Write(id)
	b.WriteString(`,"isvEnclaveQuoteBody":"`)
	b.WriteString(base64.StdEncoding.EncodeToString(body))
	b.WriteString(`","isvEnclaveQuoteStatus":`)
	b.Write(status)
	b.WriteString(`,"timestamp":"`)
	b.WriteString(FormatTimestamp(r.Timestamp))
	b.WriteString(`","version":4}`)
	return b.Bytes(), nil
}
