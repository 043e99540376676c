package filecrypto

import "errors"

// Sentinel errors. Every error this package returns for bad crypto info or a
// bad file wraps one of them (test with errors.Is), and no error ever carries
// key material or plaintext.
var (
	// ErrInvalidCryptoInfo: an unknown schema, or a key or IV of the wrong
	// length for its schema (§4.4). Services report it as InvalidArgument.
	ErrInvalidCryptoInfo = errors.New("filecrypto: invalid crypto info")

	// ErrInvalidOptions: reader or writer options that cannot be honoured,
	// such as a missing or malformed file name for teaclave-file-128.
	ErrInvalidOptions = errors.New("filecrypto: invalid options")

	// ErrAuthentication: the file does not authenticate under the key: a
	// wrong key, or a modified, truncated, reordered or spliced file.
	ErrAuthentication = errors.New("filecrypto: authentication failed (wrong key or modified file)")

	// ErrTagMismatch: the file's cmac differs from the expected one.
	ErrTagMismatch = errors.New("filecrypto: file cmac does not match the expected cmac")

	// ErrNameMismatch: a teaclave-file-128 file was created under another
	// basename than the one it is opened under (renamed files are refused,
	// as Teaclave's SDK does).
	ErrNameMismatch = errors.New("filecrypto: protected file name mismatch")

	// ErrRecoveryNeeded: a teaclave-file-128 file was left mid-update by
	// Teaclave's SDK (update_flag set) and needs its "<name>_recovery" file.
	ErrRecoveryNeeded = errors.New("filecrypto: protected file needs its recovery file")

	// ErrMalformed: the file (or recovery file) is not in the schema's
	// format: wrong length, wrong magic or version, truncated.
	ErrMalformed = errors.New("filecrypto: malformed file")

	// ErrTooLarge: the file exceeds the size this package accepts.
	ErrTooLarge = errors.New("filecrypto: file too large")

	// ErrNonceReused: an aes-gcm writer was refused its (key, IV) pair
	// because it was used before.
	ErrNonceReused = errors.New("filecrypto: aes-gcm key and iv were used before")

	// ErrNoTag: a cmac was asked of or checked against a raw file, which has
	// none.
	ErrNoTag = errors.New("filecrypto: raw files carry no cmac")

	// ErrClosed: a write to a writer after Close.
	ErrClosed = errors.New("filecrypto: writer closed")

	// ErrNotClosed: a tag asked of a writer that has not been closed
	// successfully.
	ErrNotClosed = errors.New("filecrypto: writer not closed")
)
