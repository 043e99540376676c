package functions

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/teaclave-go/teaclave"
)

// faceFixture is Teaclave's face_detection/input.jpg, kept beside the
// detector it exercises.
const faceFixture = "seetaface/testdata/input.jpg"

func readFaceFixture(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(faceFixture)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// faceDetectionArgs returns the arguments object with img as the "image"
// byte array (as the Python example sends list(jpeg_bytes)) and the other
// members in extra (a comma-separated list, or empty).
func faceDetectionArgs(img []byte, extra string) string {
	var b strings.Builder
	b.WriteString(`{"image":[`)
	for i, v := range img {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(int(v)))
	}
	b.WriteByte(']')
	if extra != "" {
		b.WriteString(",")
		b.WriteString(extra)
	}
	b.WriteByte('}')
	return b.String()
}

// faceCrop returns a 640×360 crop of the fixture (several faces) as a JPEG:
// big enough for the detector's loops, small enough for quick tests.
func faceCrop(t testing.TB) []byte {
	t.Helper()
	img, err := jpeg.Decode(bytes.NewReader(readFaceFixture(t)))
	if err != nil {
		t.Fatal(err)
	}
	sub := img.(interface {
		SubImage(image.Rectangle) image.Image
	}).SubImage(image.Rect(0, 0, 640, 360))
	var out bytes.Buffer
	if err := jpeg.Encode(&out, sub, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// teaclaveFaceArgs are the arguments of Teaclave's unit test and Python
// example.
const teaclaveFaceArgs = `"min_face_size":20,"score_thresh":2.0,"pyramid_scale_factor":0.8,"slide_window_step_x":4,"slide_window_step_y":4`

type faceJSON struct {
	BBox struct {
		X      *int32  `json:"x"`
		Y      *int32  `json:"y"`
		Width  *uint32 `json:"width"`
		Height *uint32 `json:"height"`
	} `json:"bbox"`
	Roll  *float64 `json:"roll"`
	Pitch *float64 `json:"pitch"`
	Yaw   *float64 `json:"yaw"`
	Score *float64 `json:"score"`
}

func decodeFaces(t *testing.T, out []byte) []faceJSON {
	t.Helper()
	var faces []faceJSON
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&faces); err != nil {
		t.Fatalf("result %.200q: %v", out, err)
	}
	for i, f := range faces {
		if f.BBox.X == nil || f.BBox.Y == nil || f.BBox.Width == nil || f.BBox.Height == nil ||
			f.Roll == nil || f.Pitch == nil || f.Yaw == nil || f.Score == nil {
			t.Fatalf("face %d lacks a field: %.300q", i, out)
		}
	}
	return faces
}

// TestFaceDetectionGolden runs Teaclave's unit test: the fixture with the
// example's arguments gives 29 faces in Teaclave's JSON shape.
func TestFaceDetectionGolden(t *testing.T) {
	rt := newRuntime()
	out, err := run(t, NameFaceDetection, faceDetectionArgs(readFaceFixture(t), teaclaveFaceArgs), rt)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(out, []byte(`[{"bbox":{"x":`)) || !bytes.Contains(out, []byte(`},"roll":0.0,"pitch":0.0,"yaw":0.0,"score":`)) {
		t.Fatalf("result is not in serde_json's FaceInfo shape: %.200q", out)
	}
	faces := decodeFaces(t, out)
	if len(faces) != 29 {
		t.Errorf("%d faces, want 29 (Teaclave's count)", len(faces))
	}
	for i, f := range faces {
		x, y, w, h := *f.BBox.X, *f.BBox.Y, *f.BBox.Width, *f.BBox.Height
		// The 29 faces of the group photo are 40 to 70 pixels wide and
		// inside the picture.
		if w != h || w < 30 || w > 100 || x < 0 || y < 0 || int(x)+int(w) > 1666 || int(y)+int(h) > 1136 {
			t.Errorf("face %d: box %d,%d %d×%d", i, x, y, w, h)
		}
		if *f.Score < 2.0 || *f.Roll != 0 || *f.Pitch != 0 || *f.Yaw != 0 {
			t.Errorf("face %d: score %v, angles %v %v %v", i, *f.Score, *f.Roll, *f.Pitch, *f.Yaw)
		}
	}
	for i := range faces {
		for j := range i {
			if iou(faces[i], faces[j]) > 0.3 {
				t.Errorf("faces %d and %d overlap: suppression failed", j, i)
			}
		}
	}
	if want := "[INFO teaclave_function::face_detection] detected 29 faces in a 1666×1136 image\n"; rt.logText() != want {
		t.Errorf("log = %q, want %q", rt.logText(), want)
	}

	// The default threshold (3.85) keeps a subset of the faces of a
	// crop.
	crop := faceCrop(t)
	out, err = run(t, NameFaceDetection, faceDetectionArgs(crop, `"score_thresh":2.0`), newRuntime())
	if err != nil {
		t.Fatal(err)
	}
	all := decodeFaces(t, out)
	out, err = run(t, NameFaceDetection, faceDetectionArgs(crop, ""), newRuntime())
	if err != nil {
		t.Fatal(err)
	}
	def := decodeFaces(t, out)
	n := 0
	for _, f := range all {
		if *f.Score >= 3.85 {
			n++
		}
	}
	if len(all) == 0 || len(def) != n {
		t.Errorf("crop: %d faces at threshold 2, %d at the default threshold, want %d", len(all), len(def), n)
	}
}

func iou(a, b faceJSON) float64 {
	ax, ay, aw, ah := float64(*a.BBox.X), float64(*a.BBox.Y), float64(*a.BBox.Width), float64(*a.BBox.Height)
	bx, by, bw, bh := float64(*b.BBox.X), float64(*b.BBox.Y), float64(*b.BBox.Width), float64(*b.BBox.Height)
	w := min(ax+aw, bx+bw) - max(ax, bx)
	h := min(ay+ah, by+bh) - max(ay, by)
	if w <= 0 || h <= 0 {
		return 0
	}
	return w * h / (aw*ah + bw*bh - w*h)
}

// TestFaceDetectionArguments checks argument types (serde's errors) and
// the values rustface panicked on (invalid-argument errors here).
func TestFaceDetectionArguments(t *testing.T) {
	small := faceDetectionArgs(tinyJPEG(t, 48, 48), "")
	small = strings.TrimSuffix(small, "}")
	for _, tc := range []struct {
		args string
		kind string // "args", "invalid" or "" (accepted)
	}{
		{`{}`, "args"},
		{`[]`, "args"},
		{`{"image":null}`, "args"},
		{`{"image":"/9j/4AAQ"}`, "args"},
		{`{"image":[256]}`, "args"},
		{`{"image":[-1]}`, "args"},
		{`{"image":[1.5]}`, "args"},
		{`{"image":[1e2]}`, "args"},
		{`{"image":["1"]}`, "args"},
		{`{"image":[1,]}`, "args"},
		{`{"image":{"0":1}}`, "args"},
		{small + `,"window_size":"40"}`, "args"},
		{small + `,"window_size":4294967296}`, "args"},
		{small + `,"min_face_size":-20}`, "args"},
		{small + `,"max_face_size":40.5}`, "args"},
		{small + `,"score_thresh":"2"}`, "args"},
		{small + `,"pyramid_scale_factor":true}`, "args"},
		{small + `,"window_size":19}`, "invalid"},
		{small + `,"min_face_size":19}`, "invalid"},
		{small + `,"slide_window_step_x":0,"slide_window_step_y":4}`, "invalid"},
		{small + `,"slide_window_step_x":4,"slide_window_step_y":0}`, "invalid"},
		{small + `,"pyramid_scale_factor":0.995}`, "invalid"},
		{small + `,"pyramid_scale_factor":0.009}`, "invalid"},
		{small + `,"pyramid_scale_factor":1e300}`, "invalid"},
		{small + `,"score_thresh":0}`, "invalid"},
		{small + `,"score_thresh":-1.5}`, "invalid"},
		{`{"image":[1,2,3]}`, "invalid"},
		{faceDetectionArgs(pngBytes(t), ""), "invalid"},
		// Accepted: a lone step is not applied (Teaclave set the steps
		// only as a pair), null is absence, and window_size,
		// min_face_size and a huge max_face_size have no effect.
		{small + `,"slide_window_step_x":0}`, ""},
		{small + `,"window_size":null,"score_thresh":null}`, ""},
		{small + `,"window_size":20,"min_face_size":4294967295,"max_face_size":4294967295}`, ""},
		{small + `,"pyramid_scale_factor":0.01,"score_thresh":0.5,"slide_window_step_x":1,"slide_window_step_y":1}`, ""},
		{`{"image":[]}`, "invalid"},
	} {
		out, err := run(t, NameFaceDetection, tc.args, newRuntime())
		name := tc.args
		if len(name) > 80 {
			name = "…" + name[len(name)-80:]
		}
		switch tc.kind {
		case "args":
			if !errors.Is(err, ErrArguments) {
				t.Errorf("%s: err = %v, want %v", name, err, ErrArguments)
			}
		case "invalid":
			if teaclave.KindOf(err) != teaclave.KindInvalidArgument {
				t.Errorf("%s: err = %v, want an invalid-argument error", name, err)
			}
		default:
			if err != nil || !bytes.HasPrefix(out, []byte("[")) {
				t.Errorf("%s: got %q, %v", name, out, err)
			}
		}
	}
}

// TestFaceDetectionTooLarge refuses an image over the pixel bound from
// its header, before decoding, and an image array over MaxInputBytes.
func TestFaceDetectionTooLarge(t *testing.T) {
	fixture := readFaceFixture(t)
	f := FaceDetection(Limits{MaxCells: 1666*1136 - 1})
	_, err := f.Run(context.Background(), []byte(faceDetectionArgs(fixture, "")), newRuntime())
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "1666×1136") {
		t.Errorf("fixture over the pixel bound: err = %v", err)
	}

	// A 16×16 JPEG whose header claims 60000×60000 pixels: refused from
	// the header, without a 3.6-gigapixel decode.
	huge := withJPEGSize(t, tinyJPEG(t, 16, 16), 60000, 60000)
	if _, err := jpeg.DecodeConfig(bytes.NewReader(huge)); err != nil {
		t.Fatal(err)
	}
	_, err = run(t, NameFaceDetection, faceDetectionArgs(huge, ""), newRuntime())
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "60000×60000") {
		t.Errorf("huge header: err = %v", err)
	}

	f = FaceDetection(Limits{MaxInputBytes: 100})
	_, err = f.Run(context.Background(), []byte(faceDetectionArgs(make([]byte, 101), "")), newRuntime())
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("101-byte image with a 100-byte bound: err = %v", err)
	}
}

