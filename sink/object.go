package sink

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// cleanupTimeout bounds the calls Abort makes after the upload's own context is done.
const cleanupTimeout = 30 * time.Second

// upload is the object-storage half of a File.
type upload struct {
	parent   context.Context    // Create's context, for clean-up calls (without its cancellation)
	ctx      context.Context    // the upload's context, derived from parent
	cancel   context.CancelFunc // aborts the upload
	w        *blob.Writer
	n        int64 // bytes handed to w
	closed   bool  // w.Close was called
	uploaded bool  // w.Close returned nil: the object is visible
}

// Write counts what goes into the upload; blob.Writer does not report a size.
func (u *upload) Write(p []byte) (int, error) {
	n, err := u.w.Write(p)
	u.n += int64(n)
	return n, err
}

func contentType(f Format) string {
	if f == NDJSON {
		return "application/x-ndjson"
	}
	return "application/vnd.apache.parquet"
}

// openObject starts the upload. Nothing is visible under the key until Commit closes it.
func (f *File) openObject(ctx context.Context) error {
	o := f.sink.opts
	uctx, cancel := context.WithCancel(ctx)
	w, err := o.Bucket.NewWriter(uctx, f.key, &blob.WriterOptions{
		ContentType:    contentType(o.Format),
		BufferSize:     o.UploadPartSize,
		MaxConcurrency: o.UploadConcurrency,
		IfNotExist:     true,
	})
	if err != nil {
		cancel()
		return fmt.Errorf("sink: stream %s: start upload of %s: %w", f.stream, f.key, err)
	}
	f.obj = &upload{parent: ctx, ctx: uctx, cancel: cancel, w: w}
	f.out = f.obj
	return nil
}

func (f *File) commitObject() (int64, error) {
	u := f.obj
	if err := f.enc.finish(); err != nil {
		return 0, fmt.Errorf("flush: %w", err)
	}
	if err := u.ctx.Err(); err != nil {
		return 0, err
	}
	// Not every store enforces "create only if absent" (S3-compatible ones may ignore
	// If-None-Match, gofakes3 above 16 MiB), so check first. Between this check and Close
	// only a second writer with the same run id could race.
	if ok, err := f.sink.opts.Bucket.Exists(u.ctx, f.key); err != nil {
		return 0, fmt.Errorf("check %s: %w", f.key, err)
	} else if ok {
		return 0, ErrExists
	}
	if err := f.step(StepWritten, f.key); err != nil {
		return 0, err
	}
	u.closed = true
	if err := u.w.Close(); err != nil {
		u.cancel()
		f.cleanupMultipart()
		if gcerrors.Code(err) == gcerrors.FailedPrecondition {
			return 0, fmt.Errorf("%w: %w", ErrExists, err)
		}
		return 0, fmt.Errorf("upload: %w", err)
	}
	u.uploaded = true
	u.cancel()
	if err := f.step(StepUploaded, f.key); err != nil {
		return 0, err
	}
	return u.n, nil
}

// abortObject cancels an open upload (so nothing appears under the key) or deletes an
// object that was uploaded but not confirmed to the caller.
func (f *File) abortObject() error {
	u := f.obj
	if !u.closed {
		u.cancel()
		u.closed = true
		// The error is the cancellation we just caused.
		_ = u.w.Close()
		f.cleanupMultipart()
		return nil
	}
	if !u.uploaded {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(u.parent), cleanupTimeout)
	defer cancel()
	if err := f.sink.opts.Bucket.Delete(ctx, f.key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		return fmt.Errorf("delete uploaded object: %w", err)
	}
	return nil
}

// cleanupMultipart aborts any unfinished S3 multipart upload of f's key. The S3 uploader
// tries to abort with the upload's own context, which is already cancelled when we
// abort, so the upload would otherwise linger (invisible, but billed) until a lifecycle
// rule removes it. Best effort: a failure here loses no data.
func (f *File) cleanupMultipart() {
	var client *s3.Client
	if !f.sink.opts.Bucket.As(&client) {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(f.obj.parent), cleanupTimeout)
	defer cancel()
	_ = abortMultipartUploads(ctx, client, f.sink.opts.Bucket, f.key)
}

// abortMultipartUploads aborts every unfinished multipart upload of exactly key. b is
// needed for the bucket name and the prefix of a blob.PrefixedBucket, which the raw
// client knows nothing about.
func abortMultipartUploads(ctx context.Context, client *s3.Client, b *blob.Bucket, key string) error {
	bucket, full, err := s3Key(ctx, b, key)
	if err != nil {
		return err
	}
	out, err := client.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket), Prefix: aws.String(full)})
	if err != nil {
		return err
	}
	var errs []error
	for _, up := range out.Uploads {
		if aws.ToString(up.Key) != full {
			continue
		}
		_, err := client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(bucket), Key: up.Key, UploadId: up.UploadId})
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// s3Key finds the S3 bucket name and the full key of key in b. gocloud hides both, so it
// asks the driver: a ListObjectsV2 call made through b carries them in its input.
func s3Key(ctx context.Context, b *blob.Bucket, key string) (bucket, full string, err error) {
	it := b.List(&blob.ListOptions{Prefix: key, BeforeList: func(as func(any) bool) error {
		var in *s3.ListObjectsV2Input
		var legacy *s3.ListObjectsInput
		switch {
		case as(&in):
			bucket, full = aws.ToString(in.Bucket), aws.ToString(in.Prefix)
		case as(&legacy):
			bucket, full = aws.ToString(legacy.Bucket), aws.ToString(legacy.Prefix)
		}
		in, legacy = nil, nil
		return errStopList
	}})
	_, err = it.Next(ctx)
	if bucket == "" {
		if err == nil {
			err = errors.New("no S3 list input")
		}
		return "", "", fmt.Errorf("find the S3 key of %s: %w", key, err)
	}
	return bucket, full, nil
}

var errStopList = errors.New("stop: only the request input was wanted")

// putOnce writes a small object (a run artifact) only if key does not exist yet.
func putOnce(ctx context.Context, b *blob.Bucket, key string, data []byte, ct string) error {
	if ok, err := b.Exists(ctx, key); err != nil {
		return err
	} else if ok {
		return fmt.Errorf("%s: %w", key, ErrExists)
	}
	err := b.WriteAll(ctx, key, data, &blob.WriterOptions{ContentType: ct, IfNotExist: true})
	if gcerrors.Code(err) == gcerrors.FailedPrecondition {
		return fmt.Errorf("%s: %w: %w", key, ErrExists, err)
	}
	return err
}

// Fingerprint is the hex SHA-256 of a canonical text of schema: each field's name, type
// and nullability, in order. Field and schema metadata are left out: the same columns
// give the same fingerprint across runs, so a loader can tell when a stream's shape
// changed.
func Fingerprint(schema *arrow.Schema) string {
	var b strings.Builder
	for _, fd := range schema.Fields() {
		null := "required"
		if fd.Nullable {
			null = "nullable"
		}
		fmt.Fprintf(&b, "%q %s %s\n", fd.Name, fd.Type, null)
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}
