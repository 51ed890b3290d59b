package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/extract-dev/extract/connector"
	"github.com/extract-dev/extract/connector/auth"
	"github.com/extract-dev/extract/connector/pipeline"
	"github.com/extract-dev/extract/sink"
	"github.com/extract-dev/extract/sink/location"
	"github.com/extract-dev/extract/state"
)

// setting is one configuration value and every name it goes by. Precedence:
// flag > environment > config file > default.
type setting struct {
	key    string // config-file key
	env    string // environment variable, "" if none
	flag   string // flag name, "" if none
	def    string
	help   string
	secret bool
	// structured settings take a JSON object or array in the config file, kept as its
	// JSON text until buildConfig reads it.
	structured bool
	// fileFor names the secret setting whose value this setting's file holds
	// (client_secret_file, NETSUITE_CLIENT_SECRET_FILE: Kubernetes and Docker secrets).
	fileFor string
}

// Every secret also comes from a file: <key>_file, <ENV>_FILE. The private key has had
// its own private_key_file all along (read by loadPrivateKey, a PEM file as it is).
func init() {
	for _, s := range settings {
		if s.secret && s.key != "private_key" {
			settings = append(settings, setting{key: s.key + "_file", env: s.env + "_FILE", fileFor: s.key,
				help: "file holding " + s.key + " (one trailing newline is trimmed), instead of " + s.env})
		}
	}
}

