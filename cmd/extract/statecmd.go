package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/extract-dev/extract/connector"
	"github.com/extract-dev/extract/connector/pipeline"
	"github.com/extract-dev/extract/sink"
	"github.com/extract-dev/extract/sink/location"
	"github.com/extract-dev/extract/state"
)

// cmdState shows the checkpoints or resets one stream's, so that its next run reads it
// again from --start-date (or all history).
func cmdState(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 || (args[0] != "show" && args[0] != "reset") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprint(stderr, "Usage: extract state show [--state PATH]\n       extract state reset STREAM [--state PATH]\n")
			return nil
		}
		return fmt.Errorf("%w: want `extract state show` or `extract state reset STREAM`", connector.ErrConfig)
	}
	verb, rest := args[0], args[1:]
	var stream string
	if verb == "reset" {
		if len(rest) == 0 || rest[0] == "" || rest[0][0] == '-' {
			return fmt.Errorf("%w: extract state reset needs a stream name (%v)", connector.ErrConfig, connector.AllStreams())
		}
		stream, rest = rest[0], rest[1:]
		if !slices.Contains(connector.AllStreams(), stream) {
			return fmt.Errorf("%w: unknown stream %q (want one of %v)", connector.ErrConfig, stream, connector.AllStreams())
		}
	}
	fs := newFlagSet("state "+verb, "Inspect or reset checkpoints.", stderr)
	path := fs.String("state", "extract-state.json", "state file, or the object-storage URL of the run's --state (or --output)")
	if err := parseFlags(fs, rest); err != nil {
		return err
	}
	// Object storage is reached as `run` reaches it; the S3 settings come from the environment.
	storage := location.Options{S3Endpoint: getenv("NETSUITE_S3_ENDPOINT"), S3Region: getenv("NETSUITE_S3_REGION"),
		S3PathStyle: getenv("NETSUITE_S3_PATH_STYLE") == "true"}
	if verb == "show" {
		f, err := loadState(ctx, *path, storage)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(f)
	}
	// Reset takes the lock: it must not race a running extract.
	st, loc, err := openState(ctx, &Config{StatePath: *path, Storage: storage}, sink.NewRunID(time.Now()))
	if err != nil {
		return err
	}
	defer closeState(st, loc)
	_, records := st.Stream(stream)
	_, deletions := st.Stream(pipeline.DeletionsKey(stream))
	if !records && !deletions {
		fmt.Fprintf(stdout, "%s has no checkpoint in %s; nothing to reset\n", stream, *path)
		return nil
	}
	if _, child := connector.ChildOf(stream); child {
		// The line index stays: it names the rows the output holds, which the next run
		// (a full read) needs to write tombstones for lines gone since.
		cur, _ := st.Stream(stream)
		if err := st.Save(stream, state.Stream{IndexGen: cur.IndexGen}); err != nil {
			return err
		}
	} else {
		for _, key := range []string{stream, pipeline.DeletionsKey(stream)} {
			if err := st.Reset(key); err != nil {
				return err
			}
		}
	}
	fmt.Fprintf(stdout, "reset %s in %s: its next run reads it from the start date (or all history)\n", stream, *path)
	return nil
}
