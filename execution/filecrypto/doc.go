// Package filecrypto reads and writes the encrypted file formats through which
// every user's data enters and leaves the platform (protocol.md §4.4, §4.5,
// §15): the whole-file AES-GCM schemas "aes-gcm-128" and "aes-gcm-256", the
// SGX protected-file format "teaclave-file-128" of the Teaclave SGX SDK 2.0,
// and "raw" plaintext. The formats are byte-compatible with Teaclave's
// clients: files they produce read here, and files written here follow the
// same layout, byte for byte (§15).
//
// Everything streams with bounded memory. [NewReader] returns the plaintext of
// a file and checks its cmac (the 16-byte [Tag] registered with the file);
// [NewWriter] encrypts a stream and returns the new file's cmac from
// [Writer.Tag] after [Writer.Close]. [CryptoInfo.Validate] applies the key and
// IV rules of §4.4 for services that accept crypto info from clients.
// Readers and writers are not safe for concurrent use. With more than one
// processor, an aes-gcm reader shares the work of each Read with a helper
// goroutine; the helper never blocks and exits within a fraction of a
// millisecond of the last Read, whether or not the file was read to its end.
//
// teaclave-file-128 files are read through io.ReaderAt (nodes are reached by
// offset) and written through io.WriterAt (the metadata and MHT nodes precede
// the data they authenticate). A file that Teaclave's SDK left mid-update is
// restored from its "<name>_recovery" file in memory, never by writing to
// either file. Readers use bounded memory whatever a file's fields say; a
// teaclave-file-128 writer needs 32 bytes per 384 KiB of content.
//
// # Trust in what a reader returns
//
// A teaclave-file-128 reader authenticates every 4 KiB node before it returns
// a byte of it, so everything it returns is authentic.
//
// An aes-gcm file is a single GCM message whose tag covers the whole file, so
// it can only be authenticated at its end. The aes-gcm reader therefore holds
// back the last chunk (64 KiB) until the tag has been checked: a file of up to
// 64 KiB is authenticated before any plaintext is returned. For larger files
// the earlier chunks are returned as they are decrypted, and the caller must
// treat them as untrusted until Read has returned io.EOF; a Read that fails
// with [ErrAuthentication] means everything returned so far must be discarded
// (for example, by deleting the staged copy). Reading an aes-gcm file fully
// into a protected file and using it only after io.EOF satisfies this.
//
// # Example
//
//	info := filecrypto.CryptoInfo{Schema: filecrypto.SchemaTeaclaveFile128, Key: key}
//	out, _ := os.OpenFile("out/train.enc", os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
//	w, err := filecrypto.NewWriter(out, info, filecrypto.WriterOptions{Name: "train.enc"})
//	if err != nil { ... }
//	if _, err := io.Copy(w, plaintext); err != nil { ... }
//	if err := w.Close(); err != nil { ... }
//	tag, _ := w.Tag() // the file's cmac, to report to the platform
//
//	in, _ := os.Open("out/train.enc")
//	st, _ := in.Stat()
//	r, err := filecrypto.NewReader(in, st.Size(), info, filecrypto.ReaderOptions{
//		Name:        "train.enc",
//		ExpectedTag: &tag,
//	})
//	if err != nil { ... }
//	_, err = io.Copy(dst, r)
package filecrypto
