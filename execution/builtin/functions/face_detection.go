package functions

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image/jpeg"
	"math"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/execution/builtin/functions/seetaface"
	"github.com/teaclave-go/teaclave/execution/executor"
)

// FaceDetection is builtin-face-detection (functions.md §2.2). It has no
// input or output files: the JPEG travels in the arguments.
//
// Arguments: image (required, a JSON array of byte values, at most
// Limits.MaxInputBytes of them); window_size, slide_window_step_x,
// slide_window_step_y, min_face_size and max_face_size (optional uint32);
// pyramid_scale_factor (optional, used as float32) and score_thresh
// (optional float). Each is applied only when present and not null, the
// two steps only when both are given. Values rustface panicked on are
// refused with an invalid-argument error: window_size or min_face_size
// below 20, a step of 0, pyramid_scale_factor outside [0.01, 0.99] and
// score_thresh ≤ 0. As in rustface, window_size and min_face_size have no
// other effect (the detector resets the window to 40 and never used the
// minimum).
//
// The image must be a JPEG of at most Limits.MaxCells pixels, checked
// from its header before it is decoded. It is converted to luma as the
// image crate did and searched with the SeetaFace FuSt detector (package
// seetaface, with its embedded model). Summary: Teaclave's JSON array of
// faces, [{"bbox":{"x":..,"y":..,"width":..,"height":..},"roll":0.0,
// "pitch":0.0,"yaw":0.0,"score":..}, ...].
func FaceDetection(l Limits) Function {
	l = l.withDefaults()
	return Function{Name: NameFaceDetection, Run: func(ctx context.Context, raw json.RawMessage, rt executor.Runtime) ([]byte, error) {
		a, err := parseArguments(raw)
		if err != nil {
			return nil, err
		}
		opts, err := faceDetectionOptions(a)
		if err != nil {
			return nil, err
		}
		v, err := a.value("image")
		if err != nil {
			return nil, err
		}
		data, err := parseByteArray(v, l.MaxInputBytes)
		if err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		img, err := decodeJPEGGray(data, l.MaxCells)
		if err != nil {
			return nil, err
		}
		model, err := seetaface.DefaultModel()
		if err != nil {
			return nil, fmt.Errorf("face detection model: %w", err)
		}
		faces, err := model.Detect(ctx, img, opts)
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
				return nil, ctxErr
			}
			return nil, err
		}
		rt.Logger("teaclave_function::face_detection").Info(
			fmt.Sprintf("detected %d faces in a %d×%d image", len(faces), img.Width, img.Height))
		return appendFacesJSON(nil, faces), nil
	}}
}

// faceDetectionOptions reads the optional detector arguments over
// rustface's defaults.
func faceDetectionOptions(a arguments) (seetaface.Options, error) {
	o := seetaface.DefaultOptions()
	u32 := func(key string) (uint32, bool, error) {
		if v, ok := a[key]; !ok || bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
			return 0, false, nil
		}
		u, err := a.Uint(key)
		if err == nil && u > math.MaxUint32 {
			err = fmt.Errorf("%w: field %q must be a uint32", ErrArguments, key)
		}
		return uint32(u), err == nil, err
	}
	f64 := func(key string) (float64, bool, error) {
		if v, ok := a[key]; !ok || bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
			return 0, false, nil
		}
		f, err := a.Float(key)
		return f, err == nil, err
	}
	invalid := func(format string, args ...any) error {
		return teaclave.Errorf(teaclave.KindInvalidArgument, format, args...)
	}

	if ws, ok, err := u32("window_size"); err != nil {
		return o, err
	} else if ok && ws < seetaface.MinWindowSize {
		return o, invalid("window_size %d is below %d", ws, seetaface.MinWindowSize)
	}
	sx, okX, err := u32("slide_window_step_x")
	if err != nil {
		return o, err
	}
	sy, okY, err := u32("slide_window_step_y")
	if err != nil {
		return o, err
	}
	if okX && okY {
		if sx == 0 || sy == 0 {
			return o, invalid("slide_window_step_x and slide_window_step_y must be positive")
		}
		o.StepX, o.StepY = int(sx), int(sy)
	}
	if mf, ok, err := u32("min_face_size"); err != nil {
		return o, err
	} else if ok {
		if mf < seetaface.MinWindowSize {
			return o, invalid("min_face_size %d is below %d", mf, seetaface.MinWindowSize)
		}
		o.MinFaceSize = int(mf)
	}
	if mf, ok, err := u32("max_face_size"); err != nil {
		return o, err
	} else if ok {
		// rustface stored it as an i32: values above 2³¹-1 were negative,
		// which means no maximum.
		o.MaxFaceSize = int(int32(mf))
	}
	if f, ok, err := f64("pyramid_scale_factor"); err != nil {
		return o, err
	} else if ok {
		s := float32(f)
		if !(s >= 0.01 && s <= 0.99) {
			return o, invalid("pyramid_scale_factor must be in [0.01, 0.99]")
		}
		o.PyramidScaleFactor = s
	}
	if f, ok, err := f64("score_thresh"); err != nil {
		return o, err
	} else if ok {
		if !(f > 0) || math.IsInf(f, 0) {
			return o, invalid("score_thresh must be positive")
		}
		o.ScoreThresh = f
	}
	return o, o.Validate()
}

