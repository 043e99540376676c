package sdk_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/rpc/pb/commonpb"
	"github.com/teaclave-go/teaclave/sdk"
)

var encryptedSchemas = []string{sdk.SchemaAESGCM128, sdk.SchemaAESGCM256, sdk.SchemaTeaclaveFile128}

func TestEncryptDecryptEverySchema(t *testing.T) {
	plain := bytes.Repeat([]byte("teaclave "), 10000) // spans several protected-file nodes
	for _, schema := range encryptedSchemas {
		t.Run(schema, func(t *testing.T) {
			info, err := sdk.NewCryptoInfo(schema)
			if err != nil {
				t.Fatal(err)
			}
			if err := info.Validate(); err != nil {
				t.Fatal(err)
			}
			other, _ := sdk.NewCryptoInfo(schema)
			if bytes.Equal(info.Key, other.Key) {
				t.Fatal("two NewCryptoInfo calls drew the same key")
			}
			file, tag, err := sdk.Encrypt(info, "f.enc", plain)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(file, []byte("teaclave teaclave")) {
				t.Fatal("the file holds plaintext")
			}
			got, gotTag, err := sdk.Decrypt(info, "f.enc", file, &tag)
			if err != nil || !bytes.Equal(got, plain) || gotTag != tag {
				t.Fatalf("Decrypt: %v, equal=%v, tag %v want %v", err, bytes.Equal(got, plain), gotTag, tag)
			}
			if ct, err := sdk.ComputeTag(info, "f.enc", file); err != nil || ct != tag {
				t.Fatalf("ComputeTag = %v %v, want %v", ct, err, tag)
			}
			wrong := tag
			wrong[0] ^= 1
			if _, _, err := sdk.Decrypt(info, "f.enc", file, &wrong); teaclave.KindOf(err) != teaclave.KindInvalidArgument {
				t.Fatalf("wrong expected tag: %v", err)
			}
			tampered := bytes.Clone(file)
			tampered[len(tampered)/2] ^= 1
			if _, _, err := sdk.Decrypt(info, "f.enc", tampered, nil); err == nil {
				t.Fatal("tampered file decrypted")
			}
			if _, err := sdk.ComputeTag(other, "f.enc", file); err == nil {
				t.Fatal("ComputeTag under another key succeeded")
			}
		})
	}
}

func TestTeaclaveFileIsBoundToItsName(t *testing.T) {
	info, _ := sdk.NewCryptoInfo(sdk.SchemaTeaclaveFile128)
	file, _, err := sdk.Encrypt(info, "a.enc", []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := sdk.Decrypt(info, "b.enc", file, nil); err == nil {
		t.Fatal("decrypted under another name")
	}
	if _, _, err := sdk.Encrypt(info, "", []byte("x")); teaclave.KindOf(err) != teaclave.KindInvalidArgument {
		t.Fatalf("teaclave-file-128 without a name: %v", err)
	}
}

// TestTeaclaveCompatibility decrypts files made by Teaclave's own tools.
func TestTeaclaveCompatibility(t *testing.T) {
	// The password of Teaclave's password-check example: a data: URL,
	// aes-gcm-128 under key 0 and IV 0.
	file, err := base64.StdEncoding.DecodeString("c+mpvRfZ0fboR0j3rTgOGDBiubSzlCt9")
	if err != nil {
		t.Fatal(err)
	}
	info, err := sdk.ParseCryptoInfo(sdk.SchemaAESGCM128, strings.Repeat("00", 16), strings.Repeat("00", 12))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := sdk.ParseTag("e84748f7ad380e183062b9b4b3942b7d")
	plain, tag, err := sdk.Decrypt(info, "", file, &want)
	if err != nil || string(plain) != "password" || tag != want {
		t.Fatalf("password: %q %v %v", plain, tag, err)
	}
	// Re-encrypting gives the same bytes (one GCM message, AAD 8×0).
	again, tag2, err := sdk.Encrypt(info, "", plain)
	if err != nil || !bytes.Equal(again, file) || tag2 != want {
		t.Fatalf("re-encrypt: %x %v %v", again, tag2, err)
	}
	// A teaclave-file-128 fixture under key 0.
	pfs, err := sdk.ParseCryptoInfo(sdk.SchemaTeaclaveFile128, strings.Repeat("00", 16), "")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "examples", "deploy", "testdata", "psi0.txt.enc")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("fixture: %v", err)
	}
	got, err := sdk.ComputeFileTag(pfs, path)
	if err != nil || got.String() != "92f686d4ac2ba6b4ffd93bc7ac5dbf58" {
		t.Fatalf("ComputeFileTag(psi0.txt.enc) = %v %v", got, err)
	}
}

