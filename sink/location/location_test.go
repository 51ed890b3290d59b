package location

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

func TestOpenLocal(t *testing.T) {
	for _, raw := range []string{"out", "./out/x", "/var/lib/extract", `C:\data\out`, "C:/data/out"} {
		l, err := Open(context.Background(), raw, Options{})
		if err != nil {
			t.Fatalf("Open(%q): %v", raw, err)
		}
		if !l.IsLocal() || l.Dir != raw || l.Display != raw || l.Root != raw || l.Bucket != nil {
			t.Errorf("Open(%q) = %+v", raw, l)
		}
		if err := l.Close(); err != nil {
			t.Error(err)
		}
	}
}

func TestOpenMemPrefix(t *testing.T) {
	ctx := context.Background()
	l, err := Open(ctx, "mem://scratch/a/b/", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if l.IsLocal() || l.Display != "mem://scratch/a/b" || l.Root != "mem://scratch/a/b" {
		t.Errorf("location %+v", l)
	}
	if err := l.Bucket.WriteAll(ctx, "k.json", []byte("v"), nil); err != nil {
		t.Fatal(err)
	}
	got, err := l.Bucket.ReadAll(ctx, "k.json")
	if err != nil || string(got) != "v" {
		t.Errorf("read back %q, %v", got, err)
	}
}

// TestOpenS3 opens an s3:// URL whose endpoint, region and path style come from Options,
// against gofakes3, and checks that keys land under the URL's prefix.
func TestOpenS3(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "KEY")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "SECRET")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	backend := s3mem.New()
	if err := backend.CreateBucket("lake"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	defer srv.Close()
	ctx := context.Background()
	l, err := Open(ctx, "s3://lake/exports/netsuite?disable_https=true", Options{S3Endpoint: srv.URL, S3Region: "eu-west-1", S3PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	wantDisplay := "s3://lake/exports/netsuite?disable_https=true&endpoint=" + strings.ReplaceAll(strings.ReplaceAll(srv.URL, ":", "%3A"), "/", "%2F") +
		"&region=eu-west-1&use_path_style=true"
	if l.Display != wantDisplay || l.Root != "s3://lake/exports/netsuite" {
		t.Errorf("Display %q, Root %q; want %q", l.Display, l.Root, wantDisplay)
	}
	if err := l.Bucket.WriteAll(ctx, "_runs/r.json", []byte("{}"), nil); err != nil {
		t.Fatal(err)
	}
	obj, err := backend.HeadObject("lake", "exports/netsuite/_runs/r.json")
	if err != nil || obj.Size != 2 {
		t.Fatalf("object under the prefix: %+v, %v", obj, err)
	}
	// A region set in the URL wins over Options.
	l2, err := Open(ctx, "s3://lake?region=us-west-2", Options{S3Region: "eu-west-1"})
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	if l2.Display != "s3://lake?region=us-west-2" {
		t.Errorf("Display %q", l2.Display)
	}
}

func TestOpenRejects(t *testing.T) {
	tests := []struct {
		raw     string
		want    []string
		secrets []string // must not appear in the error
	}{
		{"ftp://host/dir", []string{`"ftp"`, `"ftp://host/dir"`, "s3://, gs://, azblob:// or mem://"}, nil},
		{"file:///tmp/out", []string{`"file"`, "local path"}, nil},
		{"s3:///prefix", []string{`"s3:///prefix"`, "no bucket name"}, nil},
		{"gs://", []string{"no bucket name"}, nil},
		{"s3://AKIA:topsecret@bucket/p", []string{"credentials in the URL", `"s3://bucket/p"`}, []string{"topsecret", "AKIA"}},
		// The driver refuses unknown keys; the error names the location without the value.
		{"s3://bucket/p?region=x&token=topsecret", []string{`"s3://bucket/p?region=x"`, `"token"`}, []string{"topsecret"}},
		{"s3://bu cket/%zz?token=topsecret", []string{"malformed URL"}, []string{"topsecret"}},
		{"", []string{"empty output location"}, nil},
	}
	for _, tt := range tests {
		l, err := Open(context.Background(), tt.raw, Options{})
		if err == nil {
			l.Close()
			t.Errorf("Open(%q) succeeded", tt.raw)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Open(%q) error %q does not mention %q", tt.raw, err, w)
			}
		}
		for _, s := range tt.secrets {
			if strings.Contains(err.Error(), s) {
				t.Errorf("Open(%q) error %q leaks %q", tt.raw, err, s)
			}
		}
	}
}

func TestDisplayDropsEndpointUserInfo(t *testing.T) {
	l, err := Open(context.Background(), "s3://b?endpoint=http%3A%2F%2Fuser%3Apw%40minio%3A9000&region=x", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if l.Display != "s3://b?endpoint=http%3A%2F%2Fminio%3A9000&region=x" {
		t.Errorf("Display %q", l.Display)
	}
}

// TestSchemeLeftOutOfTheBuild: a scheme whose driver a build tag removed is refused with
// a message saying so, not as an unknown scheme.
func TestSchemeLeftOutOfTheBuild(t *testing.T) {
	leftOut["gs"] = "extract_no_gcs"
	defer delete(leftOut, "gs")
	_, err := Open(context.Background(), "gs://bucket/prefix", Options{})
	if err == nil || !strings.Contains(err.Error(), "no gs:// support") || !strings.Contains(err.Error(), "-tags extract_no_gcs") {
		t.Fatalf("err = %v", err)
	}
}
