package filecrypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
)

// pfsWriter writes a fresh teaclave-file-128 file (update_flag 0) through
// io.WriterAt, since the metadata node and the MHT nodes come before the data
// they authenticate.
//
// Content streams through: each full data node is encrypted under a fresh
// random key and written at once. An MHT node, though, holds the tags of its
// child MHT nodes, whose data comes much later, so no MHT node is complete
// before the end of the file. Rather than keep MHT nodes in memory (4 KiB per
// 384 KiB of content), the writer encrypts each MHT node in two parts with
// AES-CTR exactly as GCM would: the 96 data entries as soon as they are
// known, the 32 child entries at Close, children before parents. Between the
// two it keeps only the node's key and the GHASH contribution of its first
// part (linearity again, see ghash.go); at Close it adds the second part's
// contribution and the length block to obtain the node's GCM tag. Memory is
// thus two nodes plus 32 bytes per MHT node (1 MiB per 12 GiB of content).
type pfsWriter struct {
	dst     io.WriterAt
	userKey [pfsUserKeySize]byte
	name    string

	size    uint64
	meta    [pfsMetaDataSize]byte
	node    [pfsNodeSize]byte
	nodeLen int
	nData   uint64 // data nodes written

	mhts    []pfsMHTState
	curOpen bool // the newest MHT's data entries are not yet written
	curMHT  [pfsDataPerMHT * pfsEntrySize]byte
	sealBuf [pfsNodeSize + TagSize]byte

	keyPool []byte
}

// pfsMHTState is what the writer keeps of an MHT node until Close: its key
// and, until finalized, the GHASH contribution of its data entries (H-scaled
// to their final position), then its tag.
type pfsMHTState struct {
	key [16]byte
	sum [16]byte
}

func newPFSWriter(dst io.WriterAt, key []byte, name string) (*pfsWriter, error) {
	if err := checkPFSName(name); err != nil {
		return nil, err
	}
	w := &pfsWriter{dst: dst, name: name}
	copy(w.userKey[:], key)
	return w, nil
}

// newKey returns a fresh random node key. Keys are drawn a batch at a time.
func (w *pfsWriter) newKey() []byte {
	if len(w.keyPool) < 16 {
		w.keyPool = make([]byte, 16*pfsDataPerMHT)
		_, _ = rand.Read(w.keyPool) // never fails (crypto/rand)
	}
	k := w.keyPool[:16:16]
	w.keyPool = w.keyPool[16:]
	return k
}

