package seetaface

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"sync/atomic"
	"testing"
)

func fixtureGray(t testing.TB) *Gray {
	t.Helper()
	b, err := os.ReadFile("testdata/input.jpg")
	if err != nil {
		t.Fatal(err)
	}
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return GrayFromImage(img)
}

func defaultModelT(t testing.TB) *Model {
	t.Helper()
	m, err := DefaultModel()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// teaclaveOptions are the options of Teaclave's unit test.
func teaclaveOptions() Options {
	o := DefaultOptions()
	o.ScoreThresh = 2.0
	return o
}

// TestDetectFixture is Teaclave's unit test at this package's level: 29
// faces on the group photo, each a plausible face box.
func TestDetectFixture(t *testing.T) {
	g := fixtureGray(t)
	faces, err := defaultModelT(t).Detect(context.Background(), g, teaclaveOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(faces) != 29 {
		t.Errorf("%d faces, want 29", len(faces))
	}
	for i, f := range faces {
		b := f.BBox
		if b.Width != b.Height || b.Width < 30 || b.Width > 100 || b.X < 0 || b.Y < 0 ||
			int(b.X)+int(b.Width) > g.Width || int(b.Y)+int(b.Height) > g.Height || f.Score < 2 {
			t.Errorf("face %d: %+v", i, f)
		}
	}
}

// crop returns the w×h top-left part of g.
func crop(g *Gray, w, h int) *Gray {
	c := &Gray{Width: w, Height: h, Pix: make([]uint8, w*h)}
	for y := range h {
		copy(c.Pix[y*w:(y+1)*w], g.Pix[y*g.Width:])
	}
	return c
}

// TestScoreThreshold: a higher threshold keeps exactly the faces scoring
// above it, and detection is deterministic.
func TestScoreThreshold(t *testing.T) {
	g := crop(fixtureGray(t), 640, 360)
	m := defaultModelT(t)
	faces, err := m.Detect(context.Background(), g, teaclaveOptions())
	if err != nil {
		t.Fatal(err)
	}
	o := teaclaveOptions()
	o.ScoreThresh = 10
	strict, err := m.Detect(context.Background(), g, o)
	if err != nil {
		t.Fatal(err)
	}
	var want []Face
	for _, f := range faces {
		if f.Score >= 10 {
			want = append(want, f)
		}
	}
	if len(want) == 0 || len(want) == len(faces) || !slices.Equal(strict, want) {
		t.Errorf("threshold 10: %v, want %v (of %d at threshold 2)", strict, want, len(faces))
	}
}

// TestMaxFaceSize: a maximum below the window searches nothing; one of 80
// keeps only small faces.
func TestMaxFaceSize(t *testing.T) {
	g := crop(fixtureGray(t), 640, 360)
	o := teaclaveOptions()
	o.MaxFaceSize = 39
	faces, err := defaultModelT(t).Detect(context.Background(), g, o)
	if err != nil || len(faces) != 0 {
		t.Fatalf("max 39: %d faces, %v", len(faces), err)
	}
	o.MaxFaceSize = 80
	faces, err = defaultModelT(t).Detect(context.Background(), g, o)
	if err != nil || len(faces) == 0 {
		t.Fatalf("max 80: %d faces, %v", len(faces), err)
	}
}

func TestDetectSmallAndFlatImages(t *testing.T) {
	m := defaultModelT(t)
	for _, size := range [][2]int{{1, 1}, {39, 200}, {200, 39}, {40, 40}, {41, 97}} {
		g := &Gray{Width: size[0], Height: size[1], Pix: make([]uint8, size[0]*size[1])}
		for i := range g.Pix {
			g.Pix[i] = uint8(i * 7)
		}
		faces, err := m.Detect(context.Background(), g, DefaultOptions())
		if err != nil {
			t.Errorf("%v: %v", size, err)
		}
		if size[0] < 40 || size[1] < 40 {
			if len(faces) != 0 {
				t.Errorf("%v: %d faces in an image smaller than the window", size, len(faces))
			}
		}
	}
	for _, g := range []*Gray{nil, {}, {Width: 2, Height: 2, Pix: make([]uint8, 3)}} {
		if _, err := m.Detect(context.Background(), g, DefaultOptions()); err == nil {
			t.Errorf("%+v: no error", g)
		}
	}
}

// TestConcurrentDetect shares one model between goroutines (run with
// -race to check that detection does not write to the model).
func TestConcurrentDetect(t *testing.T) {
	g := crop(fixtureGray(t), 320, 200)
	m := defaultModelT(t)
	want, err := m.Detect(context.Background(), g, teaclaveOptions())
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			got, err := m.Detect(context.Background(), g, teaclaveOptions())
			if err == nil && !slices.Equal(got, want) {
				err = errors.New("concurrent detection differs")
			}
			errs <- err
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if _, err := (&Model{}).Detect(context.Background(), g, DefaultOptions()); !errors.Is(err, ErrModel) {
		t.Errorf("zero Model: err = %v", err)
	}
}

func TestOptionsValidate(t *testing.T) {
	if err := DefaultOptions().Validate(); err != nil {
		t.Fatal(err)
	}
	for _, mod := range []func(*Options){
		func(o *Options) { o.StepX = 0 },
		func(o *Options) { o.StepY = -1 },
		func(o *Options) { o.MinFaceSize = 19 },
		func(o *Options) { o.PyramidScaleFactor = 0.995 },
		func(o *Options) { o.PyramidScaleFactor = 0.0099 },
		func(o *Options) { o.PyramidScaleFactor = float32(math.NaN()) },
		func(o *Options) { o.ScoreThresh = 0 },
		func(o *Options) { o.ScoreThresh = math.NaN() },
		func(o *Options) { o.ScoreThresh = math.Inf(1) },
	} {
		o := DefaultOptions()
		mod(&o)
		if err := o.Validate(); err == nil {
			t.Errorf("%+v: no error", o)
		}
		if _, err := defaultModelT(t).Detect(context.Background(), &Gray{Width: 1, Height: 1, Pix: []uint8{0}}, o); err == nil {
			t.Errorf("%+v: Detect ran", o)
		}
	}
}

// countingCtx reports cancellation from its (after+1)-th Err call on.
type countingCtx struct {
	context.Context
	after int64
	calls atomic.Int64
}

func (c *countingCtx) Err() error {
	if n := c.calls.Add(1); c.after >= 0 && n > c.after {
		return context.Canceled
	}
	return nil
}

// TestDetectCancel cancels the detection at its first, middle and last
// look at the context, in the pyramid scan and in the refining stages.
func TestDetectCancel(t *testing.T) {
	g := crop(fixtureGray(t), 640, 360)
	m := defaultModelT(t)
	full := &countingCtx{Context: context.Background(), after: -1}
	if _, err := m.Detect(full, g, teaclaveOptions()); err != nil {
		t.Fatal(err)
	}
	n := full.calls.Load()
	if n < 100 {
		t.Fatalf("only %d looks at the context", n)
	}
	for _, k := range []int64{0, n / 2, n - 1} {
		ctx := &countingCtx{Context: context.Background(), after: k}
		faces, err := m.Detect(ctx, g, teaclaveOptions())
		if err != context.Canceled || faces != nil {
			t.Errorf("cancelled at look %d of %d: %d faces, %v", k+1, n, len(faces), err)
		}
	}
}

func TestParseDefaultModel(t *testing.T) {
	m := defaultModelT(t)
	if len(m.hierarchies) != 3 || len(m.hierarchies[0]) != 3 || len(m.hierarchies[1]) != 1 || len(m.hierarchies[2]) != 1 {
		t.Fatalf("hierarchy sizes wrong")
	}
	for _, en := range m.hierarchies[0] {
		if en.lab == nil || len(en.lab.thresh) != 150 || len(en.lab.weights) != 150*labBins {
			t.Fatalf("first hierarchy entry: %+v", en)
		}
	}
	if n := len(m.hierarchies[1][0].mlps); n != 2 {
		t.Fatalf("second hierarchy has %d stages, want 2", n)
	}
	if len(featurePool) < 54 {
		t.Fatalf("feature pool of %d", len(featurePool))
	}
	if m2, _ := DefaultModel(); m2 != m {
		t.Fatal("DefaultModel parsed twice")
	}
}

// TestParseTruncatedModel cuts the model at many lengths, including
// around every early field: each prefix is an error, never a panic.
func TestParseTruncatedModel(t *testing.T) {
	lengths := []int{0}
	for n := 1; n < 4096; n++ {
		lengths = append(lengths, n)
	}
	for n := 4096; n < len(modelBytes); n += 4099 {
		lengths = append(lengths, n)
	}
	lengths = append(lengths, len(modelBytes)-4, len(modelBytes)-1)
	for _, n := range lengths {
		if _, err := ParseModel(modelBytes[:n]); !errors.Is(err, ErrModel) {
			t.Fatalf("%d bytes: err = %v", n, err)
		}
	}
	if _, err := ParseModel(append(bytes.Clone(modelBytes), 0, 0, 0, 0)); !errors.Is(err, ErrModel) {
		t.Fatalf("trailing bytes: err = %v", err)
	}
}

// field offsets of the default model used by the corruption cases.
const (
	offHierarchies = 0
	offFirstSize   = 4
	offFirstStages = 8
	offFirstKind   = 12
	offLABCount    = 16
	offLABBins     = 20
	offLABFirstX   = 24
	offLABFirstThr = 24 + 150*8
)

func TestParseCorruptedModel(t *testing.T) {
	put := func(off int, v uint32) []byte {
		b := bytes.Clone(modelBytes)
		binary.LittleEndian.PutUint32(b[off:], v)
		return b
	}
	neg := func(v int32) uint32 { return uint32(v) }
	for name, b := range map[string][]byte{
		"no hierarchies":       put(offHierarchies, 0),
		"negative hierarchies": put(offHierarchies, neg(-1)),
		"huge hierarchies":     put(offHierarchies, 1<<30),
		"first size 0":         put(offFirstSize, 0),
		"huge first size":      put(offFirstSize, math.MaxInt32),
		"two stages":           put(offFirstStages, 2),
		"unknown kind":         put(offFirstKind, 7),
		"MLP first":            put(offFirstKind, 1),
		"LAB count 149":        put(offLABCount, 149),
		"LAB count huge":       put(offLABCount, 1<<28),
		"LAB count negative":   put(offLABCount, neg(-10)),
		"LAB bins":             put(offLABBins, 100),
		"LAB offset x":         put(offLABFirstX, 32),
		"LAB offset negative":  put(offLABFirstX+4, neg(-1)),
		"NaN threshold":        put(offLABFirstThr, math.Float32bits(float32(math.NaN()))),
		"Inf threshold":        put(offLABFirstThr, math.Float32bits(float32(math.Inf(1)))),
	} {
		if _, err := ParseModel(b); !errors.Is(err, ErrModel) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

// TestParseMLPModel corrupts the MLP stages found by walking the file.
func TestParseMLPModel(t *testing.T) {
	off := mlpOffset(t)
	put := func(delta int, v uint32) []byte {
		b := bytes.Clone(modelBytes)
		binary.LittleEndian.PutUint32(b[off+delta:], v)
		return b
	}
	// Layout after the kind: layers, features, ids..., threshold,
	// input size, then per layer its size, weights and biases.
	for name, b := range map[string][]byte{
		"LAB in a later hierarchy": put(-4, 0),
		"one layer":                put(0, 2),
		"no features":              put(4, 0),
		"feature id 0":             put(8, 0),
		"feature id huge":          put(8, 1<<20),
		"input size":               put(8+4*4+4, 127),
		"layer size huge":          put(8+4*4+8, 1<<30),
	} {
		if _, err := ParseModel(b); !errors.Is(err, ErrModel) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

// mlpOffset returns the offset of the first MLP stage's layer count.
func mlpOffset(t *testing.T) int {
	t.Helper()
	// Three LAB entries: stages, kind, count, bins, 150 offsets, 150
	// thresholds, 150×256 weights, window source count (-1).
	lab := 4 + 4 + 4 + 4 + 150*8 + 150*4 + 150*256*4 + 4
	off := 4 + 4 + 3*lab + 4 /* second hierarchy size */ + 4 /* stages */ + 4 /* kind */
	if v := int32(binary.LittleEndian.Uint32(modelBytes[off-4:])); v != 1 {
		t.Fatalf("kind at %d is %d, want 1", off-4, v)
	}
	return off
}

// TestParseRandomCorruption flips random words: the parse may succeed
// (weights are arbitrary) or fail, and a model that parses still runs.
func TestParseRandomCorruption(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	g := &Gray{Width: 64, Height: 64, Pix: make([]uint8, 64*64)}
	for i := range g.Pix {
		g.Pix[i] = uint8(r.IntN(256))
	}
	for range 40 {
		b := bytes.Clone(modelBytes)
		for range 3 {
			// Mostly the structure at the front and the MLP region.
			off := r.IntN(len(b)/4) * 4
			if r.IntN(2) == 0 {
				off = r.IntN(64) * 4
			}
			binary.LittleEndian.PutUint32(b[off:], r.Uint32())
		}
		m, err := ParseModel(b)
		if err != nil {
			if !errors.Is(err, ErrModel) {
				t.Fatalf("err = %v", err)
			}
			continue
		}
		if _, err := m.Detect(context.Background(), g, DefaultOptions()); err != nil {
			t.Fatal(err)
		}
	}
}

func FuzzParseModel(f *testing.F) {
	f.Add(modelBytes[:64], uint16(0))
	f.Add(modelBytes[len(modelBytes)-64:], uint16(3))
	g := &Gray{Width: 48, Height: 48, Pix: make([]uint8, 48*48)}
	for i := range g.Pix {
		g.Pix[i] = uint8(i * 31)
	}
	f.Fuzz(func(t *testing.T, patch []byte, at uint16) {
		// Overwrite part of the real model so that the fuzzer reaches
		// deep into the format.
		b := bytes.Clone(modelBytes)
		off := int(at) * 4 % len(b)
		copy(b[off:], patch)
		m, err := ParseModel(b)
		if err != nil {
			if !errors.Is(err, ErrModel) {
				t.Fatal(err)
			}
			return
		}
		if _, err := m.Detect(context.Background(), g, DefaultOptions()); err != nil {
			t.Fatal(err)
		}
	})
}

func TestResize(t *testing.T) {
	src := []uint8{0, 100, 200, 50}
	dst := make([]uint8, 16)
	resize(src, 2, 2, dst, 4, 4)
	// Source coordinates 0, 0.5, 1, 1.5 clamp to the top-left cell.
	if dst[0] != 0 || dst[1] != 50 || dst[2] != 100 || dst[4] != 100 || dst[8] != 200 {
		t.Fatalf("resize = %v", dst)
	}
	same := make([]uint8, 4)
	resize(src, 2, 2, same, 2, 2)
	if !bytes.Equal(same, src) {
		t.Fatalf("equal sizes: %v", same)
	}
}

func TestLuma(t *testing.T) {
	for _, tc := range []struct{ r, g, b, want uint8 }{
		{0, 0, 0, 0}, {255, 255, 255, 255}, {255, 0, 0, 54}, {0, 255, 0, 182}, {0, 0, 255, 18}, {10, 20, 30, 18},
	} {
		if got := luma(tc.r, tc.g, tc.b); got != tc.want {
			t.Errorf("luma(%d, %d, %d) = %d, want %d", tc.r, tc.g, tc.b, got, tc.want)
		}
	}
}

// BenchmarkFaceDetection times Detect with Teaclave's options on the
// fixture (1666×1136, 1.89 megapixels) and on a VGA (640×480) crop of it,
// the size SeetaFace's own speed figures use, and reports the time per
// megapixel.
func BenchmarkFaceDetection(b *testing.B) {
	full := fixtureGray(b)
	for _, bc := range []struct {
		name string
		img  *Gray
	}{
		{"fixture-1666x1136", full},
		{"vga-640x480", crop(full, 640, 480)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			m := defaultModelT(b)
			for b.Loop() {
				if _, err := m.Detect(context.Background(), bc.img, teaclaveOptions()); err != nil {
					b.Fatal(err)
				}
			}
			mp := float64(bc.img.Width*bc.img.Height) / 1e6
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/mp/1e6, "ms/MP")
		})
	}
}

func BenchmarkParseModel(b *testing.B) {
	for b.Loop() {
		if _, err := ParseModel(modelBytes); err != nil {
			b.Fatal(err)
		}
	}
}