var settings = []setting{
	{key: "account_id", env: "NETSUITE_ACCOUNT_ID", help: "NetSuite account id, e.g. 1234567 or 1234567_SB1"},
	{key: "base_url", env: "NETSUITE_BASE_URL", help: "REST base URL (default https://<account-host>.suitetalk.api.netsuite.com)"},
	{key: "token_url", env: "NETSUITE_TOKEN_URL", help: "OAuth 2.0 token endpoint (default <base_url>/services/rest/auth/oauth2/v1/token)"},
	{key: "auth_method", env: "NETSUITE_AUTH_METHOD", help: "oauth2-refresh | oauth2-m2m | tba"},
	{key: "client_id", env: "NETSUITE_CLIENT_ID", help: "integration record client id", secret: true},
	{key: "client_secret", env: "NETSUITE_CLIENT_SECRET", help: "integration record client secret", secret: true},
	{key: "refresh_token", env: "NETSUITE_REFRESH_TOKEN", help: "OAuth 2.0 refresh token (oauth2-refresh)", secret: true},
	{key: "token_file", env: "NETSUITE_TOKEN_FILE", flag: "token-file", help: "where a rotated refresh token is kept: a file (mode 0600) or an object-storage URL (default <state>.token; beside the state on object storage)"},
	{key: "redirect_uri", env: "NETSUITE_REDIRECT_URI", flag: "redirect-uri", help: "redirect URI of the integration record (extract auth)"},
	{key: "authorize_url", env: "NETSUITE_AUTHORIZE_URL", help: "authorization page (default https://<host-id>.app.netsuite.com/app/login/oauth2/authorize.nl)"},
	{key: "certificate_id", env: "NETSUITE_CERTIFICATE_ID", help: "certificate id of the uploaded public key (oauth2-m2m)"},
	{key: "private_key_file", env: "NETSUITE_PRIVATE_KEY_FILE", help: "PEM private key that signs the JWT assertion (oauth2-m2m)"},
	{key: "private_key", env: "NETSUITE_PRIVATE_KEY", help: "PEM private key content, instead of a file (oauth2-m2m)", secret: true},
	{key: "jwt_algorithm", env: "NETSUITE_JWT_ALGORITHM", help: "PS256|PS384|PS512|ES256|ES384|ES512 (default from the key: PS256 or ES256)"},
	{key: "scope", env: "NETSUITE_SCOPE", def: "rest_webservices", help: "OAuth 2.0 scope of the M2M assertion"},
	{key: "consumer_key", env: "NETSUITE_CONSUMER_KEY", help: "integration consumer key (tba)", secret: true},
	{key: "consumer_secret", env: "NETSUITE_CONSUMER_SECRET", help: "integration consumer secret (tba)", secret: true},
	{key: "token_id", env: "NETSUITE_TOKEN_ID", help: "access token id (tba)", secret: true},
	{key: "token_secret", env: "NETSUITE_TOKEN_SECRET", help: "access token secret (tba)", secret: true},
	{key: "concurrency", env: "NETSUITE_CONCURRENCY", flag: "concurrency", def: "4", help: "requests in flight at once, shared fairly by all streams; a big stream is read in id slices to use them (keep below the account's limit)"},
	{key: "timezone", env: "NETSUITE_TIMEZONE", flag: "timezone", help: "session time zone of TO_CHAR/TO_TIMESTAMP (default: ask NetSuite, SESSIONTIMEZONE)"},
	{key: "request_timeout", env: "NETSUITE_REQUEST_TIMEOUT", flag: "request-timeout", def: "5m", help: "timeout of one HTTP request (NetSuite stops queries at 15m)"},
	{key: "retry_max_elapsed", env: "NETSUITE_RETRY_MAX_ELAPSED", flag: "retry-max-elapsed", def: connector.DefaultRetryMaxElapsed.String(), help: "retry a failed request (429, 5xx, timeouts, dropped connections) until this long after its first attempt; waits back off up to 60s and honour Retry-After"},
	{key: "state", flag: "state", def: "extract-state.json", help: "state file (checkpoints), or an object-storage URL whose _state/ holds them; locked while a run uses it (default: the --output URL when that is object storage)"},
	{key: "output", flag: "output", def: "out", help: "output directory or object-storage URL (s3://bucket/prefix, gs://…, azblob://…); files go to <output>/<stream>/dt=<date>/run=<run id>/"},
	{key: "s3_endpoint", env: "NETSUITE_S3_ENDPOINT", flag: "s3-endpoint", help: "S3 endpoint for S3-compatible stores, e.g. http://minio:9000 (default AWS; AWS_ENDPOINT_URL_S3 also works)"},
	{key: "s3_region", env: "NETSUITE_S3_REGION", flag: "s3-region", help: "S3 region (default from AWS_REGION or the AWS config)"},
	{key: "s3_path_style", env: "NETSUITE_S3_PATH_STYLE", flag: "s3-path-style", help: "true: address S3 buckets by path, as MinIO needs"},
	{key: "format", flag: "format", def: "parquet", help: "parquet | ndjson"},
	{key: "streams", flag: "streams", def: strings.Join(connector.AllStreams(), ","), help: "comma-separated subset of " + strings.Join(connector.AllStreams(), ",")},
	{key: "lookback", flag: "lookback", def: pipeline.DefaultLookback.String(), help: "re-read this much before the saved watermark on each run"},
	{key: "start_date", flag: "start-date", help: "lower bound (RFC 3339 or YYYY-MM-DD, UTC) of a stream's first run; default all history"},
	{key: "custom_fields", flag: "custom-fields", def: "all", structured: true, help: "custom fields to extract: all | none | comma-separated names or patterns (custentity_region,custevent_*); in the config file also a JSON list"},
	{key: "stream_columns", structured: true, help: `per-stream column choice in the config file: {"customer": {"columns": [...], "exclude_columns": ["custentity_ssn*"], "custom_fields": "none"}}`},
	{key: "custom_fields_ttl", flag: "custom-fields-ttl", def: pipeline.DefaultCustomFieldsTTL.String(), help: "how long the custom-field catalog read from NetSuite is reused before it is read again"},
	{key: "full_scan_interval", flag: "full-scan-interval", def: pipeline.DefaultFullScanInterval.String(), help: "how often address books and subsidiary memberships are read in full, to catch changes NetSuite does not stamp"},
	{key: "file_rows", flag: "file-rows", def: "100000", help: "rows per output file; a checkpoint follows each file"},
	{key: "log_format", flag: "log-format", help: "json | text (default json unless stderr is a terminal)"},
	{key: "log_level", flag: "log-level", def: "info", help: "debug | info | warn | error"},
	{key: "shutdown_timeout", flag: "shutdown-timeout", def: "30s", help: "after SIGINT/SIGTERM or --max-duration, exit anyway if the run has not stopped within this long (a second signal exits at once)"},
	{key: "singer_index_dir", env: "NETSUITE_SINGER_INDEX_DIR", help: "extract singer: directory of the child streams' line indexes (default <user cache dir>/extract/singer/<account>)"},
	{key: "max_duration", flag: "max-duration", help: "stop the run after this long, like an interrupt, and exit with code 4 (default no limit)"},
	{key: "progress_interval", flag: "progress-interval", def: "30s", help: "progress of each stream on stderr: bars on a terminal, else a JSON log line per stream this often (0 disables both)"},
	{key: "summary_file", flag: "summary-file", help: "also write the run summary JSON (as run --json prints it, with exit_code and error) to this file, atomically, also when the run fails; e.g. /airflow/xcom/return.json"},
	{key: "metrics_textfile", flag: "metrics-textfile", help: "write the run's Prometheus metrics to this file (node_exporter textfile collector), atomically, after every run"},
}

