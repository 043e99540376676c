//go:build !unix

package sealfs

import "os"

// lockFile opens path without an operating-system lock: outside Unix the
// folder is protected only against a second Open in this process's
// goleveldb (storage.Storage.Lock).
func lockFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
}

func unlockFile(f *os.File) { f.Close() }
