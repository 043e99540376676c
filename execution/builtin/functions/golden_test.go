package functions

import (
	"bytes"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Golden tests: each built-in on Teaclave's fixture (functions.md §2.2,
// §6 A12), compared with Teaclave's expected output.

func TestAllNames(t *testing.T) {
	want := []string{
		"builtin-password-check",
		"builtin-ordered-set-intersect",
		"builtin-ordered-set-join",
		"builtin-private-join-and-compute",
		"builtin-rsa-sign",
		"builtin_online_decrypt",
		"builtin-logistic-regression-train",
		"builtin-logistic-regression-predict",
		"builtin-gbdt-predict",
		"builtin-gbdt-train",
		"builtin_principal_components_analysis",
		"builtin-face-detection",
	}
	var got []string
	for _, f := range All() {
		if f.Run == nil {
			t.Errorf("%s has no Run", f.Name)
		}
		got = append(got, f.Name)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("names = %q, want %q", got, want)
	}
	// A fresh list each time: changing one must not change the next.
	a := All()
	a[0].Name = "changed"
	if All()[0].Name != want[0] {
		t.Fatal("All shares its slice between calls")
	}
}

func TestPasswordCheckGolden(t *testing.T) {
	rt := newRuntime().
		inputFile(t, "password", "password_check/password.txt").
		inputFile(t, "exposed_passwords", "password_check/exposed_passwords.txt")
	got, err := run(t, NamePasswordCheck, `{}`, rt)
	if err != nil || string(got) != "true" {
		t.Fatalf("got %q, %v; want true", got, err)
	}
	if want := "[INFO teaclave_function::password_check] checked a password against 20 exposed passwords\n"; rt.logText() != want {
		t.Errorf("log = %q, want %q", rt.logText(), want)
	}

	for _, tc := range []struct{ password, want string }{
		{"not-exposed\n", "false"},
		{"  password  \nsecond line ignored\n", "true"},
		{"passwor", "false"},
		{"Password", "false"}, // case matters
	} {
		rt := newRuntime().
			input("password", []byte(tc.password)).
			inputFile(t, "exposed_passwords", "password_check/exposed_passwords.txt")
		got, err := run(t, NamePasswordCheck, `{}`, rt)
		if err != nil || string(got) != tc.want {
			t.Errorf("password %q: got %q, %v; want %s", tc.password, got, err, tc.want)
		}
	}
}

func TestOrderedSetIntersectGolden(t *testing.T) {
	rt := newRuntime("output_result1", "output_result2").
		inputFile(t, "input_data1", "ordered_set_intersect/psi0.txt").
		inputFile(t, "input_data2", "ordered_set_intersect/psi1.txt")
	got, err := run(t, NameOrderedSetIntersect, `{"order":"ascending"}`, rt)
	if err != nil || string(got) != "3 common items" {
		t.Fatalf("got %q, %v; want 3 common items", got, err)
	}
	if o := rt.output(t, "output_result1"); string(o) != "0101010" {
		t.Errorf("output_result1 = %q, want 0101010", o)
	}
	if o := rt.output(t, "output_result2"); string(o) != "01101" {
		t.Errorf("output_result2 = %q, want 01101", o)
	}
}

func TestOrderedSetIntersectDescending(t *testing.T) {
	// The fixture reversed is sorted the other way: the same marks,
	// reversed.
	rev := func(path string) []byte {
		l := strings.Split(strings.TrimSpace(string(readTestdata(t, path))), "\n")
		slices.Reverse(l)
		return []byte(strings.Join(l, "\n"))
	}
	rt := newRuntime("output_result1", "output_result2").
		input("input_data1", rev("ordered_set_intersect/psi0.txt")).
		input("input_data2", rev("ordered_set_intersect/psi1.txt"))
	got, err := run(t, NameOrderedSetIntersect, `{"order":"desending"}`, rt)
	if err != nil || string(got) != "3 common items" {
		t.Fatalf("got %q, %v", got, err)
	}
	if o := rt.output(t, "output_result1"); string(o) != "0101010" {
		t.Errorf("output_result1 = %q", o)
	}
	if o := rt.output(t, "output_result2"); string(o) != "10110" {
		t.Errorf("output_result2 = %q", o)
	}
	// Ascending data read as descending is out of order.
	rt = newRuntime("output_result1", "output_result2").
		inputFile(t, "input_data1", "ordered_set_intersect/psi0.txt").
		inputFile(t, "input_data2", "ordered_set_intersect/psi1.txt")
	if _, err := run(t, NameOrderedSetIntersect, `{"order":"desending"}`, rt); err == nil || err.Error() != "Invalid ordering" {
		t.Fatalf("err = %v, want Invalid ordering", err)
	}
}

func TestOrderedSetJoinGolden(t *testing.T) {
	rt := newRuntime("output_result").
		inputFile(t, "input_data1", "ordered_set_join/join0.csv").
		inputFile(t, "input_data2", "ordered_set_join/join1.csv")
	got, err := run(t, NameOrderedSetJoin, `{"left_column":0,"right_column":0,"ascending":true,"drop":true}`, rt)
	if err != nil || string(got) != "120 records" {
		t.Fatalf("got %q, %v; want 120 records", got, err)
	}
	want := bytes.TrimSpace(readTestdata(t, "ordered_set_join/expected_join.txt"))
	if o := bytes.TrimSpace(rt.output(t, "output_result")); !bytes.Equal(o, want) {
		t.Errorf("output differs from gbdt_training/train.txt:\n%s", o)
	}
}

func TestOrderedSetJoinKeepAndQuote(t *testing.T) {
	in1 := "a,x y,1\nb,\"q,1\",2\nd,\"say \"\"hi\"\"\",3\n"
	in2 := "9,a\n8,c\n7,d\n"
	rt := newRuntime("output_result").input("input_data1", []byte(in1)).input("input_data2", []byte(in2))
	got, err := run(t, NameOrderedSetJoin, `{"left_column":0,"right_column":1,"ascending":true,"drop":false}`, rt)
	if err != nil || string(got) != "2 records" {
		t.Fatalf("got %q, %v", got, err)
	}
	want := "a,x y,1,9\nd,\"say \"\"hi\"\"\",3,7\n"
	if o := rt.output(t, "output_result"); string(o) != want {
		t.Errorf("output = %q, want %q", o, want)
	}
}

func TestPrivateJoinAndComputeGolden(t *testing.T) {
	rt := newRuntime("output_data0", "output_data1", "output_data2").
		inputFile(t, "input_data0", "private_join_and_compute/bank_a.txt").
		inputFile(t, "input_data1", "private_join_and_compute/bank_b.txt").
		inputFile(t, "input_data2", "private_join_and_compute/bank_c.txt")
	got, err := run(t, NamePrivateJoinAndCompute, `{"num_user":3}`, rt)
	if err != nil || string(got) != "3 users join the task in total." {
		t.Fatalf("got %q, %v", got, err)
	}
	want := []string{"c, 470000", "e, 5033000"}
	for _, o := range []string{"output_data0", "output_data1", "output_data2"} {
		out := rt.output(t, o)
		if !bytes.HasSuffix(out, []byte("\n")) || !slices.Equal(sortedLines(out), want) {
			t.Errorf("%s = %q, want the lines %q", o, out, want)
		}
	}
}

func TestPrivateJoinAndComputeParsing(t *testing.T) {
	rt := newRuntime("output_data0", "output_data1").
		input("input_data0", []byte("ab\n  k : +7  \nx:1:2\ny : -3\nz : 4294967296\nw : 1\nw : 2\r\n")).
		input("input_data1", []byte("k:4294967295\nw:3\ny:1\nz:1\n"))
	if _, err := run(t, NamePrivateJoinAndCompute, `{"num_user":2}`, rt); err != nil {
		t.Fatal(err)
	}
	// k: 7 + (2³²-1) does not wrap around; w: the later line (2) counts;
	// y, z: amounts that are not u32 are skipped.
	want := []string{"k, 4294967302", "w, 5"}
	if got := sortedLines(rt.output(t, "output_data1")); !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestRSASignGolden(t *testing.T) {
	rt := newRuntime().inputFile(t, "rsa_key", "rsa_sign/key.der")
	got, err := run(t, NameRSASign, `{"data":"test data"}`, rt)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.ReplaceAll(string(readTestdata(t, "rsa_sign/expected_rsasign.txt")), "\n", "")
	if string(got) != want {
		t.Fatalf("signature = %s, want %s", got, want)
	}
}

func TestOnlineDecryptGolden(t *testing.T) {
	for _, tc := range []struct{ key, data, alg string }{
		{"aqUdgZ0lJnuz9yiPkoDxM6ZcTcVVpd4KKLqzbHD88Lg=", "CaZd8qSMMlBp8SjSXj2I4dQIuC9KkZ5DI/ATo1sWJw==", "aes256gcm"},
		{"aqUdgZ0lJnuz9yiPkoDxMw==", "OqMscYqxk1CshHQZulTrrDlJjS/v6BE/clWJyTerUw==", "aes128gcm"},
		// Unpadded base64, which Teaclave's base64 crate also took.
		{"aqUdgZ0lJnuz9yiPkoDxMw", "OqMscYqxk1CshHQZulTrrDlJjS/v6BE/clWJyTerUw", "aes128gcm"},
	} {
		args := `{"algorithm":"` + tc.alg + `","encrypted_data":"` + tc.data + `","key":"` + tc.key + `","nonce":"AAECAwQFBgcICQoL"}`
		rt := newRuntime()
		got, err := run(t, NameOnlineDecrypt, args, rt)
		if err != nil || string(got) != "Hello Teaclave!" {
			t.Errorf("%s: got %q, %v", tc.alg, got, err)
		}
		if strings.Contains(rt.logText(), "Hello") {
			t.Errorf("the plaintext reached the log: %q", rt.logText())
		}
	}
}

func TestLogisticRegressionTrainGolden(t *testing.T) {
	rt := newRuntime("model_file").inputFile(t, "training_data", "logistic_regression_training/train.txt")
	got, err := run(t, NameLogisticRegressionTrain, `{"alg_alpha":0.3,"alg_iters":100,"feature_size":30}`, rt)
	if err != nil || string(got) != "Trained 100 lines of data." {
		t.Fatalf("got %q, %v", got, err)
	}
	want := readTestdata(t, "logistic_regression_training/expected_model.txt")
	if o := rt.output(t, "model_file"); !bytes.Equal(o, want) {
		t.Errorf("model differs:\n got %s\nwant %s", o, want)
	}
}

func TestLogisticRegressionPredictGolden(t *testing.T) {
	rt := newRuntime("result_file").
		inputFile(t, "model_file", "logistic_regression_prediction/model.txt").
		inputFile(t, "data_file", "logistic_regression_prediction/predict_input.txt")
	got, err := run(t, NameLogisticRegressionPredict, `{}`, rt)
	if err != nil || string(got) != "Predicted 5 lines of data." {
		t.Fatalf("got %q, %v", got, err)
	}
	want := readTestdata(t, "logistic_regression_prediction/expected_result.txt")
	if o := rt.output(t, "result_file"); !bytes.Equal(o, want) {
		t.Errorf("result = %q, want %q", o, want)
	}
}

// TestLogisticRegressionRoundTrip predicts with the model this package
// trained: train and predict agree on the model format.
func TestLogisticRegressionRoundTrip(t *testing.T) {
	rt := newRuntime("model_file").inputFile(t, "training_data", "logistic_regression_training/train.txt")
	if _, err := run(t, NameLogisticRegressionTrain, `{"alg_alpha":0.3,"alg_iters":100,"feature_size":30}`, rt); err != nil {
		t.Fatal(err)
	}
	rt2 := newRuntime("result_file").
		input("model_file", rt.output(t, "model_file")).
		inputFile(t, "data_file", "logistic_regression_prediction/predict_input.txt")
	if _, err := run(t, NameLogisticRegressionPredict, `{}`, rt2); err != nil {
		t.Fatal(err)
	}
	if o, want := rt2.output(t, "result_file"), readTestdata(t, "logistic_regression_prediction/expected_result.txt"); !bytes.Equal(o, want) {
		t.Errorf("result = %q, want %q", o, want)
	}
}

func TestGBDTPredictGolden(t *testing.T) {
	rt := newRuntime("result_file").
		inputFile(t, "model_file", "gbdt_prediction/model.txt").
		inputFile(t, "data_file", "gbdt_prediction/test_data.txt")
	got, err := run(t, NameGBDTPredict, `{}`, rt)
	if err != nil || string(got) != "Predict result has 30 lines of data." {
		t.Fatalf("got %q, %v", got, err)
	}
	want := readTestdata(t, "gbdt_prediction/expected_result.txt")
	if o := rt.output(t, "result_file"); !bytes.Equal(o, want) {
		t.Errorf("result differs:\n got %q\nwant %q", o, want)
	}
}

func TestPCAGolden(t *testing.T) {
	rt := newRuntime("output_data").inputFile(t, "input_data", "principal_components_analysis/input.txt")
	got, err := run(t, NamePrincipalComponentsAnalysis, `{"center":true,"feature_size":4,"n":2}`, rt)
	if err != nil || string(got) != "transform 90 rows * 2 cols lines of data." {
		t.Fatalf("got %q, %v", got, err)
	}
	out := rt.output(t, "output_data")
	want := readTestdata(t, "principal_components_analysis/expected_result.txt")
	gotRows, wantRows := parseCSVFloats(t, out), parseCSVFloats(t, want)
	if len(gotRows) != 90 || len(wantRows) != 90 {
		t.Fatalf("rows: got %d, want %d (90)", len(gotRows), len(wantRows))
	}
	maxDiff := 0.0
	for i := range wantRows {
		if len(gotRows[i]) != 2 {
			t.Fatalf("row %d has %d values", i, len(gotRows[i]))
		}
		for j := range wantRows[i] {
			maxDiff = max(maxDiff, math.Abs(gotRows[i][j]-wantRows[i][j]))
		}
	}
	if maxDiff > 1e-12 {
		t.Fatalf("largest difference %g, over 1e-12", maxDiff)
	}
	t.Logf("largest difference from Teaclave's output: %g", maxDiff)
	// Every value is written in Rust's Debug format: reading it back and
	// writing it again gives the same text.
	for _, line := range strings.Split(strings.TrimSuffix(string(out), "\n"), "\n") {
		for _, f := range strings.Split(line, ",") {
			v, err := strconv.ParseFloat(f, 64)
			if err != nil || string(appendDebug(nil, v)) != f {
				t.Fatalf("value %q is not in Debug form", f)
			}
		}
	}
}

func parseCSVFloats(t *testing.T, b []byte) [][]float64 {
	t.Helper()
	var rows [][]float64
	for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		var row []float64
		for _, f := range strings.Split(line, ",") {
			v, err := strconv.ParseFloat(f, 64)
			if err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			row = append(row, v)
		}
		rows = append(rows, row)
	}
	return rows
}