// Config is the validated configuration of a run.
type Config struct {
	AccountID, BaseURL, TokenURL string
	Auth                         auth.Config
	TokenFile                    string // rotated refresh tokens (oauth2-refresh)
	RedirectURI, AuthorizeURL    string // the authorization-code flow of `extract auth`
	Concurrency                  int
	TimeZone                     *time.Location
	RequestTimeout               time.Duration
	Retry                        connector.RetryPolicy // MaxElapsed from retry_max_elapsed; the rest connector's defaults
	StatePath, OutputDir         string                // paths or object-storage URLs
	Storage                      location.Options
	Format                       sink.Format
	Streams                      []string
	Lookback                     time.Duration
	StartDate                    time.Time
	Columns                      map[string]connector.ColumnSelection // per stream; from custom_fields and stream_columns
	CustomFieldsTTL              time.Duration
	FullScanInterval             time.Duration
	FileRows                     int64
	LogFormat, LogLevel          string
	ShutdownTimeout              time.Duration // how long a stop may take before the process exits anyway
	MaxDuration                  time.Duration // total run deadline; 0: none
	SingerIndexDir               string        // extract singer: the child streams' line indexes
	ProgressInterval             time.Duration // 0: no progress
	SummaryFile                  string        // run summary JSON, "" none
	MetricsFile                  string        // Prometheus textfile, "" none
}

// addFlags registers the settings that have flags, plus --config.
func addFlags(fs *flag.FlagSet) *string {
	for _, s := range settings {
		if s.flag != "" {
			fs.String(s.flag, "", s.help+defaultNote(s))
		}
	}
	return fs.String("config", "", "JSON config file; keys: "+configKeys())
}

func defaultNote(s setting) string {
	if s.def == "" {
		return ""
	}
	return " (default " + s.def + ")"
}

