package filecrypto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// pfsReader reads the content of a teaclave-file-128 file. Memory is bounded
// by the depth of the MHT tree (one decrypted MHT node per level on the path
// to the current data node) plus one data node: it never depends on a size
// field. Each node is authenticated before any byte of it is returned.
type pfsReader struct {
	src      io.ReaderAt
	recovery io.ReaderAt
	recIndex map[uint64]int64 // physical node → offset of its bytes in recovery

	size  uint64 // content length, from the authenticated metadata
	meta  [pfsMetaDataSize]byte
	tag   Tag
	path  []*pfsMHT // decrypted MHT nodes from the root (depth 0) down
	cur   uint64    // data node held in plain; valid if hasCur
	plain [pfsNodeSize]byte
	buf   [pfsNodeSize + TagSize]byte

	hasCur bool
	pos    uint64
	err    error
}

type pfsMHT struct {
	m     uint64
	plain [pfsNodeSize]byte
}

func openPFS(src io.ReaderAt, size int64, key []byte, opts ReaderOptions) (*pfsReader, error) {
	if err := checkPFSName(opts.Name); err != nil {
		return nil, err
	}
	if size < pfsNodeSize || size%pfsNodeSize != 0 {
		return nil, fmt.Errorf("%w: a teaclave-file-128 file is a whole number of 4096-byte nodes, got %d bytes", ErrMalformed, size)
	}
	fileNodes := uint64(size / pfsNodeSize)
	r := &pfsReader{src: src}

	node0 := r.buf[:pfsNodeSize]
	if err := r.readNode(0, node0); err != nil {
		return nil, err
	}
	update, err := checkPFSHeader(node0)
	if err != nil {
		return nil, err
	}
	if update {
		// Teaclave's SDK was interrupted while rewriting the file: its old
		// nodes are in the recovery file. Overlay them (the file itself is
		// never written) and start again.
		if opts.Recovery == nil {
			return nil, fmt.Errorf("%w: %q has its update flag set; provide %q", ErrRecoveryNeeded, opts.Name, opts.Name+"_recovery")
		}
		if err := r.loadRecovery(opts.Recovery, opts.RecoverySize, fileNodes); err != nil {
			return nil, err
		}
		if err := r.readNode(0, node0); err != nil {
			return nil, err
		}
		if update, err = checkPFSHeader(node0); err != nil {
			return nil, err
		}
		if update {
			return nil, fmt.Errorf("%w: the recovery file leaves the update flag set", ErrMalformed)
		}
	}
	copy(r.tag[:], node0[pfsOffGMAC:pfsOffGMAC+TagSize])
	if opts.ExpectedTag != nil && !r.tag.Equal(*opts.ExpectedTag) {
		return nil, fmt.Errorf("%w (teaclave-file-128 metadata gmac)", ErrTagMismatch)
	}

	metaKey, err := pfsMetadataKey(key, node0[pfsOffKeyID:pfsOffKeyID+pfsKeyIDSize])
	if err != nil {
		return nil, err
	}
	aead, err := pfsGCM(metaKey[:])
	if err != nil {
		return nil, err
	}
	var enc [pfsMetaEncSize + TagSize]byte
	copy(enc[:pfsMetaEncSize], node0[pfsOffEncStart:])
	copy(enc[pfsMetaEncSize:], r.tag[:])
	plain, err := aead.Open(enc[:0], pfsZeroNonce[:], enc[:], nil)
	if err != nil {
		return nil, fmt.Errorf("%w: metadata node", ErrAuthentication)
	}
	defer clear(enc[:])

	nameLen := bytes.IndexByte(plain[:pfsNameField], 0)
	if nameLen < 0 {
		return nil, fmt.Errorf("%w: embedded file name is not terminated", ErrMalformed)
	}
	if string(plain[:nameLen]) != opts.Name {
		return nil, fmt.Errorf("%w: the file was not created as %q", ErrNameMismatch, opts.Name)
	}
	r.size = binary.LittleEndian.Uint64(plain[pfsOffSize:])
	if r.size > MaxTeaclaveFileSize {
		return nil, fmt.Errorf("%w: content size %d exceeds %d", ErrTooLarge, r.size, uint64(MaxTeaclaveFileSize))
	}
	if need := pfsNodeCount(r.size); need > fileNodes {
		return nil, fmt.Errorf("%w: truncated: %d bytes of content need %d nodes, the file has %d", ErrMalformed, r.size, need, fileNodes)
	}
	copy(r.meta[:], plain[pfsOffData:])

	if r.size > pfsMetaDataSize {
		root := &pfsMHT{m: 0}
		if err := r.decryptNode(pfsMHTPhys(0), plain[pfsOffMHTKey:pfsOffMHTKey+16], plain[pfsOffMHTGMAC:pfsOffMHTGMAC+16], root.plain[:]); err != nil {
			return nil, fmt.Errorf("%w: root MHT node", err)
		}
		r.path = append(r.path, root)
	}
	return r, nil
}

