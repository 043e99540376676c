package functions

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/teaclave-go/teaclave/execution/executor"
)

// TestArgumentTypes checks that arguments are taken with serde's types:
// each case must fail with "Cannot deserialize arguments: ..." naming the
// key, before any file is touched.
func TestArgumentTypes(t *testing.T) {
	for _, tc := range []struct {
		name, args, key string
	}{
		{NameLogisticRegressionTrain, `{"alg_alpha":0.3,"alg_iters":100,"feature_size":"30"}`, "feature_size"},
		{NameLogisticRegressionTrain, `{"alg_alpha":0.3,"alg_iters":100,"feature_size":30.0}`, "feature_size"},
		{NameLogisticRegressionTrain, `{"alg_alpha":0.3,"alg_iters":-1,"feature_size":30}`, "alg_iters"},
		{NameLogisticRegressionTrain, `{"alg_alpha":"0.3","alg_iters":100,"feature_size":30}`, "alg_alpha"},
		{NameLogisticRegressionTrain, `{"alg_alpha":null,"alg_iters":100,"feature_size":30}`, "alg_alpha"},
		{NameLogisticRegressionTrain, `{"alg_alpha":0,"alg_iters":100,"feature_size":30}`, "alg_alpha"},
		{NameLogisticRegressionTrain, `{"alg_alpha":-0.3,"alg_iters":100,"feature_size":30}`, "alg_alpha"},
		{NameLogisticRegressionTrain, `{"alg_iters":100,"feature_size":30}`, "alg_alpha"},
		// Keys match exactly (encoding/json alone would take this one).
		{NameLogisticRegressionTrain, `{"ALG_ALPHA":0.3,"alg_iters":100,"feature_size":30}`, "alg_alpha"},
		{NamePrincipalComponentsAnalysis, `{"center":"true","feature_size":4,"n":2}`, "center"},
		{NamePrincipalComponentsAnalysis, `{"center":true,"feature_size":4,"n":1e1}`, "n"},
		{NameOrderedSetJoin, `{"left_column":0,"right_column":0,"ascending":1,"drop":true}`, "ascending"},
		{NameOrderedSetJoin, `{"left_column":0,"right_column":0,"ascending":true}`, "drop"},
		{NamePrivateJoinAndCompute, `{"num_user":"3"}`, "num_user"},
		{NameRSASign, `{"data":5}`, "data"},
		{NameOnlineDecrypt, `{"algorithm":"aes128gcm","encrypted_data":"AA==","key":["x"],"nonce":"AA=="}`, "key"},
		{NameOrderedSetIntersect, `{"order":1}`, "order"},
		{NameOrderedSetIntersect, `[]`, ""},
	} {
		rt := newRuntime("output_result1", "output_result2").input("input_data1", nil).input("input_data2", nil)
		_, err := run(t, tc.name, tc.args, rt)
		if !errors.Is(err, ErrArguments) || !strings.HasPrefix(err.Error(), "Cannot deserialize arguments") ||
			!strings.Contains(err.Error(), tc.key) {
			t.Errorf("%s %s: err = %v, want Cannot deserialize arguments about %q", tc.name, tc.args, err, tc.key)
		}
	}
}

// TestArgumentValuesStayOut checks that a wrong argument's value (it may be
// a key) is not repeated in the error.
func TestArgumentValuesStayOut(t *testing.T) {
	_, err := run(t, NameOnlineDecrypt, `{"algorithm":"aes128gcm","encrypted_data":"AA==","key":{"secret-key-material":1},"nonce":"AA=="}`, newRuntime())
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Fatalf("err = %v", err)
	}
}

func TestPasswordCheckErrors(t *testing.T) {
	rt := newRuntime().input("password", nil).inputFile(t, "exposed_passwords", "password_check/exposed_passwords.txt")
	if _, err := run(t, NamePasswordCheck, `{}`, rt); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("empty password file: %v", err)
	}
	rt = newRuntime().input("password", []byte("x"))
	if _, err := run(t, NamePasswordCheck, `{}`, rt); !errors.Is(err, executor.ErrInvalidInput) {
		t.Errorf("undeclared input: %v", err)
	}
}

