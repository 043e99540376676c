package sdk

import (
	"context"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/rpc/pb/frontendpb"
)

// RegisterInputFile registers an input file: the URL the platform fetches
// it from (http(s), data:, or a file URL the platform allows), its cmac and
// crypto info. It returns the data id. A raw file has no cmac; pass a zero
// Tag (the platform requires 16 bytes and does not check them).
func (c *Client) RegisterInputFile(ctx context.Context, url string, tag Tag, info CryptoInfo) (string, error) {
	ctx, err := c.loggedIn(ctx)
	if err != nil {
		return "", err
	}
	if err := info.Validate(); err != nil {
		return "", err
	}
	resp, err := c.Frontend.RegisterInputFile(ctx, &frontendpb.RegisterInputFileRequest{Url: url, Cmac: tag[:], CryptoInfo: info.pb()})
	if err != nil {
		return "", err
	}
	return resp.GetDataId(), nil
}

// RegisterOutputFile registers an output file: the URL the platform
// uploads it to and the crypto info it encrypts it with. It returns the
// data id.
func (c *Client) RegisterOutputFile(ctx context.Context, url string, info CryptoInfo) (string, error) {
	ctx, err := c.loggedIn(ctx)
	if err != nil {
		return "", err
	}
	if err := info.Validate(); err != nil {
		return "", err
	}
	resp, err := c.Frontend.RegisterOutputFile(ctx, &frontendpb.RegisterOutputFileRequest{Url: url, CryptoInfo: info.pb()})
	if err != nil {
		return "", err
	}
	return resp.GetDataId(), nil
}

// UpdateInputFile moves an input file to a new URL and returns the new data
// id.
func (c *Client) UpdateInputFile(ctx context.Context, dataID, url string) (string, error) {
	ctx, err := c.loggedIn(ctx)
	if err != nil {
		return "", err
	}
	resp, err := c.Frontend.UpdateInputFile(ctx, &frontendpb.UpdateInputFileRequest{DataId: dataID, Url: url})
	if err != nil {
		return "", err
	}
	return resp.GetDataId(), nil
}

// UpdateOutputFile moves an output file to a new URL and returns the new
// data id.
func (c *Client) UpdateOutputFile(ctx context.Context, dataID, url string) (string, error) {
	ctx, err := c.loggedIn(ctx)
	if err != nil {
		return "", err
	}
	resp, err := c.Frontend.UpdateOutputFile(ctx, &frontendpb.UpdateOutputFileRequest{DataId: dataID, Url: url})
	if err != nil {
		return "", err
	}
	return resp.GetDataId(), nil
}

// RegisterFusionOutput registers an output owned by several users, kept by
// the platform (it has no URL) to become an input of a later task
// (RegisterInputFromOutput). It returns the data id.
func (c *Client) RegisterFusionOutput(ctx context.Context, owners []string) (string, error) {
	ctx, err := c.loggedIn(ctx)
	if err != nil {
		return "", err
	}
	if len(owners) == 0 {
		return "", teaclave.Errorf(teaclave.KindInvalidArgument, "sdk: a fusion output needs owners")
	}
	resp, err := c.Frontend.RegisterFusionOutput(ctx, &frontendpb.RegisterFusionOutputRequest{OwnerList: owners})
	if err != nil {
		return "", err
	}
	return resp.GetDataId(), nil
}

// RegisterInputFromOutput turns a written output into an input and returns
// the input's data id.
func (c *Client) RegisterInputFromOutput(ctx context.Context, outputID string) (string, error) {
	ctx, err := c.loggedIn(ctx)
	if err != nil {
		return "", err
	}
	resp, err := c.Frontend.RegisterInputFromOutput(ctx, &frontendpb.RegisterInputFromOutputRequest{DataId: outputID})
	if err != nil {
		return "", err
	}
	return resp.GetDataId(), nil
}

// FileInfo is what the platform tells a file's owner about it.
type FileInfo struct {
	// Owners are the users who own the file.
	Owners []string
	// Tag is its cmac; HasTag is false for an output not yet written.
	Tag    Tag
	HasTag bool
}

func fileInfo(owners []string, cmac []byte) (*FileInfo, error) {
	fi := &FileInfo{Owners: owners}
	if len(cmac) > 0 {
		t, err := TagFromBytes(cmac)
		if err != nil {
			return nil, teaclave.Errorf(teaclave.KindInternal, "sdk: platform answered a cmac of %d bytes", len(cmac))
		}
		fi.Tag, fi.HasTag = t, true
	}
	return fi, nil
}

// GetInputFile returns an input file's owners and cmac.
func (c *Client) GetInputFile(ctx context.Context, dataID string) (*FileInfo, error) {
	ctx, err := c.loggedIn(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := c.Frontend.GetInputFile(ctx, &frontendpb.GetInputFileRequest{DataId: dataID})
	if err != nil {
		return nil, err
	}
	return fileInfo(resp.GetOwner(), resp.GetCmac())
}

// GetOutputFile returns an output file's owners and, once a task wrote
// it, its cmac.
func (c *Client) GetOutputFile(ctx context.Context, dataID string) (*FileInfo, error) {
	ctx, err := c.loggedIn(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := c.Frontend.GetOutputFile(ctx, &frontendpb.GetOutputFileRequest{DataId: dataID})
	if err != nil {
		return nil, err
	}
	return fileInfo(resp.GetOwner(), resp.GetCmac())
}
