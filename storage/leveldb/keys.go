package leveldb

import (
	"encoding/binary"
	"errors"
)

// The raw keyspace. Each namespace starts with its own byte, so user keys,
// queue bookkeeping and the store's metadata can never collide:
//
//	'k' | key                                      -> version u64 | value
//	'm' | queue name                               -> head u64 | tail u64
//	'e' | len(queue name) u16 | queue name | i u64 -> element i
//	's' | name                                     -> store metadata
//
// A queue holds elements head..tail-1; its 'm' entry exists only while it
// is non-empty, so indexes restart at 0 once a queue drains. Indexes are
// u64 and never wrap (Teaclave used u32 that wrapped).
const (
	nsKey     = 'k'
	nsQueue   = 'm'
	nsElement = 'e'
	nsMeta    = 's'
)

var (
	metaVersion = []byte{nsMeta, 'v'} // the last version handed out, u64
	metaFormat  = []byte{nsMeta, 'f'} // the keyspace format, u64
)

// keyspaceFormat is the layout above. A store refuses a database with
// another.
const keyspaceFormat = 1

func rawKey(key []byte) []byte {
	return append([]byte{nsKey}, key...)
}

func queueKey(q []byte) []byte {
	return append([]byte{nsQueue}, q...)
}

func elementKey(q []byte, i uint64) []byte {
	b := make([]byte, 0, 1+2+len(q)+8)
	b = append(b, nsElement)
	b = binary.BigEndian.AppendUint16(b, uint16(len(q)))
	b = append(b, q...)
	return binary.BigEndian.AppendUint64(b, i)
}

func encodeValue(version uint64, value []byte) []byte {
	b := make([]byte, 8, 8+len(value))
	binary.BigEndian.PutUint64(b, version)
	return append(b, value...)
}

var errBadRecord = errors.New("leveldb store: malformed record")

func decodeValue(raw []byte) (value []byte, version uint64, err error) {
	if len(raw) < 8 {
		return nil, 0, errBadRecord
	}
	version = binary.BigEndian.Uint64(raw)
	if version == 0 {
		return nil, 0, errBadRecord
	}
	return raw[8:], version, nil
}

func encodeQueue(head, tail uint64) []byte {
	b := make([]byte, 16)
	binary.BigEndian.PutUint64(b, head)
	binary.BigEndian.PutUint64(b[8:], tail)
	return b
}

func decodeQueue(raw []byte) (head, tail uint64, err error) {
	if len(raw) != 16 {
		return 0, 0, errBadRecord
	}
	head, tail = binary.BigEndian.Uint64(raw), binary.BigEndian.Uint64(raw[8:])
	if head >= tail {
		return 0, 0, errBadRecord
	}
	return head, tail, nil
}

func encodeU64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func decodeU64(raw []byte) (uint64, error) {
	if len(raw) != 8 {
		return 0, errBadRecord
	}
	return binary.BigEndian.Uint64(raw), nil
}