func configKeys() string {
	keys := make([]string, len(settings))
	for i, s := range settings {
		keys[i] = s.key
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}

// values resolves every setting by precedence. The returned map also records where each
// value came from, for error messages.
func values(fs *flag.FlagSet, configPath string, getenv func(string) string) (map[string]string, map[string]string, error) {
	val, from := map[string]string{}, map[string]string{}
	for _, s := range settings {
		if s.def != "" {
			val[s.key], from[s.key] = s.def, "default"
		}
	}
	if configPath != "" {
		file, err := readConfigFile(configPath)
		if err != nil {
			return nil, nil, err
		}
		for k, v := range file {
			val[k], from[k] = v, fmt.Sprintf("%q in %s", k, configPath)
		}
	}
	for _, s := range settings {
		if s.env == "" {
			continue
		}
		// Meltano passes settings as TAP_NETSUITE_<SETTING>: an alias, NETSUITE_* wins.
		if v, ok := lookupEnv(getenv, s.env); ok {
			val[s.key], from[s.key] = v, s.env
		} else if v, ok := lookupEnv(getenv, tapAlias(s.env)); ok {
			val[s.key], from[s.key] = v, tapAlias(s.env)
		}
	}
	fs.Visit(func(f *flag.Flag) {
		for _, s := range settings {
			if s.flag == f.Name {
				val[s.key], from[s.key] = f.Value.String(), "--"+f.Name
			}
		}
	})
	return val, from, nil
}

// tapAlias is the name Meltano gives an environment variable: TAP_NETSUITE_ACCOUNT_ID
// for NETSUITE_ACCOUNT_ID.
func tapAlias(env string) string { return "TAP_" + env }

// readSecretFiles replaces each <secret>_file setting by the content of its file, under
// the secret's own key (so it is redacted like one set directly), and returns warnings
// for secret files that every user of the machine may read. Errors name the setting and
// the path, never the content.
func readSecretFiles(val, from map[string]string) (warnings []string, err error) {
	for _, s := range settings {
		path := val[s.key]
		if path == "" || (s.fileFor == "" && s.key != "private_key_file") {
			continue
		}
		if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o004 != 0 {
			warnings = append(warnings, fmt.Sprintf("%s: %s is readable by every user (mode %s); make it 0600 or 0400", from[s.key], path, fi.Mode().Perm()))
		}
		if s.fileFor == "" {
			continue // private_key_file: loadPrivateKey reads it
		}
		if val[s.fileFor] != "" {
			return warnings, fmt.Errorf("%w: %s and %s are both set: set one of them", connector.ErrConfig, from[s.fileFor], from[s.key])
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return warnings, fmt.Errorf("%w: %s: cannot read %s: %w", connector.ErrConfig, from[s.key], path, unwrapPathError(err))
		}
		v := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
		if v == "" {
			return warnings, fmt.Errorf("%w: %s: %s is empty", connector.ErrConfig, from[s.key], path)
		}
		val[s.fileFor], from[s.fileFor] = v, from[s.key]+" "+path
		delete(val, s.key)
	}
	return warnings, nil
}

func lookupEnv(getenv func(string) string, name string) (string, bool) {
	v := getenv(name)
	return v, v != ""
}

// readConfigFile reads a flat JSON object of settings. Unknown keys are refused so a typo
// does not silently fall back to a default.
func readConfigFile(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: --config: cannot read %s: %w", connector.ErrConfig, path, unwrapPathError(err))
	}
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&raw); err != nil || raw == nil {
		if err == nil {
			err = fmt.Errorf("want a JSON object")
		}
		return nil, fmt.Errorf("%w: --config: %s is not a JSON object of settings: %w", connector.ErrConfig, path, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: --config: %s has data after the JSON object", connector.ErrConfig, path)
	}
	known := map[string]setting{}
	for _, s := range settings {
		known[s.key] = s
	}
	out := map[string]string{}
	for k, v := range raw {
		st, ok := known[k]
		if !ok {
			return nil, fmt.Errorf("%w: --config: %s: unknown setting %q (known: %s)", connector.ErrConfig, path, k, configKeys())
		}
		if t := bytes.TrimSpace(v); st.structured && len(t) > 0 && (t[0] == '{' || t[0] == '[') {
			out[k] = string(t)
			continue
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			// Numbers and booleans are accepted in their JSON text form.
			var n json.Number
			if json.Unmarshal(v, &n) != nil {
				return nil, fmt.Errorf("%w: --config: %s: setting %q must be a string or a number", connector.ErrConfig, path, k)
			}
			s = n.String()
		}
		out[k] = s
	}
	return out, nil
}

func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

var accountIDPattern = regexp.MustCompile(`^[0-9A-Za-z]+([_-][0-9A-Za-z]+)*$`)

// authNeed says how much of the connection a command needs.
type authNeed int

const (
	authNone     authNeed = iota // offline commands
	authFull                     // a working credential for the chosen method
	authCodeFlow                 // account and client credentials only (extract auth)
)

// buildConfig validates the resolved values into a Config; every error names the setting.
func buildConfig(val, from map[string]string, need authNeed) (*Config, error) {
	return buildConfigWith(val, from, need, false)
}