func TestFileHelpers(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "plain.txt")
	if err := os.WriteFile(src, []byte("line one\nline two\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, schema := range encryptedSchemas {
		info, _ := sdk.NewCryptoInfo(schema)
		enc := filepath.Join(dir, schema+".enc")
		tag, err := sdk.EncryptFile(info, src, enc)
		if err != nil {
			t.Fatalf("%s: EncryptFile: %v", schema, err)
		}
		if st, err := os.Stat(enc); err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("%s: encrypted file %v %v", schema, st, err)
		}
		if got, err := sdk.ComputeFileTag(info, enc); err != nil || got != tag {
			t.Fatalf("%s: ComputeFileTag = %v %v, want %v", schema, got, err, tag)
		}
		out := filepath.Join(dir, schema+".out")
		if got, err := sdk.DecryptFile(info, enc, out, &tag); err != nil || got != tag {
			t.Fatalf("%s: DecryptFile: %v", schema, err)
		}
		if data, _ := os.ReadFile(out); string(data) != "line one\nline two\n" {
			t.Fatalf("%s: decrypted %q", schema, data)
		}
		// A wrong cmac leaves no output behind.
		bad := tag
		bad[5] ^= 0xff
		failed := filepath.Join(dir, schema+".bad")
		if _, err := sdk.DecryptFile(info, enc, failed, &bad); err == nil {
			t.Fatalf("%s: wrong cmac accepted", schema)
		}
		if _, err := os.Stat(failed); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s: output of a failed decryption left behind: %v", schema, err)
		}
	}
	info, _ := sdk.NewCryptoInfo(sdk.SchemaAESGCM128)
	if _, err := sdk.EncryptFile(info, filepath.Join(dir, "missing"), filepath.Join(dir, "x")); teaclave.KindOf(err) != teaclave.KindInvalidArgument {
		t.Fatalf("missing source: %v", err)
	}
	if _, err := sdk.ComputeFileTag(info, filepath.Join(dir, "missing")); err == nil {
		t.Fatal("ComputeFileTag of a missing file succeeded")
	}
}

