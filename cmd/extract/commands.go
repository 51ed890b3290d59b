package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/extract-dev/extract/connector"
	"github.com/extract-dev/extract/connector/auth"
	"github.com/extract-dev/extract/connector/pipeline"
	"github.com/extract-dev/extract/schema"
	"github.com/extract-dev/extract/state"
)

// retryPolicy is the client's retry policy; the zero value takes connector's defaults.
// Tests shorten it.
var retryPolicy connector.RetryPolicy

// newClient builds the SuiteQL client: network transport → account-wide request limit
// (adaptive: lowered when NetSuite answers 429, shared with token requests) →
// authentication, under a per-request timeout. The client's Stats report the limit.
func newClient(c *Config, log *slog.Logger) (*connector.Client, error) {
	base := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   30 * time.Second,
		ResponseHeaderTimeout: c.RequestTimeout,
		MaxIdleConnsPerHost:   c.Concurrency,
		ForceAttemptHTTP2:     true,
	}
	limiter := connector.NewLimiter(c.Concurrency, connector.WithLimitLogger(log))
	authed, err := auth.NewTransport(c.Auth, limiter.Transport(base))
	if err != nil {
		return nil, err
	}
	hc := &http.Client{Transport: authed, Timeout: c.RequestTimeout}
	client, err := connector.NewClient(c.BaseURL, hc, retryPolicy, log)
	if err != nil {
		return nil, err
	}
	client.ReportLimiter(limiter)
	return client, nil
}

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := newFlagSet("run", "Extract the chosen streams into --output and checkpoint them in --state.", stderr)
	asJSON := fs.Bool("json", false, "print the run summary as JSON")
	fullRefresh := fs.Bool("full-refresh", false, "ignore the saved cursor of the chosen streams and read them again from --start-date (or all history)")
	cfg, err := loadConfig(fs, args, getenv, authFull)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogFormat, cfg.LogLevel)
	res, err := runExtract(ctx, cfg, *fullRefresh, log)
	if res != nil {
		printSummary(stdout, res, *asJSON)
	}
	return err
}

// runSummary is what `extract run` prints: the pipeline's result and the client's totals.
type runSummary struct {
	*pipeline.Result
	// Requests counts every request sent to NetSuite's REST API, retries included (token
	// requests are not); Retries the retries among them.
	Requests int64 `json:"requests"`
	Retries  int64 `json:"retries"`
	// Concurrency is the request limit (NETSUITE_CONCURRENCY); ConcurrencyLowest the lowest
	// it was lowered to after NetSuite refused requests for lack of concurrency slots.
	Concurrency       int `json:"concurrency"`
	ConcurrencyLowest int `json:"concurrency_lowest"`
}

// runExtract opens the state (locking it), then runs the pipeline.
func runExtract(ctx context.Context, cfg *Config, fullRefresh bool, log *slog.Logger) (*runSummary, error) {
	client, err := newClient(cfg, log)
	if err != nil {
		return nil, err
	}
	st, err := state.Open(cfg.StatePath, cfg.AccountID)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	out, err := sinkFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: --output: %w", connector.ErrConfig, err)
	}
	r := &pipeline.Runner{Source: client, Sink: out, State: st, Opts: pipeline.Options{
		Streams: cfg.Streams, Location: cfg.TimeZone, Lookback: cfg.Lookback, StartDate: cfg.StartDate, FullRefresh: fullRefresh,
		FileRows: cfg.FileRows, Logger: log,
	}}
	start := time.Now()
	res, err := r.Run(ctx)
	stats := client.Stats()
	log.Info("run finished", "ok", err == nil, "duration", time.Since(start).Round(time.Millisecond).String(),
		"requests", stats.Requests, "retries", stats.Retries, "throttled", stats.Throttled,
		"concurrency", stats.Concurrency, "concurrency_lowest", stats.ConcurrencyLowest)
	return &runSummary{Result: &res, Requests: stats.Requests, Retries: stats.Retries,
		Concurrency: stats.Concurrency, ConcurrencyLowest: stats.ConcurrencyLowest}, err
}

// printSummary prints the run summary on w: one line per stream and a line of totals, or
// with asJSON one JSON object (the pipeline's result with the totals beside it).
func printSummary(w io.Writer, sum *runSummary, asJSON bool) {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(sum)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STREAM\tROWS\tDELETED\tFILES\tREQUESTS\tWATERMARK (UTC)")
	for _, s := range sum.Streams {
		note := ""
		if s.Resumed {
			note = " (resumed)"
		}
		if len(s.DroppedColumns) > 0 {
			note += " dropped: " + strings.Join(s.DroppedColumns, ",")
		}
		if s.DeletionsUnavailable {
			note += " (deletions unavailable)"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%s → %s%s\n", s.Stream, s.Rows, s.Deleted, s.Files, s.Requests, stamp(s.From), stamp(s.To), note)
	}
	tw.Flush()
	fmt.Fprintf(w, "requests %d (retries %d), concurrency %d (lowest %d)\n", sum.Requests, sum.Retries, sum.Concurrency, sum.ConcurrencyLowest)
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "(none)"
	}
	return t.UTC().Format(time.RFC3339)
}

