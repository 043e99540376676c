package fileagent_test

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/teaclave-go/teaclave/execution/fileagent"
	"github.com/teaclave-go/teaclave/execution/filecrypto"
)

// benchSize is the plaintext size of the benchmarked input.
const benchSize = 4 << 20

// benchFile is one encoding of the benchmark's plaintext.
type benchFile struct {
	schema filecrypto.Schema
	info   filecrypto.CryptoInfo
	data   []byte
	tag    *filecrypto.Tag
}

// benchFiles encrypts the same plaintext as each schema, named
// "input.bin" (the name a teaclave-file-128 file embeds).
func benchFiles(b *testing.B) (plain []byte, files []benchFile) {
	b.Helper()
	plain = make([]byte, benchSize)
	rng := rand.New(rand.NewChaCha8([32]byte{1}))
	for i := range plain {
		plain[i] = byte(rng.Uint32())
	}
	files = append(files, benchFile{schema: filecrypto.SchemaRaw, info: filecrypto.CryptoInfo{Schema: filecrypto.SchemaRaw}, data: plain})
	for _, info := range []filecrypto.CryptoInfo{
		{Schema: filecrypto.SchemaAESGCM128, Key: bytes.Repeat([]byte{7}, 16), IV: bytes.Repeat([]byte{9}, 12)},
		{Schema: filecrypto.SchemaTeaclaveFile128, Key: bytes.Repeat([]byte{5}, 16)},
	} {
		s, err := fileagent.NewScratch(b.TempDir(), 64<<20, 0)
		if err != nil {
			b.Fatal(err)
		}
		dst := s.NewBuffer(64 << 20)
		w, err := filecrypto.NewWriter(dst, info, filecrypto.WriterOptions{Name: "input.bin", ClaimNonce: func(_, _ []byte) error { return nil }})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := w.Write(plain); err != nil {
			b.Fatal(err)
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		tag, err := w.Tag()
		if err != nil {
			b.Fatal(err)
		}
		data, err := io.ReadAll(dst.Reader())
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
		files = append(files, benchFile{schema: info.Schema, info: info, data: data, tag: &tag})
	}
	return plain, files
}

// stage does what the execution node does with one input: the
// (encrypted) file into one buffer, its plaintext, cmac checked, into
// another. A raw file's download is its plaintext.
func stage(f benchFile, scratch *fileagent.Scratch, fetch func(*fileagent.Buffer) error) (*fileagent.Buffer, error) {
	enc := scratch.NewBuffer(64 << 20)
	if err := fetch(enc); err != nil {
		return nil, err
	}
	if f.schema == filecrypto.SchemaRaw {
		return enc, nil
	}
	r, err := filecrypto.NewReader(enc, enc.Size(), f.info, filecrypto.ReaderOptions{Name: "input.bin", ExpectedTag: f.tag})
	if err != nil {
		return nil, err
	}
	plain := scratch.NewBuffer(64 << 20)
	if _, err := io.Copy(plain, r); err != nil {
		return nil, err
	}
	enc.Close()
	return plain, nil
}

// BenchmarkStageInput measures the staging of one 4 MiB input as the
// execution node does it, for a raw file and for the same plaintext
// encrypted as aes-gcm-128 and teaclave-file-128:
//
//   - source=http: downloaded by the file agent from a loopback server on
//     the allowlist, then decrypted with its cmac checked;
//   - source=memory: the file already in a scratch buffer (decryption
//     alone; raw is then a copy of the bytes);
//
// each with the task's files in memory (mem=memory) or spilled to sealed
// scratch files (mem=spilled: a memory budget of 0). MB/s are of
// plaintext.
func BenchmarkStageInput(b *testing.B) {
	plain, files := benchFiles(b)
	mux := http.NewServeMux()
	for _, f := range files {
		data := f.data
		mux.HandleFunc("/"+string(f.schema)+"/input.bin", func(w http.ResponseWriter, r *http.Request) {
			http.ServeContent(w, r, "input.bin", time.Time{}, bytes.NewReader(data))
		})
	}
	srv := httptest.NewServer(mux)
	defer srv.Close()
	agent, err := fileagent.New(fileagent.Config{Allow: []string{srv.Listener.Addr().String()}}.Defaults(), fileagent.Deps{})
	if err != nil {
		b.Fatal(err)
	}
	defer agent.Close()
	scratchDir := b.TempDir()
	ctx := context.Background()

	for _, source := range []string{"http", "memory"} {
		for _, mem := range []string{"memory", "spilled"} {
			budget := int64(256 << 20)
			if mem == "spilled" {
				budget = 0
			}
			for _, f := range files {
				name := "source=" + source + "/mem=" + mem + "/" + string(f.schema)
				b.Run(name, func(b *testing.B) {
					b.SetBytes(benchSize)
					var fetch func(*fileagent.Buffer) error
					switch source {
					case "http":
						url := srv.URL + "/" + string(f.schema) + "/input.bin"
						fetch = func(dst *fileagent.Buffer) error { return agent.Download(ctx, url, dst) }
					default:
						fetch = func(dst *fileagent.Buffer) error {
							_, err := dst.Write(f.data)
							return err
						}
					}
					var out *fileagent.Buffer
					checked := false
					for b.Loop() {
						scratch, err := fileagent.NewScratch(scratchDir, budget, 1<<30)
						if err != nil {
							b.Fatal(err)
						}
						if out, err = stage(f, scratch, fetch); err != nil {
							b.Fatal(err)
						}
						if out.Size() != benchSize {
							b.Fatalf("staged %d bytes", out.Size())
						}
						if !checked {
							// Once, untimed: the staged plaintext is right.
							b.StopTimer()
							got, err := io.ReadAll(out.Reader())
							if err != nil || !bytes.Equal(got, plain) {
								b.Fatalf("staged plaintext differs (%v)", err)
							}
							checked = true
							b.StartTimer()
						}
						scratch.Close()
					}
				})
			}
		}
	}
}
