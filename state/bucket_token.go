package state

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// On a bucket each rotated refresh token is a new object "_state/token/<n>.json",
// written only if absent; the highest n is the newest token. Older ones are pruned.
// Objects get no ACL of their own: they are as private as the bucket.

const (
	tokenPrefix = genPrefix + "token/"
	tokenKeep   = 2 // the newest and the one before, for a reader that listed just before a save
)

type bucketTokens struct {
	b       *blob.Bucket
	ctx     context.Context
	display string
	gen     int64 // the newest token object seen or written
}

func tokenKey(n int64) string { return fmt.Sprintf("%s%012d.json", tokenPrefix, n) }

// OpenBucketTokenStore is OpenTokenStore for a token chain kept under b (scoped to the
// state root, like OpenBucket's).
func OpenBucketTokenStore(ctx context.Context, b *blob.Bucket, display, accountID, configured string) (*TokenStore, string, error) {
	sum := sha256.Sum256([]byte(configured))
	bt := &bucketTokens{b: b, ctx: context.WithoutCancel(ctx), display: display}
	ts := &TokenStore{path: display, account: accountID, seed: hex.EncodeToString(sum[:]), bucket: bt}
	for attempt := 0; ; attempt++ {
		gens, err := bt.list()
		if err != nil {
			return nil, "", err
		}
		if len(gens) == 0 {
			return ts, configured, nil
		}
		bt.gen = gens[len(gens)-1]
		key := tokenKey(bt.gen)
		data, err := readObject(bt.ctx, b, key)
		if gcerrors.Code(err) == gcerrors.NotFound && attempt < 3 {
			continue // pruned after the listing
		}
		if err != nil {
			return nil, "", fmt.Errorf("token %s/%s: %w", display, key, err)
		}
		tok, err := ts.choose(data, "token "+display+"/"+key, configured)
		if err != nil {
			return nil, "", err
		}
		return ts, tok, nil
	}
}

func (bt *bucketTokens) list() ([]int64, error) {
	ctx, cancel := context.WithTimeout(bt.ctx, opTimeout)
	defer cancel()
	var gens []int64
	it := bt.b.List(&blob.ListOptions{Prefix: tokenPrefix})
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			slices.Sort(gens)
			return gens, nil
		}
		if err != nil {
			return nil, fmt.Errorf("token %s/%s: list: %w", bt.display, tokenPrefix, err)
		}
		digits, ok := strings.CutSuffix(strings.TrimPrefix(obj.Key, tokenPrefix), ".json")
		if n, err := strconv.ParseInt(digits, 10, 64); ok && err == nil && len(digits) == 12 && n > 0 {
			gens = append(gens, n)
		}
	}
}

// save writes data as the next token object. If another writer took that number, the
// newest token is ours all the same (it is the latest rotation this run got), so it
// goes after theirs.
func (bt *bucketTokens) save(data []byte) error {
	for attempt := 0; ; attempt++ {
		next := bt.gen + 1
		key := tokenKey(next)
		err := putNew(bt.ctx, bt.b, key, data, nil)
		if gcerrors.Code(err) == gcerrors.FailedPrecondition && attempt < 3 {
			if gens, lerr := bt.list(); lerr == nil && len(gens) > 0 {
				bt.gen = max(bt.gen+1, gens[len(gens)-1])
			} else {
				bt.gen++
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("token %s/%s: %w", bt.display, key, err)
		}
		bt.gen = next
		bt.prune()
		return nil
	}
}

// prune deletes all but the newest tokenKeep objects; best effort.
func (bt *bucketTokens) prune() {
	gens, err := bt.list()
	if err != nil {
		return
	}
	for _, n := range gens {
		if n > bt.gen-tokenKeep {
			break
		}
		ctx, cancel := context.WithTimeout(bt.ctx, opTimeout)
		_ = bt.b.Delete(ctx, tokenKey(n))
		cancel()
	}
}
