package s3test

import (
	"context"
	"testing"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// TestBucketRoundTripAndCreateOnlyIfAbsent: objects written through a prefixed bucket
// read back, and a second "create only if absent" write of the same key is refused, the
// property the state's generations rely on.
func TestBucketRoundTripAndCreateOnlyIfAbsent(t *testing.T) {
	s := Start(t, "lake")
	b := s.Bucket(t, "lake", "root/")
	ctx := context.Background()
	if err := b.WriteAll(ctx, "a.json", []byte("one"), nil); err != nil {
		t.Fatal(err)
	}
	got, err := b.ReadAll(ctx, "a.json")
	if err != nil || string(got) != "one" {
		t.Fatalf("read %q, %v", got, err)
	}
	if err := b.WriteAll(ctx, "a.json", []byte("two"), &blob.WriterOptions{IfNotExist: true}); gcerrors.Code(err) != gcerrors.FailedPrecondition {
		t.Errorf("a create-only-if-absent write over an object: %v, want FailedPrecondition", err)
	}
	if got, _ := b.ReadAll(ctx, "a.json"); string(got) != "one" {
		t.Errorf("the object now holds %q", got)
	}
	if ok, _ := s.Bucket(t, "lake", "").Exists(ctx, "root/a.json"); !ok {
		t.Error("the prefix did not scope the key")
	}
	if env := s.Env(); env["AWS_ACCESS_KEY_ID"] != AccessKey || env["AWS_REGION"] != Region {
		t.Errorf("Env() = %v", env)
	}
}
