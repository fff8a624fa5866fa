package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// ErrUnauthorized wraps a registry's refusal of a login.
var ErrUnauthorized = errors.New("unauthorized")

// maxMessage bounds how much of a registry's error text is shown.
const maxMessage = 512

// Verify logs in to server (a ServerAddress) as user with password the
// way a client will use them: it answers the registry's challenge (basic
// auth, or the bearer token flow) and asks GET /v2/. insecure speaks
// plain HTTP (localhost and 127.0.0.0/8 always do). A refusal wraps
// ErrUnauthorized and carries the registry's own message.
func Verify(ctx context.Context, server, user, password string, insecure bool, rt http.RoundTripper) error {
	host := server
	if server == DefaultServer {
		host = name.DefaultRegistry
	}
	var opts []name.Option
	if insecure {
		opts = append(opts, name.Insecure)
	}
	reg, err := name.NewRegistry(host, opts...)
	if err != nil {
		return fmt.Errorf("registry %q: %w", server, err)
	}
	if rt == nil {
		rt = http.DefaultTransport
	}
	auth := &authn.Basic{Username: user, Password: password}
	tr, err := transport.NewWithContext(ctx, reg, auth, rt, nil)
	if err != nil {
		return refusal(host, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, reg.Scheme()+"://"+reg.RegistryStr()+"/v2/", nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return fmt.Errorf("login to %s: %w", host, err)
	}
	defer resp.Body.Close()
	if err := transport.CheckError(resp, http.StatusOK); err != nil {
		return refusal(host, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	return nil
}

func refusal(host string, err error) error {
	var te *transport.Error
	if errors.As(err, &te) && (te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden) {
		return fmt.Errorf("login to %s: %w: %s", host, ErrUnauthorized, Bound(te.Error()))
	}
	return fmt.Errorf("login to %s: %s", host, Bound(err.Error()))
}

// Bound cuts s (a registry's message, which may be a whole HTML page) to
// a length fit for one error line.
func Bound(s string) string {
	if len(s) <= maxMessage {
		return s
	}
	return s[:maxMessage] + "… (truncated)"
}