// buildConfigWith is buildConfig; with memoryTokens (Singer mode, where the orchestrator
// owns the state) no token file is read or written: the caller decides what a rotated
// refresh token becomes.
func buildConfigWith(val, from map[string]string, need authNeed, memoryTokens bool) (*Config, error) {
	bad := func(key, format string, args ...any) error {
		name := from[key]
		if name == "" {
			name = nameOf(key)
		}
		return fmt.Errorf("%w: %s: %s", connector.ErrConfig, name, fmt.Sprintf(format, args...))
	}
	c := &Config{StatePath: val["state"], OutputDir: val["output"], LogFormat: val["log_format"], LogLevel: val["log_level"], SingerIndexDir: val["singer_index_dir"],
		Storage: location.Options{S3Endpoint: val["s3_endpoint"], S3Region: val["s3_region"]}}
	var err error
	if v := val["s3_path_style"]; v != "" {
		if c.Storage.S3PathStyle, err = strconv.ParseBool(v); err != nil {
			return nil, bad("s3_path_style", "want true or false, got %q", v)
		}
	}
	if from["state"] == "default" && isURL(c.OutputDir) {
		// On object storage the state lives beside the data, not on a pod's disk that
		// vanishes with it.
		c.StatePath = c.OutputDir
	}
	if c.StatePath == "" {
		return nil, bad("state", "must not be empty")
	}
	if c.TokenFile = val["token_file"]; c.TokenFile == "" {
		c.TokenFile = c.StatePath + ".token"
		if isURL(c.StatePath) {
			c.TokenFile = c.StatePath
		}
	}
	if need != authNone {
		c.AccountID = strings.TrimSpace(val["account_id"])
		if c.AccountID == "" {
			return nil, bad("account_id", "the NetSuite account id is required (e.g. 1234567 or 1234567_SB1)")
		}
		if !accountIDPattern.MatchString(c.AccountID) {
			return nil, bad("account_id", "%q is not a NetSuite account id (letters, digits, and _ or - between them)", c.AccountID)
		}
		c.BaseURL = strings.TrimRight(val["base_url"], "/")
		if c.BaseURL == "" {
			c.BaseURL = "https://" + hostID(c.AccountID) + ".suitetalk.api.netsuite.com"
		}
		c.TokenURL = val["token_url"]
		if c.TokenURL == "" {
			c.TokenURL = c.BaseURL + "/services/rest/auth/oauth2/v1/token"
		}
		c.RedirectURI, c.AuthorizeURL = val["redirect_uri"], val["authorize_url"]
		if c.AuthorizeURL == "" {
			c.AuthorizeURL = "https://" + hostID(c.AccountID) + ".app.netsuite.com/app/login/oauth2/authorize.nl"
		}
		method := auth.OAuth2Refresh
		if need == authFull {
			if method, err = auth.ParseMethod(val["auth_method"]); err != nil {
				if from["auth_method"] != "" {
					return nil, bad("auth_method", "%s", strings.TrimPrefix(err.Error(), connector.ErrConfig.Error()+": NETSUITE_AUTH_METHOD "))
				}
				return nil, err
			}
		}
		c.Auth = auth.Config{Method: method, AccountID: strings.ToUpper(strings.ReplaceAll(c.AccountID, "-", "_")), TokenURL: c.TokenURL,
			ClientID: val["client_id"], ClientSecret: val["client_secret"], RefreshToken: val["refresh_token"],
			CertificateID: val["certificate_id"], Algorithm: val["jwt_algorithm"], Scope: val["scope"],
			ConsumerKey: val["consumer_key"], ConsumerSecret: val["consumer_secret"], TokenID: val["token_id"], TokenSecret: val["token_secret"],
			Names: func(key string) string {
				if from[key] == "default" {
					return ""
				}
				return from[key]
			}}
		switch {
		case need == authCodeFlow:
		case method == auth.OAuth2M2M:
			if err := loadPrivateKey(&c.Auth, val, from, bad); err != nil {
				return nil, err
			}
		case method == auth.OAuth2Refresh && memoryTokens:
		case method == auth.OAuth2Refresh:
			// A refresh token saved by an earlier run (rotation) or by `extract auth` is
			// preferred unless a different one has been configured since.
			store, token, err := tokenStore(c, c.Auth.RefreshToken)
			if err != nil {
				if errors.Is(err, state.ErrCorrupt) || errors.Is(err, state.ErrAccount) {
					return nil, err
				}
				return nil, bad("token_file", "%v", err)
			}
			c.Auth.RefreshToken, c.Auth.OnRefreshToken = token, store.Save
		}
		if need == authFull {
			if err := c.Auth.Validate(); err != nil {
				return nil, err
			}
		}
	}
	if c.Concurrency, err = strconv.Atoi(val["concurrency"]); err != nil || c.Concurrency < 1 || c.Concurrency > 100 {
		return nil, bad("concurrency", "want a whole number from 1 to 100, got %q", val["concurrency"])
	}
	if tz := val["timezone"]; tz != "" {
		if c.TimeZone, err = connector.ParseSessionZone(tz); err != nil {
			return nil, bad("timezone", "%v", err)
		}
	}
	if c.RequestTimeout, err = time.ParseDuration(val["request_timeout"]); err != nil || c.RequestTimeout <= 0 {
		return nil, bad("request_timeout", "want a positive duration such as 5m, got %q", val["request_timeout"])
	}
	if c.Retry.MaxElapsed, err = time.ParseDuration(val["retry_max_elapsed"]); err != nil || c.Retry.MaxElapsed <= 0 {
		return nil, bad("retry_max_elapsed", "want a positive duration such as 15m, got %q", val["retry_max_elapsed"])
	}
	if c.Format, err = sink.ParseFormat(val["format"]); err != nil {
		return nil, bad("format", "want parquet or ndjson, got %q", val["format"])
	}
	if c.Streams, err = connector.ParseStreams(val["streams"]); err != nil {
		return nil, bad("streams", "%v", strings.TrimPrefix(err.Error(), connector.ErrConfig.Error()+": --streams: "))
	}
	if c.Lookback, err = time.ParseDuration(val["lookback"]); err != nil || c.Lookback < 0 {
		return nil, bad("lookback", "want a duration such as 10m (0 to disable), got %q", val["lookback"])
	}
	if sd := val["start_date"]; sd != "" {
		if c.StartDate, err = parseStartDate(sd); err != nil {
			return nil, bad("start_date", "want RFC 3339 (2024-01-31T00:00:00Z) or YYYY-MM-DD, got %q", sd)
		}
	}
	if c.Columns, err = columnSelections(val, c.Streams, bad); err != nil {
		return nil, err
	}
	if c.CustomFieldsTTL, err = time.ParseDuration(val["custom_fields_ttl"]); err != nil || c.CustomFieldsTTL <= 0 {
		return nil, bad("custom_fields_ttl", "want a positive duration such as 1h, got %q", val["custom_fields_ttl"])
	}
	if c.FullScanInterval, err = time.ParseDuration(val["full_scan_interval"]); err != nil || c.FullScanInterval <= 0 {
		return nil, bad("full_scan_interval", "want a positive duration such as 24h, got %q", val["full_scan_interval"])
	}
	if c.FileRows, err = strconv.ParseInt(val["file_rows"], 10, 64); err != nil || c.FileRows < 1 {
		return nil, bad("file_rows", "want a positive whole number, got %q", val["file_rows"])
	}
	switch c.LogFormat {
	case "", "json", "text":
	default:
		return nil, bad("log_format", "want json or text, got %q", c.LogFormat)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return nil, bad("log_level", "want debug, info, warn or error, got %q", c.LogLevel)
	}
	if c.OutputDir == "" {
		return nil, bad("output", "must not be empty")
	}
	if c.ShutdownTimeout, err = time.ParseDuration(val["shutdown_timeout"]); err != nil || c.ShutdownTimeout <= 0 {
		return nil, bad("shutdown_timeout", "want a positive duration such as 30s, got %q", val["shutdown_timeout"])
	}
	if md := val["max_duration"]; md != "" {
		if c.MaxDuration, err = time.ParseDuration(md); err != nil || c.MaxDuration <= 0 {
			return nil, bad("max_duration", "want a positive duration such as 2h, got %q", md)
		}
	}
	if c.ProgressInterval, err = time.ParseDuration(val["progress_interval"]); err != nil || c.ProgressInterval < 0 {
		return nil, bad("progress_interval", "want a duration such as 30s (0 to disable), got %q", val["progress_interval"])
	}
	c.SummaryFile, c.MetricsFile = val["summary_file"], val["metrics_textfile"]
	for _, k := range []string{"summary_file", "metrics_textfile"} {
		if isURL(val[k]) {
			return nil, bad(k, "want a local file path, got %q", val[k])
		}
	}
	return c, nil
}

