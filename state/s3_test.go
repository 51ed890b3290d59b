package state

import (
	"context"
	"errors"
	"testing"

	"github.com/extract-dev/extract/sink/s3test"
)

// TestS3Overlap runs the lock against an S3 API (gofakes3 in process, which enforces
// If-None-Match: *): of runs opening at once exactly one holds the state, the others
// get ErrLocked, and the holder saves.
func TestS3Overlap(t *testing.T) {
	ctx := context.Background()
	b := s3test.Start(t, "state").Bucket(t, "state", "")

	s := claimAtOnce(t, b, "s3://state", 4, "run")
	if err := s.Save("a", Stream{RowsTotal: 1}); err != nil {
		t.Fatal(err)
	}
	// A write that bypasses the lock check (a run whose lease view is stale) loses.
	other := &bucketBackend{b: b, ctx: ctx, display: "s3://state", now: s.now, gen: 1, keep: 5}
	if err := other.write(&File{Version: Version, Streams: map[string]Stream{}}, true, nil); !errors.Is(err, ErrLocked) {
		t.Fatalf("a write over an existing generation: %v, want ErrLocked", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := LoadBucket(ctx, b, "s3://state")
	if err != nil || f.Streams["a"].RowsTotal != 1 {
		t.Fatalf("LoadBucket %+v, %v", f, err)
	}
}