// parseByteArray parses a JSON array of integers 0..255 (serde's Vec<u8>)
// of at most limit elements. The raw value is valid JSON (parseArguments
// decoded the object around it).
func parseByteArray(v json.RawMessage, limit int64) ([]byte, error) {
	bad := fmt.Errorf("%w: field %q must be an array of byte values", ErrArguments, "image")
	v = bytes.TrimSpace(v)
	if len(v) < 2 || v[0] != '[' || v[len(v)-1] != ']' {
		return nil, bad
	}
	// Each element takes at least two bytes ("0,"), so this bounds the
	// allocation by the argument's own size.
	out := make([]byte, 0, min(int64(len(v))/2+1, limit))
	i, n := 1, len(v)-1
	skip := func() {
		for i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == '\n' || v[i] == '\r') {
			i++
		}
	}
	skip()
	if i == n {
		return out, nil
	}
	for {
		start, val := i, 0
		for i < n && v[i] >= '0' && v[i] <= '9' && val <= 255 {
			val = val*10 + int(v[i]-'0')
			i++
		}
		if i == start || val > 255 {
			return nil, bad
		}
		if int64(len(out)) >= limit {
			return nil, fmt.Errorf("%w: image is larger than %d bytes", ErrTooLarge, limit)
		}
		out = append(out, byte(val))
		skip()
		if i == n {
			return out, nil
		}
		if v[i] != ',' {
			return nil, bad
		}
		i++
		skip()
	}
}

// decodeJPEGGray decodes a JPEG after checking from its header that it has
// at most maxPixels pixels, and converts it to the detector's luma.
func decodeJPEGGray(data []byte, maxPixels int) (*seetaface.Gray, error) {
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, teaclave.Errorf(teaclave.KindInvalidArgument, "image is not a JPEG image this decoder supports")
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, teaclave.Errorf(teaclave.KindInvalidArgument, "image has no pixels")
	}
	if int64(cfg.Width)*int64(cfg.Height) > int64(maxPixels) {
		return nil, fmt.Errorf("%w: image of %d×%d pixels is larger than %d pixels", ErrTooLarge, cfg.Width, cfg.Height, maxPixels)
	}
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, teaclave.Errorf(teaclave.KindInvalidArgument, "image is not a valid JPEG image")
	}
	return seetaface.GrayFromImage(img), nil
}

// appendFacesJSON appends faces as serde_json wrote rustface's FaceInfo
// list.
func appendFacesJSON(b []byte, faces []seetaface.Face) []byte {
	b = append(b, '[')
	for i, f := range faces {
		if i > 0 {
			b = append(b, ',')
		}
		b = fmt.Appendf(b, `{"bbox":{"x":%d,"y":%d,"width":%d,"height":%d},"roll":0.0,"pitch":0.0,"yaw":0.0,"score":`,
			f.BBox.X, f.BBox.Y, f.BBox.Width, f.BBox.Height)
		b = appendJSONFloat(b, f.Score)
		b = append(b, '}')
	}
	return append(b, ']')
}
