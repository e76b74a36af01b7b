package store_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/refhub/referral-service/internal/referral"
	"github.com/refhub/referral-service/internal/store"
	"github.com/refhub/referral-service/internal/testdb"
)

// cuttingProxy forwards PostgreSQL's wire protocol and, when armed, cuts a
// connection right after the first data row the server sends on it: the
// client has read part of an answer when its connection dies, as when an
// operator or a failover ends a backend in the middle of a query.
type cuttingProxy struct {
	ln    net.Listener
	armed atomic.Int32
	cuts  atomic.Int32
	wg    sync.WaitGroup
}

func newCuttingProxy(t *testing.T, upstream string) *cuttingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cuttingProxy{ln: ln}
	p.wg.Go(func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", upstream)
			if err != nil {
				client.Close()
				continue
			}
			p.wg.Go(func() {
				_, _ = io.Copy(server, client)
				server.Close()
			})
			p.wg.Go(func() {
				p.relay(client, server)
				client.Close()
				server.Close()
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		p.wg.Wait()
	})
	return p
}

// relay copies server messages (a type byte, then a length that counts
// itself) to the client until one of them fails or a cut.
func (p *cuttingProxy) relay(client, server net.Conn) {
	var head [5]byte
	for {
		if _, err := io.ReadFull(server, head[:]); err != nil {
			return
		}
		body := make([]byte, binary.BigEndian.Uint32(head[1:])-4)
		if _, err := io.ReadFull(server, body); err != nil {
			return
		}
		if _, err := client.Write(append(head[:], body...)); err != nil {
			return
		}
		if head[0] == 'D' && p.armed.CompareAndSwap(1, 0) {
			p.cuts.Add(1)
			return
		}
	}
}

// TestReadCutMidAnswer: a read whose connection dies after some of its rows
// arrived is run again on a fresh connection and answers whole, each row
// once; it is neither a 500 nor a 503. Before the fix the list answered
// 503 (rows had been read, so the retry gave up) and the stats, read with
// Scan after the retrying callback, would have failed outright.
func TestReadCutMidAnswer(t *testing.T) {
	ctx := context.Background()
	u, err := url.Parse(testdb.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy := newCuttingProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()
	st, err := store.Open(ctx, store.Postgres, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	now := time.Now().UTC()
	if ok, err := st.CreateCode(ctx, referral.Code{ID: "rc_1", Code: "AAAA2222", UserID: "u1", CreatedAt: now}); err != nil || !ok {
		t.Fatalf("code: %v %v", ok, err)
	}
	const friends = 5
	for i := range friends {
		r := referral.Referral{ID: fmt.Sprintf("ref_%d", i), CodeID: "rc_1", Code: "AAAA2222", ReferrerID: "u1",
			ReferredUserID: fmt.Sprintf("f%d", i), Status: referral.StatusPending, CreatedAt: now}
		if ok, err := st.CreateReferral(ctx, r); err != nil || !ok {
			t.Fatalf("referral: %v %v", ok, err)
		}
	}
	for round := range 3 {
		proxy.armed.Store(1)
		list, err := st.ListReferrals(ctx, referral.ReferralFilter{ReferrerID: "u1", Limit: 50})
		if err != nil || len(list) != friends {
			t.Fatalf("round %d: list cut mid-answer: %d referrals, %v", round, len(list), err)
		}
		seen := map[string]bool{}
		for _, r := range list {
			if seen[r.ID] {
				t.Fatalf("round %d: %s read twice", round, r.ID)
			}
			seen[r.ID] = true
		}
		proxy.armed.Store(1)
		stats, err := st.ReferralStats(ctx, "u1")
		if err != nil || len(stats) != 1 || stats[0].Count != friends {
			t.Fatalf("round %d: stats cut mid-answer: %+v, %v", round, stats, err)
		}
	}
	if got := proxy.cuts.Load(); got != 6 {
		t.Fatalf("%d answers cut, want 6: the test did not test", got)
	}
}
