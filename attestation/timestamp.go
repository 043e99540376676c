package attestation

import (
	"fmt"
	"time"
)

// ParseTimestamp parses an attestation report timestamp:
// YYYY-MM-DDTHH:MM:SS with an optional fraction of 1 to 9 digits, in UTC
// without a zone designator (IAS sends 6 digits, the DCAP reference server 9).
func ParseTimestamp(s string) (time.Time, error) {
	bad := func(why string) (time.Time, error) {
		return time.Time{}, fmt.Errorf("%w: timestamp %.40q: %s", ErrMalformedReport, s, why)
	}
	if len(s) < 19 || len(s) > 29 {
		return bad("wrong length")
	}
	num := func(from, to int) (int, bool) {
		n := 0
		for i := from; i < to; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	if s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return bad("not YYYY-MM-DDTHH:MM:SS")
	}
	year, ok1 := num(0, 4)
	month, ok2 := num(5, 7)
	day, ok3 := num(8, 10)
	hour, ok4 := num(11, 13)
	minute, ok5 := num(14, 16)
	sec, ok6 := num(17, 19)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) {
		return bad("not YYYY-MM-DDTHH:MM:SS")
	}
	nsec := 0
	if len(s) > 19 {
		if s[19] != '.' || len(s) == 20 {
			return bad("bad fraction")
		}
		frac, ok := num(20, len(s))
		if !ok {
			return bad("bad fraction")
		}
		for i := len(s) - 20; i < 9; i++ {
			frac *= 10
		}
		nsec = frac
	}
	if month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || sec > 59 {
		return bad("field out of range")
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	if t.Day() != day { // time.Date normalises 31 April to 1 May
		return bad("no such day")
	}
	return t, nil
}

// FormatTimestamp formats t in UTC with nine fractional digits, as the DCAP
// reference attestation server does.
func FormatTimestamp(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000000")
}
