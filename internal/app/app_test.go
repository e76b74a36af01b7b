package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/refhub/referral-service/internal/testdb"
	"github.com/refhub/referral-service/internal/teststripe"
)

func TestMain(m *testing.M) { testdb.Main(m, teststripe.Start) }

// buildBinary compiles the real command once per test process.
var buildBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "referral-api-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "referral-api")
	out, err := exec.Command("go", "build", "-o", bin, "../../cmd/referral-api").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

func binary(t testing.TB) string {
	t.Helper()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// runCmd runs the binary to completion in dir with env (nothing inherited
// but PATH and HOME).
func runCmd(t testing.TB, dir string, env []string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// process is a running server.
type process struct {
	cmd    *exec.Cmd
	base   string
	stderr *syncBuffer
	done   chan error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startServer(t testing.TB, dir string, env []string) *process {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(binary(t), "serve")
	cmd.Dir = dir
	// No drain after SIGTERM unless a test asks for one: stops stay quick.
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "HTTP_ADDR=" + addr, "SHUTDOWN_DRAIN=0s"}, env...)
	p := &process{cmd: cmd, base: "http://" + addr, stderr: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := http.Get(p.base + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return p
			}
		}
		select {
		case err := <-p.done:
			p.done <- err // for the cleanup, which waits for the exit
			t.Fatalf("server exited early: %v\n%s", err, p.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not become healthy\n%s", p.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitLog waits up to 5s for the server's log to contain want, and returns
// the log. The log arrives through a pipe copied by another goroutine: a
// line the server wrote before it answered may still be on its way.
func (p *process) waitLog(t testing.TB, want string) (string, bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		log := p.stderr.String()
		if strings.Contains(log, want) || time.Now().After(deadline) {
			return log, strings.Contains(log, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitExit waits up to 30s for the server to exit, which must be cleanly.
func (p *process) waitExit(t testing.TB) {
	t.Helper()
	select {
	case err := <-p.done:
		p.done <- err
		if err != nil {
			t.Fatalf("server exited with %v\n%s", err, p.stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("server did not exit\n%s", p.stderr.String())
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (p *process) stop(t testing.TB) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.waitExit(t)
	if !strings.Contains(p.stderr.String(), "msg=stopped") {
		t.Fatalf("no clean stop logged:\n%s", p.stderr.String())
	}
}

func call(t testing.TB, method, url, token, body string) (int, map[string]any) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, _ := http.NewRequestWithContext(context.Background(), method, url, r)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

// walkFlow runs the README's flow against a running server and checks the
// numbers the seed promises.
func walkFlow(t *testing.T, base, userToken, backendToken string) {
	t.Helper()
	status, code := call(t, "GET", base+"/v1/me/referral-code", userToken, "")
	if status != http.StatusOK {
		t.Fatalf("get code: %d %v", status, code)
	}
	status, ref := call(t, "POST", base+"/v1/referrals", backendToken, fmt.Sprintf(`{"referredUserId":"u2","code":%q}`, code["code"]))
	if status != http.StatusCreated || ref["status"] != "PENDING" {
		t.Fatalf("attribute: %d %v", status, ref)
	}
	status, pay := call(t, "POST", base+"/v1/payments", backendToken, `{"paymentId":"pay_123","userId":"u2","amount":10000,"currency":"usd"}`)
	if status != http.StatusOK || pay["qualified"] != true {
		t.Fatalf("payment: %d %v", status, pay)
	}
	status, stats := call(t, "GET", base+"/v1/me/referrals/stats", userToken, "")
	q := stats["byStatus"].(map[string]any)["QUALIFIED"].(map[string]any)
	if status != http.StatusOK || q["count"].(float64) != 1 || q["rewardAmount"].(map[string]any)["usd"].(float64) != 2000 {
		t.Fatalf("stats: %d %v", status, stats)
	}
	status, bal := call(t, "GET", base+"/v1/me/balance", userToken, "")
	if status != http.StatusOK || fmt.Sprint(bal["balances"]) != "[map[amount:2000 available:0 currency:usd pending:2000]]" {
		t.Fatalf("balance: %d %v", status, bal)
	}
}

// TestZeroSetupRun is `make run` on a fresh checkout: no configuration, the
// embedded database, development tokens from the token subcommand.
func TestZeroSetupRun(t *testing.T) {
	dir := t.TempDir()
	p := startServer(t, dir, nil)
	if log, ok := p.waitLog(t, "DEVELOPMENT MODE"); !ok || !strings.Contains(log, "token") {
		t.Fatalf("startup does not explain how to get a token:\n%s", p.stderr.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "referrals.db")); err != nil {
		t.Fatalf("embedded database not created: %v", err)
	}
	userTok, stderr, err := runCmd(t, dir, nil, "token", "-sub", "u1")
	if err != nil {
		t.Fatalf("token: %v %s", err, stderr)
	}
	backendTok, _, err := runCmd(t, dir, nil, "token", "-sub", "backend", "-roles", "service")
	if err != nil {
		t.Fatal(err)
	}
	// Without SMTP settings the referrer's email is logged, not sent.
	if status, body := call(t, "PUT", p.base+"/v1/users/u1/contact", strings.TrimSpace(backendTok), `{"email":"jane@example.com"}`); status != http.StatusOK {
		t.Fatalf("contact: %d %v", status, body)
	}
	walkFlow(t, p.base, strings.TrimSpace(userTok), strings.TrimSpace(backendTok))
	if log, ok := p.waitLog(t, `subject="You earned $20.00"`); !ok || !strings.Contains(log, "to=jane@example.com") || !strings.Contains(log, "SMTP_URL is not set") {
		t.Fatalf("the email is not logged:\n%s", log)
	}
	p.stop(t)

	// The data survives a restart.
	p = startServer(t, dir, nil)
	status, bal := call(t, "GET", p.base+"/v1/me/balance", strings.TrimSpace(userTok), "")
	if status != http.StatusOK || fmt.Sprint(bal["balances"]) != "[map[amount:2000 available:0 currency:usd pending:2000]]" {
		t.Fatalf("after restart: %d %v", status, bal)
	}
	p.stop(t)
}

// TestPostgresRun: migrate subcommand, then serve without auto-migration.
func TestPostgresRun(t *testing.T) {
	dir := t.TempDir()
	dbURL := testdb.EmptyPostgresURL(t)
	secret := "a-production-secret-of-32-bytes-or-more"
	env := []string{"DATABASE_URL=" + dbURL, "JWT_SECRET=" + secret, "AUTO_MIGRATE=false", "JWT_ISSUER=https://auth.example.com"}

	// Without the schema the server starts but is not ready.
	p := startServer(t, dir, env)
	if status, _ := call(t, "GET", p.base+"/readyz", "", ""); status != http.StatusServiceUnavailable {
		t.Fatalf("readyz before migrate = %d, want 503", status)
	}
	p.stop(t)

	if _, stderr, err := runCmd(t, dir, env, "migrate"); err != nil {
		t.Fatalf("migrate: %v\n%s", err, stderr)
	}
	if _, stderr, err := runCmd(t, dir, env, "migrate"); err != nil || !strings.Contains(stderr, "applied=0") {
		t.Fatalf("second migrate: %v\n%s", err, stderr)
	}
	p = startServer(t, dir, env)
	if status, _ := call(t, "GET", p.base+"/readyz", "", ""); status != http.StatusOK {
		t.Fatalf("readyz after migrate = %d", status)
	}
	userTok, _, err := runCmd(t, dir, env, "token", "-sub", "u1")
	if err != nil {
		t.Fatal(err)
	}
	backendTok, _, err := runCmd(t, dir, env, "token", "-sub", "backend", "-roles", "service")
	if err != nil {
		t.Fatal(err)
	}
	walkFlow(t, p.base, strings.TrimSpace(userTok), strings.TrimSpace(backendTok))
	if strings.Contains(p.stderr.String(), "DEVELOPMENT MODE") {
		t.Fatal("development mode on PostgreSQL")
	}
	p.stop(t)
}

func TestConfigurationErrorsFailFast(t *testing.T) {
	cases := []struct {
		name string
		env  []string
		want string
	}{
		{"postgres without JWT secret", []string{"DATABASE_URL=postgres://localhost/x"}, "JWT_SECRET"},
		{"short secret", []string{"JWT_SECRET=short"}, "JWT_SECRET"},
		{"bad percent", []string{"REWARD_PERCENT=twenty"}, "REWARD_PERCENT"},
		{"bad database url", []string{"DATABASE_URL=mysql://x"}, "DATABASE_URL"},
		{"bad app url", []string{"APP_URL=ftp://x"}, "APP_URL"},
		{"bad webhook secret", []string{"STRIPE_WEBHOOK_SECRET=sk_live_oops"}, "STRIPE_WEBHOOK_SECRET"},
		{"bad port", []string{"PORT=http"}, "PORT"},
		{"JWKS over plain http", []string{"JWT_JWKS_URLS=http://auth.example.com/jwks.json"}, "JWT_JWKS_URLS"},
		{"JWKS not a URL", []string{"JWT_JWKS_URLS=auth.example.com"}, "JWT_JWKS_URLS"},
		{"algorithm none", []string{"JWT_SECRET=" + testJWTSecret, "JWT_ALGORITHMS=HS256,none"}, "JWT_ALGORITHMS"},
		{"RS256 without JWKS", []string{"JWT_SECRET=" + testJWTSecret, "JWT_ALGORITHMS=RS256"}, "JWT_ALGORITHMS"},
		{"role map to an unknown role", []string{"JWT_ROLE_MAP=backend:superuser"}, "JWT_ROLE_MAP"},
		{"postgres with neither secret nor JWKS", []string{"DATABASE_URL=postgres://localhost/x", "JWT_ROLE_MAP=backend:service"}, "JWT_JWKS_URLS"},
		{"bad SMTP URL", []string{"SMTP_URL=smtp//user:pw@mail.example.com", "MAIL_FROM=a@example.com"}, "SMTP_URL"},
		{"SMTP without a sender", []string{"SMTP_URL=smtp://mail.example.com"}, "MAIL_FROM"},
		{"missing templates dir", []string{"MAIL_TEMPLATES_DIR=/nonexistent/templates"}, "MAIL_TEMPLATES_DIR"},
		{"broken template", []string{"MAIL_TEMPLATES_DIR=" + brokenTemplates(t)}, "MAIL_TEMPLATES_DIR"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, err := runCmd(t, t.TempDir(), tc.env, "serve")
			if err == nil || !strings.Contains(stderr, tc.want) {
				t.Fatalf("err = %v, stderr = %s; want a failure naming %s", err, stderr, tc.want)
			}
		})
	}
	if _, stderr, err := runCmd(t, t.TempDir(), nil, "frobnicate"); err == nil || !strings.Contains(stderr, "Usage") {
		t.Fatalf("unknown command: %v %s", err, stderr)
	}
}

// brokenTemplates is a templates directory whose one override does not parse.
func brokenTemplates(t *testing.T) string {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "en"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "en", "payout.paid.html"), []byte("<p>{{.Amount</p>"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// minter returns a function minting tokens with the binary's token command
// for the server configured by env: minter(...)("-sub", "u1", "-roles", "admin").
func minter(t testing.TB, dir string, env []string) func(args ...string) string {
	return func(args ...string) string {
		t.Helper()
		out, stderr, err := runCmd(t, dir, env, append([]string{"token"}, args...)...)
		if err != nil {
			t.Fatalf("token: %v\n%s", err, stderr)
		}
		return strings.TrimSpace(out)
	}
}

// eachItem calls fn with every item of a cursor-paged list endpoint
// (path with its query, without cursor), following nextCursor.
func eachItem(t testing.TB, base, path, token string, fn func(item map[string]any)) {
	t.Helper()
	cursor := ""
	for {
		url := base + path
		if cursor != "" {
			url += "&cursor=" + cursor
		}
		status, page := call(t, "GET", url, token, "")
		items, ok := page["items"].([]any)
		if status != http.StatusOK || !ok {
			t.Fatalf("GET %s: %d %v", url, status, page)
		}
		for _, it := range items {
			fn(it.(map[string]any))
		}
		next, _ := page["nextCursor"].(string)
		if next == "" {
			return
		}
		cursor = next
	}
}

// ledgerOf sums a user's ledger through the admin API.
func ledgerOf(t testing.TB, base, admin, user string) (sum int64, entries int) {
	t.Helper()
	eachItem(t, base, "/v1/admin/users/"+user+"/transactions?limit=100", admin, func(e map[string]any) {
		sum += int64(e["amount"].(float64))
		entries++
	})
	return sum, entries
}

// TestAPIKeyCommand: the first admin key comes from the CLI; it works
// against the running server, and the key it creates through the API
// works for a backend.
func TestAPIKeyCommand(t *testing.T) {
	dir := t.TempDir()
	env := []string{"DATABASE_URL=" + testdb.PostgresURL(t), "JWT_SECRET=" + testJWTSecret}
	p := startServer(t, dir, env)
	out, stderr, err := runCmd(t, dir, env, "api-keys", "create", "-name", "first operator", "-role", "admin")
	key := strings.TrimSpace(out)
	if err != nil || !strings.HasPrefix(key, "rk_") || !strings.Contains(stderr, "shown only now") {
		t.Fatalf("api-keys create: %v\n%s\n%s", err, out, stderr)
	}
	status, created := call(t, "POST", p.base+"/v1/admin/api-keys", key, `{"name":"billing","role":"service"}`)
	if status != http.StatusCreated {
		t.Fatalf("create through the API with the CLI's key: %d %v", status, created)
	}
	if status, body := call(t, "POST", p.base+"/v1/payments", created["key"].(string), `{"paymentId":"p1","userId":"u1","amount":100,"currency":"usd"}`); status != http.StatusOK {
		t.Fatalf("backend key: %d %v", status, body)
	}
	if _, _, err := runCmd(t, dir, env, "api-keys", "create", "-name", "x", "-role", "root"); err == nil {
		t.Fatal("a key with an unknown role was created")
	}
	p.stop(t)
}

// deliverSigned sends a Stripe event of the current API around obj, signed
// with secret as Stripe signs, and fails unless it is accepted.
func deliverSigned(t testing.TB, base, secret, id, typ string, obj teststripe.Object) {
	t.Helper()
	payload, err := teststripe.VCurrent.Event(id, typ, obj)
	if err != nil {
		t.Fatal(err)
	}
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: time.Now()})
	req, _ := http.NewRequest("POST", base+"/v1/webhooks/stripe", bytes.NewReader(payload))
	req.Header.Set("Stripe-Signature", signed.Header)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %d", typ, id, res.StatusCode)
	}
}
