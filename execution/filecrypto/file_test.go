package filecrypto

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
)

// TestValidate applies the key and IV rules of §4.4.
func TestValidate(t *testing.T) {
	b := func(n int) []byte { return make([]byte, n) }
	for _, tc := range []struct {
		info CryptoInfo
		ok   bool
	}{
		{CryptoInfo{SchemaAESGCM128, b(16), b(12)}, true},
		{CryptoInfo{SchemaAESGCM128, b(32), b(12)}, false},
		{CryptoInfo{SchemaAESGCM128, b(16), b(16)}, false},
		{CryptoInfo{SchemaAESGCM128, b(16), nil}, false},
		{CryptoInfo{SchemaAESGCM256, b(32), b(12)}, true},
		{CryptoInfo{SchemaAESGCM256, b(16), b(12)}, false},
		{CryptoInfo{SchemaAESGCM256, b(32), b(0)}, false},
		{CryptoInfo{SchemaTeaclaveFile128, b(16), nil}, true},
		{CryptoInfo{SchemaTeaclaveFile128, b(16), b(0)}, true},
		{CryptoInfo{SchemaTeaclaveFile128, b(16), b(12)}, false},
		{CryptoInfo{SchemaTeaclaveFile128, b(32), nil}, false},
		{CryptoInfo{SchemaRaw, nil, nil}, true},
		{CryptoInfo{SchemaRaw, b(7), b(3)}, true},
		{CryptoInfo{"aes-gcm-192", b(24), b(12)}, false},
		{CryptoInfo{"", nil, nil}, false},
		{CryptoInfo{"AES-GCM-128", b(16), b(12)}, false},
	} {
		err := tc.info.Validate()
		if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrInvalidCryptoInfo)) {
			t.Errorf("%v: Validate() = %v, want ok=%v", tc.info, err, tc.ok)
		}
	}
	for _, s := range []string{"aes-gcm-128", "aes-gcm-256", "teaclave-file-128", "raw"} {
		if sc, err := ParseSchema(s); err != nil || string(sc) != s {
			t.Errorf("ParseSchema(%q) = %q, %v", s, sc, err)
		}
	}
	if _, err := ParseSchema("aes-ctr"); !errors.Is(err, ErrInvalidCryptoInfo) {
		t.Errorf("ParseSchema(aes-ctr) = %v", err)
	}
	// Invalid crypto info is refused by readers and writers too.
	bad := CryptoInfo{SchemaAESGCM128, b(15), b(12)}
	if _, err := NewReader(bytes.NewReader(nil), 0, bad, ReaderOptions{}); !errors.Is(err, ErrInvalidCryptoInfo) {
		t.Errorf("NewReader: %v", err)
	}
	if _, err := NewWriter(io.Discard, bad, WriterOptions{ClaimNonce: allowNonce}); !errors.Is(err, ErrInvalidCryptoInfo) {
		t.Errorf("NewWriter: %v", err)
	}
}

// TestCanonical: the platform returns no IV for teaclave-file-128 and
// neither key nor IV for raw, in fresh memory.
func TestCanonical(t *testing.T) {
	key, iv := []byte{1, 2}, []byte{3}
	if c := (CryptoInfo{SchemaRaw, key, iv}).Canonical(); c.Key != nil || c.IV != nil {
		t.Errorf("raw: %v", c)
	}
	c := (CryptoInfo{SchemaTeaclaveFile128, key, iv}).Canonical()
	if !bytes.Equal(c.Key, key) || c.IV != nil {
		t.Errorf("teaclave-file-128: %v", c)
	}
	c = (CryptoInfo{SchemaAESGCM128, key, iv}).Canonical()
	key[0] = 9
	if c.Key[0] != 1 || !bytes.Equal(c.IV, iv) {
		t.Error("aes-gcm: Canonical shares memory or drops the iv")
	}
}

// TestCryptoInfoRedacted: no fmt verb or slog handler shows the key or IV.
func TestCryptoInfoRedacted(t *testing.T) {
	key := bytes.Repeat([]byte{0xab}, 16)
	iv := bytes.Repeat([]byte{0xcd}, 12)
	info := CryptoInfo{SchemaAESGCM128, key, iv}
	var logged bytes.Buffer
	noTime := func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}
	slog.New(slog.NewJSONHandler(&logged, &slog.HandlerOptions{ReplaceAttr: noTime})).Info("x", "info", info)
	out := fmt.Sprintf("%v %+v %#v %s %x %q", info, info, info, info, info, info) + logged.String()
	for _, leak := range []string{"ab", "AB", "171", "q6ur", "cd", "205"} {
		if strings.Contains(strings.ReplaceAll(out, "redacted", ""), leak) {
			t.Fatalf("formatted crypto info shows %q: %s", leak, out)
		}
	}
	if !strings.Contains(out, "aes-gcm-128") || !strings.Contains(out, "16 bytes") {
		t.Errorf("formatted crypto info lost its schema or lengths: %s", out)
	}
}

