// Command linkbench measures the short link on PostgreSQL: requests per
// second and latency of GET /r/{code} with click recording, next to a bare
// Echo handler that only redirects, as a ratio; that every answered click
// is in the database after a graceful shutdown; and the latency of stats
// and time series for referrers with 10, 1,000 and 100,000 referrals.
//
//	go run ./internal/tools/linkbench [-duration 5s] [-workers 32] [-visitors both]
//
// With -serve it only starts both servers and prints their short links, for
// a cross-check with an external load generator (wrk sends no User-Agent,
// and a request without one is not counted as a click: add one with -H);
// Ctrl-C shuts down and checks that every recorded click was stored.
//
// It starts a throwaway PostgreSQL from the local binaries unless
// BENCH_DATABASE_URL names a server. All traffic stays on 127.0.0.1.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof" // for -serve
	"net/url"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/refhub/referral-service/internal/auth"
	"github.com/refhub/referral-service/internal/clicks"
	"github.com/refhub/referral-service/internal/httpapi"
	"github.com/refhub/referral-service/internal/ratelimit"
	"github.com/refhub/referral-service/internal/referral"
	"github.com/refhub/referral-service/internal/store"
	"github.com/refhub/referral-service/internal/telemetry"
	"github.com/refhub/referral-service/internal/testdb"
)

const appURL = "https://app.example.com"

func main() {
	duration := flag.Duration("duration", 5*time.Second, "length of one measured round")
	workers := flag.Int("workers", 32, "concurrent connections of the load generator")
	rounds := flag.Int("rounds", 3, "measured rounds per server (the best is reported)")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	visitors := flag.String("visitors", "both", "repeat (one visitor per connection), new (a new visitor per request: every click unique) or both")
	flag.BoolVar(&serveOnly, "serve", false, "only start both servers and wait for Ctrl-C, for an external load generator such as wrk")
	flag.Parse()
	if *profile != "" {
		if f, err := os.Create(*profile); err == nil && pprof.StartCPUProfile(f) == nil {
			defer pprof.StopCPUProfile()
		}
	}
	switch *visitors {
	case "repeat":
		scenarios = []bool{false}
	case "new":
		scenarios = []bool{true}
	case "both":
		scenarios = []bool{false, true}
	default:
		fmt.Fprintln(os.Stderr, "linkbench: -visitors must be repeat, new or both")
		os.Exit(2)
	}
	if err := run(*duration, *workers, *rounds); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "linkbench:", err)
		os.Exit(1)
	}
}

// serveOnly: start the servers, print their addresses, wait for a signal.
var serveOnly bool

// newVisitors: a new user agent per request, so every click is unique.
var newVisitors bool

// scenarios are the visitor patterns measured, by -visitors.
var scenarios []bool

// countingRecorder counts the clicks handed to the recorder, for -serve.
type countingRecorder struct {
	next httpapi.ClickRecorder
	n    atomic.Int64
}

func (c *countingRecorder) Record(click referral.Click) bool {
	ok := c.next.Record(click)
	if ok {
		c.n.Add(1)
	}
	return ok
}

