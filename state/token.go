package state

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// tokenFile is a rotated OAuth 2.0 refresh token kept between runs. NetSuite's public
// clients get one-time refresh tokens: once a run has used one, only the token NetSuite
// returned with it works, so it must outlive the process.
type tokenFile struct {
	Version      int       `json:"version"`
	AccountID    string    `json:"account_id"`
	RefreshToken string    `json:"refresh_token"`
	Seed         string    `json:"seed"` // SHA-256 of the configured token this one descends from
	UpdatedAt    time.Time `json:"updated_at"`
}

// TokenStore keeps the newest refresh token of one account in a 0600 file, or as
// numbered objects on a bucket (see OpenBucketTokenStore).
type TokenStore struct {
	path, account, seed string
	mu                  sync.Mutex
	bucket              *bucketTokens // nil: the file at path
}

// OpenTokenStore returns the refresh token to use — the saved one when it descends from
// the configured one, else the configured one — and a store to save rotations in. When
// the configured token changes (the user authorised again), it wins over the saved chain.
func OpenTokenStore(path, accountID, configured string) (*TokenStore, string, error) {
	sum := sha256.Sum256([]byte(configured))
	ts := &TokenStore{path: path, account: accountID, seed: hex.EncodeToString(sum[:])}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return ts, configured, nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("token file %s: %w", path, err)
	}
	tok, err := ts.choose(b, "token file "+path, configured)
	if err != nil {
		return nil, "", err
	}
	return ts, tok, nil
}

// choose validates a saved token file's bytes and picks the token to use. Errors never
// hold the token.
func (ts *TokenStore) choose(b []byte, where, configured string) (string, error) {
	var tf tokenFile
	if err := json.Unmarshal(b, &tf); err != nil || tf.Version != 1 {
		return "", fmt.Errorf("%w: %s is not a refresh-token file written by extract; move it aside (the configured NETSUITE_REFRESH_TOKEN is then used)", ErrCorrupt, where)
	}
	if tf.AccountID != ts.account {
		return "", fmt.Errorf("%w: %s belongs to account %s, not %s; point --token-file elsewhere", ErrAccount, where, tf.AccountID, ts.account)
	}
	if tf.Seed == ts.seed && tf.RefreshToken != "" {
		return tf.RefreshToken, nil
	}
	return configured, nil
}

// Save persists a rotated refresh token durably (temp file, fsync, rename, mode 0600)
// before NetSuite's previous one is needed again.
func (ts *TokenStore) Save(refreshToken string) error {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	b, err := json.MarshalIndent(tokenFile{Version: 1, AccountID: ts.account, RefreshToken: refreshToken, Seed: ts.seed, UpdatedAt: time.Now().UTC()}, "", "  ")
	if err != nil {
		return err
	}
	if ts.bucket != nil {
		return ts.bucket.save(append(b, '\n'))
	}
	if err := os.MkdirAll(filepath.Dir(ts.path), 0o700); err != nil {
		return fmt.Errorf("token file %s: %w", ts.path, err)
	}
	if err := writeFileAtomic(ts.path, append(b, '\n'), nil); err != nil {
		return fmt.Errorf("token file %s: %w", ts.path, err)
	}
	return nil
}