func TestOrderedSetIntersectErrors(t *testing.T) {
	in := func(a, b string) *fakeRuntime {
		return newRuntime("output_result1", "output_result2").input("input_data1", []byte(a)).input("input_data2", []byte(b))
	}
	// A bad order still leaves both outputs, empty: they are created
	// first, as in Teaclave.
	rt := in("00\n01", "01")
	if _, err := run(t, NameOrderedSetIntersect, `{"order":"descending"}`, rt); err == nil || err.Error() != "Invalid order" {
		t.Errorf("bad order: %v", err)
	}
	if len(rt.output(t, "output_result1")) != 0 || len(rt.output(t, "output_result2")) != 0 {
		t.Error("outputs not empty")
	}
	for _, tc := range []struct{ a, b, want string }{
		{"01\n00", "00", "Invalid ordering"},
		{"00\n0", "00", "odd length"},
		{"zz", "00", "invalid byte"},
	} {
		if _, err := run(t, NameOrderedSetIntersect, `{"order":"ascending"}`, in(tc.a, tc.b)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want %q", tc.a, err, tc.want)
		}
	}
	// Empty lines are empty byte strings, sorted first; equal lines are
	// allowed (not strictly sorted).
	rt = in("\n00\n00\nff", "\nff")
	if got, err := run(t, NameOrderedSetIntersect, `{"order":"ascending"}`, rt); err != nil || string(got) != "2 common items" {
		t.Fatalf("got %q, %v", got, err)
	}
	if o := rt.output(t, "output_result1"); string(o) != "1001" {
		t.Errorf("output_result1 = %q", o)
	}
}

func TestOrderedSetJoinErrors(t *testing.T) {
	args := `{"left_column":0,"right_column":0,"ascending":true,"drop":true}`
	for _, tc := range []struct{ a, b, args, want string }{
		{"", "1,a", args, "input1 is empty"},
		{"1,a", "\n\n", args, "input2 is empty"},
		{"1,a", "1,b", `{"left_column":2,"right_column":0,"ascending":true,"drop":true}`, "invalid index"},
		{"1,a\n2,b,c", "2,b", args, "wrong number of fields"},
	} {
		rt := newRuntime("output_result").input("input_data1", []byte(tc.a)).input("input_data2", []byte(tc.b))
		if _, err := run(t, NameOrderedSetJoin, tc.args, rt); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q %q: err = %v, want %q", tc.a, tc.b, err, tc.want)
		}
	}
	// Descending: on "less" the right side advances.
	rt := newRuntime("output_result").input("input_data1", []byte("3,c\n2,b\n1,a")).input("input_data2", []byte("3,x\n1,y"))
	got, err := run(t, NameOrderedSetJoin, `{"left_column":0,"right_column":0,"ascending":false,"drop":false}`, rt)
	if err != nil || string(got) != "2 records" {
		t.Fatalf("got %q, %v", got, err)
	}
	if o := rt.output(t, "output_result"); string(o) != "3,c,x\n1,a,y\n" {
		t.Errorf("output = %q", o)
	}
}

func TestPrivateJoinAndComputeErrors(t *testing.T) {
	rt := newRuntime("output_data0").input("input_data0", []byte("a:1"))
	if _, err := run(t, NamePrivateJoinAndCompute, `{"num_user":1}`, rt); err == nil || err.Error() != "The demo requires at least two parties!" {
		t.Errorf("one user: %v", err)
	}
	if _, err := run(t, NamePrivateJoinAndCompute, `{"num_user":2}`, rt); !errors.Is(err, executor.ErrInvalidInput) {
		t.Errorf("missing input_data1: %v", err)
	}
	rt = newRuntime("output_data0", "output_data1").input("input_data0", []byte("a:1")).input("input_data1", []byte{'a', ':', 0xff})
	if _, err := run(t, NamePrivateJoinAndCompute, `{"num_user":2}`, rt); err == nil || !strings.Contains(err.Error(), "UTF-8") {
		t.Errorf("bad UTF-8: %v", err)
	}
}