// columnSelections reads custom_fields (the default for every stream) and stream_columns
// (per stream) into each stream's column selection, and validates them: a pattern that
// cannot match, an unknown stream or key, or a selection that loses a stream's key or
// cursor is an error naming the setting.
func columnSelections(val map[string]string, streams []string, bad func(key, format string, args ...any) error) (map[string]connector.ColumnSelection, error) {
	def, err := parseCustomFields(val["custom_fields"])
	if err != nil {
		return nil, bad("custom_fields", "%v", err)
	}
	type streamColumns struct {
		Columns        []string        `json:"columns"`
		ExcludeColumns []string        `json:"exclude_columns"`
		CustomFields   json.RawMessage `json:"custom_fields"`
	}
	var per map[string]json.RawMessage
	if raw := strings.TrimSpace(val["stream_columns"]); raw != "" {
		if err := json.Unmarshal([]byte(raw), &per); err != nil || per == nil {
			return nil, bad("stream_columns", `want a JSON object such as {"customer": {"exclude_columns": ["custentity_ssn*"]}}`)
		}
	}
	out := map[string]connector.ColumnSelection{}
	for _, name := range streams {
		out[name] = connector.ColumnSelection{CustomFields: def}
	}
	for name, raw := range per {
		if !slices.Contains(connector.AllStreams(), name) {
			return nil, bad("stream_columns", "unknown stream %q (want one of %s)", name, strings.Join(connector.AllStreams(), ", "))
		}
		var sc streamColumns
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&sc); err != nil {
			return nil, bad("stream_columns", "%s: %v (keys: columns, exclude_columns, custom_fields; lists of column names or patterns)", name, err)
		}
		sel := connector.ColumnSelection{Columns: lower(sc.Columns), ExcludeColumns: lower(sc.ExcludeColumns), CustomFields: def}
		if len(sc.CustomFields) > 0 {
			text := string(sc.CustomFields)
			var s string
			if json.Unmarshal(sc.CustomFields, &s) == nil {
				text = s
			}
			if sel.CustomFields, err = parseCustomFields(text); err != nil {
				return nil, bad("stream_columns", "%s.custom_fields: %v", name, err)
			}
		}
		out[name] = sel
	}
	for name, sel := range out {
		t, err := connector.Table(name)
		if err != nil {
			return nil, err
		}
		if err := sel.Validate(t, name); err != nil {
			key := "stream_columns"
			if len(sel.Columns)+len(sel.ExcludeColumns) == 0 {
				key = "custom_fields"
			}
			return nil, bad(key, "%s", strings.TrimPrefix(err.Error(), connector.ErrConfig.Error()+": "))
		}
	}
	return out, nil
}

