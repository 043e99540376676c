package management

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"slices"

	"github.com/google/uuid"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/rpc/pb/frontendpb"
)

// putNew stores a new record under a fresh key.
func (s *Service) putNew(ctx context.Context, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return teaclave.Wrap(teaclave.KindInternal, "service internal error", err)
	}
	err = s.commit(ctx, []teaclave.Condition{teaclave.Absent(key)}, []teaclave.Op{teaclave.PutOp(key, data)})
	if err == errConflict {
		// A fresh UUIDv4 collided: never in practice, but never overwrite.
		return teaclave.Errorf(teaclave.KindInternal, "service internal error")
	}
	return err
}

// RegisterInputFile registers an input file owned by the caller: a URL of
// an allowed scheme, a 16-byte cmac and valid crypto info ("raw" only when
// the deployment allows plaintext inputs).
func (s *Service) RegisterInputFile(ctx context.Context, req *frontendpb.RegisterInputFileRequest) (*frontendpb.RegisterInputFileResponse, error) {
	caller, err := callerOf(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.checkURL(req.GetUrl()); err != nil {
		return nil, err
	}
	cmac, err := teaclave.FileAuthTagFromBytes(req.GetCmac())
	if err != nil {
		return nil, err
	}
	crypto, err := checkCrypto(req.GetCryptoInfo(), s.cfg.AllowRawInputs, "raw inputs are not enabled on this platform")
	if err != nil {
		return nil, err
	}
	f := teaclave.InputFile{ID: teaclave.NewID(teaclave.PrefixInput), URL: req.GetUrl(), Cmac: cmac, Crypto: crypto, Owners: []string{caller.ID}}
	if err := s.putNew(ctx, teaclave.InputKey(f.ID), &f); err != nil {
		return nil, err
	}
	return &frontendpb.RegisterInputFileResponse{DataId: f.ID.String()}, nil
}

// RegisterOutputFile registers an output file owned by the caller. Raw
// outputs are refused (Teaclave accepted them and failed at execution).
func (s *Service) RegisterOutputFile(ctx context.Context, req *frontendpb.RegisterOutputFileRequest) (*frontendpb.RegisterOutputFileResponse, error) {
	caller, err := callerOf(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.checkURL(req.GetUrl()); err != nil {
		return nil, err
	}
	crypto, err := checkCrypto(req.GetCryptoInfo(), false, "outputs cannot be raw")
	if err != nil {
		return nil, err
	}
	f := teaclave.OutputFile{ID: teaclave.NewID(teaclave.PrefixOutput), URL: req.GetUrl(), Crypto: crypto, Owners: []string{caller.ID}}
	if err := s.putNew(ctx, teaclave.OutputKey(f.ID), &f); err != nil {
		return nil, err
	}
	return &frontendpb.RegisterOutputFileResponse{DataId: f.ID.String()}, nil
}

// soleOwner refuses unless owners is exactly {user}.
func soleOwner(owners []string, user string) error {
	if len(owners) != 1 || owners[0] != user {
		return denied("only the sole owner may update a file")
	}
	return nil
}

// UpdateInputFile registers a copy of one of the caller's input files under
// a new URL, as Teaclave does: the old record stays, the new one gets a new
// id. Only a file whose one owner is the caller can be updated.
func (s *Service) UpdateInputFile(ctx context.Context, req *frontendpb.UpdateInputFileRequest) (*frontendpb.UpdateInputFileResponse, error) {
	caller, err := callerOf(ctx)
	if err != nil {
		return nil, err
	}
	id, err := parseID(req.GetDataId(), teaclave.PrefixInput, "data id")
	if err != nil {
		return nil, err
	}
	if err := s.checkURL(req.GetUrl()); err != nil {
		return nil, err
	}
	old, _, err := s.readInput(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := soleOwner(old.Owners, caller.ID); err != nil {
		return nil, err
	}
	f := *old
	f.ID, f.URL = teaclave.NewID(teaclave.PrefixInput), req.GetUrl()
	if err := s.putNew(ctx, teaclave.InputKey(f.ID), &f); err != nil {
		return nil, err
	}
	return &frontendpb.UpdateInputFileResponse{DataId: f.ID.String()}, nil
}

// UpdateOutputFile registers a copy of one of the caller's output files
// under a new URL and a new id, not yet written.
func (s *Service) UpdateOutputFile(ctx context.Context, req *frontendpb.UpdateOutputFileRequest) (*frontendpb.UpdateOutputFileResponse, error) {
	caller, err := callerOf(ctx)
	if err != nil {
		return nil, err
	}
	id, err := parseID(req.GetDataId(), teaclave.PrefixOutput, "data id")
	if err != nil {
		return nil, err
	}
	if err := s.checkURL(req.GetUrl()); err != nil {
		return nil, err
	}
	old, _, err := s.readOutput(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := soleOwner(old.Owners, caller.ID); err != nil {
		return nil, err
	}
	f := *old
	f.ID, f.URL, f.Cmac = teaclave.NewID(teaclave.PrefixOutput), req.GetUrl(), nil
	if err := s.putNew(ctx, teaclave.OutputKey(f.ID), &f); err != nil {
		return nil, err
	}
	return &frontendpb.UpdateOutputFileResponse{DataId: f.ID.String()}, nil
}

// RegisterFusionOutput registers an output the platform keeps itself,
// owned by at least two distinct existing users, the caller among them. Its
// fusion:// URL and its teaclave-file-128 key are made here; no user can
// register such a URL.
func (s *Service) RegisterFusionOutput(ctx context.Context, req *frontendpb.RegisterFusionOutputRequest) (*frontendpb.RegisterFusionOutputResponse, error) {
	caller, err := callerOf(ctx)
	if err != nil {
		return nil, err
	}
	owners, err := checkUsers("owner list", req.GetOwnerList(), MaxOwners)
	if err != nil {
		return nil, err
	}
	if len(owners) < 2 {
		return nil, invalid("invalid owner list: a fusion output needs at least two distinct owners")
	}
	if !slices.Contains(owners, caller.ID) {
		return nil, denied("the caller must be one of the owners")
	}
	if err := s.checkUsersExist(ctx, "owner list", owners); err != nil {
		return nil, err
	}
	key := make([]byte, 16)
	if _, err := rand.Read(key); err != nil {
		return nil, teaclave.Wrap(teaclave.KindInternal, "service internal error", err)
	}
	f := teaclave.OutputFile{
		ID:     teaclave.NewID(teaclave.PrefixOutput),
		URL:    teaclave.FusionURL(uuid.New()),
		Crypto: teaclave.FileCrypto{Schema: teaclave.SchemaTeaclaveFile128, Key: key},
		Owners: owners,
	}
	if err := s.putNew(ctx, teaclave.OutputKey(f.ID), &f); err != nil {
		return nil, err
	}
	return &frontendpb.RegisterFusionOutputResponse{DataId: f.ID.String()}, nil
}

// RegisterInputFromOutput makes a written output usable as an input: the
// input has the output's UUID, URL, crypto info, owners and cmac. Calling
// it again returns the same id (outputs are written once, so the input is
// always the same).
func (s *Service) RegisterInputFromOutput(ctx context.Context, req *frontendpb.RegisterInputFromOutputRequest) (*frontendpb.RegisterInputFromOutputResponse, error) {
	caller, err := callerOf(ctx)
	if err != nil {
		return nil, err
	}
	id, err := parseID(req.GetDataId(), teaclave.PrefixOutput, "data id")
	if err != nil {
		return nil, err
	}
	var in teaclave.InputFile
	err = s.retry(ctx, "register input from output", func() error {
		out, ver, err := s.readOutput(ctx, id)
		if err != nil {
			return err
		}
		if !out.OwnedBy(caller.ID) {
			return denied("not an owner of the output")
		}
		if out.Cmac == nil {
			return precondition("invalid output file: not written yet")
		}
		in = teaclave.InputFile{
			ID: teaclave.IDFromUUID(teaclave.PrefixInput, id.UUID()), URL: out.URL, Cmac: *out.Cmac,
			Crypto: out.Crypto, Owners: out.Owners,
		}
		data, err := json.Marshal(&in)
		if err != nil {
			return teaclave.Wrap(teaclave.KindInternal, "service internal error", err)
		}
		return s.commit(ctx, []teaclave.Condition{teaclave.AtVersion(teaclave.OutputKey(id), ver)},
			[]teaclave.Op{teaclave.PutOp(teaclave.InputKey(in.ID), data)})
	})
	if err != nil {
		return nil, err
	}
	return &frontendpb.RegisterInputFromOutputResponse{DataId: in.ID.String()}, nil
}

// GetInputFile returns an input file's owners and cmac to one of its
// owners.
func (s *Service) GetInputFile(ctx context.Context, req *frontendpb.GetInputFileRequest) (*frontendpb.GetInputFileResponse, error) {
	caller, err := callerOf(ctx)
	if err != nil {
		return nil, err
	}
	id, err := parseID(req.GetDataId(), teaclave.PrefixInput, "data id")
	if err != nil {
		return nil, err
	}
	f, _, err := s.readInput(ctx, id)
	if err != nil {
		return nil, err
	}
	if !f.OwnedBy(caller.ID) {
		return nil, denied("")
	}
	return &frontendpb.GetInputFileResponse{Owner: f.Owners, Cmac: f.Cmac[:]}, nil
}

// GetOutputFile returns an output file's owners and cmac (empty until
// written) to one of its owners.
func (s *Service) GetOutputFile(ctx context.Context, req *frontendpb.GetOutputFileRequest) (*frontendpb.GetOutputFileResponse, error) {
	caller, err := callerOf(ctx)
	if err != nil {
		return nil, err
	}
	id, err := parseID(req.GetDataId(), teaclave.PrefixOutput, "data id")
	if err != nil {
		return nil, err
	}
	f, _, err := s.readOutput(ctx, id)
	if err != nil {
		return nil, err
	}
	if !f.OwnedBy(caller.ID) {
		return nil, denied("")
	}
	resp := &frontendpb.GetOutputFileResponse{Owner: f.Owners, Cmac: []byte{}}
	if f.Cmac != nil {
		resp.Cmac = f.Cmac[:]
	}
	return resp, nil
}