func TestRSASignErrors(t *testing.T) {
	der := readTestdata(t, "rsa_sign/key.der")
	rt := newRuntime().input("rsa_key", der[:len(der)-10])
	_, err := run(t, NameRSASign, `{"data":"x"}`, rt)
	if err == nil || !strings.Contains(err.Error(), "PKCS#1") {
		t.Fatalf("truncated key: %v", err)
	}
	// ring signed only with 2048- to 4096-bit keys. (This test's key is
	// the only one the package's tests generate.)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	rt = newRuntime().input("rsa_key", x509.MarshalPKCS1PrivateKey(small))
	if _, err := run(t, NameRSASign, `{"data":"x"}`, rt); err == nil || !strings.Contains(err.Error(), "1024 bits") {
		t.Fatalf("1024-bit key: %v", err)
	}
}

func TestOnlineDecryptErrors(t *testing.T) {
	key := make([]byte, 16)
	nonce := make([]byte, 12)
	seal := func(plain []byte) string {
		b, _ := aes.NewCipher(key)
		g, _ := cipher.NewGCM(b)
		return base64.StdEncoding.EncodeToString(g.Seal(nil, nonce, plain, nil))
	}
	b64 := base64.StdEncoding.EncodeToString
	args := func(alg, k, n, data string) string {
		return `{"algorithm":"` + alg + `","encrypted_data":"` + data + `","key":"` + k + `","nonce":"` + n + `"}`
	}
	good := seal([]byte("hello"))
	tampered := []byte(good)
	tampered[0] ^= 'A' ^ 'B'
	for _, tc := range []struct{ args, want string }{
		{args("aes128gcm", b64(key), b64(nonce), good), ""},
		// A longer nonce: only its first 12 bytes count.
		{args("aes128gcm", b64(key), b64(append(nonce, 9, 9)), good), ""},
		{args("aes192gcm", b64(key), b64(nonce), good), "Invalid algorithm"},
		{args("aes256gcm", b64(key), b64(nonce), good), "decryption error"},
		{args("aes128gcm", b64(key), b64(nonce), string(tampered)), "decryption error"},
		{args("aes128gcm", b64(key), b64(nonce), b64([]byte("short"))), "decryption error"},
		{args("aes128gcm", b64(key), b64(nonce), seal([]byte{0xff, 0xfe})), "base64 decoded error"},
		{args("aes128gcm", b64(key), b64(nonce[:11]), good), "nonce must have at least 12 bytes"},
		{args("aes128gcm", "$$$$", b64(nonce), good), "key: illegal base64"},
		{args("aes128gcm", b64(key), b64(nonce), good+"AB"), "encrypted_data: illegal base64"},
	} {
		got, err := run(t, NameOnlineDecrypt, tc.args, newRuntime())
		switch {
		case tc.want == "" && (err != nil || string(got) != "hello"):
			t.Errorf("%s: got %q, %v", tc.args, got, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: err = %v, want %q", tc.args, err, tc.want)
		}
	}
}

func TestLogisticRegressionErrors(t *testing.T) {
	train := func(data string) error {
		rt := newRuntime("model_file").input("training_data", []byte(data))
		_, err := run(t, NameLogisticRegressionTrain, `{"alg_alpha":0.3,"alg_iters":10,"feature_size":2}`, rt)
		return err
	}
	for _, tc := range []struct{ data, want string }{
		{"1,2,1\n\n3,4,0", "Empty line"},
		{"1,2,1\n3,4", "Data format error: column len = 2, expected = 3"},
		{"1,2,1\n3,4,0,5", "Data format error: column len = 4, expected = 3"},
		{"1, 2,1", "invalid float literal"},
		{"1,,1", "cannot parse float from empty string"},
		{"", "no rows"},
	} {
		if err := train(tc.data); err == nil || err.Error() != tc.want && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want %q", tc.data, err, tc.want)
		}
	}
	if err := train("  1,2,1  \r\n3,4,0\n"); err != nil {
		t.Errorf("trimmed lines: %v", err)
	}

	predict := func(model, data string) error {
		rt := newRuntime("result_file").input("model_file", []byte(model)).input("data_file", []byte(data))
		_, err := run(t, NameLogisticRegressionPredict, `{}`, rt)
		return err
	}
	for _, tc := range []struct{ model, data, want string }{
		{`{"alpha":0.3,"iters":1,"parameters":null}`, "1", "Model parameter is None"},
		{`{"alpha":0.3,"iters":1,"parameters":[]}`, "1", "no parameters"},
		{`{"alpha":0.3,"parameters":[1,2]}`, "1", `missing field "iters"`},
		{`{"alpha":0.3,"iters":1,"parameters":[1,"2"]}`, "1", `"parameters"`},
		{`not json`, "1", "not a JSON object"},
		{`{"alpha":0.3,"iters":1,"parameters":[1,2]}`, "1,2", "Data format error: column len = 2, expected = 1"},
	} {
		if err := predict(tc.model, tc.data); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s / %q: err = %v, want %q", tc.model, tc.data, err, tc.want)
		}
	}
}

