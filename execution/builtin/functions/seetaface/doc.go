// Package seetaface is a Go implementation of the SeetaFace frontal face
// detector as the rustface crate (0.1.7) runs it: a funnel-structured
// cascade (FuSt) of LAB boosted classifiers scanned over an image pyramid,
// followed by multi-layer perceptrons over SURF-like gradient features
// that refine and re-score the proposals, with non-maximum suppression
// between the stages.
//
// The model file format, the feature maps, the classifiers, the window
// extraction, the bilinear resizing and the suppression follow rustface's
// behaviour, including its float32 arithmetic and its integer wrap-around,
// so that the detections match it as closely as the input pixels allow.
// Where rustface panicked or read out of bounds (a malformed model file,
// a window that shrinks below two pixels, a pyramid level smaller than the
// window) this package returns an error or skips the window instead.
//
// The SeetaFace model (seeta_fd_frontal_v1.0.bin, BSD 2-clause, see
// model/LICENSE) is embedded; DefaultModel parses it once. ParseModel
// parses other model bytes of the same format.
package seetaface