// checkResult is one stream's line of `extract check`.
type checkResult struct {
	Stream  string `json:"stream"`
	OK      bool   `json:"ok"`
	Problem string `json:"problem,omitempty"` // what it means, in a few words
	Code    string `json:"code,omitempty"`    // NetSuite's o:errorCode
	Detail  string `json:"detail,omitempty"`
}

// diagnose names what a failed probe means. NetSuite answers "Record 'x' was not found"
// both when the role lacks the permission and when the feature is off.
func diagnose(err error) checkResult {
	r := checkResult{Problem: "error", Code: "ERROR", Detail: err.Error()}
	var ae *connector.APIError
	if errors.As(err, &ae) {
		r.Code, r.Detail = ae.Code, ae.Detail
	}
	switch {
	case errors.Is(err, connector.ErrAuth):
		r.Problem = "authentication failed"
	case ae != nil && ae.Status == 400 && strings.Contains(ae.Detail, "was not found"):
		r.Problem = "missing permission or feature disabled"
	case errors.Is(err, connector.ErrTransient):
		r.Problem = "NetSuite unavailable"
	}
	return r
}

func cmdCheck(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := newFlagSet("check", "Authenticate and probe read access to each chosen stream.", stderr)
	asJSON := fs.Bool("json", false, "print the results as JSON")
	cfg, err := loadConfig(fs, args, getenv, authFull)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogFormat, cfg.LogLevel)
	client, err := newClient(cfg, log)
	if err != nil {
		return err
	}
	var results []checkResult
	failed := 0
	for _, name := range cfg.Streams {
		_, err := client.SuiteQL(ctx, "SELECT id FROM "+name, 1, 0)
		r := checkResult{OK: true}
		if err != nil {
			failed++
			r = diagnose(err)
		}
		r.Stream = name
		results = append(results, r)
		// Without a token or a context nothing else can pass: stop probing.
		if err != nil && (ctx.Err() != nil || errors.Is(err, connector.ErrAuth)) {
			printCheck(stdout, results, *asJSON)
			return err
		}
	}
	// Deleted records are optional: a run goes on without them, so they never fail check.
	r := checkResult{Stream: "deletedrecord", OK: true}
	if _, err := client.SuiteQL(ctx, "SELECT recordid FROM deletedrecord", 1, 0); err != nil {
		r = diagnose(err)
		r.Stream, r.Problem = "deletedrecord", r.Problem+"; runs continue without deletions"
	}
	results = append(results, r)
	printCheck(stdout, results, *asJSON)
	if failed > 0 {
		return fmt.Errorf("%w: %d of %d streams cannot be read; see the lines above", connector.ErrConfig, failed, len(cfg.Streams))
	}
	return nil
}

func printCheck(w io.Writer, results []checkResult, asJSON bool) {
	if asJSON {
		_ = json.NewEncoder(w).Encode(results)
		return
	}
	for _, r := range results {
		if r.OK {
			fmt.Fprintf(w, "%-14s ok\n", r.Stream)
		} else {
			fmt.Fprintf(w, "%-14s %s (%s: %s)\n", r.Stream, r.Problem, r.Code, r.Detail)
		}
	}
}

func cmdDiscover(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("discover", "Print the streams and their typed columns as JSON.", stderr)
	streams := fs.String("streams", "", "comma-separated subset of "+strings.Join(connector.StreamNames, ","))
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	names, err := connector.ParseStreams(*streams)
	if err != nil {
		return err
	}
	type column struct {
		Name      string `json:"name"`
		Kind      string `json:"netsuite_type"`
		ArrowType string `json:"arrow_type"`
		Nullable  bool   `json:"nullable"`
	}
	type stream struct {
		Name       string   `json:"name"`
		PrimaryKey string   `json:"primary_key"`
		Cursor     string   `json:"cursor"`
		Columns    []column `json:"columns"`
	}
	var out []stream
	for _, n := range names {
		t, err := connector.Table(n)
		if err != nil {
			return err
		}
		s := stream{Name: t.Name, PrimaryKey: t.PrimaryKey, Cursor: t.Cursor}
		for _, f := range t.ArrowSchema().Fields() {
			kind, _ := f.Metadata.GetValue(schema.MetaKind)
			s.Columns = append(s.Columns, column{Name: f.Name, Kind: kind, ArrowType: f.Type.String(), Nullable: f.Nullable})
		}
		out = append(out, s)
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(map[string]any{"streams": out})
}