// gbdtModelJSON is a one-tree model: feature 0 < 0.5 → 1, else 2; a missing
// feature takes the node's own prediction (missing 0) or a side.
func gbdtModelJSON(missing, loss string, iterations int) string {
	return `{"conf":{"feature_size":1,"max_depth":1,"iterations":` + string(rune('0'+iterations)) +
		`,"shrinkage":1.0,"feature_sample_ratio":1.0,"data_sample_ratio":1.0,"min_leaf_size":1,"loss":"` + loss +
		`","debug":false,"initial_guess_enabled":false,"training_optimization_level":2},"trees":[{"tree":{"tree":[` +
		`{"value":{"feature_index":0,"feature_value":0.5,"pred":7.0,"missing":` + missing + `,"is_leaf":false},"index":0,"left":1,"right":2},` +
		`{"value":{"feature_index":0,"feature_value":0.0,"pred":1.0,"missing":0,"is_leaf":true},"index":1,"left":0,"right":0},` +
		`{"value":{"feature_index":0,"feature_value":0.0,"pred":2.0,"missing":0,"is_leaf":true},"index":2,"left":0,"right":0}` +
		`]},"feature_size":1,"max_depth":1,"min_leaf_size":1,"loss":"LAD","feature_sample_ratio":1.0}],"bias":0.5}`
}

