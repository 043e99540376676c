//go:build !teaclave_production

package deploy_test

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/teaclave-go/teaclave/examples/deploy/deploytest"
	"github.com/teaclave-go/teaclave/rpc/pb/frontendpb"
)

// expectedGBDTModel is Teaclave's gbdt_training/expected_model.txt, the
// model of the 120 rows the join below produces.
const expectedGBDTModel = "../../execution/builtin/functions/testdata/gbdt_training/expected_model.txt"

// TestScenarioSequentialJoinThenTrainA6 is functions.md's A6 (Teaclave's
// Rust sequential_functions example): user0's and user1's
// teaclave-file-128 tables are joined by builtin-ordered-set-join into a
// fusion output owned by both; a builtin-gbdt-train task then reads that
// output through RegisterInputFromOutput and cannot run until user1, an
// owner of its input, approves. The model uploaded is Teaclave's golden
// model byte for byte.
func TestScenarioSequentialJoinThenTrainA6(t *testing.T) {
	files := newFileServer(t)
	p := deploytest.StartWith(t, deploytest.Options{FileAgentAllowlist: []string{files.Addr()}})
	u := users(t, p, "user0", "user1")
	fe := frontendpb.NewTeaclaveFrontendClient(p.DialFrontend(t))

	// The join: ids of join0.csv (user0) matched with join1.csv (user1).
	join := try(fe.RegisterFunction(u[0], &frontendpb.RegisterFunctionRequest{
		Name: "builtin-ordered-set-join", ExecutorType: "builtin", Public: true, UsageQuota: -1,
		Arguments: []*frontendpb.FunctionArgument{
			{Key: "left_column", AllowOverwrite: true}, {Key: "right_column", AllowOverwrite: true},
			{Key: "ascending", AllowOverwrite: true}, {Key: "drop", AllowOverwrite: true},
			{Key: "save_log", DefaultValue: "false", AllowOverwrite: true},
		},
		Inputs:  []*frontendpb.FunctionInput{{Name: "input_data1"}, {Name: "input_data2"}},
		Outputs: []*frontendpb.FunctionOutput{{Name: "output_result"}},
	})).must(t)
	joinTask := try(fe.CreateTask(u[0], &frontendpb.CreateTaskRequest{
		FunctionId: join.FunctionId, Executor: "builtin",
		FunctionArguments: `{"left_column":0,"right_column":0,"ascending":true,"drop":true,"save_log":"true"}`,
		InputsOwnership:   []*frontendpb.OwnerList{{DataName: "input_data1", Uids: []string{"user0"}}, {DataName: "input_data2", Uids: []string{"user1"}}},
		OutputsOwnership:  []*frontendpb.OwnerList{{DataName: "output_result", Uids: []string{"user0", "user1"}}},
	})).must(t)
	for i, in := range []struct{ file, cmac, slot string }{
		{"join0.csv.enc", "3f91d2744763445d265ea469debb74f0", "input_data1"},
		{"join1.csv.enc", "d1e5a520489c93d0254c8c22cdefab89", "input_data2"},
	} {
		data := try(fe.RegisterInputFile(u[i], &frontendpb.RegisterInputFileRequest{
			Url: files.URL(in.file), Cmac: mustHex(in.cmac), CryptoInfo: pfs(),
		})).must(t)
		try(fe.AssignData(u[i], &frontendpb.AssignDataRequest{TaskId: joinTask.TaskId,
			Inputs: []*frontendpb.DataMap{{DataName: in.slot, DataId: data.DataId}}})).must(t)
	}
	fused := try(fe.RegisterFusionOutput(u[0], &frontendpb.RegisterFusionOutputRequest{OwnerList: []string{"user0", "user1"}})).must(t)
	try(fe.AssignData(u[0], &frontendpb.AssignDataRequest{TaskId: joinTask.TaskId,
		Outputs: []*frontendpb.DataMap{{DataName: "output_result", DataId: fused.DataId}}})).must(t)
	for _, ctx := range u {
		try(fe.ApproveTask(ctx, &frontendpb.ApproveTaskRequest{TaskId: joinTask.TaskId})).must(t)
	}
	try(fe.InvokeTask(u[0], &frontendpb.InvokeTaskRequest{TaskId: joinTask.TaskId})).must(t)
	joined := mustFinish(t, fe, joinTask.TaskId, "120 records", u...)
	if log := strings.Join(joined.Result.GetOk().GetLog(), "\n"); !strings.Contains(log, "[INFO teaclave_function::ordered_set_join] ") {
		t.Errorf("the join's log (save_log) lacks its line: %q", log)
	}

	// The training, on the fused file as an input owned by both users.
	train := try(fe.RegisterFunction(u[0], &frontendpb.RegisterFunctionRequest{
		Name: "builtin-gbdt-train", ExecutorType: "builtin", Public: true, UsageQuota: -1,
		Arguments: []*frontendpb.FunctionArgument{
			{Key: "feature_size", AllowOverwrite: true}, {Key: "max_depth", AllowOverwrite: true},
			{Key: "iterations", AllowOverwrite: true}, {Key: "shrinkage", AllowOverwrite: true},
			{Key: "feature_sample_ratio", AllowOverwrite: true}, {Key: "data_sample_ratio", AllowOverwrite: true},
			{Key: "min_leaf_size", AllowOverwrite: true}, {Key: "loss", AllowOverwrite: true},
			{Key: "training_optimization_level", AllowOverwrite: true},
		},
		Inputs:  []*frontendpb.FunctionInput{{Name: "training_data"}},
		Outputs: []*frontendpb.FunctionOutput{{Name: "trained_model"}},
	})).must(t)
	trainTask := try(fe.CreateTask(u[0], &frontendpb.CreateTaskRequest{
		FunctionId: train.FunctionId, Executor: "builtin",
		FunctionArguments: `{"feature_size":4,"max_depth":4,"iterations":100,"shrinkage":0.1,` +
			`"feature_sample_ratio":1.0,"data_sample_ratio":1.0,"min_leaf_size":1,"loss":"LAD",` +
			`"training_optimization_level":2}`,
		InputsOwnership:  []*frontendpb.OwnerList{{DataName: "training_data", Uids: []string{"user0", "user1"}}},
		OutputsOwnership: []*frontendpb.OwnerList{{DataName: "trained_model", Uids: []string{"user0"}}},
	})).must(t)
	in := try(fe.RegisterInputFromOutput(u[0], &frontendpb.RegisterInputFromOutputRequest{DataId: fused.DataId})).must(t)
	model := try(fe.RegisterOutputFile(u[0], &frontendpb.RegisterOutputFileRequest{Url: files.URL("output_model.enc"), CryptoInfo: pfs()})).must(t)
	try(fe.AssignData(u[0], &frontendpb.AssignDataRequest{TaskId: trainTask.TaskId,
		Inputs:  []*frontendpb.DataMap{{DataName: "training_data", DataId: in.DataId}},
		Outputs: []*frontendpb.DataMap{{DataName: "trained_model", DataId: model.DataId}}})).must(t)
	try(fe.ApproveTask(u[0], &frontendpb.ApproveTaskRequest{TaskId: trainTask.TaskId})).must(t)
	if _, err := fe.InvokeTask(u[0], &frontendpb.InvokeTaskRequest{TaskId: trainTask.TaskId}); err == nil {
		t.Fatal("training invoked before user1, an owner of its input, approved")
	}
	try(fe.ApproveTask(u[1], &frontendpb.ApproveTaskRequest{TaskId: trainTask.TaskId})).must(t)
	try(fe.InvokeTask(u[0], &frontendpb.InvokeTaskRequest{TaskId: trainTask.TaskId})).must(t)
	mustFinish(t, fe, trainTask.TaskId, "Trained 120 lines of data.", u[0])

	want, err := os.ReadFile(expectedGBDTModel)
	if err != nil {
		t.Fatal(err)
	}
	if got := decryptPFS(t, "output_model.enc", uploaded(t, files, "output_model.enc")); !bytes.Equal([]byte(got), want) {
		t.Errorf("the trained model (%d bytes) is not Teaclave's expected_model.txt (%d bytes)", len(got), len(want))
	}
}
