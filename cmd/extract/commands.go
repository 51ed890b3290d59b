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
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/extract-dev/extract/connector"
	"github.com/extract-dev/extract/connector/auth"
	"github.com/extract-dev/extract/connector/pipeline"
	"github.com/extract-dev/extract/sink"
	"github.com/extract-dev/extract/state"
)

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
	client, err := connector.NewClient(c.BaseURL, hc, c.Retry, log)
	if err != nil {
		return nil, err
	}
	client.ReportLimiter(limiter)
	return client, nil
}

func cmdRun(ctx context.Context, s *session, args []string, getenv func(string) string) error {
	stdout, stderr := s.stdout, s.stderr
	fs := newFlagSet("run", "Extract the chosen streams into --output and checkpoint them in --state.", stderr)
	asJSON := fs.Bool("json", false, "print the run summary as JSON")
	fullRefresh := fs.Bool("full-refresh", false, "ignore the saved cursor of the chosen streams and read them again from --start-date (or all history)")
	cfg, err := loadConfig(s, fs, args, getenv, authFull)
	if err != nil {
		return err
	}
	log := newLogger(s, cfg.LogFormat, cfg.LogLevel)
	progress, stopProgress := startProgress(ctx, stderr, cfg.ProgressInterval, log)
	start := time.Now()
	res, err := runExtract(ctx, cfg, *fullRefresh, progress, log)
	end := time.Now()
	stopProgress()
	sum := res
	if sum == nil {
		sum = &runSummary{} // for the summary and metrics files: what failed, and when
	}
	sum.ExitCode, sum.Error = s.outcome(err)
	if res != nil {
		printSummary(stdout, res, *asJSON)
	}
	return errors.Join(err, writeReports(cfg, sum, start, end, err == nil, log))
}

// writeReports writes the summary and metrics files that are configured. One that cannot
// be written fails a run that succeeded (with exit code 2: fix the path); a failed run
// keeps its own error, and this one is logged.
func writeReports(cfg *Config, sum *runSummary, start, end time.Time, ok bool, log *slog.Logger) error {
	var errs []error
	if cfg.SummaryFile != "" {
		if err := writeSummaryFile(cfg.SummaryFile, sum); err != nil {
			errs = append(errs, fmt.Errorf("%w: --summary-file: %w", connector.ErrConfig, err))
		}
	}
	if cfg.MetricsFile != "" {
		if err := writeMetricsFile(cfg.MetricsFile, sum, start, end); err != nil {
			errs = append(errs, fmt.Errorf("%w: --metrics-textfile: %w", connector.ErrConfig, err))
		}
	}
	err := errors.Join(errs...)
	if err != nil && !ok {
		log.Error("cannot write the run's reports", "error", err.Error())
		return nil
	}
	return err
}

// runSummary is what `extract run` prints: the pipeline's result and the client's totals.
type runSummary struct {
	// RunID names the run's output directories, manifest and run record.
	RunID string `json:"run_id"`
	*pipeline.Result
	// Requests counts every request sent to NetSuite's REST API, retries included (token
	// requests are not); Retries the retries among them.
	Requests int64 `json:"requests"`
	Retries  int64 `json:"retries"`
	// Concurrency is the request limit (NETSUITE_CONCURRENCY); ConcurrencyLowest the lowest
	// it was lowered to after NetSuite refused requests for lack of concurrency slots.
	Concurrency       int `json:"concurrency"`
	ConcurrencyLowest int `json:"concurrency_lowest"`
	// Manifest is the URL of the run's manifest, once written.
	Manifest string `json:"manifest,omitempty"`
	// ExitCode is the process's exit code (see the README) and Error what failed, as
	// stderr's last line says it; for orchestrators reading --summary-file.
	ExitCode int    `json:"exit_code"`
	Error    string `json:"error,omitempty"`
}

// finishTimeout bounds writing a run's manifest, run record and markers, which happens
// after an interrupt too: the files are durable and a loader should learn of them.
const finishTimeout = time.Minute

