package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/refhub/referral-service/internal/teststripe"
	"github.com/refhub/referral-service/internal/testutil"
	"github.com/refhub/referral-service/pkg/referralapi"
)

// hookReceiver is a product's webhook handler: it verifies each delivery
// with the Standard Webhooks library and the endpoint's secret, as the
// README tells products to, and keeps what verified.
type hookReceiver struct {
	*httptest.Server
	mu       sync.Mutex
	secret   string
	verified []receivedEvent
	rejected int
}

type receivedEvent struct {
	id, typ string
	body    []byte
	data    json.RawMessage
}

func newHookReceiver(t *testing.T) *hookReceiver {
	h := &hookReceiver{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		wh, err := standardwebhooks.NewWebhook(h.secret)
		if err != nil || wh.Verify(body, r.Header) != nil {
			h.rejected++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var ev referralapi.Event
		if err := json.Unmarshal(body, &ev); err != nil || ev.ID != r.Header.Get("webhook-id") {
			h.rejected++
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		h.verified = append(h.verified, receivedEvent{id: ev.ID, typ: ev.Type, body: body, data: ev.Data})
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookReceiver) events() []receivedEvent {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.verified)
}

func (h *hookReceiver) byType() map[string][]receivedEvent {
	out := map[string][]receivedEvent{}
	for _, e := range h.events() {
		out[e.typ] = append(out[e.typ], e)
	}
	return out
}

// register creates an endpoint for the receiver through the API.
func (h *hookReceiver) register(t *testing.T, s *server, events ...string) referralapi.CreatedWebhookEndpoint {
	t.Helper()
	res := s.do(t, request{method: "POST", path: "/v1/admin/webhook-endpoints", token: s.token("ops", "admin"),
		body: jsonBody(t, map[string]any{"url": h.URL + "/hooks/referrals", "events": events, "description": "test product"})})
	if res.Status != http.StatusCreated {
		t.Fatalf("create endpoint: %d %s", res.Status, res.Body)
	}
	var ep referralapi.CreatedWebhookEndpoint
	res.decode(t, &ep)
	h.mu.Lock()
	h.secret = ep.Secret
	h.mu.Unlock()
	return ep
}

// feed reads the whole admin feed, each event as the raw JSON the API sent.
func feed(t *testing.T, s *server, query string) []json.RawMessage {
	t.Helper()
	res := s.do(t, request{method: "GET", path: "/v1/admin/events?limit=100" + query, token: s.token("ops", "admin")})
	if res.Status != http.StatusOK {
		t.Fatalf("feed: %d %s", res.Status, res.Body)
	}
	var page struct{ Items []json.RawMessage }
	res.decode(t, &page)
	return page.Items
}

// TestWebhooksReadmeFlow walks the README: a product registers an endpoint;
// a friend is attributed, pays, is partly then fully refunded, with every
// request retried; the product receives signed referral.created,
// referral.qualified, reward.reversed (twice) and referral.cancelled
// deliveries, each once, each exactly the event as the feed shows it.
func TestWebhooksReadmeFlow(t *testing.T) {
	eachBackend(t, serverOpts{}, func(t *testing.T, s *server) {
		rcv := newHookReceiver(t)
		ep := rcv.register(t, s, "referral.created", "referral.qualified", "reward.reversed", "referral.cancelled")

		code := getCode(t, s, "u1").Code
		for range 2 { // every request twice: a retry emits nothing new
			if res := attribute(t, s, "u2", code, nil); res.Status/100 != 2 {
				t.Fatalf("attribute: %d %s", res.Status, res.Body)
			}
		}
		for range 2 {
			if res := pay(t, s, "pay_1", "u2", 10000, "usd"); res.Status != http.StatusOK {
				t.Fatalf("pay: %d %s", res.Status, res.Body)
			}
		}
		// No hold: the scan announces the reward at once. Refunding before
		// it ran would leave nothing to announce, so wait for it.
		testutil.Eventually(t, 15*time.Second, "reward.available in the feed", func() bool {
			return len(feed(t, s, "&type=reward.available")) == 1
		})
		for range 2 {
			if res := reportRefund(t, s, "re_1", "pay_1", 2500); res.Status != http.StatusOK {
				t.Fatalf("refund: %d %s", res.Status, res.Body)
			}
		}
		for range 2 {
			if res := reportRefund(t, s, "re_2", "pay_1", 7500); res.Status != http.StatusOK {
				t.Fatalf("refund: %d %s", res.Status, res.Body)
			}
		}
		testutil.Eventually(t, 15*time.Second, "five deliveries", func() bool { return len(rcv.events()) >= 5 })
		time.Sleep(300 * time.Millisecond) // a duplicate would arrive by now

		got := rcv.byType()
		if rcv.rejected != 0 || len(rcv.events()) != 5 || len(got["referral.created"]) != 1 || len(got["referral.qualified"]) != 1 ||
			len(got["reward.reversed"]) != 2 || len(got["referral.cancelled"]) != 1 {
			t.Fatalf("received %d rejected, %v", rcv.rejected, got)
		}
		var created, qualified, cancelled referralapi.Referral
		mustJSON(t, got["referral.created"][0].data, &created)
		mustJSON(t, got["referral.qualified"][0].data, &qualified)
		mustJSON(t, got["referral.cancelled"][0].data, &cancelled)
		if created.ReferrerID != "u1" || created.ReferredUserID != "u2" || created.Status != "PENDING" || created.Code != code {
			t.Fatalf("referral.created: %+v", created)
		}
		if qualified.ID != created.ID || qualified.Status != "QUALIFIED" || qualified.RewardAmount == nil || *qualified.RewardAmount != 2000 ||
			qualified.RewardCurrency == nil || *qualified.RewardCurrency != "usd" {
			t.Fatalf("referral.qualified: %+v", qualified)
		}
		if cancelled.ID != created.ID || cancelled.Status != "CANCELLED" {
			t.Fatalf("referral.cancelled: %+v", cancelled)
		}
		var reversed []int64
		for _, e := range got["reward.reversed"] {
			var r referralapi.RewardEventData
			mustJSON(t, e.data, &r)
			if r.ReferralID != created.ID || r.ReferrerID != "u1" || r.Currency != "usd" {
				t.Fatalf("reward.reversed: %+v", r)
			}
			reversed = append(reversed, r.Amount)
		}
		slices.Sort(reversed)
		if !slices.Equal(reversed, []int64{500, 1500}) {
			t.Fatalf("reversed amounts %v, want 500 (a quarter refunded) and 1500 (the rest)", reversed)
		}

		// Each body is the event exactly as the feed shows it. The feed also
		// has the reward.available the endpoint did not ask for (no hold:
		// available at once).
		items := feed(t, s, "")
		if len(items) != 6 {
			t.Fatalf("feed has %d events: %s", len(items), items)
		}
		for _, e := range rcv.events() {
			found := false
			for _, item := range items {
				var compact bytes.Buffer
				if err := json.Compact(&compact, item); err != nil {
					t.Fatal(err)
				}
				if bytes.Equal(compact.Bytes(), e.body) {
					found = true
				}
			}
			if !found {
				t.Fatalf("delivered body %s is not in the feed %s", e.body, items)
			}
		}

		// The deliveries list shows one succeeded first attempt for each
		// (recorded just after the receiver answered).
		var deliveries referralapi.DeliveryPage
		testutil.Eventually(t, 15*time.Second, "five finished deliveries", func() bool {
			res := s.do(t, request{method: "GET", path: "/v1/admin/webhook-endpoints/" + ep.ID + "/deliveries", token: s.token("ops", "admin")})
			deliveries = referralapi.DeliveryPage{}
			res.decode(t, &deliveries)
			return len(deliveries.Items) == 5 && !slices.ContainsFunc(deliveries.Items, func(d referralapi.Delivery) bool { return d.Status == "pending" })
		})
		for _, d := range deliveries.Items {
			if d.Attempt != 1 || d.Status != "succeeded" || d.ResponseStatus == nil || *d.ResponseStatus != 204 {
				t.Fatalf("delivery %+v", d)
			}
		}

		// The referrer's activity feed: the same six, newest first, the
		// friend's id masked; the friend has none of them.
		var mine referralapi.UserEventPage
		s.do(t, request{method: "GET", path: "/v1/me/events", token: s.token("u1")}).decode(t, &mine)
		if len(mine.Items) != 6 || mine.Items[0].Type != "referral.cancelled" || mine.Items[5].Type != "referral.created" {
			t.Fatalf("u1's events: %+v", mine.Items)
		}
		for _, e := range mine.Items {
			if e.Type == "referral.created" {
				var r referralapi.Referral
				mustJSON(t, e.Data, &r)
				if r.ReferredUserID == "u2" || r.ReferredUserID == "" {
					t.Fatalf("referred user shown to the referrer: %+v", r)
				}
			}
		}
		var friends referralapi.UserEventPage
		s.do(t, request{method: "GET", path: "/v1/me/events", token: s.token("u2")}).decode(t, &friends)
		if len(friends.Items) != 0 {
			t.Fatalf("the friend sees %+v", friends.Items)
		}
	})
}

func mustJSON(t *testing.T, data []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
}

// TestRewardAvailableWhenHoldEnds: once a reward's hold ends, exactly one
// reward.available arrives with its amount; later scans send no more.
func TestRewardAvailableWhenHoldEnds(t *testing.T) {
	eachBackend(t, serverOpts{hold: 3 * time.Second}, func(t *testing.T, s *server) {
		rcv := newHookReceiver(t)
		rcv.register(t, s, "reward.available")
		attribute(t, s, "u2", getCode(t, s, "u1").Code, nil)
		pay(t, s, "pay_1", "u2", 10000, "usd")
		attribute(t, s, "u3", getCode(t, s, "u1").Code, nil)
		pay(t, s, "pay_2", "u3", 5000, "usd")
		reportRefund(t, s, "re_1", "pay_2", 5000) // cancelled inside its hold: never available
		testutil.Eventually(t, 15*time.Second, "reward.available", func() bool { return len(rcv.events()) >= 1 })
		time.Sleep(600 * time.Millisecond) // several more scans
		evs := rcv.events()
		if len(evs) != 1 || evs[0].typ != "reward.available" {
			t.Fatalf("received %+v", evs)
		}
		var r referralapi.RewardEventData
		mustJSON(t, evs[0].data, &r)
		if r.ReferrerID != "u1" || r.Amount != 2000 || r.Currency != "usd" {
			t.Fatalf("reward.available: %+v", r)
		}
		if items := feed(t, s, "&type=reward.available"); len(items) != 1 {
			t.Fatalf("feed: %s", items)
		}
	})
}

// TestEventFeedResumes: a consumer paging the feed with `after` while
// referrals are being created concurrently sees every event exactly once,
// oldest first, in the order a later full read shows.
func TestEventFeedResumes(t *testing.T) {
	eachBackend(t, serverOpts{}, func(t *testing.T, s *server) {
		codes := make([]string, 4)
		for i := range codes {
			codes[i] = getCode(t, s, fmt.Sprintf("r%d", i)).Code
		}
		var wg sync.WaitGroup
		for w := range 6 {
			wg.Go(func() {
				for i := range 8 {
					attribute(t, s, fmt.Sprintf("f%d_%d", w, i), codes[(w+i)%len(codes)], nil)
				}
			})
		}
		writing := make(chan struct{})
		go func() { wg.Wait(); close(writing) }()

		var seen []string
		after := ""
		done := false
		for !done {
			select {
			case <-writing:
				// The last events get their feed position just after their
				// commits: page once more when all are in.
				testutil.Eventually(t, 15*time.Second, "48 events in the feed", func() bool { return len(feed(t, s, "")) == 48 })
				done = true
			default:
			}
			for {
				q := "/v1/admin/events?limit=7"
				if after != "" {
					q += "&after=" + after
				}
				var page referralapi.EventPage
				res := s.do(t, request{method: "GET", path: q, token: s.token("ops", "admin")})
				if res.Status != http.StatusOK {
					t.Fatalf("feed: %d %s", res.Status, res.Body)
				}
				res.decode(t, &page)
				for _, e := range page.Items {
					seen = append(seen, e.ID)
				}
				if page.NextCursor != nil {
					after = *page.NextCursor
				}
				if !page.HasMore {
					break
				}
			}
		}
		var all []string
		for _, raw := range feed(t, s, "") {
			var e referralapi.Event
			mustJSON(t, raw, &e)
			all = append(all, e.ID)
		}
		if len(all) != 48 || !slices.Equal(seen, all) {
			t.Fatalf("paged %d events, the feed has %d; equal order: %v", len(seen), len(all), slices.Equal(seen, all))
		}

		s.do(t, request{method: "GET", path: "/v1/admin/events?after=evt_nothere", token: s.token("ops", "admin")}).problem(t, http.StatusBadRequest, "invalid_cursor")
		s.do(t, request{method: "GET", path: "/v1/admin/events?type=referral.exploded", token: s.token("ops", "admin")}).problem(t, http.StatusBadRequest, "invalid_request")
		s.do(t, request{method: "GET", path: "/v1/admin/events", token: s.token("u1")}).problem(t, http.StatusForbidden, "forbidden")
	})
}

// TestWebhookURLsRefused: with private URLs refused (production), an
// endpoint on loopback, private or link-local addresses is a 422 naming
// the field, and nothing is created or changed.
func TestWebhookURLsRefused(t *testing.T) {
	eachBackend(t, serverOpts{privateURLsRefused: true}, func(t *testing.T, s *server) {
		admin := s.token("ops", "admin")
		for _, u := range []string{"http://127.0.0.1:8080/hook", "http://[::ffff:127.0.0.1]/", "http://0.0.0.0/", "http://localhost/",
			"http://169.254.169.254/latest/meta-data", "http://10.0.0.8/", "http://[::1]:9000/", "ftp://example.com/"} {
			res := s.do(t, request{method: "POST", path: "/v1/admin/webhook-endpoints", token: admin, body: jsonBody(t, map[string]any{"url": u})})
			p := res.problem(t, http.StatusUnprocessableEntity, "webhook_url_invalid")
			if fields, _ := p["errors"].(map[string]any); fields["url"] == nil {
				t.Fatalf("%s: problem names no field: %v", u, p)
			}
		}
		var list referralapi.WebhookEndpointPage
		s.do(t, request{method: "GET", path: "/v1/admin/webhook-endpoints", token: admin}).decode(t, &list)
		if len(list.Items) != 0 {
			t.Fatalf("endpoints created: %+v", list.Items)
		}
	})
}

// TestEventsOfEveryKind: each business event type is emitted by the change
// it reports, carrying the API's object: an operator's cancellation, a
// dispute opened then won (reversed, then available again), a refund that
// fails after cancelling (cancelled, restored), a payout paid and one
// Stripe rejects, and a vanity code.
func TestEventsOfEveryKind(t *testing.T) {
	// Stripe refusing every customer-balance credit, as it answers for a
	// customer that does not exist.
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"error":{"type":"invalid_request_error","code":"resource_missing","param":"customer","message":"No such customer: 'cus_gone'"}}`)
	}))
	t.Cleanup(refusing.Close)
	eachBackend(t, serverOpts{stripeCredits: true, stripeURL: refusing.URL}, func(t *testing.T, s *server) {
		rcv := newHookReceiver(t)
		rcv.register(t, s) // every type
		admin := s.token("ops", "admin")
		waitTypes := func(typ string, n int) {
			t.Helper()
			testutil.Eventually(t, 15*time.Second, fmt.Sprintf("%d %s", n, typ), func() bool { return len(rcv.byType()[typ]) >= n })
		}
		code := getCode(t, s, "u1").Code
		attribute(t, s, "f1", code, nil)
		attribute(t, s, "f2", code, nil)
		var r3 referralapi.Referral
		attribute(t, s, "f3", code, nil).decode(t, &r3)
		attribute(t, s, "f4", code, nil)
		attribute(t, s, "f5", code, nil)
		pay(t, s, "pay_1", "f1", 10000, "usd")
		waitTypes("reward.available", 1)

		// An operator cancels f3's referral.
		if res := s.do(t, request{method: "POST", path: "/v1/admin/referrals/" + r3.ID + "/cancel", token: admin, body: `{"reason":"fraud: same card"}`}); res.Status != http.StatusOK {
			t.Fatalf("cancel: %d %s", res.Status, res.Body)
		}
		// f2 pays through Stripe and disputes; the dispute is won.
		v := teststripe.VCurrent
		sale2 := teststripe.Sale{UserID: "f2", Amount: 5000, Currency: "usd", PaymentIntent: "pi_f2", Charge: "ch_f2"}
		pi, err := v.PaymentIntent(sale2)
		outcome(t, s.deliver(t, event(t, v, "evt_pi2", "payment_intent.succeeded", pi, err)))
		waitTypes("reward.available", 2)
		dispute := func(id, typ, status string) []byte {
			d, err := v.Dispute("dp_f2", sale2, status)
			return event(t, v, id, typ, d, err)
		}
		outcome(t, s.deliver(t, dispute("evt_d1", "charge.dispute.created", "needs_response")))
		outcome(t, s.deliver(t, dispute("evt_d2", "charge.dispute.closed", "won")))
		// f5 pays, is refunded in full, and the refund fails.
		sale5 := teststripe.Sale{UserID: "f5", Amount: 2500, Currency: "usd", PaymentIntent: "pi_f5", Charge: "ch_f5"}
		pi, err = v.PaymentIntent(sale5)
		outcome(t, s.deliver(t, event(t, v, "evt_pi5", "payment_intent.succeeded", pi, err)))
		waitTypes("reward.available", 4)
		re, err := v.Refund("re_f5", sale5, 2500, "succeeded")
		outcome(t, s.deliver(t, event(t, v, "evt_re1", "refund.created", re, err)))
		re, err = v.Refund("re_f5", sale5, 2500, "failed")
		outcome(t, s.deliver(t, event(t, v, "evt_re2", "refund.failed", re, err)))

		// A manual payout of what is available, then a Stripe credit refused.
		var paid referralapi.Payout
		res := s.do(t, request{method: "POST", path: "/v1/admin/payouts", token: admin, body: `{"userId":"u1","currency":"usd","method":"manual","reference":"wire-1"}`})
		res.decode(t, &paid)
		if res.Status != http.StatusCreated || paid.Amount != 3500 {
			t.Fatalf("payout: %d %s", res.Status, res.Body)
		}
		pay(t, s, "pay_4", "f4", 1000, "usd")
		var failed referralapi.Payout
		res = s.do(t, request{method: "POST", path: "/v1/admin/payouts", token: admin, body: `{"userId":"u1","currency":"usd","method":"stripe_credit","stripeCustomerId":"cus_gone"}`})
		res.decode(t, &failed)
		if failed.Status != "failed" || failed.Amount != 200 {
			t.Fatalf("refused credit: %d %s", res.Status, res.Body)
		}
		// A vanity code.
		if res := s.do(t, request{method: "PUT", path: "/v1/me/referral-code", token: s.token("u1"), body: `{"code":"FRIENDS26"}`}); res.Status != http.StatusOK {
			t.Fatalf("vanity: %d %s", res.Status, res.Body)
		}

		want := map[string]int{"referral.created": 5, "referral.qualified": 4, "referral.cancelled": 2, "referral.restored": 1,
			"reward.reversed": 2, "reward.available": 6, "payout.paid": 1, "payout.failed": 1, "code.changed": 1}
		total := 0
		for _, n := range want {
			total += n
		}
		testutil.Eventually(t, 15*time.Second, "every event", func() bool { return len(rcv.events()) >= total })
		time.Sleep(200 * time.Millisecond) // anything more would arrive by now
		got := rcv.byType()
		if len(rcv.events()) != total {
			var seen []string
			for _, e := range rcv.events() {
				seen = append(seen, e.typ+" "+string(e.data))
			}
			t.Fatalf("received %d events, want %d:\n%s", len(rcv.events()), total, strings.Join(seen, "\n"))
		}
		for typ, n := range want {
			if len(got[typ]) != n {
				t.Errorf("%s: %d, want %d", typ, len(got[typ]), n)
			}
		}
		var cancelled []string
		for _, e := range got["referral.cancelled"] {
			var r referralapi.Referral
			mustJSON(t, e.data, &r)
			cancelled = append(cancelled, r.ReferredUserID)
			if r.ReferredUserID == "f3" && (r.CancelReason == nil || *r.CancelReason != "fraud: same card") {
				t.Fatalf("operator's cancellation: %+v", r)
			}
		}
		slices.Sort(cancelled)
		if !slices.Equal(cancelled, []string{"f3", "f5"}) {
			t.Fatalf("cancelled: %v", cancelled)
		}
		var restored referralapi.Referral
		mustJSON(t, got["referral.restored"][0].data, &restored)
		if restored.ReferredUserID != "f5" || restored.Status != "QUALIFIED" || *restored.RewardAmount != 500 {
			t.Fatalf("restored: %+v", restored)
		}
		var amounts []int64
		for _, e := range got["reward.available"] {
			var r referralapi.RewardEventData
			mustJSON(t, e.data, &r)
			amounts = append(amounts, r.Amount)
		}
		slices.Sort(amounts)
		if !slices.Equal(amounts, []int64{200, 500, 500, 1000, 1000, 2000}) {
			t.Fatalf("reward.available amounts %v", amounts)
		}
		var p referralapi.Payout
		mustJSON(t, got["payout.paid"][0].data, &p)
		if p.ID != paid.ID || p.Status != "paid" || p.Amount != 3500 {
			t.Fatalf("payout.paid: %+v", p)
		}
		mustJSON(t, got["payout.failed"][0].data, &p)
		if p.ID != failed.ID || p.Status != "failed" || p.FailureReason == nil {
			t.Fatalf("payout.failed: %+v", p)
		}
		var c referralapi.ReferralCode
		mustJSON(t, got["code.changed"][0].data, &c)
		if c.Code != "FRIENDS26" || !strings.HasSuffix(c.URL, "FRIENDS26") {
			t.Fatalf("code.changed: %+v", c)
		}
	})
}
