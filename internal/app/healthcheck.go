package app

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/refhub/referral-service/internal/config"
)

// healthcheckTimeout bounds the whole probe: connecting, the request and the
// answer's headers.
const healthcheckTimeout = 3 * time.Second

// healthcheck is `referral-api healthcheck`: GET /healthz on this machine's
// loopback at the port the server listens on (HTTP_ADDR, else PORT, else
// 8080, read exactly as the server reads them). nil means 200; any other
// answer, no answer within healthcheckTimeout, or a bad HTTP_ADDR/PORT is an
// error, so the process exits 1. It reads no other configuration, opens no
// database and writes nothing on success: it is meant for container health
// checks in images without a shell or curl (distroless). The server must
// listen on loopback, i.e. on all interfaces (":8080", the default) or on
// 127.0.0.1.
func healthcheck(ctx context.Context, getenv func(string) string, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("usage: referral-api healthcheck (no arguments; it reads HTTP_ADDR or PORT)")
	}
	addr, err := config.HTTPAddr(getenv)
	if err != nil {
		return err
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" || port == "0" {
		return fmt.Errorf("HTTP_ADDR: %q names no port to check", addr)
	}
	url := "http://" + net.JoinHostPort("127.0.0.1", port) + "/healthz"

	ctx, cancel := context.WithTimeout(ctx, healthcheckTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	client := &http.Client{
		// A fresh transport: no proxy from the environment, no kept connection.
		Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
		// A redirect is not healthy; report it as it is.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	res, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<16))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: GET %s: %s", url, res.Status)
	}
	return nil
}