// runExtract opens the output and the state (claiming it), writes the manifest of an
// earlier run that stopped without one, runs the pipeline, and ends the run with its
// manifest, run record and (on success) _SUCCESS markers.
func runExtract(ctx context.Context, cfg *Config, fullRefresh bool, progress func(pipeline.ProgressEvent), log *slog.Logger) (*runSummary, error) {
	client, err := newClient(cfg, log)
	if err != nil {
		return nil, err
	}
	start := time.Now().UTC()
	runID := sink.NewRunID(start)
	outLoc, err := openLocation(ctx, "--output", cfg.OutputDir, cfg.Storage)
	if err != nil {
		return nil, err
	}
	defer outLoc.Close()
	st, stLoc, err := openState(ctx, cfg, runID)
	if err != nil {
		return nil, err
	}
	defer closeState(st, stLoc)
	opts := sink.Options{Dir: outLoc.Dir, Bucket: outLoc.Bucket, Display: outLoc.Root, Format: cfg.Format, RunID: runID, RunStart: start}
	if err := recoverLastRun(ctx, st, opts, log); err != nil {
		return nil, err
	}
	if err := st.StageRun(state.RunInfo{ID: runID, Started: start}); err != nil {
		return nil, err
	}
	out, err := sink.New(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("%w: --output: %w", connector.ErrConfig, err)
	}
	log = log.With("run", runID)
	r := &pipeline.Runner{Source: client, Sink: out, State: st, Opts: pipeline.Options{
		Streams: cfg.Streams, Location: cfg.TimeZone, Lookback: cfg.Lookback, StartDate: cfg.StartDate, FullRefresh: fullRefresh,
		FileRows: cfg.FileRows, Columns: cfg.Columns, CustomFieldsTTL: cfg.CustomFieldsTTL, FullScanInterval: cfg.FullScanInterval, Logger: log,
		Concurrency: cfg.Concurrency, RunID: runID, Progress: progress,
	}}
	res, err := r.Run(ctx)
	stats := client.Stats()
	log.Info("run finished", "ok", err == nil, "duration", time.Since(start).Round(time.Millisecond).String(),
		"requests", stats.Requests, "retries", stats.Retries, "throttled", stats.Throttled,
		"concurrency", stats.Concurrency, "concurrency_lowest", stats.ConcurrencyLowest)
	sum := &runSummary{RunID: runID, Result: &res, Requests: stats.Requests, Retries: stats.Retries,
		Concurrency: stats.Concurrency, ConcurrencyLowest: stats.ConcurrencyLowest}
	return sum, errors.Join(err, finishRun(ctx, out, st, sum, start, err == nil, log))
}

// finishRun writes the run's manifest, run record and, for a run that succeeded, its
// _SUCCESS markers; then the state records the run as finished, so the next run does
// not look for its files. A run that failed leaves the state as its checkpoints left it.
func finishRun(ctx context.Context, out *sink.Sink, st *state.Store, sum *runSummary, started time.Time, ok bool, log *slog.Logger) error {
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer cancel()
	info, err := out.Finish(fctx, sum, ok)
	if err != nil {
		// The files and checkpoints stand; the next run writes this run's manifest.
		return fmt.Errorf("%w: %w", connector.ErrTransient, err)
	}
	sum.Manifest = info.URL
	log.Info("manifest written", "manifest", info.URL, "files", info.Files, "rows", info.Rows, "complete", info.Complete)
	if !ok {
		return nil
	}
	if err := st.StageRun(state.RunInfo{ID: sum.RunID, Started: started, Finished: true}); err != nil {
		return err
	}
	return st.Flush()
}

