// Package sealfs is goleveldb's storage.Storage over a folder in which every
// file is sealed: encrypted and authenticated with AES-256-GCM under keys
// derived from a 32-byte storage key that only the enclave holds. The host,
// which owns the folder, sees file names, sizes and timing, never contents,
// and cannot change a file without the change being detected.
//
//	stor, err := sealfs.Open(dir, storageKey, nil)
//	db, err := leveldb.Open(stor, &opt.Options{Strict: opt.StrictAll})
//
// The storage key comes from the caller: the storage service derives it
// from the enclave's sealer with a label of its own. Open refuses a key of
// the wrong size, an all-zero key (what EGo returns outside an enclave), and
// a key that does not open the folder's identity file (ErrWrongKey).
//
// # Format
//
// Integers are big-endian. Every sealed file starts with a 64-byte header:
//
//	magic "TCLVSEAL" (8) | format version u16 = 1 | file type u8 |
//	reserved (5, zero) | file number u64 | salt (32, random per file) |
//	reserved (8, zero)
//
// File types: 1 manifest, 2 journal, 3 table, 4 temp (goleveldb's files),
// 0x40 CURRENT, 0x41 identity.
//
// The identity file SEALFS holds header | nonce (12) | ciphertext of the
// 16-byte random database id | tag (16), under the key
// HKDF-SHA256(storage key, salt, "teaclave-go/sealfs/v1/identity") with the
// header as additional data. Open creates it in an empty folder and refuses
// a folder that holds files but no identity.
//
// Every other file is sealed under its own key,
//
//	HKDF-SHA256(secret = storage key, salt = header salt,
//	            info = "teaclave-go/sealfs/v1/file" | database id | type u8 | number u64)
//
// so a file's key binds the database, the file's identity (type and
// number) and this incarnation of it (a file created again under the same
// name gets a new salt, hence a new key). Each AES-GCM record takes a fresh
// random 96-bit nonce, including every rewrite of the final record: a nonce
// is never reused under a key. Files are short-lived (goleveldb rotates
// them), far from the 2^32 records per key where random nonces would need
// care.
//
// A data file (manifest, journal, table, temp) is laid out as
//
//	offset 0      header (64)
//	offset 64     final slot 0 (4160)
//	offset 4224   final slot 1 (4160)
//	offset 8384   chunk 0, chunk 1, ... (4124 each)
//
// Chunk i holds plaintext bytes [4096 i, 4096 i + 4096) as nonce (12) |
// ciphertext (4096) | tag (16), with additional data header | i u64 | 0x00.
// Only full chunks are ever written to the chunk area, each once.
//
// The final record carries the file's length and its last, partial chunk
// (0 to 4095 bytes):
//
//	record length u16 | index u64 | nonce (12) |
//	ciphertext of (sequence u64 | length u64 | partial chunk) | tag (16)
//
// with additional data header | index u64 | 0x01 + slot. The index is the
// partial chunk's chunk index, length / 4096; the record with sequence s
// lives in slot s mod 2. A reader takes the authenticating record with the
// highest sequence, checks index, length and partial-chunk size agree, and
// then serves bytes [0, length): full chunks from the chunk area (each
// authenticated as it is read, at the position it claims), the rest from
// the final record. Chunks past the length are ignored.
//
// Writers append only. Write seals each chunk as it fills and writes it;
// Sync (and Close, which syncs) first syncs the new chunks, then writes a
// final record with the next sequence into the slot that does not hold the
// last durable record, and syncs again (and the folder, once per file). So
// at every moment the disk holds an authenticating record of the last
// completed Sync, with every chunk it covers already durable: a crash
// during a Sync leaves either the new state or the previous one, and a
// crash between Syncs loses only what was written since the last one. The
// file's creation writes the header and an empty record (sequence 0)
// together; a file of zero bytes (a crash between creating a file and that
// write) reads as empty.
//
// CURRENT (goleveldb's SetMeta and GetMeta) is one record: header (type
// CURRENT, number 0, fresh salt) | nonce | ciphertext of (type u8 | number
// u64) | tag, sealed under the file key for (CURRENT, 0) with the header as
// additional data. SetMeta first syncs the named manifest (goleveldb does
// not), then writes CURRENT.sealing, syncs it, renames it over CURRENT and
// syncs the folder. GetMeta reads CURRENT only: there is no backup copy and
// no fallback to an older one; a CURRENT that fails authentication or names
// a missing file is an error, and a missing CURRENT means no database.
//
// Rename re-encrypts: the file's identity is part of its key and additional
// data. It authenticates the whole old file, writes it sealed under the new
// identity to a temporary name, syncs, renames into place, syncs the folder
// and then removes the old file.
//
// # What is detected
//
// Reading a file fails with an error wrapping ErrIntegrity (inside a
// goleveldb *storage.ErrCorrupted, so a strict goleveldb refuses to go on)
// when any chunk or record was modified; chunks were reordered or swapped
// within a file; a chunk, a final record or a whole file comes from another
// file, another incarnation of the same file, another database or another
// key (spliced or foreign); a file was renamed or two files swapped; a file
// was truncated below its authenticated length or its header changed; or
// CURRENT was modified, replaced by a foreign one, or names a missing
// manifest. A wrong storage key refuses to open (ErrWrongKey).
//
// # What is not detected
//
// Without a trusted monotonic counter (later work) the host can roll state
// back, and this is not detected:
//   - rollback of the whole folder to an earlier copy;
//   - rollback of an append-only file to an earlier Sync: restoring an older
//     copy of the file, or destroying its newest final record so that the
//     previous one is read (the two-slot scheme that makes Sync crash-safe
//     cannot tell a torn write from a deliberate one), or truncating it to
//     zero bytes, which reads as a file created and never written;
//   - deleting files: removing CURRENT and every database file is the same
//     as an empty folder (goleveldb itself refuses a folder with database
//     files but no CURRENT), and an older CURRENT together with the files it
//     names is a rollback of the folder.
//
// The host also learns file names, sizes and the timing of writes, hence
// roughly how much is stored and when; goleveldb's LOG lines are not
// written to the folder (see Options.Log).
package sealfs