// checkPFSHeader checks the plain part of a metadata node and returns its
// update flag. Only user-key files of major version 1 are accepted; the SDK
// does not check the minor version, nor the fields a user-key file leaves
// zero, and neither does this.
func checkPFSHeader(node0 []byte) (update bool, err error) {
	if binary.LittleEndian.Uint64(node0) != pfsFileID {
		return false, fmt.Errorf("%w: not an SGX protected file", ErrMalformed)
	}
	if v := node0[pfsOffMajor]; v != pfsMajorVersion {
		return false, fmt.Errorf("%w: unsupported protected-file major version %d", ErrMalformed, v)
	}
	if f := node0[pfsOffFlags]; f != pfsFlagsUserKey {
		return false, fmt.Errorf("%w: not a user-key protected file (encrypt_flags %d)", ErrMalformed, f)
	}
	return node0[pfsOffUpdate] != 0, nil
}

// loadRecovery indexes a recovery file: records of a node number (u64,
// little-endian as the SDK writes it on x86) and the node's 4096 old bytes.
// Later records for the same node win, as when the SDK replays them.
func (r *pfsReader) loadRecovery(rec io.ReaderAt, size int64, fileNodes uint64) error {
	if size <= 0 || size%pfsRecoveryRecord != 0 {
		return fmt.Errorf("%w: recovery file length %d is not a positive multiple of %d", ErrMalformed, size, pfsRecoveryRecord)
	}
	count := size / pfsRecoveryRecord
	if count > pfsMaxRecoveryRecords {
		return fmt.Errorf("%w: recovery file holds %d records, more than %d", ErrMalformed, count, pfsMaxRecoveryRecords)
	}
	index := make(map[uint64]int64, count)
	var num [8]byte
	for i := int64(0); i < count; i++ {
		if err := readFullAt(rec, num[:], i*pfsRecoveryRecord); err != nil {
			return fmt.Errorf("filecrypto: reading recovery file: %w", err)
		}
		n := binary.LittleEndian.Uint64(num[:])
		if n >= fileNodes {
			return fmt.Errorf("%w: recovery record for node %d of a %d-node file", ErrMalformed, n, fileNodes)
		}
		index[n] = i*pfsRecoveryRecord + 8
	}
	r.recovery, r.recIndex = rec, index
	return nil
}

// readNode reads the ciphertext of physical node n.
func (r *pfsReader) readNode(n uint64, dst []byte) error {
	var err error
	if off, ok := r.recIndex[n]; ok {
		err = readFullAt(r.recovery, dst, off)
	} else {
		err = readFullAt(r.src, dst, int64(n)*pfsNodeSize)
	}
	if err != nil {
		return fmt.Errorf("filecrypto: reading node %d: %w", n, err)
	}
	return nil
}

