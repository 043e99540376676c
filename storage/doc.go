// Package storage is the storage service: a teaclave.Store kept in a sealed
// LevelDB database inside the enclave (storage/leveldb on storage/sealfs),
// served over the attested transport as Teaclave's TeaclaveStorage service
// plus our StorageExtension (versioned Get, atomic conditional Commit,
// blocking dequeue, ordered Range) to management and scheduler only.
//
// Teaclave's storage service kept its database in memory in production and
// lost everything on restart; this one syncs every acknowledged write to
// disk (concurrent writers share syncs: group commit) and seals every file
// under a key from the enclave's Sealer, so the host sees neither keys nor
// values and any modification is detected when the file is read. What is
// not detected without a trusted monotonic counter — the whole folder, or
// an append-only file, rolled back to an earlier state — is spelled out in
// storage/sealfs and docs/security.md.
//
// Use it in process:
//
//	svc, err := storage.New(storage.Config{DataDir: dir}.Defaults(), storage.Deps{Sealer: sealer})
//	if err := svc.Start(ctx); err != nil { ... }
//	defer svc.Stop(ctx)
//	store := svc.Store() // a teaclave.Store
//
// or remotely through NewClient on a connection pinned to the storage
// service's attested identity. Module and RemoteModule (fx.go) do either in
// an fx graph.
package storage
