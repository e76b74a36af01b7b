package webhook_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/refhub/referral-service/internal/outbox/webhook"
	"github.com/refhub/referral-service/internal/store"
	"github.com/refhub/referral-service/internal/testdb"
	"github.com/refhub/referral-service/internal/testutil"
)

// dnsServer is a real DNS server on a loopback UDP port answering A
// queries from a table the test changes (a name that resolves to the
// Internet at registration and to loopback later: DNS rebinding).
type dnsServer struct {
	conn net.PacketConn
	mu   sync.Mutex
	a    map[string]netip.Addr // name with its final dot → IPv4 address
}

func startDNS(t *testing.T) *dnsServer {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := &dnsServer{conn: conn, a: map[string]netip.Addr{}}
	t.Cleanup(func() { _ = conn.Close() })
	go d.serve()
	return d
}

func (d *dnsServer) set(name, addr string) {
	d.mu.Lock()
	d.a[name+"."] = netip.MustParseAddr(addr)
	d.mu.Unlock()
}

func (d *dnsServer) serve() {
	buf := make([]byte, 512)
	for {
		n, from, err := d.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		var p dnsmessage.Parser
		h, err := p.Start(buf[:n])
		if err != nil {
			continue
		}
		q, err := p.Question()
		if err != nil {
			continue
		}
		d.mu.Lock()
		addr, known := d.a[strings.ToLower(q.Name.String())]
		d.mu.Unlock()
		rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired, RecursionAvailable: true}
		if !known {
			rh.RCode = dnsmessage.RCodeNameError
		}
		b := dnsmessage.NewBuilder(nil, rh)
		b.EnableCompression()
		_ = b.StartQuestions()
		_ = b.Question(q)
		_ = b.StartAnswers()
		if known && q.Type == dnsmessage.TypeA {
			_ = b.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 0}, dnsmessage.AResource{A: addr.As4()})
		}
		msg, err := b.Finish()
		if err == nil {
			_, _ = d.conn.WriteTo(msg, from)
		}
	}
}

// resolver asks only this server.
func (d *dnsServer) resolver() *net.Resolver {
	addr := d.conn.LocalAddr().String()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var dialer net.Dialer
		return dialer.DialContext(ctx, "udp", addr)
	}}
}

// TestGuardRefusesInternalAddresses: URLs on loopback, private, link-local
// and other non-public addresses are refused, written any way, and so are
// names that resolve to them; public ones pass.
func TestGuardRefusesInternalAddresses(t *testing.T) {
	t.Parallel()
	dns := startDNS(t)
	dns.set("intranet.example", "10.20.30.40")
	dns.set("metadata.example", "169.254.169.254")
	dns.set("zero.example", "0.0.0.0")
	dns.set("public.example", "93.184.215.14")
	g := webhook.Guard{Resolver: dns.resolver()}
	ctx := context.Background()
	for _, u := range []string{
		"http://127.0.0.1/hook", "http://127.1.2.3:8080/", "http://[::1]/", "http://0.0.0.0/", "http://0.0.0.0:9000/",
		"http://[::ffff:127.0.0.1]/", "http://[::ffff:7f00:1]/", "http://[::ffff:10.0.0.1]/", "http://[::]/",
		"http://10.0.0.1/", "http://172.16.5.4/", "http://192.168.1.1/", "http://169.254.169.254/latest/meta-data",
		"http://[fe80::1]/", "http://[fd00::1]/", "http://100.64.0.1/", "http://[64:ff9b::7f00:1]/",
		"http://localhost/", "http://LOCALHOST:8080/", "http://api.localhost/",
		"https://intranet.example/hook", "https://metadata.example/", "http://zero.example/", "https://nowhere.example/",
		"ftp://93.184.215.14/", "//93.184.215.14/", "https://user:pw@public.example/", "https://public.example/#x", "not a url",
	} {
		err := g.CheckURL(ctx, u)
		if !errors.Is(err, webhook.ErrURL) {
			t.Errorf("%s: %v, want refused", u, err)
		}
	}
	for _, u := range []string{"https://public.example/hooks?x=1", "http://93.184.215.14:8443/", "https://[2606:2800:220:1::]/"} {
		if err := g.CheckURL(ctx, u); err != nil {
			t.Errorf("%s: %v, want allowed", u, err)
		}
	}
	allowing := webhook.Guard{AllowPrivate: true, Resolver: dns.resolver()}
	for _, u := range []string{"http://127.0.0.1:8080/", "https://intranet.example/", "http://localhost/"} {
		if err := allowing.CheckURL(ctx, u); err != nil {
			t.Errorf("with private URLs allowed, %s: %v", u, err)
		}
	}
}

// TestGuardChecksEveryConnection: a name registered while it resolved to a
// public address and later resolving to loopback (where a receiver listens)
// gets nothing: the address is checked as each delivery connects.
func TestGuardChecksEveryConnection(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		dns := startDNS(t)
		dns.set("rebind.example", "93.184.215.14")
		rcv := newReceiver(t, nil, func(*http.Request) int { return http.StatusOK })
		_, port, _ := net.SplitHostPort(strings.TrimPrefix(rcv.URL, "http://"))
		guard := webhook.Guard{Resolver: dns.resolver()}
		r := startRig(t, st, rigOpts{guard: &guard, retries: []time.Duration{time.Hour}})
		ep := r.endpoint(t, "http://rebind.example:"+port+"/hook")
		dns.set("rebind.example", "127.0.0.1")
		events := appendEvents(t, st, 2, time.Now().UTC())
		testutil.Eventually(t, 20*time.Second, "refused attempts", func() bool {
			as := attemptsByEvent(t, r, ep.ID)
			return len(as[events[0]]) == 1 && as[events[0]][0].Status == "failed" && len(as[events[1]]) == 1 && as[events[1]][0].Status == "failed"
		})
		for _, as := range attemptsByEvent(t, r, ep.ID) {
			if !strings.Contains(as[0].Response, "refused") {
				t.Fatalf("attempt: %+v", as[0])
			}
		}
		if n := len(rcv.deliveries()); n != 0 {
			t.Fatalf("the loopback receiver got %d requests", n)
		}
		// The receiver's own address is refused at registration.
		if _, err := r.hooks.Create(context.Background(), rcv.URL, nil, ""); !errors.Is(err, webhook.ErrInvalid) {
			t.Fatalf("loopback endpoint created: %v", err)
		}
	})
}
