package storage

import (
	"context"

	"github.com/teaclave-go/teaclave"
)

// The Service is itself a teaclave.Store, usable from the moment it is
// constructed (so an fx graph can hand it to other services) and serving
// once started. Before Start and after Stop every call fails Unavailable.

var _ teaclave.Store = (*Service)(nil)

func (s *Service) open() (teaclave.Store, error) {
	if st := s.Store(); st != nil {
		return st, nil
	}
	return nil, teaclave.Errorf(teaclave.KindUnavailable, "storage: not started")
}

// Get implements teaclave.Store.
func (s *Service) Get(ctx context.Context, key []byte) ([]byte, uint64, error) {
	st, err := s.open()
	if err != nil {
		return nil, 0, err
	}
	return st.Get(ctx, key)
}

// Put implements teaclave.Store.
func (s *Service) Put(ctx context.Context, key, value []byte) error {
	st, err := s.open()
	if err != nil {
		return err
	}
	return st.Put(ctx, key, value)
}

// Delete implements teaclave.Store.
func (s *Service) Delete(ctx context.Context, key []byte) error {
	st, err := s.open()
	if err != nil {
		return err
	}
	return st.Delete(ctx, key)
}

// Enqueue implements teaclave.Store.
func (s *Service) Enqueue(ctx context.Context, queue, value []byte) error {
	st, err := s.open()
	if err != nil {
		return err
	}
	return st.Enqueue(ctx, queue, value)
}

// Dequeue implements teaclave.Store.
func (s *Service) Dequeue(ctx context.Context, queue []byte) ([]byte, error) {
	st, err := s.open()
	if err != nil {
		return nil, err
	}
	return st.Dequeue(ctx, queue)
}

// GetKeysByPrefix implements teaclave.Store.
func (s *Service) GetKeysByPrefix(ctx context.Context, prefix []byte) ([][]byte, error) {
	st, err := s.open()
	if err != nil {
		return nil, err
	}
	return st.GetKeysByPrefix(ctx, prefix)
}

// Commit implements teaclave.Store.
func (s *Service) Commit(ctx context.Context, conds []teaclave.Condition, ops []teaclave.Op) (teaclave.CommitResult, error) {
	st, err := s.open()
	if err != nil {
		return teaclave.CommitResult{}, err
	}
	return st.Commit(ctx, conds, ops)
}

// WaitDequeue implements teaclave.Store.
func (s *Service) WaitDequeue(ctx context.Context, queue []byte) ([]byte, error) {
	st, err := s.open()
	if err != nil {
		return nil, err
	}
	return st.WaitDequeue(ctx, queue)
}

// WaitQueue implements teaclave.Store.
func (s *Service) WaitQueue(ctx context.Context, queue []byte) error {
	st, err := s.open()
	if err != nil {
		return err
	}
	return st.WaitQueue(ctx, queue)
}

// Range implements teaclave.Store.
func (s *Service) Range(ctx context.Context, start, end []byte, limit int, reverse bool) ([]teaclave.KV, error) {
	st, err := s.open()
	if err != nil {
		return nil, err
	}
	return st.Range(ctx, start, end, limit, reverse)
}