// recoverLastRun writes the manifest of the run the state last recorded, when that run
// stopped before writing one (killed, or out of time): its files hold checkpointed rows
// that no later run reads again, so a loader that goes by manifests must learn of them.
func recoverLastRun(ctx context.Context, st *state.Store, opts sink.Options, log *slog.Logger) error {
	last, ok := st.LastRun()
	if !ok || last.Finished {
		return nil
	}
	opts.RunID, opts.RunStart = last.ID, last.Started
	recovered, err := sink.Recover(ctx, opts, connector.AllStreams())
	if err != nil {
		return fmt.Errorf("%w: writing the manifest of run %s, which stopped without one: %w", connector.ErrTransient, last.ID, err)
	}
	if recovered {
		log.Warn("wrote the manifest of an earlier run that stopped without one; it is marked incomplete", "run", last.ID)
	}
	return nil
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
	fmt.Fprintln(tw, "STREAM\tROWS\tDELETED\tFILES\tREQUESTS\tCOLUMNS\tWATERMARK (UTC)")
	var notes, remembered []string
	for _, s := range sum.Streams {
		note := ""
		if s.Resumed {
			note = " (resumed)"
		}
		if s.DeletionsUnavailable {
			note += " (deletions unavailable)"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d (%d custom)\t%s → %s%s\n", s.Stream, s.Rows, s.Deleted, s.Files, s.Requests,
			s.Columns, s.CustomColumns, stamp(s.From), stamp(s.To), note)
		if s.SchemaChange != "" {
			notes = append(notes, fmt.Sprintf("schema change: %s %s", s.Stream, s.SchemaChange))
		}
		if s.Unavailable != "" {
			notes = append(notes, fmt.Sprintf("skipped: %s (its table cannot be read: %s)", s.Stream, s.Unavailable))
		}
		if s.Warning != "" {
			notes = append(notes, fmt.Sprintf("warning: %s: %s", s.Stream, s.Warning))
		}
		for _, d := range s.DroppedColumns {
			if d.New {
				notes = append(notes, fmt.Sprintf("dropped: %s.%s (refused by NetSuite: %s)", s.Stream, d.Column, d.Reason))
			} else {
				remembered = append(remembered, s.Stream+"."+d.Column)
			}
		}
	}
	tw.Flush()
	for _, n := range notes {
		fmt.Fprintln(w, n)
	}
	if len(remembered) > 0 {
		fmt.Fprintf(w, "not extracted, refused by NetSuite in an earlier run (extract discover asks again): %s\n", strings.Join(remembered, ", "))
	}
	if sum.DeletionRequests > 0 {
		fmt.Fprintf(w, "deleted records: %s for all record streams\n", plural(sum.DeletionRequests, "request"))
	}
	cf := sum.CustomFields
	switch {
	case cf.Unavailable != "":
		fmt.Fprintf(w, "custom fields: %d known from earlier runs (the customfield table cannot be read: %s)\n", cf.Fields, cf.Unavailable)
	case cf.Cached:
		fmt.Fprintf(w, "custom fields: %d (catalog read %s)\n", cf.Fields, stamp(cf.FetchedAt))
	case !cf.FetchedAt.IsZero():
		fmt.Fprintf(w, "custom fields: %d (catalog read now: %s)\n", cf.Fields, plural(cf.Requests, "request"))
	}
	fmt.Fprintf(w, "requests %d (retries %d), concurrency %d (lowest %d)\n", sum.Requests, sum.Retries, sum.Concurrency, sum.ConcurrencyLowest)
	if sum.Manifest != "" {
		fmt.Fprintf(w, "run %s: manifest %s\n", sum.RunID, sum.Manifest)
	}
}

