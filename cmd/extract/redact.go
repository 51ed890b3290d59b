package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// redacted replaces a secret wherever one would be printed.
const redacted = "[REDACTED]"

// minSecretLen is the shortest value redacted. Shorter ones are left alone on purpose:
// a one-to-five character "secret" (a test value, a placeholder such as "x" or "none",
// a short numeric id) occurs inside ordinary words, numbers, ids and timestamps, so
// replacing it would shred every log line — and hide the very facts needed to debug —
// while protecting nothing that deserves the name: NetSuite's real credentials are 32+
// hex or base64 characters.
const minSecretLen = 6

// minPEMLineLen is the shortest line of a PEM private key redacted on its own. A key is
// redacted whole as well; single lines are for messages that quote part of it (a parse
// error, a JSON-escaped copy whose newlines no longer match). A full body line is 64
// characters; a shorter tail carries too few bits to matter and matches too easily.
const minPEMLineLen = 16

// redactor replaces configured secret values with [REDACTED]. It is safe for concurrent
// use; secrets can be added while others log.
type redactor struct {
	mu      sync.RWMutex
	secrets map[string]bool
	rep     *strings.Replacer // nil while there is nothing to redact
}

func newRedactor() *redactor { return &redactor{secrets: map[string]bool{}} }

// add registers secret values. Values shorter than minSecretLen are ignored (see there).
// Besides the value itself, the forms it takes when quoted or URL-encoded are added, so
// an error that echoes a request body or a %q-formatted value is covered too.
func (r *redactor) add(values ...string) {
	var fresh []string
	for _, v := range values {
		for _, form := range []string{v, strings.TrimSpace(v)} {
			fresh = append(fresh, form, url.QueryEscape(form), url.PathEscape(form), unquoted(strconv.Quote(form)), unquoted(jsonString(form)))
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	changed := false
	for _, s := range fresh {
		if len(s) >= minSecretLen && !r.secrets[s] {
			r.secrets[s] = true
			changed = true
		}
	}
	if !changed {
		return
	}
	// Longest first: strings.Replacer tries its old strings in argument order at each
	// position, so a secret that contains another is replaced whole.
	all := make([]string, 0, len(r.secrets))
	for s := range r.secrets {
		all = append(all, s)
	}
	slices.SortFunc(all, func(a, b string) int {
		return cmp.Or(cmp.Compare(len(b), len(a)), strings.Compare(a, b))
	})
	pairs := make([]string, 0, 2*len(all))
	for _, s := range all {
		pairs = append(pairs, s, redacted)
	}
	r.rep = strings.NewReplacer(pairs...)
}

// addPEM registers a PEM private key: the whole text and each of its lines of at least
// minPEMLineLen characters. The "-----BEGIN/END …-----" armour lines are public
// constants, not secrets, and are kept so that messages about the key's format stay
// readable.
func (r *redactor) addPEM(pem string) {
	if strings.TrimSpace(pem) == "" {
		return
	}
	vals := []string{pem}
	for _, line := range strings.Split(pem, "\n") {
		line = strings.TrimSpace(line)
		if len(line) >= minPEMLineLen && !strings.HasPrefix(line, "-----") {
			vals = append(vals, line)
		}
	}
	r.add(vals...)
}

func unquoted(q string) string {
	if len(q) >= 2 {
		return q[1 : len(q)-1]
	}
	return q
}

func jsonString(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}

func (r *redactor) replacer() *strings.Replacer {
	if r == nil {
		return nil
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.rep
}

// String returns s with every secret replaced.
func (r *redactor) String(s string) string {
	out, _ := r.replace(s)
	return out
}

// replace returns s with every secret replaced, and whether there was one.
func (r *redactor) replace(s string) (string, bool) {
	rep := r.replacer()
	if rep == nil {
		return s, false
	}
	out := rep.Replace(s)
	return out, out != s
}

// Error is the text of err with every secret replaced: what the final "extract: …" line
// prints.
func (r *redactor) Error(err error) string {
	if err == nil {
		return ""
	}
	return r.String(err.Error())
}

// redactHandler is a slog.Handler that redacts secrets from the message, from attribute
// keys and values — strings, errors, Stringers, byte slices and any other value whose
// printed or JSON form holds a secret — at any depth of groups, before the wrapped handler
// encodes them. (Redacting the encoded bytes instead would miss secrets that the JSON
// encoder escapes.)
type redactHandler struct {
	next slog.Handler
	r    *redactor
}

func newRedactHandler(next slog.Handler, r *redactor) slog.Handler {
	return &redactHandler{next: next, r: r}
}

func (h *redactHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *redactHandler) Handle(ctx context.Context, rec slog.Record) error {
	if h.r.replacer() == nil {
		return h.next.Handle(ctx, rec)
	}
	out := slog.NewRecord(rec.Time, rec.Level, h.r.String(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.r.attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h *redactHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		clean[i] = h.r.attr(a)
	}
	return &redactHandler{next: h.next.WithAttrs(clean), r: h.r}
}

func (h *redactHandler) WithGroup(name string) slog.Handler {
	return &redactHandler{next: h.next.WithGroup(h.r.String(name)), r: h.r}
}

// attr returns a with its key and value redacted.
func (r *redactor) attr(a slog.Attr) slog.Attr {
	a.Key = r.String(a.Key)
	a.Value = r.value(a.Value.Resolve())
	return a
}

func (r *redactor) value(v slog.Value) slog.Value {
	switch v.Kind() {
	case slog.KindString:
		if s, ok := r.replace(v.String()); ok {
			return slog.StringValue(s)
		}
	case slog.KindGroup:
		attrs := v.Group()
		clean := make([]slog.Attr, len(attrs))
		for i, a := range attrs {
			clean[i] = r.attr(a)
		}
		return slog.GroupValue(clean...)
	case slog.KindAny:
		if s, ok := r.anyText(v.Any()); ok {
			return slog.StringValue(s)
		}
	}
	// Numbers, booleans, times and durations carry no configured secret.
	return v
}

// anyText reports the redacted text of a value of any other type, if the way a handler
// would print it holds a secret. The value is then logged as that text.
func (r *redactor) anyText(v any) (text string, changed bool) {
	if r.replacer() == nil {
		return "", false
	}
	// A nil pointer's Error or String method may panic: leave such a value to the
	// wrapped handler, which prints it as it would have.
	defer func() {
		if recover() != nil {
			text, changed = "", false
		}
	}()
	switch x := v.(type) {
	case nil:
		return "", false
	case error:
		return r.replace(x.Error())
	case fmt.Stringer:
		return r.replace(x.String())
	case []byte:
		return r.replace(string(x))
	}
	if s, ok := r.replace(fmt.Sprintf("%+v", v)); ok {
		return s, true
	}
	if b, err := json.Marshal(v); err == nil {
		return r.replace(string(b))
	}
	return "", false
}
