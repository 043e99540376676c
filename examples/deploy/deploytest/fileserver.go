//go:build !teaclave_production

package deploytest

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"path"
	"strings"
	"sync"
	"testing"
	"time"
)

// maxUpload bounds one PUT: test outputs are small, and a bound keeps a
// misbehaving upload from filling the test's memory.
const maxUpload = 16 << 20

// FileServer is an HTTP file store on 127.0.0.1 that stands for the
// storage a task's files live on (Teaclave's example file server): PUT
// keeps the body in memory under the request's path, GET answers what was
// put there or, failing that, the file at the same path in the fallback
// file system. Paths are cleaned and taken without their leading slash.
type FileServer struct {
	fallback fs.FS
	srv      *http.Server
	addr     string

	mu    sync.Mutex
	files map[string][]byte
}

// NewFileServer starts a file server on a free port of 127.0.0.1. GET
// falls back to fallback, which may be nil. Close stops it.
func NewFileServer(fallback fs.FS) (*FileServer, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("deploytest: file server: %w", err)
	}
	s := &FileServer{fallback: fallback, files: map[string][]byte{}, addr: lis.Addr().String()}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go s.srv.Serve(lis)
	return s, nil
}

// StartFileServer starts a file server that stops when the test ends.
func StartFileServer(t testing.TB, fallback fs.FS) *FileServer {
	t.Helper()
	s, err := NewFileServer(fallback)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Addr is the server's host:port, for a file agent allowlist.
func (s *FileServer) Addr() string { return s.addr }

// URL is the http URL of the file at name.
func (s *FileServer) URL(name string) string {
	return "http://" + s.addr + "/" + strings.TrimPrefix(name, "/")
}

// Put makes GET name answer data, as a PUT would.
func (s *FileServer) Put(name string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files[clean(name)] = data
}

// File returns what was put at name, and whether anything was.
func (s *FileServer) File(name string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	data, ok := s.files[clean(name)]
	return data, ok
}

// Close stops the server.
func (s *FileServer) Close() error { return s.srv.Close() }

func clean(name string) string { return strings.TrimPrefix(path.Clean("/"+name), "/") }

// ServeHTTP implements http.Handler.
func (s *FileServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := clean(r.URL.Path)
	switch r.Method {
	case http.MethodPut:
		data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxUpload))
		if err != nil {
			code := http.StatusBadRequest
			if mbe := new(http.MaxBytesError); errors.As(err, &mbe) {
				code = http.StatusRequestEntityTooLarge
			}
			http.Error(w, err.Error(), code)
			return
		}
		s.Put(name, data)
	case http.MethodGet:
		data, ok := s.File(name)
		if !ok {
			if s.fallback == nil || !fs.ValidPath(name) {
				http.NotFound(w, r)
				return
			}
			var err error
			if data, err = fs.ReadFile(s.fallback, name); err != nil {
				http.NotFound(w, r)
				return
			}
		}
		w.Write(data)
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}
