package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/extract-dev/extract/connector"
	"github.com/extract-dev/extract/connector/auth"
	"github.com/extract-dev/extract/connector/pipeline"
	"github.com/extract-dev/extract/sink"
	"github.com/extract-dev/extract/state"
)

const singerHelp = `Speak the Singer spec (as a Meltano tap): one JSON message per line on stdout, logs on
stderr. Without --discover or --about it extracts the selected streams: SCHEMA, RECORD
and STATE messages; a STATE comes only after the RECORDs it covers. The orchestrator owns
the state: --state is read, and no state, token or output file is written (the child
streams' line indexes excepted: singer_index_dir).

Settings come from the --config JSON file (the same keys as extract's config file) and
NETSUITE_* or TAP_NETSUITE_* environment variables (NETSUITE_* wins).`

// singerPlugin is the plugin's name in Meltano and in --about.
const singerPlugin = "tap-netsuite-extract"

// defaultSingerFileRows bounds the rows a Singer File buffers before they go to stdout
// with a STATE after them, unless file_rows is set.
const defaultSingerFileRows = 10_000

func cmdSinger(ctx context.Context, s *session, args []string, getenv func(string) string) error {
	stdout, stderr := s.stdout, s.stderr
	fs := newFlagSet("singer", singerHelp, stderr)
	configPath := fs.String("config", "", "JSON config file; keys: "+configKeys())
	statePath := fs.String("state", "", `Singer state JSON ({"bookmarks": {...}}) from the orchestrator; missing or empty: start afresh`)
	catalogPath := fs.String("catalog", "", "Singer catalog JSON: the streams and columns marked selected")
	discover := fs.Bool("discover", false, "print the catalog (asks the account when account_id is configured)")
	about := fs.Bool("about", false, "print what the tap is and its settings")
	format := fs.String("format", "text", "with --about: text or json")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *about {
		return printAbout(stdout, *format)
	}
	val, from, err := values(flag.NewFlagSet("singer", flag.ContinueOnError), *configPath, getenv)
	if err != nil {
		return err
	}
	warnings, err := readSecretFiles(val, from)
	addSecrets(s.red, val)
	if err != nil {
		return err
	}
	need := authFull
	if *discover && strings.TrimSpace(val["account_id"]) == "" {
		need = authNone
	}
	cfg, err := buildConfigWith(val, from, need, true)
	if err != nil {
		return err
	}
	if from["file_rows"] == "default" {
		cfg.FileRows = defaultSingerFileRows
	}
	log := newLogger(s, cfg.LogFormat, cfg.LogLevel)
	for _, w := range warnings {
		log.Warn("secret file readable by every user", "problem", w)
	}
	s.red.addPEM(string(cfg.Auth.PrivateKeyPEM))
	s.red.add(cfg.Auth.RefreshToken)
	s.configured(cfg)
	if cfg.Auth.Method == auth.OAuth2Refresh && need == authFull {
		var once sync.Once
		cfg.Auth.OnRefreshToken = func(token string) error {
			s.red.add(token)
			once.Do(func() {
				log.Warn("NetSuite rotated the refresh token; in Singer mode it is kept in memory for this run only and cannot be persisted, " +
					"so the next run starts from the configured one; use oauth2-m2m for Meltano")
			})
			return nil
		}
	}
	initial, err := readSingerState(*statePath)
	if err != nil {
		return err
	}
	if *catalogPath != "" {
		if err := applyCatalog(cfg, *catalogPath); err != nil {
			return err
		}
	}
	if *discover {
		return singerDiscover(ctx, cfg, initial, stdout, log)
	}
	return singerRun(ctx, cfg, initial, stdout, log)
}

// singerState is the value of our STATE messages: the bookmarks are each stream's
// checkpoint (state.Stream, opaque to the orchestrator), with the column history beside
// them so that a custom field keeps its type from run to run.
type singerState struct {
	Bookmarks map[string]state.Stream `json:"bookmarks"`
	Extract   *singerExtra            `json:"extract,omitempty"`
}

type singerExtra struct {
	Version   int                     `json:"version"`
	AccountID string                  `json:"account_id,omitempty"`
	Schemas   map[string]state.Schema `json:"schemas,omitempty"`
}

func toSingerState(f state.File) singerState {
	return singerState{Bookmarks: f.Streams, Extract: &singerExtra{Version: f.Version, AccountID: f.AccountID, Schemas: f.Schemas}}
}

