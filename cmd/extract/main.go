// Command extract copies NetSuite CRM records (customers, contacts, calendar events, tasks,
// phone calls) into Parquet or NDJSON files, incrementally, with a checkpoint state file.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // session zones must resolve on machines without a zoneinfo database

	"github.com/extract-dev/extract/connector"
	"github.com/extract-dev/extract/schema"
	"github.com/extract-dev/extract/sink"
	"github.com/extract-dev/extract/state"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// Exit codes, documented in the README; orchestrators branch on them.
const (
	exitOK          = 0
	exitInternal    = 1
	exitConfig      = 2
	exitAuth        = 3
	exitTransient   = 4
	exitData        = 5
	exitInterrupted = 6
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

const usage = `extract copies NetSuite CRM records into Parquet or NDJSON files.

Usage:
  extract run       [flags]   extract the streams (incremental after the first run)
  extract check     [flags]   authenticate and probe read access to each stream
  extract auth      [flags]   get a first refresh token (authorization code + PKCE)
  extract discover  [flags]   print the streams and their typed columns as JSON
  extract state     show|reset STREAM [--state PATH]   inspect or reset checkpoints
  extract demo      [flags]   run twice against the built-in fake NetSuite
  extract version             print the version

Run "extract <command> --help" for the flags of a command. Connection settings come from
NETSUITE_* environment variables or a --config JSON file; see README.md.
`

// run is the whole program, testable: it returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitConfig
	}
	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "run":
		err = cmdRun(ctx, rest, stdout, stderr, getenv)
	case "check":
		err = cmdCheck(ctx, rest, stdout, stderr, getenv)
	case "discover":
		err = cmdDiscover(rest, stdout, stderr)
	case "auth":
		err = cmdAuth(ctx, rest, stdin, stdout, stderr, getenv)
	case "demo":
		err = cmdDemo(ctx, rest, stdout, stderr)
	case "state":
		err = cmdState(rest, stdout, stderr)
	case "version", "--version":
		fmt.Fprintf(stdout, "extract %s\n", version)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "extract: unknown command %q\n\n%s", cmd, usage)
		return exitConfig
	}
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "extract: %v\n", err)
		return exitCode(err)
	}
	return exitOK
}

// exitCode maps an error's class to the documented exit code.
func exitCode(err error) int {
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, connector.ErrInterrupted), errors.Is(err, context.Canceled):
		return exitInterrupted
	case errors.Is(err, connector.ErrConfig), errors.Is(err, state.ErrCorrupt), errors.Is(err, state.ErrVersion), errors.Is(err, state.ErrAccount):
		return exitConfig
	case errors.Is(err, connector.ErrAuth):
		return exitAuth
	case errors.Is(err, connector.ErrData), errors.Is(err, schema.ErrBadValue):
		return exitData
	case errors.Is(err, connector.ErrTransient), errors.Is(err, state.ErrLocked):
		return exitTransient
	default:
		return exitInternal
	}
}

// newFlagSet returns a flag set whose --help output goes to stderr and whose parse errors
// are returned as config errors.
func newFlagSet(name, summary string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: extract %s [flags]\n\n%s\n\nFlags:\n", name, summary)
		fs.PrintDefaults()
	}
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %w", connector.ErrConfig, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", connector.ErrConfig, fs.Arg(0))
	}
	return nil
}

// loadConfig parses flags and resolves the configuration.
func loadConfig(fs *flag.FlagSet, args []string, getenv func(string) string, need authNeed) (*Config, error) {
	configPath := addFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	val, from, err := values(fs, *configPath, getenv)
	if err != nil {
		return nil, err
	}
	return buildConfig(val, from, need)
}

// newLogger writes JSON to stderr unless it is a terminal or text is asked for.
func newLogger(stderr io.Writer, format, level string) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lv}
	if format == "" {
		format = "json"
		if f, ok := stderr.(*os.File); ok {
			if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
				format = "text"
			}
		}
	}
	if format == "text" {
		return slog.New(slog.NewTextHandler(stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(stderr, opts))
}

// sinkFor is the output sink of a config.
func sinkFor(c *Config) (*sink.Sink, error) {
	return sink.New(sink.Options{Dir: c.OutputDir, Format: c.Format})
}
