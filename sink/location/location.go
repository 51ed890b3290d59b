// Package location opens the place where output (and state) lives: a local directory or
// an object-storage bucket (s3://, gs://, azblob://, mem://) through gocloud.dev/blob.
//
// A bucket URL's path is a key prefix: s3://bucket/exports/netsuite opens the bucket
// scoped to "exports/netsuite/", so callers use keys relative to that root. Anything
// without "://" is a local path (relative and Windows paths included).
//
// Credentials never come from the URL: each driver uses its SDK's usual sources (env,
// shared config, instance roles). Display drops every query value that is not a known
// harmless setting, and any user info, so it is safe for logs and error messages.
package location

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"gocloud.dev/blob"
	// Drivers for the schemes Open accepts; gs and azblob in driver_*.go, which a build
	// may leave out.
	_ "gocloud.dev/blob/memblob"
	_ "gocloud.dev/blob/s3blob"
)

// Location is an opened output root: exactly one of Dir and Bucket is set.
type Location struct {
	Dir    string       // a local directory (the path as given)
	Bucket *blob.Bucket // object storage, scoped to the URL's path prefix; keys are relative to the root

	// Display is the root for messages: the local path, or scheme://bucket/prefix plus
	// only the harmless query settings (region, endpoint, use_path_style, disable_https).
	Display string
	// Root is scheme://bucket/prefix without any query (the local path for Dir): the base
	// of object URLs a loader can use, e.g. in a Redshift manifest. Pass it as
	// sink.Options.Display.
	Root string
}

// Options are defaults merged into s3:// URLs whose query does not set them already;
// they exist so S3-compatible stores (MinIO, R2, Ceph) can be configured by flags.
type Options struct {
	S3Endpoint  string // query key "endpoint", e.g. "http://minio:9000"
	S3Region    string // query key "region"
	S3PathStyle bool   // query key "use_path_style"
}

// schemes lists the URL schemes Open accepts (driver_*.go add theirs), for messages.
var schemes = []string{"s3", "mem"}

// leftOut names the schemes a build tag removed, and the tag, to say so when one is used.
var leftOut = map[string]string{}

// displayKeys are query keys that are settings, never secrets; every other query value
// is left out of Display (a future driver option might carry a token).
var displayKeys = []string{"region", "endpoint", "use_path_style", "disable_https"}

// Open opens raw: a local path, or a bucket URL with one of the schemes s3, gs, azblob,
// mem. A local directory is not created or checked here; the sink does that. For a
// bucket, Open does not contact the service (the first read or write does).
func Open(ctx context.Context, raw string, opts Options) (*Location, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, errors.New("location: empty output location (want a local path or s3://, gs://, azblob://, mem:// URL)")
	}
	if !strings.Contains(raw, "://") {
		return &Location{Dir: raw, Display: raw, Root: raw}, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		// The parse error quotes the raw string, which may carry user info: leave it out.
		return nil, fmt.Errorf("location: malformed URL %q (want a local path or %s)", redactRaw(raw), accepted())
	}
	display, root := displayOf(u)
	scheme := strings.ToLower(u.Scheme)
	if tag, ok := leftOut[scheme]; ok {
		return nil, fmt.Errorf("location: %q: this build of extract has no %s:// support (built with -tags %s)", display, scheme, tag)
	}
	if !slices.Contains(schemes, scheme) {
		return nil, fmt.Errorf("location: unsupported scheme %q in %q (want a local path or %s)", u.Scheme, display, accepted())
	}
	if u.Host == "" && scheme != "mem" {
		return nil, fmt.Errorf("location: %q has no bucket name (want %s://<bucket>[/prefix])", display, scheme)
	}
	if u.User != nil {
		return nil, fmt.Errorf("location: %q: credentials in the URL are not accepted; use the environment or the SDK's config files", display)
	}
	if u.Fragment != "" || u.Opaque != "" {
		return nil, fmt.Errorf("location: malformed URL %q (want %s://<bucket>[/prefix])", display, scheme)
	}

	q := u.Query()
	if scheme == "s3" {
		setDefault(q, "endpoint", opts.S3Endpoint)
		setDefault(q, "region", opts.S3Region)
		if opts.S3PathStyle {
			setDefault(q, "use_path_style", "true")
		}
	}
	// The driver sees only scheme, bucket and query; the path becomes our prefix.
	open := url.URL{Scheme: scheme, Host: u.Host, RawQuery: q.Encode()}
	b, err := blob.OpenBucket(ctx, open.String())
	if err != nil {
		// Driver errors may echo the URL with its query: say only which location failed.
		return nil, fmt.Errorf("location: open %q: %w", display, redactErr(err, raw, open.String()))
	}
	if prefix := strings.Trim(u.Path, "/"); prefix != "" {
		b = blob.PrefixedBucket(b, prefix+"/")
	}
	if display, root = displayOf(&url.URL{Scheme: scheme, Host: u.Host, Path: u.Path, RawQuery: q.Encode()}); display == "" {
		display = raw
	}
	return &Location{Bucket: b, Display: display, Root: root}, nil
}

// Close releases the bucket, if any.
func (l *Location) Close() error {
	if l.Bucket == nil {
		return nil
	}
	if err := l.Bucket.Close(); err != nil {
		return fmt.Errorf("location: close %q: %w", l.Display, err)
	}
	return nil
}

// IsLocal reports whether the location is a local directory.
func (l *Location) IsLocal() bool { return l.Bucket == nil }

// displayOf returns scheme://host/prefix with only displayKeys kept in the query (and
// user info and endpoint user info dropped), and the same without any query.
func displayOf(u *url.URL) (display, root string) {
	root = u.Scheme + "://" + u.Host
	if p := strings.Trim(u.Path, "/"); p != "" {
		root += "/" + p
	}
	in := u.Query()
	out := url.Values{}
	for _, k := range displayKeys {
		v := in.Get(k)
		if v == "" {
			continue
		}
		if k == "endpoint" {
			if eu, err := url.Parse(v); err == nil && eu.User != nil {
				eu.User = nil
				v = eu.String()
			}
		}
		out.Set(k, v)
	}
	display = root
	if len(out) > 0 {
		display += "?" + out.Encode()
	}
	return display, root
}

func setDefault(q url.Values, key, value string) {
	if value != "" && q.Get(key) == "" {
		q.Set(key, value)
	}
}

func accepted() string {
	return "s3://, gs://, azblob:// or mem:// URL"
}

// redactRaw cuts a URL that failed to parse down to its scheme and host-ish part, so a
// query or user info never reaches an error message.
func redactRaw(raw string) string {
	scheme, rest, _ := strings.Cut(raw, "://")
	rest, _, _ = strings.Cut(rest, "?")
	if i := strings.LastIndex(rest, "@"); i >= 0 {
		rest = rest[i+1:]
	}
	return scheme + "://" + rest
}

// redactErr replaces the full URLs in a driver error by a placeholder; it keeps the
// error chain for errors.Is only when nothing had to be replaced.
func redactErr(err error, urls ...string) error {
	msg := err.Error()
	clean := msg
	for _, u := range urls {
		if u != "" {
			clean = strings.ReplaceAll(clean, u, "<url>")
		}
	}
	if clean == msg {
		return err
	}
	return errors.New(clean)
}