func (w *pfsWriter) write(p []byte) (int, error) {
	if uint64(len(p)) > MaxTeaclaveFileSize-w.size {
		return 0, fmt.Errorf("%w: teaclave-file-128 content is limited to %d bytes", ErrTooLarge, uint64(MaxTeaclaveFileSize))
	}
	n := 0
	for n < len(p) {
		if w.size < pfsMetaDataSize {
			c := copy(w.meta[w.size:], p[n:])
			n += c
			w.size += uint64(c)
			continue
		}
		if w.nodeLen == 0 && len(p)-n >= pfsNodeSize {
			// A whole node: encrypt it straight from p, saving a copy.
			if err := w.writeData(p[n : n+pfsNodeSize]); err != nil {
				return n, err
			}
			n += pfsNodeSize
			w.size += pfsNodeSize
			continue
		}
		c := copy(w.node[w.nodeLen:], p[n:])
		n += c
		w.nodeLen += c
		w.size += uint64(c)
		if w.nodeLen == pfsNodeSize {
			if err := w.flushData(); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// flushData encrypts and writes the buffered data node, zero-padded.
func (w *pfsWriter) flushData() error {
	clear(w.node[w.nodeLen:])
	err := w.writeData(w.node[:])
	w.nodeLen = 0
	clear(w.node[:])
	return err
}

// writeData encrypts and writes the next data node, of 4096 bytes.
func (w *pfsWriter) writeData(plain []byte) error {
	d := w.nData
	if d%pfsDataPerMHT == 0 {
		var st pfsMHTState
		copy(st.key[:], w.newKey())
		w.mhts = append(w.mhts, st)
		w.curOpen = true
	}
	key := w.newKey()
	aead, err := pfsGCM(key)
	if err != nil {
		return err
	}
	out := aead.Seal(w.sealBuf[:0], pfsZeroNonce[:], plain, nil)
	if _, err := w.dst.WriteAt(out[:pfsNodeSize], int64(pfsDataPhys(d))*pfsNodeSize); err != nil {
		return fmt.Errorf("filecrypto: writing data node %d: %w", d, err)
	}
	entry := w.curMHT[(d%pfsDataPerMHT)*pfsEntrySize:]
	copy(entry[:16], key)
	copy(entry[16:32], out[pfsNodeSize:])
	w.nData++
	if w.nData%pfsDataPerMHT == 0 {
		return w.finishMHTData()
	}
	return nil
}

// mhtCipher is what encrypting an MHT node in parts needs of its key.
type mhtCipher struct {
	block cipher.Block
	aead  cipher.AEAD // all-zero nonce: GHASH oracle
	h     gfElement
	hTab  *gfTable
	ekj0  gfElement // E_K(J0) for the all-zero nonce
}

func newMHTCipher(key []byte) (*mhtCipher, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	c := &mhtCipher{block: block, aead: aead}
	var b [16]byte
	block.Encrypt(b[:], b[:])
	c.h = gfLoad(b[:])
	c.hTab = newGFTable(c.h)
	clear(b[:])
	b[15] = 1
	block.Encrypt(b[:], b[:])
	c.ekj0 = gfLoad(b[:])
	return c, nil
}

// encryptPart encrypts the plaintext blocks starting at 0-based block first
// of the node in place (GCM's keystream: counter 2 + block) and returns
// H·G(part), G being the GHASH of the part without length block, computed by
// the standard library as in gcmStream.openChunk.
func (c *mhtCipher) encryptPart(part []byte, first uint32) gfElement {
	var iv [16]byte
	binary.BigEndian.PutUint32(iv[12:], 2+first)
	cipher.NewCTR(c.block, iv[:]).XORKeyStream(part, part)
	var sum [TagSize]byte
	t := c.aead.Seal(sum[:0], pfsZeroNonce[:], nil, part)
	return gfLoad(t).xor(c.ekj0).xor(c.hTab.mul(gcmLengths(uint64(len(part)), 0)))
}

// In a whole MHT node (256 blocks, then the length block) GHASH weighs block
// i (1-based) by H^(258−i). H·G of the data entries (blocks 1–192) weighs it
// by H^(194−i), so it still needs H^64; H·G of the child entries (blocks
// 193–256) weighs it by H^(258−i) already.
const mhtChildBlocks = pfsChildMHTs * pfsEntrySize / 16

// finishMHTData encrypts and writes the newest MHT node's 96 data entries
// and keeps their GHASH contribution.
func (w *pfsWriter) finishMHTData() error {
	m := len(w.mhts) - 1
	st := &w.mhts[m]
	c, err := newMHTCipher(st.key[:])
	if err != nil {
		return err
	}
	part := w.curMHT[:]
	hg := c.encryptPart(part, 0)
	if _, err := w.dst.WriteAt(part, int64(pfsMHTPhys(uint64(m)))*pfsNodeSize); err != nil {
		return fmt.Errorf("filecrypto: writing MHT node %d: %w", m, err)
	}
	gfMul(hg, gfPow(c.h, mhtChildBlocks)).put(st.sum[:])
	clear(w.curMHT[:])
	w.curOpen = false
	return nil
}

// finalizeMHT writes MHT node m's 32 child entries, whose children are final
// by then, and turns its state into its tag.
func (w *pfsWriter) finalizeMHT(m int) error {
	st := &w.mhts[m]
	var child [pfsChildMHTs * pfsEntrySize]byte
	for j := range pfsChildMHTs {
		c := pfsChildMHTs*m + 1 + j
		if c >= len(w.mhts) {
			break
		}
		copy(child[j*pfsEntrySize:], w.mhts[c].key[:])
		copy(child[j*pfsEntrySize+16:], w.mhts[c].sum[:])
	}
	c, err := newMHTCipher(st.key[:])
	if err != nil {
		return err
	}
	hg := c.encryptPart(child[:], pfsDataPerMHT*pfsEntrySize/16)
	if _, err := w.dst.WriteAt(child[:], int64(pfsMHTPhys(uint64(m)))*pfsNodeSize+pfsDataPerMHT*pfsEntrySize); err != nil {
		return fmt.Errorf("filecrypto: writing MHT node %d: %w", m, err)
	}
	s := gfLoad(st.sum[:]).xor(hg).xor(c.hTab.mul(gcmLengths(0, pfsNodeSize))).xor(c.ekj0)
	s.put(st.sum[:])
	return nil
}

func (w *pfsWriter) close() (Tag, error) {
	var tag Tag
	if w.size > pfsMetaDataSize {
		if w.nodeLen > 0 {
			if err := w.flushData(); err != nil {
				return tag, err
			}
		}
		if w.curOpen {
			if err := w.finishMHTData(); err != nil {
				return tag, err
			}
		}
		for m := len(w.mhts) - 1; m >= 0; m-- {
			if err := w.finalizeMHT(m); err != nil {
				return tag, err
			}
		}
	}

	var enc [pfsMetaEncSize]byte
	defer clear(enc[:])
	copy(enc[:pfsNameField], w.name)
	binary.LittleEndian.PutUint64(enc[pfsOffSize:], w.size)
	if len(w.mhts) > 0 {
		copy(enc[pfsOffMHTKey:], w.mhts[0].key[:])
		copy(enc[pfsOffMHTGMAC:], w.mhts[0].sum[:])
	}
	copy(enc[pfsOffData:], w.meta[:])

	var node0 [pfsNodeSize]byte
	binary.LittleEndian.PutUint64(node0[:], pfsFileID)
	node0[pfsOffMajor] = pfsMajorVersion
	node0[pfsOffFlags] = pfsFlagsUserKey
	keyID := node0[pfsOffKeyID : pfsOffKeyID+pfsKeyIDSize]
	_, _ = rand.Read(keyID) // fresh at every write, so the cmac never repeats
	metaKey, err := pfsMetadataKey(w.userKey[:], keyID)
	if err != nil {
		return tag, err
	}
	aead, err := pfsGCM(metaKey[:])
	if err != nil {
		return tag, err
	}
	out := aead.Seal(w.sealBuf[:0], pfsZeroNonce[:], enc[:], nil)
	copy(node0[pfsOffEncStart:], out[:pfsMetaEncSize])
	copy(node0[pfsOffGMAC:], out[pfsMetaEncSize:])
	if _, err := w.dst.WriteAt(node0[:], 0); err != nil {
		return tag, fmt.Errorf("filecrypto: writing metadata node: %w", err)
	}
	copy(tag[:], out[pfsMetaEncSize:])
	w.wipe()
	return tag, nil
}

// wipe drops the key material the writer holds (best effort).
func (w *pfsWriter) wipe() {
	clear(w.userKey[:])
	clear(w.meta[:])
	clear(w.sealBuf[:])
	clear(w.mhts)
	w.mhts = nil
	clear(w.keyPool)
}
