package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/extract-dev/extract/connector"
	"github.com/extract-dev/extract/connector/auth"
)

// cmdAuth runs the authorization-code flow once and saves the refresh token to the token
// file, where `extract run` finds it without NETSUITE_REFRESH_TOKEN.
func cmdAuth(ctx context.Context, s *session, args []string, getenv func(string) string) error {
	stdin, stdout, stderr := s.stdin, s.stdout, s.stderr
	fs := newFlagSet("auth", "Get a first OAuth 2.0 refresh token: open the printed URL, approve, paste the URL you are redirected to.", stderr)
	scope := fs.String("scope", "rest_webservices", "scopes to ask for, space-separated")
	cfg, err := loadConfig(s, fs, args, getenv, authCodeFlow)
	if err != nil {
		return err
	}
	flow, err := auth.NewCodeFlow(cfg.AuthorizeURL, cfg.TokenURL, cfg.Auth.ClientID, cfg.Auth.ClientSecret, cfg.RedirectURI, *scope, cfg.Auth.AccountID)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Open this URL, log in with the integration's role and approve:\n\n  %s\n\nThen paste the full URL your browser was redirected to and press Enter:\n", flow.AuthURL())
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && strings.TrimSpace(line) == "" {
		return fmt.Errorf("%w: no redirect URL on standard input", connector.ErrConfig)
	}
	refresh, err := flow.Exchange(ctx, line, &http.Client{Timeout: time.Minute})
	if err != nil {
		return err
	}
	// Saved as a chain with no configured token, which `run` then prefers.
	store, _, err := tokenStore(cfg, "")
	if err != nil {
		return err
	}
	if err := store.Save(refresh); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Saved the refresh token to %s (mode 0600). Unset NETSUITE_REFRESH_TOKEN or leave it empty; `extract run` uses this file.\n", cfg.TokenFile)
	return nil
}
