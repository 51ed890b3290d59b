// Package s3test runs an in-process S3 (gofakes3) for tests of the object-storage path:
// the sink, the state and whole runs against a bucket, without a network.
//
// gofakes3 enforces If-None-Match (create only if absent) on PutObject, not on
// multipart uploads above its 16 MiB threshold; tests of conditional writes stay below it.
package s3test

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"gocloud.dev/blob"
	"gocloud.dev/blob/s3blob"
)

// Server is a running fake S3.
type Server struct {
	URL    string // the endpoint, for s3_endpoint / ?endpoint=
	Client *s3.Client
}

// Credentials a process needs to reach the server (any values work).
const (
	AccessKey = "AKIAEXTRACTTEST"
	SecretKey = "extract-test-secret-key"
	Region    = "us-east-1"
)

// Start runs a fake S3 holding the named (empty) buckets until the test ends.
func Start(t testing.TB, buckets ...string) *Server {
	t.Helper()
	backend := s3mem.New()
	for _, b := range buckets {
		if err := backend.CreateBucket(b); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	client := s3.New(s3.Options{
		Region:       Region,
		BaseEndpoint: aws.String(srv.URL),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKey, SecretKey, ""),
	})
	return &Server{URL: srv.URL, Client: client}
}

// Bucket opens bucket through gocloud's s3 driver, scoped to prefix ("" for none) as
// location.Open scopes a URL's path.
func (s *Server) Bucket(t testing.TB, bucket, prefix string) *blob.Bucket {
	t.Helper()
	b, err := s3blob.OpenBucket(context.Background(), s.Client, bucket, nil)
	if err != nil {
		t.Fatal(err)
	}
	if prefix != "" {
		b = blob.PrefixedBucket(b, prefix)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// Env is the environment a child process needs to reach the server with the AWS SDK's
// usual credential chain.
func (s *Server) Env() map[string]string {
	return map[string]string{"AWS_ACCESS_KEY_ID": AccessKey, "AWS_SECRET_ACCESS_KEY": SecretKey, "AWS_REGION": Region,
		"AWS_EC2_METADATA_DISABLED": "true"}
}
