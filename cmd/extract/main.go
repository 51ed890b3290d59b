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
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"
	_ "time/tzdata" // session zones must resolve on machines without a zoneinfo database

	"github.com/extract-dev/extract/connector"
	"github.com/extract-dev/extract/schema"
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

// defaultMemoryLimit is the Go runtime's soft memory limit unless GOMEMLIMIT sets one.
// A run's live heap is about 100 MiB with five streams writing at once; without a limit
// the collector lets the heap grow to twice that before it runs. The limit only makes
// it run sooner: a run that needs more still gets it.
const defaultMemoryLimit = 128 << 20

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	ctx, stop := onSignals(os.Stderr, os.Exit)
	code := run(ctx, os.Args[1:], runEnv{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv})
	stop()
	os.Exit(code)
}

// onSignals returns a context that the first SIGINT or SIGTERM cancels, with an
// *interruption naming the signal as its cause. A second signal exits at once with code 6
// (the operator has asked twice: do not wait for the shutdown bound). stop releases the
// signals.
func onSignals(stderr io.Writer, exit func(int)) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-sigs:
			cancel(&interruption{signal: s})
		case <-done:
			return
		}
		select {
		case s := <-sigs:
			fmt.Fprintf(stderr, "extract: interrupted again by %s; exiting at once\n", signalName(s))
			exit(exitInterrupted)
		case <-done:
		}
	}()
	var once sync.Once
	return ctx, func() {
		once.Do(func() {
			signal.Stop(sigs)
			close(done)
			cancel(nil)
		})
	}
}

// interruption is the cause of a run context cancelled by a signal.
type interruption struct{ signal os.Signal }

func (e *interruption) Error() string {
	if e.signal == nil {
		return "interrupted"
	}
	return "interrupted by " + signalName(e.signal)
}

func (e *interruption) Unwrap() error { return connector.ErrInterrupted }

func signalName(s os.Signal) string {
	switch s {
	case os.Interrupt:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return s.String()
}

// deadlineStop is the cause of a run context cancelled by --max-duration.
type deadlineStop struct{ after time.Duration }

func (e *deadlineStop) Error() string { return "stopped after --max-duration " + e.after.String() }

func (e *deadlineStop) Unwrap() error { return context.DeadlineExceeded }

const usage = `extract copies NetSuite CRM records into Parquet or NDJSON files, on local disk or
object storage (s3://, gs://, azblob://), with a manifest per run.

Usage:
  extract run       [flags]   extract the streams (incremental after the first run)
  extract check     [flags]   authenticate and probe read access to each stream
  extract auth      [flags]   get a first refresh token (authorization code + PKCE)
  extract discover  [flags]   print every column a run would write (asks the account when configured)
  extract singer    [--config C] [--state S] [--catalog K] | --discover | --about [--format json]
                              speak the Singer spec on stdout (Meltano tap)
  extract state     show|reset STREAM [--state PATH|URL]   inspect or reset checkpoints
  extract demo      [flags]   run twice against the built-in fake NetSuite
  extract version             print the version

Run "extract <command> --help" for the flags of a command. Connection settings come from
NETSUITE_* environment variables or a --config JSON file; see README.md. Every secret
also comes from a file: NETSUITE_CLIENT_SECRET_FILE=/run/secrets/client_secret.

For orchestrators, run also takes:
  --progress-interval D    progress on stderr: bars on a terminal, else a JSON line per stream every D (default 30s; 0: none)
  --summary-file PATH      the run summary JSON, written atomically, also on failure (/airflow/xcom/return.json)
  --metrics-textfile PATH  Prometheus metrics of the run, for node_exporter's textfile collector
`

// defaultShutdownTimeout bounds a stop until the configuration says otherwise.
const defaultShutdownTimeout = 30 * time.Second

// run is the whole program, testable: it returns the exit code.
//
// The command runs in its own goroutine. Once ctx is cancelled (a signal) or
// --max-duration passes, run waits at most --shutdown-timeout for it to stop; if it has
// not, run says so and returns anyway, and main exits, abandoning whatever blocks it
// (files and state are crash-safe: a final-named file is complete and the state file
// names only durable files). Writes of an abandoned command are discarded.
func run(ctx context.Context, args []string, env runEnv) int {
	s := newSession(ctx, env)
	defer s.close()
	done := make(chan error, 1)
	go func() { done <- dispatch(s.ctx, s, args) }()
	var err error
	select {
	case err = <-done:
	case <-s.ctx.Done():
		bound := s.shutdownTimeout()
		timer := time.NewTimer(bound)
		defer timer.Stop()
		select {
		case err = <-done:
		case <-timer.C:
			stop, code := s.stopped()
			if code == exitInterrupted {
				stop = "interrupted" // the documented line, whichever signal it was
			}
			s.stderr.last(fmt.Sprintf("extract: %s; did not stop within %s, exiting\n", stop, bound))
			return code
		}
	}
	return s.finish(args, err)
}

// runEnv is what run is given: the process's streams and environment, and what tests
// change about a run.
type runEnv struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	// retry, when set, replaces the configured retry policy (tests: a virtual clock, or
	// waits of milliseconds).
	retry *connector.RetryPolicy
}