// TestFaceDetectionCancelled returns ctx.Err() itself.
func TestFaceDetectionCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out, err := function(t, NameFaceDetection).Run(ctx, []byte(faceDetectionArgs(faceCrop(t), "")), newRuntime())
	if err != context.Canceled {
		t.Fatalf("got %q, %v; want context.Canceled", out, err)
	}
}

// tinyJPEG encodes a w×h gradient.
func tinyJPEG(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetGray(x, y, color.Gray{Y: uint8(x*5 + y*3)})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func pngBytes(t testing.TB) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 64, 64))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// withJPEGSize rewrites the frame header (SOF0) of a baseline JPEG to
// claim w×h pixels.
func withJPEGSize(t testing.TB, j []byte, w, h uint16) []byte {
	t.Helper()
	out := bytes.Clone(j)
	i := bytes.Index(out, []byte{0xff, 0xc0})
	if i < 0 || i+9 > len(out) {
		t.Fatal("no SOF0 marker")
	}
	binary.BigEndian.PutUint16(out[i+5:], h)
	binary.BigEndian.PutUint16(out[i+7:], w)
	return out
}

// BenchmarkFaceDetectionBuiltin times the whole built-in on Teaclave's
// fixture: argument parsing (1.3 MB of JSON), JPEG decoding, luma
// conversion, detection and the JSON result.
func BenchmarkFaceDetectionBuiltin(b *testing.B) {
	args := []byte(faceDetectionArgs(readFaceFixture(b), teaclaveFaceArgs))
	f := function(b, NameFaceDetection)
	for b.Loop() {
		if _, err := f.Run(context.Background(), args, newRuntime()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(1666*1136/1e6)/1e6, "ms/MP")
}

// FuzzFaceDetectionImage feeds arbitrary bytes as the image (and as the
// raw image argument): an error or a result, never a panic.
func FuzzFaceDetectionImage(f *testing.F) {
	f.Add(tinyJPEG(f, 48, 48), []byte("[1,2,3]"))
	f.Add(withJPEGSize(f, tinyJPEG(f, 16, 16), 300, 300), []byte(`[ 255 , 0 ]`))
	f.Fuzz(func(t *testing.T, img, raw []byte) {
		fuzzRun(t, NameFaceDetection, faceDetectionArgs(img, `"score_thresh":1`), newRuntime())
		fuzzRun(t, NameFaceDetection, `{"image":`+string(raw)+`}`, newRuntime())
	})
}