// lower lowercases column names and patterns: NetSuite's are lowercase in the output.
func lower(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = strings.ToLower(strings.TrimSpace(n))
	}
	return out
}

// parseCustomFields reads the custom_fields setting: all, none, a comma-separated list of
// names or patterns, or (from the config file) a JSON list of them.
func parseCustomFields(v string) (connector.CustomFieldChoice, error) {
	v = strings.TrimSpace(v)
	var list []string
	switch strings.ToLower(v) {
	case "", "all":
		return connector.CustomFieldChoice{}, nil
	case "none":
		return connector.CustomFieldChoice{None: true}, nil
	}
	if strings.HasPrefix(v, "{") {
		return connector.CustomFieldChoice{}, fmt.Errorf("want all, none or a list of field names, got an object")
	}
	if strings.HasPrefix(v, "[") {
		if err := json.Unmarshal([]byte(v), &list); err != nil {
			return connector.CustomFieldChoice{}, fmt.Errorf("want all, none or a list of field names, got %s", v)
		}
	} else {
		list = strings.Split(v, ",")
	}
	var only []string
	for _, p := range list {
		if p = strings.ToLower(strings.TrimSpace(p)); p != "" {
			only = append(only, p)
		}
	}
	if len(only) == 0 {
		return connector.CustomFieldChoice{None: true}, nil
	}
	return connector.CustomFieldChoice{Only: only}, nil
}

// nameOf is how a person sets key: its flag, else its environment variable.
func nameOf(key string) string {
	for _, s := range settings {
		if s.key == key {
			switch {
			case s.flag != "":
				return "--" + s.flag
			case s.env != "":
				return s.env
			}
		}
	}
	return key
}

// hostID is the account's host label: lowercase, "_" → "-" (1234567_SB1 → 1234567-sb1).
func hostID(account string) string {
	return strings.ToLower(strings.ReplaceAll(account, "_", "-"))
}

func parseStartDate(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	return time.Parse(time.DateOnly, s)
}

// loadPrivateKey takes the M2M signing key from private_key_file or private_key (exactly
// one of them), named in errors as the user set them.
func loadPrivateKey(a *auth.Config, val, from map[string]string, bad func(key, format string, args ...any) error) error {
	file, inline := val["private_key_file"], val["private_key"]
	name := func(key string) string {
		if n := from[key]; n != "" {
			return n
		}
		return nameOf(key)
	}
	switch {
	case file != "" && inline != "":
		return bad("private_key", "set %s or %s, not both", name("private_key_file"), name("private_key"))
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return bad("private_key_file", "cannot read %s: %v", file, unwrapPathError(err))
		}
		a.PrivateKeyPEM, a.PrivateKeySource = b, name("private_key_file")+" "+file
	case inline != "":
		a.PrivateKeyPEM, a.PrivateKeySource = []byte(inline), name("private_key")
	}
	return nil
}