// errExit ends run with a code after the command has printed what it had to say.
type errExit int

func (e errExit) Error() string { return fmt.Sprintf("exit %d", int(e)) }

// dispatch runs the command args[0].
func dispatch(ctx context.Context, s *session, args []string) error {
	stdout, stderr, getenv := s.stdout, s.stderr, s.getenv
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errExit(exitConfig)
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "run":
		return cmdRun(ctx, s, rest, getenv)
	case "check":
		return cmdCheck(ctx, s, rest, getenv)
	case "discover":
		return cmdDiscover(ctx, s, rest, getenv)
	case "auth":
		return cmdAuth(ctx, s, rest, getenv)
	case "demo":
		return cmdDemo(ctx, s, rest)
	case "singer":
		return cmdSinger(ctx, s, rest, getenv)
	case "state":
		return cmdState(ctx, rest, stdout, stderr, getenv)
	case "version", "--version":
		fmt.Fprintf(stdout, "extract %s\n", version)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "extract: unknown command %q\n\n%s", cmd, usage)
		return errExit(exitConfig)
	}
	return nil
}

// session is what one call of run shares with the command it runs, passed to it
// explicitly: the run context (cancelled by ctx or by --max-duration), stdin, stdout and
// stderr that go quiet once run has returned, the secrets to redact (red, also applied by
// stderr), the shutdown bound, and the environment and test settings of runEnv.
type session struct {
	parent context.Context
	ctx    context.Context
	cancel context.CancelCauseFunc
	start  time.Time
	stdin  io.Reader
	stdout *gate
	stderr *console
	red    *redactor
	getenv func(string) string
	retry  *connector.RetryPolicy

	mu       sync.Mutex
	bound    time.Duration // --shutdown-timeout
	deadline *time.Timer   // --max-duration
}

func newSession(parent context.Context, env runEnv) *session {
	if env.stdin == nil {
		env.stdin = strings.NewReader("")
	}
	if env.getenv == nil {
		env.getenv = func(string) string { return "" }
	}
	s := &session{parent: parent, start: time.Now(), bound: defaultShutdownTimeout, stdin: env.stdin, stdout: &gate{w: env.stdout},
		red: newRedactor(), getenv: env.getenv, retry: env.retry}
	s.ctx, s.cancel = context.WithCancelCause(parent)
	s.stderr = &console{gate: gate{w: env.stderr}, red: s.red}
	// Secrets in the environment are known before any flag is parsed, so even a usage
	// error cannot echo them. loadConfig adds those of the config file.
	for _, st := range settings {
		if st.secret && st.env != "" {
			s.red.add(env.getenv(st.env))
			s.red.add(env.getenv(tapAlias(st.env)))
		}
	}
	s.red.addPEM(env.getenv("NETSUITE_PRIVATE_KEY"))
	s.red.addPEM(env.getenv(tapAlias("NETSUITE_PRIVATE_KEY")))
	return s
}

// configured applies the run-scoped settings of a loaded configuration.
func (s *session) configured(c *Config) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.retry != nil {
		c.Retry = *s.retry
	}
	s.bound = c.ShutdownTimeout
	if s.deadline != nil {
		s.deadline.Stop()
		s.deadline = nil
	}
	if c.MaxDuration > 0 {
		cause := &deadlineStop{after: c.MaxDuration}
		s.deadline = time.AfterFunc(time.Until(s.start.Add(c.MaxDuration)), func() { s.cancel(cause) })
	}
}

func (s *session) shutdownTimeout() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bound
}

// stopped says why the run context is done, and the exit code that goes with it;
// ("", exitOK) if it is not.
func (s *session) stopped() (string, int) {
	if s.parent.Err() != nil {
		// A signal (main) or the caller: an interruption, whatever else happened.
		var in *interruption
		if errors.As(context.Cause(s.parent), &in) {
			return in.Error(), exitInterrupted
		}
		return "interrupted", exitInterrupted
	}
	if s.ctx.Err() != nil {
		var ds *deadlineStop
		if errors.As(context.Cause(s.ctx), &ds) {
			return ds.Error(), exitTransient // worth rerunning: nothing is lost
		}
		return "interrupted", exitInterrupted
	}
	return "", exitOK
}

// stoppedFor says why the run stopped and its exit code, when a stop explains an
// outcome with code; ("", code) otherwise. Whatever failed on the way out of a stopped
// run (a cancelled request, a sink or state call that lost the cancellation from its
// error chain, or nothing at all: a pass cut short can return cleanly) is part of the
// stop. Configuration, authentication and data errors are not caused by a stop: they are
// reported as they are.
func (s *session) stoppedFor(code int) (string, int) {
	if stop, stopCode := s.stopped(); stop != "" && (code == exitOK || code == exitInternal || code == exitTransient || code == exitInterrupted) {
		return stop, stopCode
	}
	return "", code
}

// outcome is the exit code a command's error will end the process with, and the error
// redacted, as finish reports them; for the reports a command writes before it returns.
func (s *session) outcome(err error) (int, string) {
	stop, code := s.stoppedFor(exitCode(err))
	switch {
	case err != nil:
		return code, s.red.Error(err)
	case stop != "":
		return code, stop
	}
	return code, ""
}