func run(duration time.Duration, workers, rounds int) error {
	ctx := context.Background()
	server := os.Getenv("BENCH_DATABASE_URL")
	if server == "" {
		url, stop, err := testdb.StartServer()
		if err != nil {
			return err
		}
		defer stop()
		server = url
		// Interrupted, or its output closed (linkbench | head): stop the
		// throwaway server instead of leaving it running.
		signal.Ignore(syscall.SIGPIPE)
		if !serveOnly { // -serve handles the signal itself, and shuts down in order
			interrupted := make(chan os.Signal, 1)
			signal.Notify(interrupted, os.Interrupt, syscall.SIGTERM)
			go func() {
				<-interrupted
				stop()
				os.Exit(130)
			}()
		}
	}
	dbURL, err := testdb.CreateDatabase(server, fmt.Sprintf("linkbench_%d", time.Now().UnixNano()))
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, store.Postgres, dbURL)
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Migrate(ctx, nil); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := referral.NewService(st, referral.Options{Rule: referral.RewardRule{Percent: referral.MustPercent("20")}})
	code, err := svc.GetOrCreateCode(ctx, "bench-referrer")
	if err != nil {
		return err
	}
	saver := &countingSaver{svc: svc}
	recorder := clicks.NewRecorder(saver, log, clicks.Options{})
	counting := &countingRecorder{next: recorder}
	authn, err := auth.New(ctx, auth.Config{Secret: []byte("bench-secret-bench-secret-bench-secret")})
	if err != nil {
		return err
	}
	router := httpapi.New(httpapi.Deps{
		Service: svc, Auth: authn, AppURL: appURL, Log: log,
		Ready:  func(*http.Request) error { return nil },
		Links:  httpapi.LinkConfig{AppURL: appURL, PublicURL: "https://refer.example.com", CookieDays: 30},
		Clicks: counting, VisitorKey: []byte("bench"),
		// As in production: metrics on, and a per-address limit, here one
		// the load generator's single address never reaches, so its cost
		// is measured without refusing anything.
		Metrics: telemetry.New(), PublicRateLimit: ratelimit.Rate{N: 1_000_000_000, Period: time.Second},
	})
	service, serviceURL, err := serve(router)
	if err != nil {
		return err
	}
	bare := echo.New()
	bare.GET("/r/:code", func(c echo.Context) error {
		return c.Redirect(http.StatusFound, appURL+"/?ref="+url.QueryEscape(c.Param("code")))
	})
	bareSrv, bareURL, err := serve(bare)
	if err != nil {
		return err
	}
	defer bareSrv.Close()

	path := "/r/" + code.Code + "?utm_source=bench"
	if serveOnly {
		// Profiles of this process while the external load runs:
		// go tool pprof http://127.0.0.1:<port>/debug/pprof/profile?seconds=5
		pprofLn, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		go http.Serve(pprofLn, http.DefaultServeMux)
		fmt.Printf("bare Echo redirect:         %s%s\nredirect + click recording: %s%s\npprof:                      http://%s/debug/pprof/\nCtrl-C to stop\n",
			bareURL, path, serviceURL, path, pprofLn.Addr())
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		<-sig
		clicksAnswered.Store(counting.n.Load())
	} else {
		fmt.Printf("short link GET /r/{code}: %d connections, %d rounds of %s each, on PostgreSQL\n", workers, rounds, duration)
		for _, nv := range scenarios {
			newVisitors = nv
			if nv {
				fmt.Println(" every request from a new visitor (every click unique):")
			} else {
				fmt.Println(" one visitor per connection (repeat clicks):")
			}
			// The goal is set for a load generator repeating one request per
			// connection. With every click from a new visitor the database
			// also claims each visitor (the unique-visitor check): reported,
			// as the worst case, against no goal.
			goal := "goal: at least 80%"
			if nv {
				goal = "worst case for the database, no goal set"
			}
			if err := compare(bareURL+path, serviceURL+path, goal, workers, rounds, duration); err != nil {
				return err
			}
		}
	}
	// Graceful shutdown: stop serving, then flush the queued clicks.
	shutdownCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := service.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := recorder.Close(shutdownCtx); err != nil {
		return err
	}
	db, _ := st.SQLDB()
	var stored int64
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM clicks`).Scan(&stored); err != nil {
		return err
	}
	answered := clicksAnswered.Load()
	fmt.Printf("  clicks answered %d, in the database after shutdown %d", answered, stored)
	if stored != answered {
		fmt.Println("  MISSING CLICKS")
		return errors.New("clicks were lost")
	}
	fmt.Printf("  (none lost), written in %d batches\n", saver.batches.Load())
	if serveOnly {
		return nil
	}
	return statsLatency(ctx, st, svc, authn, log)
}

// compare loads both servers in turn and prints the ratio.
func compare(bareTarget, serviceTarget, goal string, workers, rounds int, duration time.Duration) error {
	load(bareTarget, workers, time.Second) // warm up both
	load(serviceTarget, workers, time.Second)
	var bestBare, bestService result
	var bareRounds, serviceRounds []string
	for range rounds {
		r := load(bareTarget, workers, duration)
		if r.rps > bestBare.rps {
			bestBare = r
		}
		bareRounds = append(bareRounds, fmt.Sprintf("%.0f", r.rps))
		r = load(serviceTarget, workers, duration)
		if r.rps > bestService.rps {
			bestService = r
		}
		serviceRounds = append(serviceRounds, fmt.Sprintf("%.0f", r.rps))
	}
	fmt.Printf("  %-34s %9.0f req/s   p50 %7s   p99 %7s\n", "bare Echo redirect", bestBare.rps, bestBare.p50, bestBare.p99)
	fmt.Printf("  %-34s %9.0f req/s   p50 %7s   p99 %7s\n", "redirect + click recording", bestService.rps, bestService.p50, bestService.p99)
	fmt.Printf("  ratio: %.1f%% of the bare handler's throughput (%s); best of the rounds:\n", 100*bestService.rps/bestBare.rps, goal)
	fmt.Printf("    bare %s req/s; with clicks %s req/s\n", strings.Join(bareRounds, ", "), strings.Join(serviceRounds, ", "))
	return nil
}

// serve runs handler on a loopback port.
func serve(h http.Handler) (*http.Server, string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return srv, "http://" + ln.Addr().String(), nil
}

type result struct {
	rps      float64
	p50, p99 time.Duration
}

// clicksAnswered counts redirects that carried a click id (recorded clicks).
var clicksAnswered atomic.Int64

// load drives target with workers keep-alive connections for d, as a
// minimal HTTP/1.1 client: it writes the request bytes and reads the
// status line and headers (skipping any body), so the client costs the
// same whichever server answers, and measures latency per request.
func load(target string, workers int, d time.Duration) result {
	u, err := url.Parse(target)
	if err != nil {
		return result{}
	}
	deadline := time.Now().Add(d)
	lat := make([][]time.Duration, workers)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range workers {
		wg.Go(func() {
			conn, err := net.Dial("tcp", u.Host)
			if err != nil {
				return
			}
			defer conn.Close()
			req := []byte(fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: Mozilla/5.0 (bench visitor %02d-0000000000)\r\n\r\n", u.RequestURI(), u.Host, w))
			digits := req[bytes.Index(req, []byte("-0000000000"))+1:][:10]
			br := bufio.NewReaderSize(conn, 8192)
			for n := 0; time.Now().Before(deadline); n++ {
				if newVisitors { // a new user agent, so a new visitor, per request
					for i, v := len(digits)-1, n; i >= 0; i, v = i-1, v/10 {
						digits[i] = byte('0' + v%10)
					}
				}
				t0 := time.Now()
				if _, err := conn.Write(req); err != nil {
					return
				}
				clicked, ok := readResponse(br)
				if !ok {
					return
				}
				lat[w] = append(lat[w], time.Since(t0))
				if clicked {
					clicksAnswered.Add(1)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	all := slices.Concat(lat...)
	slices.Sort(all)
	if len(all) == 0 {
		return result{}
	}
	return result{
		rps: float64(len(all)) / elapsed.Seconds(),
		p50: all[len(all)/2].Round(time.Microsecond), p99: all[len(all)*99/100].Round(time.Microsecond),
	}
}

// readResponse reads one response; clicked reports a 302 whose Location
// carries a click id (a recorded click).
func readResponse(br *bufio.Reader) (clicked, ok bool) {
	status, err := br.ReadSlice('\n')
	if err != nil || len(status) < 12 {
		return false, false
	}
	found := string(status[9:12]) == "302"
	length := 0
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return false, false
		}
		if len(line) <= 2 {
			break
		}
		switch {
		case bytes.HasPrefix(line, []byte("Location: ")):
			clicked = found && bytes.Contains(line, []byte("click=clk_"))
		case bytes.HasPrefix(line, []byte("Content-Length: ")):
			length, _ = strconv.Atoi(string(bytes.TrimSpace(line[len("Content-Length: "):])))
		}
	}
	if _, err := br.Discard(length); err != nil {
		return false, false
	}
	return clicked, true
}

// statsLatency seeds referrers of three sizes directly in SQL (the largest
// with 100,000 referrals and 1,000,000 clicks over a year, and the daily
// counters the service would have kept) and times the dashboard endpoints.
func statsLatency(ctx context.Context, st *store.Store, svc *referral.Service, authn *auth.Authenticator, log *slog.Logger) error {
	db, err := st.SQLDB()
	if err != nil {
		return err
	}
	sizes := []struct {
		user              string
		referrals, clicks int
	}{{"r10", 10, 100}, {"r1k", 1_000, 10_000}, {"r100k", 100_000, 1_000_000}}
	fmt.Println("dashboard latency by referrer size (200 requests each, over HTTP):")
	for _, sz := range sizes {
		t0 := time.Now()
		stmts := []string{
			`INSERT INTO referral_codes (id, code, user_id, created_at) VALUES ('rc_' || $1, upper($1) || 'BENCH', $1, now())`,
			`INSERT INTO code_aliases (code, referral_code_id, user_id, created_at) VALUES (upper($1) || 'BENCH', 'rc_' || $1, $1, now())`,
			`INSERT INTO referrals (id, referral_code_id, code, referrer_id, referred_user_id, status, reward_amount, reward_currency, created_at)
			 SELECT 'ref_' || $1 || '_' || i, 'rc_' || $1, upper($1) || 'BENCH', $1, $1 || '_friend_' || i,
			        (ARRAY['PENDING','QUALIFIED','REWARDED','CANCELLED'])[1 + mod(i, 4)],
			        CASE WHEN mod(i, 4) = 0 THEN NULL ELSE 100 END, CASE WHEN mod(i, 4) = 0 THEN NULL ELSE 'usd' END,
			        now() - mod(i, 365) * interval '1 day'
			 FROM generate_series(1, %[2]d) i`,
			`INSERT INTO clicks (id, code, referrer_id, visitor_hash, is_unique, created_at)
			 SELECT 'clk_' || $1 || '_' || i, upper($1) || 'BENCH', $1, md5(i::text), mod(i, 3) = 0, now() - mod(i, 365) * interval '1 day'
			 FROM generate_series(1, %[3]d) i`,
			`INSERT INTO referrer_daily (referrer_id, day, clicks, unique_clicks, signups, qualified)
			 SELECT $1, to_char(current_date - d, 'YYYY-MM-DD'), %[3]d / 365, %[3]d / 1095, %[2]d / 365, %[2]d / 730
			 FROM generate_series(0, 364) d`,
			`ANALYZE`,
		}
		for _, q := range stmts {
			// The sizes are our own integers; only the user id is a parameter.
			if strings.Contains(q, "%[") {
				q = fmt.Sprintf(q, "", sz.referrals, sz.clicks)
			}
			var args []any
			if strings.Contains(q, "$1") {
				args = []any{sz.user}
			}
			if _, err := db.ExecContext(ctx, q, args...); err != nil {
				return fmt.Errorf("seed %s: %w", sz.user, err)
			}
		}
		seeded := time.Since(t0)
		router := httpapi.New(httpapi.Deps{Service: svc, Auth: authn, AppURL: appURL, Log: log,
			Ready: func(*http.Request) error { return nil }, Clicks: nopRecorder{}})
		srv, base, err := serve(router)
		if err != nil {
			return err
		}
		tok, err := authn.Mint(sz.user, nil, time.Hour, time.Now())
		if err != nil {
			return err
		}
		stats, err := timeGET(base+"/v1/me/referrals/stats", tok, 200)
		if err != nil {
			return err
		}
		series, err := timeGET(base+"/v1/me/referrals/timeseries?interval=day", tok, 200)
		if err != nil {
			return err
		}
		srv.Close()
		fmt.Printf("  %7d referrals, %9d clicks (seeded in %5s): stats p50 %7s p99 %7s | 30-day series p50 %7s p99 %7s\n",
			sz.referrals, sz.clicks, seeded.Round(100*time.Millisecond), stats.p50, stats.p99, series.p50, series.p99)
	}
	return nil
}

// countingSaver counts the batches the recorder writes.
type countingSaver struct {
	svc     *referral.Service
	batches atomic.Int64
}

func (c *countingSaver) SaveClicks(ctx context.Context, b []referral.Click) error {
	err := c.svc.SaveClicks(ctx, b)
	if err == nil {
		c.batches.Add(1)
	}
	return err
}

type nopRecorder struct{}

func (nopRecorder) Record(referral.Click) bool { return true }

// timeGET sends n sequential authenticated GETs and reports their latency.
func timeGET(target, token string, n int) (result, error) {
	var lat []time.Duration
	for range n {
		req, _ := http.NewRequest("GET", target, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		t0 := time.Now()
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return result{}, err
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return result{}, fmt.Errorf("GET %s: %d", target, res.StatusCode)
		}
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	return result{p50: lat[n/2].Round(time.Microsecond), p99: lat[n*99/100].Round(time.Microsecond)}, nil
}
