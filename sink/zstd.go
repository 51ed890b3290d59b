package sink

import (
	"runtime"
	"sync"

	kzstd "github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/compress/zstd"
)

// zstdFastest is shared by all writers. It is parquet-go's zstd codec at SpeedFastest
// except for where its encoders live: parquet-go keeps them in a sync.Pool, which drops
// them at every garbage collection, and this path allocates enough to collect many times
// a second, so most pages paid for a new encoder (its tables and a 1 MiB history
// buffer). One klauspost Encoder serves every file instead: EncodeAll is safe for
// concurrent use and keeps GOMAXPROCS block encoders of its own. Its options are those
// of parquet-go's codec, so the compressed bytes are the same
// (TestParquetColumnPathMatchesRowPath compares whole files).
var zstdFastest compress.Codec = &zstdCodec{Codec: zstd.Codec{Level: zstd.SpeedFastest}}

type zstdCodec struct {
	zstd.Codec // name, format code and Decode

	once sync.Once
	enc  *kzstd.Encoder
	err  error
}

func (c *zstdCodec) Encode(dst, src []byte) ([]byte, error) {
	c.once.Do(func() {
		c.enc, c.err = kzstd.NewWriter(nil,
			kzstd.WithEncoderConcurrency(runtime.GOMAXPROCS(0)),
			kzstd.WithEncoderLevel(kzstd.SpeedFastest),
			kzstd.WithZeroFrames(true),
			kzstd.WithEncoderCRC(false),
		)
	})
	if c.err != nil {
		return dst[:0], c.err
	}
	return c.enc.EncodeAll(src, dst[:0]), nil
}