func TestCryptoInfoRules(t *testing.T) {
	if _, err := sdk.NewCryptoInfo("rot13"); teaclave.KindOf(err) != teaclave.KindInvalidArgument {
		t.Fatalf("unknown schema: %v", err)
	}
	raw, err := sdk.NewCryptoInfo(sdk.SchemaRaw)
	if err != nil || raw.Key != nil || raw.IV != nil {
		t.Fatalf("raw: %+v %v", raw.Schema, err)
	}
	if _, _, err := sdk.Encrypt(raw, "", []byte("x")); teaclave.KindOf(err) != teaclave.KindInvalidArgument {
		t.Fatalf("encrypt raw: %v", err)
	}
	if plain, _, err := sdk.Decrypt(raw, "", []byte("as is"), nil); err != nil || string(plain) != "as is" {
		t.Fatalf("decrypt raw: %q %v", plain, err)
	}
	if _, err := sdk.ComputeTag(raw, "", []byte("x")); err == nil {
		t.Fatal("raw has a cmac")
	}
	for name, c := range map[string][3]string{
		"short key":        {sdk.SchemaAESGCM128, "00", strings.Repeat("00", 12)},
		"256 with 128 key": {sdk.SchemaAESGCM256, strings.Repeat("00", 16), strings.Repeat("00", 12)},
		"pfs with iv":      {sdk.SchemaTeaclaveFile128, strings.Repeat("00", 16), "00"},
		"gcm without iv":   {sdk.SchemaAESGCM128, strings.Repeat("00", 16), ""},
		"key not hex":      {sdk.SchemaAESGCM128, "zz", ""},
		"iv not hex":       {sdk.SchemaAESGCM128, strings.Repeat("00", 16), "q"},
		"unknown schema":   {"des", strings.Repeat("00", 8), ""},
	} {
		if _, err := sdk.ParseCryptoInfo(c[0], c[1], c[2]); teaclave.KindOf(err) != teaclave.KindInvalidArgument {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Keys never show in fmt or slog.
	info, _ := sdk.NewCryptoInfo(sdk.SchemaAESGCM128)
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("x", "info", info)
	for _, s := range []string{fmt.Sprint(info), fmt.Sprintf("%+v %#v %x", info, info, info), logs.String()} {
		if strings.Contains(s, fmt.Sprintf("%x", info.Key)) || !strings.Contains(s, "aes-gcm-128") {
			t.Errorf("rendering %q", s)
		}
	}
}

func TestTags(t *testing.T) {
	tag, err := sdk.ParseTag("00112233445566778899aabbccddeeff")
	if err != nil || tag.String() != "00112233445566778899aabbccddeeff" {
		t.Fatalf("ParseTag: %v %v", tag, err)
	}
	for _, bad := range []string{"", "0011", "zz112233445566778899aabbccddeeff", "00112233445566778899aabbccddeeff00"} {
		if _, err := sdk.ParseTag(bad); teaclave.KindOf(err) != teaclave.KindInvalidArgument {
			t.Errorf("ParseTag(%q): %v", bad, err)
		}
	}
	if _, err := sdk.TagFromBytes(make([]byte, 15)); err == nil {
		t.Error("TagFromBytes of 15 bytes")
	}
	if got, err := sdk.TagFromBytes(tag[:]); err != nil || got != tag {
		t.Errorf("TagFromBytes: %v %v", got, err)
	}
	if u := sdk.DataURL([]byte("hi")); u != "data:application/octet-stream;base64,aGk=" {
		t.Errorf("DataURL = %q", u)
	}
}

func TestTaskStatusWireValues(t *testing.T) {
	for s, want := range map[sdk.TaskStatus]commonpb.TaskStatus{
		sdk.TaskCreated: commonpb.TaskStatus_Created, sdk.TaskDataAssigned: commonpb.TaskStatus_DataAssigned,
		sdk.TaskApproved: commonpb.TaskStatus_Approved, sdk.TaskStaged: commonpb.TaskStatus_Staged,
		sdk.TaskRunning: commonpb.TaskStatus_Running, sdk.TaskFinished: commonpb.TaskStatus_Finished,
		sdk.TaskCanceled: commonpb.TaskStatus_Canceled, sdk.TaskFailed: commonpb.TaskStatus_Failed,
	} {
		if int32(s) != int32(want) || s.String() != want.String() {
			t.Errorf("%v = %d, wire %v = %d", s, s, want, want)
		}
		if s.Done() != (s == sdk.TaskFinished || s == sdk.TaskCanceled || s == sdk.TaskFailed) {
			t.Errorf("%v.Done() = %v", s, s.Done())
		}
	}
}

// TestDecryptFileKeepsDestinationUntilAuthentic: an aes-gcm file of
// several chunks whose last bytes are tampered leaves an existing
// destination as it was (the reader hands out early chunks before the tag
// is checked, so a direct write would have put forged plaintext there),
// and leaves no temporary file behind.
func TestDecryptFileKeepsDestinationUntilAuthentic(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "plain.bin")
	if err := os.WriteFile(src, bytes.Repeat([]byte("A"), 300<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, schema := range encryptedSchemas {
		info, _ := sdk.NewCryptoInfo(schema)
		enc := filepath.Join(dir, schema+".enc")
		if _, err := sdk.EncryptFile(info, src, enc); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(enc)
		if err != nil {
			t.Fatal(err)
		}
		data[10] ^= 0x01          // the first chunk
		data[len(data)-1] ^= 0x01 // and the tag or the last node
		tampered := filepath.Join(dir, schema+".tampered")
		if err := os.WriteFile(tampered, data, 0o600); err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, schema+".out")
		if err := os.WriteFile(dst, []byte("old"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := sdk.DecryptFile(info, tampered, dst, nil); err == nil {
			t.Fatalf("%s: tampered file decrypted", schema)
		}
		if got, _ := os.ReadFile(dst); string(got) != "old" {
			t.Fatalf("%s: destination changed by a failed decryption: %d bytes", schema, len(got))
		}
		if parts, _ := filepath.Glob(filepath.Join(dir, ".*.part")); len(parts) != 0 {
			t.Fatalf("%s: temporary files left: %v", schema, parts)
		}
	}
}

// TestFileHelpersRefuseSameFile: a destination that is the source through
// a symbolic or hard link is refused, and the source keeps its bytes.
func TestFileHelpersRefuseSameFile(t *testing.T) {
	dir := t.TempDir()
	info, _ := sdk.NewCryptoInfo(sdk.SchemaAESGCM128)
	plain := filepath.Join(dir, "plain.txt")
	if err := os.WriteFile(plain, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	enc := filepath.Join(dir, "plain.enc")
	if _, err := sdk.EncryptFile(info, plain, enc); err != nil {
		t.Fatal(err)
	}
	encBytes, _ := os.ReadFile(enc)
	for name, link := range map[string]func(string, string) error{"symlink": os.Symlink, "hard link": os.Link} {
		toPlain := filepath.Join(dir, name+"-plain")
		toEnc := filepath.Join(dir, name+"-enc")
		if err := link(plain, toPlain); err != nil {
			t.Fatal(err)
		}
		if err := link(enc, toEnc); err != nil {
			t.Fatal(err)
		}
		if _, err := sdk.EncryptFile(info, plain, toPlain); teaclave.KindOf(err) != teaclave.KindInvalidArgument {
			t.Fatalf("%s: EncryptFile onto its source: %v", name, err)
		}
		if _, err := sdk.DecryptFile(info, enc, toEnc, nil); teaclave.KindOf(err) != teaclave.KindInvalidArgument {
			t.Fatalf("%s: DecryptFile onto its source: %v", name, err)
		}
		if got, _ := os.ReadFile(plain); string(got) != "precious" {
			t.Fatalf("%s: source changed: %q", name, got)
		}
		if got, _ := os.ReadFile(enc); !bytes.Equal(got, encBytes) {
			t.Fatalf("%s: encrypted source changed", name)
		}
	}
}