// TestTag: hex form and byte form of the cmac (§4.5).
func TestTag(t *testing.T) {
	tg, err := ParseTag("592F1E607649D89FF2AA8A2841A57CAD")
	if err != nil {
		t.Fatal(err)
	}
	if tg.String() != "592f1e607649d89ff2aa8a2841a57cad" {
		t.Errorf("String() = %s", tg)
	}
	b, err := TagFromBytes(tg.Bytes())
	if err != nil || !b.Equal(tg) {
		t.Errorf("TagFromBytes round trip: %v", err)
	}
	b[3] ^= 1
	if b.Equal(tg) {
		t.Error("different tags Equal")
	}
	for _, s := range []string{"", "592f", strings.Repeat("g", 32), hex.EncodeToString(make([]byte, 17))} {
		if _, err := ParseTag(s); err == nil {
			t.Errorf("ParseTag(%q) succeeded", s)
		}
	}
	if _, err := TagFromBytes(make([]byte, 15)); err == nil {
		t.Error("TagFromBytes of 15 bytes succeeded")
	}
}

// TestRaw: raw files read as they are, have no cmac to check, and are not
// written.
func TestRaw(t *testing.T) {
	data := []byte("plain text")
	info := CryptoInfo{Schema: SchemaRaw}
	r, err := NewReader(bytes.NewReader(data), int64(len(data)), info, ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(r); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("raw read: %q, %v", got, err)
	}
	if _, ok := r.Tag(); ok {
		t.Error("raw file has a tag")
	}
	var tag Tag
	if _, err := NewReader(bytes.NewReader(data), int64(len(data)), info, ReaderOptions{ExpectedTag: &tag}); !errors.Is(err, ErrNoTag) {
		t.Errorf("raw with expected cmac: %v", err)
	}
	if _, err := NewWriter(io.Discard, info, WriterOptions{}); !errors.Is(err, ErrInvalidOptions) {
		t.Errorf("raw writer: %v", err)
	}
}

type failingWriter struct{ after int }

var errDisk = errors.New("disk full")

func (f *failingWriter) Write(p []byte) (int, error) { return f.WriteAt(p, 0) }
func (f *failingWriter) WriteAt(p []byte, _ int64) (int, error) {
	if f.after <= 0 {
		return 0, errDisk
	}
	f.after--
	return len(p), nil
}

// TestWriterLifecycle: Tag only after a successful Close, no Write after
// Close, Close idempotent, destination errors sticky and reported.
func TestWriterLifecycle(t *testing.T) {
	for _, info := range []CryptoInfo{newPFSInfo(), newGCMInfo(SchemaAESGCM128)} {
		var f memFile
		w, err := NewWriter(&f, info, WriterOptions{Name: "l.enc", ClaimNonce: allowNonce})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Tag(); !errors.Is(err, ErrNotClosed) {
			t.Errorf("%s: Tag before Close: %v", info.Schema, err)
		}
		w.Write([]byte("abc"))
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Errorf("%s: second Close: %v", info.Schema, err)
		}
		if _, err := w.Write([]byte("x")); !errors.Is(err, ErrClosed) {
			t.Errorf("%s: Write after Close: %v", info.Schema, err)
		}

		w, err = NewWriter(&failingWriter{after: 1}, info, WriterOptions{Name: "l.enc", ClaimNonce: allowNonce})
		if err != nil {
			t.Fatal(err)
		}
		_, err = w.Write(make([]byte, 300000))
		if err == nil {
			err = w.Close()
		}
		if !errors.Is(err, errDisk) {
			t.Errorf("%s: failing destination: %v", info.Schema, err)
		}
		if err := w.Close(); !errors.Is(err, errDisk) {
			t.Errorf("%s: Close after a failure: %v", info.Schema, err)
		}
		if _, err := w.Tag(); err == nil {
			t.Errorf("%s: Tag after a failed write", info.Schema)
		}
	}
}
