package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/extract-dev/extract/connector"
	"github.com/extract-dev/extract/sink/location"
	"github.com/extract-dev/extract/state"
)

// isURL tells an object-storage location from a local path, as location.Open does.
func isURL(s string) bool { return strings.Contains(s, "://") }

// openLocation opens the value of a setting (output, state, token_file) and names the
// setting in any error.
func openLocation(ctx context.Context, setting, raw string, opts location.Options) (*location.Location, error) {
	loc, err := location.Open(ctx, raw, opts)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", connector.ErrConfig, setting, err)
	}
	return loc, nil
}

// openState locks and loads the state: a local file under flock, or the generations of
// a bucket, claimed for runID. The caller closes both the store and the location.
func openState(ctx context.Context, c *Config, runID string) (*state.Store, *location.Location, error) {
	if !isURL(c.StatePath) {
		st, err := state.Open(c.StatePath, c.AccountID)
		return st, nil, err
	}
	loc, err := openLocation(ctx, "--state", c.StatePath, c.Storage)
	if err != nil {
		return nil, nil, err
	}
	st, err := state.OpenBucket(ctx, loc.Bucket, loc.Display, c.AccountID, state.BucketOptions{RunID: runID})
	if err != nil {
		loc.Close()
		return nil, nil, err
	}
	return st, loc, nil
}

// loadState reads the state for display, without claiming it.
func loadState(ctx context.Context, raw string, opts location.Options) (*state.File, error) {
	if !isURL(raw) {
		return state.Load(raw)
	}
	loc, err := openLocation(ctx, "--state", raw, opts)
	if err != nil {
		return nil, err
	}
	defer loc.Close()
	return state.LoadBucket(ctx, loc.Bucket, loc.Display)
}

// tokenStore opens the rotated-refresh-token chain: a 0600 file, or objects under the
// state's bucket (token_file unset) or token_file's own URL. A bucket stays open for the
// life of the process: rotations are saved whenever NetSuite issues one.
func tokenStore(c *Config, configured string) (*state.TokenStore, string, error) {
	raw := c.TokenFile
	if !isURL(raw) {
		return state.OpenTokenStore(raw, c.AccountID, configured)
	}
	ctx := context.Background()
	loc, err := location.Open(ctx, raw, c.Storage)
	if err != nil {
		return nil, "", err
	}
	return state.OpenBucketTokenStore(ctx, loc.Bucket, loc.Display, c.AccountID, configured)
}

// closeState releases the state and then its bucket, if any.
func closeState(st *state.Store, loc *location.Location) error {
	err := st.Close()
	if loc != nil {
		loc.Close()
	}
	return err
}