// decryptNode reads physical node n and decrypts it into dst with the key
// and tag from its parent.
func (r *pfsReader) decryptNode(n uint64, key, tag, dst []byte) error {
	if err := r.readNode(n, r.buf[:pfsNodeSize]); err != nil {
		return err
	}
	copy(r.buf[pfsNodeSize:], tag)
	aead, err := pfsGCM(key)
	if err != nil {
		return err
	}
	if _, err := aead.Open(dst[:0], pfsZeroNonce[:], r.buf[:], nil); err != nil {
		return fmt.Errorf("%w: node %d", ErrAuthentication, n)
	}
	return nil
}

// mht returns the decrypted MHT node m, walking down from the root and
// reusing the nodes of the current path.
func (r *pfsReader) mht(m uint64) ([]byte, error) {
	var chain [16]uint64 // m's ancestors; depth ≤ 5 for MaxTeaclaveFileSize
	depth := 0
	for x := m; x != 0; x, _ = pfsParentMHT(x) {
		chain[depth] = x
		depth++
	}
	// chain[depth-1] is the child of the root, chain[0] is m.
	for level := 1; level <= depth; level++ {
		x := chain[depth-level]
		if level < len(r.path) && r.path[level].m == x {
			continue
		}
		r.path = r.path[:level]
		_, entry := pfsParentMHT(x)
		parent := r.path[level-1].plain[entry*pfsEntrySize:]
		node := &pfsMHT{m: x}
		if err := r.decryptNode(pfsMHTPhys(x), parent[:16], parent[16:32], node.plain[:]); err != nil {
			return nil, fmt.Errorf("%w (MHT node %d)", err, x)
		}
		r.path = append(r.path, node)
	}
	return r.path[depth].plain[:], nil
}

// loadData decrypts data node d into r.plain.
func (r *pfsReader) loadData(d uint64) error {
	r.hasCur = false
	if err := r.loadDataInto(d, r.plain[:]); err != nil {
		return err
	}
	r.cur, r.hasCur = d, true
	return nil
}

// loadDataInto decrypts data node d into dst (4096 bytes).
func (r *pfsReader) loadDataInto(d uint64, dst []byte) error {
	mht, err := r.mht(d / pfsDataPerMHT)
	if err != nil {
		return err
	}
	entry := mht[(d%pfsDataPerMHT)*pfsEntrySize:]
	if err := r.decryptNode(pfsDataPhys(d), entry[:16], entry[16:32], dst); err != nil {
		return fmt.Errorf("%w (data node %d)", err, d)
	}
	return nil
}

func (r *pfsReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if r.pos >= r.size {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && r.pos < r.size {
		if r.pos < pfsMetaDataSize {
			end := min(r.size, pfsMetaDataSize)
			c := copy(p[n:], r.meta[r.pos:end])
			n += c
			r.pos += uint64(c)
			continue
		}
		off := r.pos - pfsMetaDataSize
		d := off / pfsNodeSize
		if off%pfsNodeSize == 0 && len(p)-n >= pfsNodeSize && r.size-r.pos >= pfsNodeSize {
			// A whole node wanted: decrypt it straight into p, saving a
			// copy. Open clears p on failure.
			if err := r.loadDataInto(d, p[n:n+pfsNodeSize]); err != nil {
				r.err = err
				return n, err
			}
			n += pfsNodeSize
			r.pos += pfsNodeSize
			continue
		}
		if !r.hasCur || r.cur != d {
			if err := r.loadData(d); err != nil {
				r.err = err
				return n, err
			}
		}
		start := off % pfsNodeSize
		end := min(uint64(pfsNodeSize), r.size-pfsMetaDataSize-d*pfsNodeSize)
		c := copy(p[n:], r.plain[start:end])
		n += c
		r.pos += uint64(c)
	}
	return n, nil
}

// readFullAt reads len(dst) bytes at off. A read that ends early is a
// truncated file (ErrMalformed); other I/O errors are returned wrapped.
func readFullAt(r io.ReaderAt, dst []byte, off int64) error {
	n, err := r.ReadAt(dst, off)
	if n == len(dst) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: truncated: short read at offset %d", ErrMalformed, off)
	}
	return fmt.Errorf("filecrypto: read at offset %d: %w", off, err)
}