func plural(n int64, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
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

// diagnose names what a failed probe of table means. NetSuite answers "Record 'x' was not
// found" both when the role lacks the permission and when the feature is off; the
// wording varies, so a 400 that quotes the table's name is read as that.
func diagnose(table string, err error) checkResult {
	r := checkResult{Problem: "error", Code: "ERROR", Detail: err.Error()}
	var ae *connector.APIError
	if errors.As(err, &ae) {
		r.Code, r.Detail = ae.Code, ae.Detail
	}
	switch {
	case errors.Is(err, connector.ErrAuth):
		r.Problem = "authentication failed"
	case ae != nil && ae.Status == 400 && quotes(ae.Detail, table):
		r.Problem = "missing permission or feature disabled"
	case errors.Is(err, connector.ErrTransient):
		r.Problem = "NetSuite unavailable"
	}
	return r
}

// quotes reports whether msg quotes name, in any case and any kind of quotes.
func quotes(msg, name string) bool {
	msg, name = strings.ToLower(msg), strings.ToLower(name)
	for _, q := range []string{"'", `"`, "‘", "“", "`"} {
		if strings.Contains(msg, q+name) {
			return true
		}
	}
	return false
}

func cmdCheck(ctx context.Context, s *session, args []string, getenv func(string) string) error {
	stdout, stderr := s.stdout, s.stderr
	fs := newFlagSet("check", "Authenticate and probe read access to each chosen stream.", stderr)
	asJSON := fs.Bool("json", false, "print the results as JSON")
	cfg, err := loadConfig(s, fs, args, getenv, authFull)
	if err != nil {
		return err
	}
	log := newLogger(s, cfg.LogFormat, cfg.LogLevel)
	client, err := newClient(cfg, log)
	if err != nil {
		return err
	}
	var results []checkResult
	failed, records := 0, 0
	for _, name := range cfg.Streams {
		q := "SELECT id FROM " + name
		child, isChild := connector.ChildOf(name)
		if isChild {
			q = fmt.Sprintf("SELECT %s.%s FROM %s", child.Lines, child.LineKey, child.Lines)
		} else {
			records++
		}
		_, err := client.SuiteQL(ctx, q, 1, 0)
		r := checkResult{OK: true}
		switch {
		case err != nil && isChild && errors.Is(err, connector.ErrConfig):
			// A run skips such a stream with a warning (no OneWorld: no subsidiary
			// memberships); it does not fail check.
			r = diagnose(name, err)
			r.Problem += "; runs skip this stream"
		case err != nil:
			failed++
			r = diagnose(name, err)
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
		r = diagnose("deletedrecord", err)
		r.Stream, r.Problem = "deletedrecord", r.Problem+"; runs continue without deletions"
	}
	results = append(results, r)
	printCheck(stdout, results, *asJSON)
	if failed > 0 {
		return fmt.Errorf("%w: %d of %d record streams cannot be read; see the lines above", connector.ErrConfig, failed, records)
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
			fmt.Fprintf(w, "%-31s ok\n", r.Stream)
		} else {
			fmt.Fprintf(w, "%-31s %s (%s: %s)\n", r.Stream, r.Problem, r.Code, r.Detail)
		}
	}
}

const discoverHelp = `Print every column a run would write, per stream: standard and custom fields, with
their Arrow type, NetSuite kind, label and value type, and the columns NetSuite refuses
(with its reason) or the configuration leaves out.

With credentials (NETSUITE_ACCOUNT_ID and the settings of its auth method, as for run) it
asks the account: it reads the customfield table, and probes each stream's table with a
one-row query, dropping what NetSuite refuses exactly as a run would. Columns refused by
an earlier run are asked again, and what it finds is recorded in the state file (when no
run holds it) so the next run uses it; no data is written and no checkpoint moves.

Without credentials, or with --offline, it prints the built-in catalog of standard
columns and says so: custom fields and refusals are only known by asking the account.`

func cmdDiscover(ctx context.Context, s *session, args []string, getenv func(string) string) error {
	stdout, stderr := s.stdout, s.stderr
	fs := newFlagSet("discover", discoverHelp, stderr)
	asJSON := fs.Bool("json", false, "print JSON (for machines) instead of a table")
	offline := fs.Bool("offline", false, "print the built-in catalog without connecting")
	cfg, err := loadConfigWith(s, fs, args, getenv, func(val map[string]string) authNeed {
		if *offline || strings.TrimSpace(val["account_id"]) == "" {
			return authNone
		}
		return authFull
	})
	if err != nil {
		return err
	}
	if cfg.AccountID == "" {
		return printDiscovery(stdout, offlineDiscovery(cfg), *asJSON)
	}
	log := newLogger(s, cfg.LogFormat, cfg.LogLevel)
	client, err := newClient(cfg, log)
	if err != nil {
		return err
	}
	r := &pipeline.Runner{Source: client, Opts: pipeline.Options{Streams: cfg.Streams, Columns: cfg.Columns, Logger: log}}
	st, stLoc, err := openState(ctx, cfg, sink.NewRunID(time.Now()))
	switch {
	case errors.Is(err, state.ErrLocked):
		log.Warn("the state file is in use by a run; discover will not record what it finds", "state", cfg.StatePath)
	case err != nil:
		return err
	default:
		defer closeState(st, stLoc)
		r.State = st
	}
	d, err := r.Discover(ctx)
	if err != nil {
		return err
	}
	return printDiscovery(stdout, discovery{Source: "account " + cfg.AccountID, Live: true, Discovery: d, Requests: client.Stats().Requests}, *asJSON)
}

// discovery is what discover prints.
type discovery struct {
	Source string
	Live   bool
	pipeline.Discovery
	Requests int64
}

// offlineDiscovery is the built-in catalog, planned with the configured selection.
func offlineDiscovery(cfg *Config) discovery {
	d := discovery{Source: "built-in catalog (no credentials: custom fields and the columns an account refuses are only known by connecting)"}
	for _, name := range cfg.Streams {
		plan, err := connector.PlanStream(connector.PlanInput{Stream: name, Selection: cfg.Columns[name]})
		if err != nil {
			continue // the selection was validated with the configuration
		}
		d.Streams = append(d.Streams, pipeline.Discovered{Stream: name, Table: plan.Table, Skipped: plan.Skipped})
	}
	return d
}

func printDiscovery(w io.Writer, d discovery, asJSON bool) error {
	type column struct {
		Name      string `json:"name"`
		Field     string `json:"field"`
		Kind      string `json:"netsuite_type"`
		ArrowType string `json:"arrow_type"`
		Nullable  bool   `json:"nullable"`
		Custom    bool   `json:"custom,omitempty"`
		Label     string `json:"label,omitempty"`
		ValueType string `json:"value_type,omitempty"`
	}
	type stream struct {
		Name        string                    `json:"name"`
		PrimaryKey  string                    `json:"primary_key"`
		Key         []string                  `json:"key"` // every column of the key, the primary key last
		Cursor      string                    `json:"cursor"`
		Columns     []column                  `json:"columns"`
		Dropped     []pipeline.DroppedColumn  `json:"dropped_columns,omitempty"`
		Skipped     []connector.SkippedColumn `json:"skipped_columns,omitempty"`
		Notes       []string                  `json:"notes,omitempty"`
		Unavailable string                    `json:"unavailable,omitempty"`
	}
	out := struct {
		Source       string                  `json:"source"`
		Live         bool                    `json:"live"`
		CustomFields *pipeline.CatalogResult `json:"custom_fields,omitempty"`
		Requests     int64                   `json:"requests,omitempty"`
		Streams      []stream                `json:"streams"`
	}{Source: d.Source, Live: d.Live, Requests: d.Requests}
	if d.Live {
		out.CustomFields = &d.CustomFields
	}
	for _, ds := range d.Streams {
		s := stream{Name: ds.Stream, PrimaryKey: ds.Table.PrimaryKey, Key: append(slices.Clone(ds.Table.Keys), ds.Table.PrimaryKey), Cursor: ds.Table.Cursor, Dropped: ds.Dropped, Skipped: ds.Skipped,
			Notes: ds.Notes, Unavailable: ds.Unavailable}
		fields := ds.Table.ArrowSchema().Fields()
		for i, c := range ds.Table.Columns {
			s.Columns = append(s.Columns, column{Name: c.Name, Field: c.FieldID(), Kind: c.Kind.String(), ArrowType: fields[i].Type.String(),
				Nullable: fields[i].Nullable, Custom: c.Custom, Label: c.Label, ValueType: c.ValueType})
		}
		out.Streams = append(out.Streams, s)
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	fmt.Fprintf(w, "Source: %s\n", out.Source)
	if cf := out.CustomFields; cf != nil {
		if cf.Unavailable != "" {
			fmt.Fprintf(w, "Custom fields: the customfield table cannot be read: %s\n", cf.Unavailable)
		} else {
			fmt.Fprintf(w, "Custom fields: %d of the account's belong to these records\n", cf.Fields)
		}
	}
	for _, s := range out.Streams {
		custom := 0
		for _, c := range s.Columns {
			if c.Custom {
				custom++
			}
		}
		cursor := "cursor " + s.Cursor
		if s.Cursor == "" {
			cursor = "latest _extracted_at wins"
		}
		fmt.Fprintf(w, "\n%s: %d columns (%d custom), key %s, %s\n", s.Name, len(s.Columns), custom, strings.Join(s.Key, ", "), cursor)
		if s.Unavailable != "" {
			fmt.Fprintf(w, "  cannot be read: %s\n", s.Unavailable)
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  COLUMN\tARROW TYPE\tKIND\tNETSUITE VALUE TYPE\tLABEL")
		for _, c := range s.Columns {
			vt := c.ValueType
			if vt == "" {
				vt = "(standard)"
			}
			if c.Field != c.Name {
				vt += " [field " + c.Field + "]"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", c.Name, c.ArrowType, c.Kind, vt, c.Label)
		}
		tw.Flush()
		for _, dc := range s.Dropped {
			fmt.Fprintf(w, "  refused by NetSuite: %s (%s)\n", dc.Column, dc.Reason)
		}
		for _, sk := range s.Skipped {
			fmt.Fprintf(w, "  not extracted: %s (%s)\n", sk.Name, sk.Reason)
		}
		for _, n := range s.Notes {
			fmt.Fprintf(w, "  note: %s\n", n)
		}
	}
	if d.Live {
		fmt.Fprintf(w, "\n%s to NetSuite.\n", plural(out.Requests, "request"))
	}
	return nil
}