// finish prints the outcome of a command that returned and picks the exit code.
func (s *session) finish(args []string, err error) int {
	defer s.close()
	var ee errExit
	switch {
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ee):
		return int(ee)
	}
	code := exitCode(err)
	if stop, stopCode := s.stoppedFor(code); stop != "" {
		line := "extract: " + stop
		if len(args) > 0 && (args[0] == "run" || args[0] == "demo") {
			line += "; files on disk are complete and the state file matches them; rerun to continue"
		}
		if err != nil && !errors.Is(err, connector.ErrInterrupted) && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			line += " (while stopping: " + s.red.Error(err) + ")"
		}
		s.stderr.last(line + "\n")
		return stopCode
	}
	if err != nil {
		s.stderr.last("extract: " + s.red.Error(err) + "\n")
	}
	return code
}

// close makes the command's later writes vanish and stops the deadline.
func (s *session) close() {
	s.mu.Lock()
	if s.deadline != nil {
		s.deadline.Stop()
	}
	s.mu.Unlock()
	s.stdout.close()
	s.stderr.close()
	s.cancel(nil)
}

// gate passes writes through until it is closed, then discards them: a command that did
// not stop within the shutdown bound must not write after run has returned.
type gate struct {
	mu     sync.Mutex
	w      io.Writer
	closed bool
}

func (g *gate) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return len(p), nil
	}
	return g.w.Write(p)
}

func (g *gate) close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
}

// console is stderr as the commands see it: it redacts every known secret from what is
// written through it (a backstop; loggers redact structurally before encoding, see
// newLogger).
type console struct {
	gate
	red *redactor
}

func (c *console) Write(p []byte) (int, error) {
	if s, ok := c.red.replace(string(p)); ok {
		if _, err := c.gate.Write([]byte(s)); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	return c.gate.Write(p)
}

// last writes the final line and closes the console, so that it stays the last line.
func (c *console) last(line string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		_, _ = io.WriteString(c.w, c.red.String(line))
	}
	c.closed = true
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

// loadConfig parses flags and resolves the configuration. With a session (nil: tests
// that only build a configuration), its secrets are redacted from stderr from here on, and
// its shutdown bound and deadline apply to the run.
func loadConfig(s *session, fs *flag.FlagSet, args []string, getenv func(string) string, need authNeed) (*Config, error) {
	return loadConfigWith(s, fs, args, getenv, func(map[string]string) authNeed { return need })
}

// loadConfigWith is loadConfig for a command whose needs depend on what is configured.
func loadConfigWith(s *session, fs *flag.FlagSet, args []string, getenv func(string) string, needOf func(val map[string]string) authNeed) (*Config, error) {
	configPath := addFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	val, from, err := values(fs, *configPath, getenv)
	if err != nil {
		return nil, err
	}
	warnings, err := readSecretFiles(val, from)
	if s != nil {
		addSecrets(s.red, val)
	}
	if err != nil {
		return nil, err
	}
	cfg, err := buildConfig(val, from, needOf(val))
	if err != nil {
		return nil, err
	}
	if len(warnings) > 0 && s != nil {
		log := newLogger(s, cfg.LogFormat, cfg.LogLevel)
		for _, w := range warnings {
			log.Warn("secret file readable by every user", "problem", w)
		}
	}
	if s != nil {
		s.red.addPEM(string(cfg.Auth.PrivateKeyPEM))
		s.red.add(cfg.Auth.RefreshToken) // possibly a rotated one, from the token file
		if save := cfg.Auth.OnRefreshToken; save != nil {
			// A refresh token NetSuite rotates during the run is as secret as the first.
			red := s.red
			cfg.Auth.OnRefreshToken = func(token string) error {
				red.add(token)
				return save(token)
			}
		}
		s.configured(cfg)
	}
	return cfg, nil
}

// addSecrets registers the values of the settings marked secret, and the PEM key of
// private_key or private_key_file (read here too, so that an error about the key found
// while building the configuration cannot quote it).
func addSecrets(r *redactor, val map[string]string) {
	for _, st := range settings {
		if st.secret {
			r.add(val[st.key])
		}
	}
	r.addPEM(val["private_key"])
	if path := val["private_key_file"]; path != "" {
		if f, err := os.Open(path); err == nil {
			b, _ := io.ReadAll(io.LimitReader(f, 1<<20))
			f.Close()
			r.addPEM(string(b))
		}
	}
}

// newLogger writes JSON to the session's stderr unless it is a terminal or text is asked
// for; every known secret is redacted from messages and attributes.
func newLogger(s *session, format, level string) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lv}
	stderr := s.stderr
	if format == "" {
		format = "json"
		if f, ok := stderr.w.(*os.File); ok {
			if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
				format = "text"
			}
		}
	}
	var h slog.Handler
	if format == "text" {
		h = slog.NewTextHandler(stderr, opts)
	} else {
		h = slog.NewJSONHandler(stderr, opts)
	}
	return slog.New(newRedactHandler(h, s.red))
}