func TestGBDTPredictBehaviour(t *testing.T) {
	predict := func(model, data string) (string, error) {
		rt := newRuntime("result_file").input("model_file", []byte(model)).input("data_file", []byte(data))
		if _, err := run(t, NameGBDTPredict, `{}`, rt); err != nil {
			return "", err
		}
		return string(rt.output(t, "result_file")), nil
	}
	const missing = "-3.4028235e38"
	for _, tc := range []struct{ missing, loss, data, want string }{
		{"0", "LAD", "0.1\n 0.9 , 5\n" + missing, "1.5000000000\n2.5000000000\n7.5000000000\n"},
		{"-1", "SquaredError", missing, "1.5000000000\n"},
		{"1", "SquaredError", missing, "2.5000000000\n"},
		// LogLikelyhood: 1/(1+e^(-2p)); the logistic losses 1/(1+e^(-p)).
		{"0", "LogLikelyhood", "0.1", "0.9525741339\n"},
		{"0", "BinaryLogistic", "0.1", "0.8175744414\n"},
	} {
		got, err := predict(gbdtModelJSON(tc.missing, tc.loss, 1), tc.data)
		if err != nil || got != tc.want {
			t.Errorf("missing %s, %s, %q: got %q, %v; want %q", tc.missing, tc.loss, tc.data, got, err, tc.want)
		}
	}
	for _, tc := range []struct{ model, data, want string }{
		{gbdtModelJSON("0", "LAD", 1), "0.1\n\n0.2", "Empty line"},
		{gbdtModelJSON("0", "LAD", 1), "0.1,,0.2", "Empty feature"},
		{gbdtModelJSON("0", "LAD", 1), "abc", "invalid float literal"},
		{gbdtModelJSON("0", "LAD", 2), "0.1", "1 trees but 2 iterations"},
		{gbdtModelJSON("0", "Huber", 1), "0.1", "unknown loss"},
		{strings.Replace(gbdtModelJSON("0", "LAD", 1), `"feature_index":0,"feature_value":0.5`, `"feature_index":3,"feature_value":0.5`, 1), "0.1", "feature 4"},
		{strings.Replace(gbdtModelJSON("0", "LAD", 1), `"left":1,"right":2`, `"left":1,"right":9`, 1), "0.1", "out of range"},
		{strings.Replace(gbdtModelJSON("0", "LAD", 1), `"left":1,"right":2`, `"left":0,"right":2`, 1), "0.1", "lacks a child"},
		{strings.Replace(gbdtModelJSON("0", "LAD", 1), `"is_leaf":true},"index":1,"left":0,"right":0`, `"is_leaf":false},"index":1,"left":1,"right":1`, 1), "0.1", "cycle"},
		{strings.Replace(gbdtModelJSON("0", "LAD", 1), `,"bias":0.5`, ``, 1), "0.1", "bias"},
		{`{"conf":5}`, "0.1", "invalid model"},
	} {
		if _, err := predict(tc.model, tc.data); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want %q", tc.data, err, tc.want)
		}
	}
}

func TestPCAErrors(t *testing.T) {
	pca := func(args, data string) (string, error) {
		rt := newRuntime("output_data").input("input_data", []byte(data))
		got, err := run(t, NamePrincipalComponentsAnalysis, args, rt)
		return string(got), err
	}
	if _, err := pca(`{"center":true,"feature_size":2,"n":3}`, "1,2,0\n3,4,0\n5,7,0"); err == nil ||
		err.Error() != "Input data must have equal or larger number of columns than n" {
		t.Errorf("n > columns: %v", err)
	}
	if _, err := pca(`{"center":true,"feature_size":3,"n":1}`, "1,2,3,0\n3,4,5,0"); err == nil || !strings.Contains(err.Error(), "fewer than") {
		t.Errorf("rows < columns: %v", err)
	}
	for _, data := range []string{"NaN,1,0\n2,3,0\n4,5,0", "inf,1,0\n2,3,0\n4,5,0", "1e308,1,0\n1e308,3,0\n-1e308,5,0"} {
		if _, err := pca(`{"center":true,"feature_size":2,"n":1}`, data); err == nil || !strings.Contains(err.Error(), "not finite") {
			t.Errorf("%q: err = %v", data, err)
		}
	}
	if _, err := pca(`{"center":true,"feature_size":2,"n":1}`, ""); err == nil {
		t.Error("no rows: no error")
	}
	// n = 0 keeps no component: one empty line per row.
	rt := newRuntime("output_data").input("input_data", []byte("1,2,0\n3,4,0\n5,7,0"))
	got, err := run(t, NamePrincipalComponentsAnalysis, `{"center":false,"feature_size":2,"n":0}`, rt)
	if err != nil || string(got) != "transform 3 rows * 0 cols lines of data." || !bytes.Equal(rt.output(t, "output_data"), []byte("\n\n\n")) {
		t.Errorf("n = 0: %q, %v", got, err)
	}
}