// readSingerState reads --state: a missing, empty or {} file is an empty state. Meltano
// may also wrap it as {"singer_state": {...}}.
func readSingerState(path string) (*state.File, error) {
	f := &state.File{Version: state.Version, Streams: map[string]state.Stream{}}
	if path == "" {
		return f, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: --state: cannot read %s: %w", connector.ErrConfig, path, unwrapPathError(err))
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return f, nil
	}
	var raw struct {
		singerState
		Wrapped *singerState `json:"singer_state"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("%w: --state: %s is not a Singer state ({\"bookmarks\": {...}}): %w", connector.ErrConfig, path, err)
	}
	st := raw.singerState
	if raw.Wrapped != nil {
		st = *raw.Wrapped
	}
	for name := range st.Bookmarks {
		if base, _ := strings.CutSuffix(name, ".deleted"); !slices.Contains(connector.AllStreams(), base) {
			return nil, fmt.Errorf("%w: --state: %s: unknown stream %q in bookmarks", connector.ErrConfig, path, name)
		}
	}
	if st.Bookmarks != nil {
		f.Streams = st.Bookmarks
	}
	if x := st.Extract; x != nil {
		f.Version, f.AccountID, f.Schemas = x.Version, x.AccountID, x.Schemas
	}
	return f, nil
}

// singerIndexDir is where the child streams' line indexes live in Singer mode.
func singerIndexDir(cfg *Config) (string, error) {
	if cfg.SingerIndexDir != "" {
		return cfg.SingerIndexDir, nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("%w: singer_index_dir: not set, and there is no user cache directory to default to: %w", connector.ErrConfig, err)
	}
	return filepath.Join(cache, "extract", "singer", strings.ToLower(cfg.AccountID)), nil
}

// dropLostIndexes forgets the bookmark of a child stream whose line index is not in the
// index directory (a new machine or container): the stream is then read in full again,
// rather than failing. Lines removed in NetSuite before that read get no tombstone.
func dropLostIndexes(f *state.File, cfg *Config, dir string, log *slog.Logger) error {
	probe, err := state.OpenMemory(f, cfg.AccountID, dir, nil)
	if err != nil {
		return err
	}
	for name, st := range f.Streams {
		if _, child := connector.ChildOf(name); !child {
			continue
		}
		ok, err := probe.LineIndex(name).Holds(st)
		if err != nil {
			return err
		}
		if !ok {
			log.Warn("the line index of a child stream is not in singer_index_dir; reading the stream in full again (lines removed meanwhile get no tombstone)",
				"stream", name, "singer_index_dir", dir)
			delete(f.Streams, name)
		}
	}
	return nil
}

func singerRun(ctx context.Context, cfg *Config, initial *state.File, stdout io.Writer, log *slog.Logger) error {
	indexDir, err := singerIndexDir(cfg)
	if err != nil {
		return err
	}
	if err := dropLostIndexes(initial, cfg, indexDir, log); err != nil {
		return err
	}
	client, err := newClient(cfg, log)
	if err != nil {
		return err
	}
	sw := sink.NewSingerWriter(stdout)
	st, err := state.OpenMemory(initial, cfg.AccountID, indexDir, func(f state.File) error {
		return sw.WriteState(toSingerState(f))
	})
	if err != nil {
		return err
	}
	defer st.Close()
	start := time.Now().UTC()
	runID := sink.NewRunID(start)
	out, err := sink.New(ctx, sink.Options{Singer: sw, RunID: runID, RunStart: start})
	if err != nil {
		return err
	}
	log = log.With("run", runID)
	r := &pipeline.Runner{Source: client, Sink: out, State: st, Opts: pipeline.Options{
		Streams: cfg.Streams, Location: cfg.TimeZone, Lookback: cfg.Lookback, StartDate: cfg.StartDate,
		FileRows: cfg.FileRows, Columns: cfg.Columns, CustomFieldsTTL: cfg.CustomFieldsTTL, FullScanInterval: cfg.FullScanInterval, Logger: log,
		Concurrency: cfg.Concurrency, RunID: runID,
	}}
	res, err := r.Run(ctx)
	stats := client.Stats()
	for _, s := range res.Streams {
		log.Info("stream finished", "stream", s.Stream, "records", s.Rows, "deleted", s.Deleted, "watermark", stamp(s.To))
	}
	log.Info("run finished", "ok", err == nil, "duration", time.Since(start).Round(time.Millisecond).String(),
		"requests", stats.Requests, "retries", stats.Retries)
	if err != nil {
		return err // the STATE messages written so far stand
	}
	if err := st.Flush(); err != nil {
		return err
	}
	// The last message: every bookmark as the run leaves it.
	return sw.WriteState(toSingerState(st.Snapshot()))
}

// catalogEntry is one stream of a Singer catalog.
type catalogEntry struct {
	TapStreamID   string           `json:"tap_stream_id"`
	Stream        string           `json:"stream"`
	Schema        map[string]any   `json:"schema"`
	KeyProperties []string         `json:"key_properties"`
	Metadata      []catalogMetaRow `json:"metadata"`
}

type catalogMetaRow struct {
	Breadcrumb []string       `json:"breadcrumb"`
	Metadata   map[string]any `json:"metadata"`
}

func singerDiscover(ctx context.Context, cfg *Config, initial *state.File, stdout io.Writer, log *slog.Logger) error {
	d := offlineDiscovery(cfg)
	if cfg.AccountID != "" {
		client, err := newClient(cfg, log)
		if err != nil {
			return err
		}
		// The orchestrator's state lends what earlier runs learnt; nothing is saved.
		st, err := state.OpenMemory(initial, cfg.AccountID, "", nil)
		if err != nil {
			return err
		}
		r := &pipeline.Runner{Source: client, State: st, Opts: pipeline.Options{Streams: cfg.Streams, Columns: cfg.Columns, Logger: log}}
		live, err := r.Discover(ctx)
		if err != nil {
			return err
		}
		d = discovery{Live: true, Discovery: live}
	}
	var cat struct {
		Streams []catalogEntry `json:"streams"`
	}
	cat.Streams = []catalogEntry{}
	for _, ds := range d.Streams {
		cat.Streams = append(cat.Streams, catalogOf(ds))
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(cat)
}

// catalogOf describes one stream in the Singer catalog: its schema as a run's SCHEMA
// message has it, and metadata saying what may be deselected.
func catalogOf(ds pipeline.Discovered) catalogEntry {
	t := ds.Table
	msg := sink.SingerSchemaMessage(ds.Stream, t.ArrowSchema())
	top := map[string]any{
		"inclusion": "available", "selected": true, "table-key-properties": msg.KeyProperties,
		"forced-replication-method": "INCREMENTAL", "valid-replication-keys": []string{},
	}
	if t.Cursor != "" {
		top["valid-replication-keys"] = []string{t.Cursor}
		top["replication-key"] = t.Cursor
	}
	if ds.Unavailable != "" {
		top["inclusion"], top["selected"] = "unsupported", false
	}
	e := catalogEntry{TapStreamID: ds.Stream, Stream: ds.Stream, Schema: msg.Schema, KeyProperties: msg.KeyProperties,
		Metadata: []catalogMetaRow{{Breadcrumb: []string{}, Metadata: top}}}
	for _, c := range t.Columns {
		md := map[string]any{"inclusion": "available", "selected": true}
		if t.IsKey(c.Name) || c.Name == t.Cursor || c.Derived {
			md = map[string]any{"inclusion": "automatic"}
		}
		e.Metadata = append(e.Metadata, catalogMetaRow{Breadcrumb: []string{"properties", c.Name}, Metadata: md})
	}
	e.Metadata = append(e.Metadata, catalogMetaRow{Breadcrumb: []string{"properties", sink.SingerDeletedAt}, Metadata: map[string]any{"inclusion": "automatic"}})
	return e
}

// applyCatalog maps a catalog's selection onto the configuration: the selected streams
// become Streams, and each property marked selected: false is excluded from the
// stream's columns (keys, the cursor and derived columns always stay).
func applyCatalog(cfg *Config, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%w: --catalog: cannot read %s: %w", connector.ErrConfig, path, unwrapPathError(err))
	}
	var cat struct {
		Streams []catalogEntry `json:"streams"`
	}
	if err := json.Unmarshal(b, &cat); err != nil {
		return fmt.Errorf("%w: --catalog: %s is not a Singer catalog: %w", connector.ErrConfig, path, err)
	}
	var streams []string
	for _, e := range cat.Streams {
		name := e.TapStreamID
		if name == "" {
			name = e.Stream
		}
		if !slices.Contains(connector.AllStreams(), name) {
			return fmt.Errorf("%w: --catalog: %s: unknown stream %q (want one of %s)", connector.ErrConfig, path, name, strings.Join(connector.AllStreams(), ", "))
		}
		t, _ := connector.Table(name)
		var excluded []string
		selected := false
		for _, m := range e.Metadata {
			sel, set := m.Metadata["selected"].(bool)
			switch {
			case len(m.Breadcrumb) == 0:
				selected = set && sel
			case len(m.Breadcrumb) == 2 && m.Breadcrumb[0] == "properties" && set && !sel:
				col := strings.ToLower(m.Breadcrumb[1])
				if c, ok := t.Column(col); col == sink.SingerDeletedAt || t.IsKey(col) || col == t.Cursor || ok && c.Derived {
					continue // automatic: cannot be deselected
				}
				excluded = append(excluded, col)
			}
		}
		if !selected || !slices.Contains(cfg.Streams, name) {
			continue
		}
		streams = append(streams, name)
		sel := cfg.Columns[name]
		sel.ExcludeColumns = append(slices.Clone(sel.ExcludeColumns), excluded...)
		if err := sel.Validate(t, "--catalog "+name); err != nil {
			return err
		}
		cfg.Columns[name] = sel
	}
	if len(streams) == 0 {
		return fmt.Errorf("%w: --catalog: %s selects no stream (set \"selected\": true in a stream's metadata with breadcrumb [])", connector.ErrConfig, path)
	}
	// Keep extract's stream order: parents before their children.
	cfg.Streams = slices.DeleteFunc(cfg.Streams, func(s string) bool { return !slices.Contains(streams, s) })
	return nil
}

// aboutSetting is one setting in --about, in Meltano's terms.
type aboutSetting struct {
	Name        string `json:"name"`
	Kind        string `json:"kind"`
	Description string `json:"description"`
	Env         string `json:"env,omitempty"`
	Default     string `json:"default,omitempty"`
	Sensitive   bool   `json:"sensitive,omitempty"`
}

// notSinger are the settings Singer mode does not use: it writes no files and keeps no
// state or token file of its own, and `extract auth` is not a Singer command.
var notSinger = []string{"state", "output", "format", "token_file", "s3_endpoint", "s3_region", "s3_path_style", "redirect_uri", "authorize_url",
	"progress_interval", "summary_file", "metrics_textfile"}

// singerSettings are the settings of the plugin: the configuration keys Singer mode uses.
func singerSettings() []aboutSetting {
	var out []aboutSetting
	for _, s := range settings {
		if slices.Contains(notSinger, s.key) {
			continue
		}
		kind := "string"
		switch s.key {
		case "concurrency", "file_rows":
			kind = "integer"
		case "s3_path_style":
			kind = "boolean"
		case "stream_columns":
			kind = "object"
		}
		if s.secret {
			kind = "password"
		}
		a := aboutSetting{Name: s.key, Kind: kind, Description: s.help, Default: s.def, Sensitive: s.secret}
		if s.env != "" {
			a.Env = tapAlias(s.env)
		}
		out = append(out, a)
	}
	return out
}

func printAbout(w io.Writer, format string) error {
	about := struct {
		Name         string         `json:"name"`
		Description  string         `json:"description"`
		Version      string         `json:"version"`
		Capabilities []string       `json:"capabilities"`
		Settings     []aboutSetting `json:"settings"`
	}{Name: singerPlugin, Description: "NetSuite CRM (customers, contacts, calendar events, tasks, phone calls, address books, subsidiary memberships) through SuiteQL, incrementally",
		Version: version, Capabilities: []string{"catalog", "discover", "state", "about"}, Settings: singerSettings()}
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(about)
	case "text", "":
		fmt.Fprintf(w, "Name: %s\nDescription: %s\nVersion: %s\nCapabilities: %s\nSettings:\n", about.Name, about.Description, about.Version, strings.Join(about.Capabilities, ", "))
		for _, s := range about.Settings {
			fmt.Fprintf(w, "  %s (%s): %s\n", s.Name, s.Kind, s.Description)
		}
		return nil
	}
	return fmt.Errorf("%w: --format: want text or json, got %q", connector.ErrConfig, format)
}
