package rpc_test

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/teaclave-go/teaclave/rpc/pb/accesscontrolpb"
	"github.com/teaclave-go/teaclave/rpc/pb/authpb"
	"github.com/teaclave-go/teaclave/rpc/pb/commonpb"
	"github.com/teaclave-go/teaclave/rpc/pb/frontendpb"
	"github.com/teaclave-go/teaclave/rpc/pb/managementpb"
	"github.com/teaclave-go/teaclave/rpc/pb/schedulerpb"
	"github.com/teaclave-go/teaclave/rpc/pb/storagepb"
)

// teaclaveFiles are the compiled descriptors of Teaclave's seven files.
var teaclaveFiles = []protoreflect.FileDescriptor{
	commonpb.File_teaclave_common_proto,
	authpb.File_teaclave_authentication_service_proto,
	accesscontrolpb.File_teaclave_access_control_service_proto,
	frontendpb.File_teaclave_frontend_service_proto,
	managementpb.File_teaclave_management_service_proto,
	storagepb.File_teaclave_storage_service_proto,
	schedulerpb.File_teaclave_scheduler_service_proto,
}

// renderWire writes the wire-relevant facts of the descriptors in the
// golden file's line format.
func renderWire(files []protoreflect.FileDescriptor) []string {
	var lines []string
	for _, fd := range files {
		var imports []string
		for i := 0; i < fd.Imports().Len(); i++ {
			imports = append(imports, fd.Imports().Get(i).Path())
		}
		slices.Sort(imports)
		lines = append(lines, fmt.Sprintf("file %s package=%s imports=%s", fd.Path(), fd.Package(), strings.Join(imports, ",")))
		for i := 0; i < fd.Enums().Len(); i++ {
			ed := fd.Enums().Get(i)
			line := "enum " + string(ed.FullName())
			for j := 0; j < ed.Values().Len(); j++ {
				v := ed.Values().Get(j)
				line += fmt.Sprintf(" %s=%d", v.Name(), v.Number())
			}
			lines = append(lines, line)
		}
		for i := 0; i < fd.Messages().Len(); i++ {
			lines = append(lines, renderMessage(fd.Messages().Get(i))...)
		}
		for i := 0; i < fd.Services().Len(); i++ {
			sd := fd.Services().Get(i)
			line := "service " + string(sd.FullName())
			for j := 0; j < sd.Methods().Len(); j++ {
				md := sd.Methods().Get(j)
				stream := ""
				if md.IsStreamingClient() || md.IsStreamingServer() {
					stream = "stream:"
				}
				line += fmt.Sprintf(" %s%s(%s)%s", stream, md.Name(), md.Input().FullName(), md.Output().FullName())
			}
			lines = append(lines, line)
		}
	}
	return lines
}

func renderMessage(md protoreflect.MessageDescriptor) []string {
	lines := []string{"message " + string(md.FullName())}
	for i := 0; i < md.Messages().Len(); i++ {
		nested := md.Messages().Get(i)
		if !nested.IsMapEntry() {
			lines = append(lines, "nested "+string(nested.FullName()))
		}
	}
	for i := 0; i < md.Fields().Len(); i++ {
		f := md.Fields().Get(i)
		label := "optional"
		if f.Cardinality() == protoreflect.Repeated {
			label = "repeated"
		}
		if f.Cardinality() == protoreflect.Required {
			label = "required"
		}
		var typ string
		switch {
		case f.IsMap():
			typ = fmt.Sprintf("map<%s,%s>", kindName(f.MapKey()), kindName(f.MapValue()))
		default:
			typ = kindName(f)
		}
		extra := ""
		if f.HasPresence() && f.ContainingOneof() == nil && f.Message() == nil {
			extra = " presence" // proto3 `optional`: Teaclave uses none
		}
		if o := f.ContainingOneof(); o != nil && !o.IsSynthetic() {
			extra += " oneof=" + string(o.Name())
		}
		lines = append(lines, fmt.Sprintf("field %s %d %s %s%s", f.FullName(), f.Number(), typ, label, extra))
	}
	return lines
}

func kindName(f protoreflect.FieldDescriptor) string {
	switch f.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return string(f.Message().FullName())
	case protoreflect.EnumKind:
		return string(f.Enum().FullName())
	}
	return f.Kind().String()
}

func readGolden(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		lines = append(lines, line)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

// diffLines returns the lines only in want and only in got.
func diffLines(want, got []string) (missing, extra []string) {
	w := map[string]int{}
	for _, l := range want {
		w[l]++
	}
	for _, l := range got {
		if w[l] > 0 {
			w[l]--
			continue
		}
		extra = append(extra, l)
	}
	for l, n := range w {
		for ; n > 0; n-- {
			missing = append(missing, l)
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	return missing, extra
}

// TestTeaclaveWireContract compares every file, message, field (number,
// name, type, label), enum value, service and method (in order) of our
// seven Teaclave files with the golden contract derived from the protocol
// specification.
func TestTeaclaveWireContract(t *testing.T) {
	want := readGolden(t, "proto/testdata/teaclave_wire.golden")
	got := renderWire(teaclaveFiles)
	missing, extra := diffLines(want, got)
	for _, l := range missing {
		t.Errorf("missing from our descriptors: %s", l)
	}
	for _, l := range extra {
		t.Errorf("not in Teaclave's contract: %s", l)
	}
}

// TestWireContractCatchesDrift shows the comparison fails on the kinds of
// drift it exists to catch.
func TestWireContractCatchesDrift(t *testing.T) {
	want := readGolden(t, "proto/testdata/teaclave_wire.golden")
	mutations := map[string]func(string) string{
		"field number": func(l string) string {
			return strings.Replace(l, "UserLoginRequest.password 2 ", "UserLoginRequest.password 3 ", 1)
		},
		"field type": func(l string) string {
			return strings.Replace(l, "RegisterFunctionRequest.usage_quota 13 int32", "RegisterFunctionRequest.usage_quota 13 int64", 1)
		},
		"method order": func(l string) string {
			return strings.Replace(l, " Get(teaclave_storage_service_proto.GetRequest)teaclave_storage_service_proto.GetResponse Put(teaclave_storage_service_proto.PutRequest)google.protobuf.Empty",
				" Put(teaclave_storage_service_proto.PutRequest)google.protobuf.Empty Get(teaclave_storage_service_proto.GetRequest)teaclave_storage_service_proto.GetResponse", 1)
		},
		"enum value": func(l string) string { return strings.Replace(l, "Failed=99", "Failed=98", 1) },
	}
	got := renderWire(teaclaveFiles)
	for name, mutate := range mutations {
		changed := false
		mutated := make([]string, len(got))
		for i, l := range got {
			mutated[i] = mutate(l)
			changed = changed || mutated[i] != l
		}
		if !changed {
			t.Errorf("%s: mutation matched nothing", name)
			continue
		}
		if missing, extra := diffLines(want, mutated); len(missing) == 0 && len(extra) == 0 {
			t.Errorf("%s: drift not detected", name)
		}
	}
}
