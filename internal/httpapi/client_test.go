package httpapi_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/refhub/referral-service/internal/testutil"
	"github.com/refhub/referral-service/pkg/referralclient"
)

// contractDoer is the generated client's HTTP transport in the tests: it
// sends each request to the real server (never following redirects: the
// short link's 302 is the answer), checks the answer against the OpenAPI
// document like every other HTTP test, and records which operation of the
// document the request was.
type contractDoer struct {
	t   *testing.T
	hc  *http.Client
	mu  sync.Mutex
	ops map[string]int
}

func newContractDoer(t *testing.T) *contractDoer {
	return &contractDoer{t: t, ops: map[string]int{}, hc: &http.Client{
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (d *contractDoer) Do(req *http.Request) (*http.Response, error) {
	d.t.Helper()
	res, err := d.hc.Do(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(body))

	path := req.URL.RequestURI()
	checkAgainstSpec(d.t, request{method: req.Method, path: path}, response{Status: res.StatusCode, Header: res.Header, Body: body})
	sp, err := loadSpec()
	if err != nil {
		d.t.Fatal(err)
	}
	hr, _ := http.NewRequest(req.Method, "http://localhost"+path, nil)
	route, _, err := sp.router.FindRoute(hr)
	if err != nil {
		d.t.Fatalf("%s %s is not in the OpenAPI document: %v", req.Method, path, err)
	}
	d.mu.Lock()
	d.ops[route.Operation.OperationID]++
	d.mu.Unlock()
	return res, nil
}

// specOperations are the operation ids of the published contract.
func specOperations(t *testing.T) []string {
	t.Helper()
	sp, err := loadSpec()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, item := range sp.doc.Paths.Map() {
		for _, op := range item.Operations() {
			ids = append(ids, op.OperationID)
		}
	}
	slices.Sort(ids)
	return ids
}

// TestGeneratedClientMatchesTheContract: the generated client has a method
// for each operation of api/openapi.json and no other (make check-docs
// proves it is generated from that document; this proves the test below
// can reach every operation through it).
func TestGeneratedClientMatchesTheContract(t *testing.T) {
	methods := map[string]bool{}
	it := reflect.TypeFor[referralclient.ClientWithResponsesInterface]()
	for i := range it.NumMethod() {
		name := strings.TrimSuffix(it.Method(i).Name, "WithResponse")
		name = strings.TrimSuffix(name, "WithBody")
		methods[strings.ToLower(name)] = true
	}
	var ops []string
	for _, id := range specOperations(t) {
		ops = append(ops, strings.ToLower(id))
	}
	var got []string
	for m := range methods {
		got = append(got, m)
	}
	slices.Sort(got)
	if !slices.Equal(got, ops) {
		t.Fatalf("generated client operations = %v\nwant the contract's %v", got, ops)
	}
}

// TestGeneratedClientDrivesEveryOperation walks the service through the Go
// client generated from the contract (pkg/referralclient), calling every
// operation of api/openapi.json at least once against the real router on
// PostgreSQL and SQLite; every answer is decoded by the generated types and
// checked against the document. A new operation fails this test until it
// is called here.
func TestGeneratedClientDrivesEveryOperation(t *testing.T) {
	eachBackend(t, serverOpts{}, func(t *testing.T, s *server) {
		ctx := context.Background()
		doer := newContractDoer(t)
		c, err := referralclient.NewClientWithResponses(s.url, referralclient.WithHTTPClient(doer))
		if err != nil {
			t.Fatal(err)
		}
		user := referralclient.BearerToken(s.token("u1"))
		backend := referralclient.BearerToken(s.token("backend", "service"))
		admin := referralclient.BearerToken(s.token("ops", "admin"))
		ptr := func(s string) *string { return &s }
		// ok fails the test unless the call answered want.
		ok := func(what string, r referralclient.Response, err error, want int) {
			t.Helper()
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			if r.StatusCode() != want {
				t.Fatalf("%s: status %d, want %d; body %s", what, r.StatusCode(), want, r.GetBody())
			}
		}

		// Public: probes, code check, short link.
		health, err := c.HealthzWithResponse(ctx)
		ok("healthz", health, err, http.StatusOK)
		if health.JSON200.Status != referralclient.Ok {
			t.Fatalf("healthz: %+v", health.JSON200)
		}
		ready, err := c.ReadyzWithResponse(ctx)
		ok("readyz", ready, err, http.StatusOK)

		// The caller's code and a vanity code.
		code, err := c.GetMyReferralCodeWithResponse(ctx, nil, user)
		ok("get code", code, err, http.StatusOK)
		if code.JSON200.Code == "" || code.JSON200.CreatedAt.IsZero() || code.JSON200.Links.Web == "" {
			t.Fatalf("code: %+v", code.JSON200)
		}
		vanity, err := c.PutMyReferralCodeWithResponse(ctx, referralclient.VanityCodeRequest{Code: "friends-of-u9"}, referralclient.BearerToken(s.token("u9")))
		ok("vanity code", vanity, err, http.StatusOK)
		if vanity.JSON200.Code != "FRIENDS-OF-U9" {
			t.Fatalf("vanity code: %+v", vanity.JSON200)
		}

		check, err := c.CheckCodeWithResponse(ctx, strings.ToLower(code.JSON200.Code))
		ok("check code", check, err, http.StatusOK)
		if !check.JSON200.Valid || check.JSON200.Code != code.JSON200.Code {
			t.Fatalf("check code: %+v", check.JSON200)
		}
		unknown, err := c.CheckCodeWithResponse(ctx, "NOSUCHCODE")
		ok("check unknown code", unknown, err, http.StatusNotFound)
		if p := referralclient.ProblemOf(unknown); p == nil || p.Code != "code_not_found" || unknown.ApplicationProblemJSON404 == nil {
			t.Fatalf("unknown code: %v", p)
		}

		browser := func(_ context.Context, req *http.Request) error {
			req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0") // Go's own agent counts as a bot
			return nil
		}
		follow, err := c.FollowShortLinkWithResponse(ctx, code.JSON200.Code, &referralclient.FollowShortLinkParams{UtmSource: ptr("newsletter")}, browser)
		ok("short link", follow, err, http.StatusFound)
		if h := follow.Headers302; h == nil || h.Location == nil || !strings.Contains(*h.Location, "ref="+code.JSON200.Code) ||
			!strings.Contains(*h.Location, "utm_source=newsletter") || !strings.Contains(*h.Location, "click=clk_") || h.SetCookie == nil {
			t.Fatalf("short link headers: %+v", follow.HTTPResponse.Header)
		}
		head, err := c.HeadShortLinkWithResponse(ctx, code.JSON200.Code)
		ok("short link (HEAD)", head, err, http.StatusFound)

		// A product backend: attribution, payment, refund.
		attribution := referralclient.CreateReferralRequest{ReferredUserID: "u2", Code: code.JSON200.Code, Email: ptr("jane@example.com")}
		created, err := c.CreateReferralWithResponse(ctx, attribution, backend)
		ok("attribute", created, err, http.StatusCreated)
		ref := created.JSON201
		if ref.Status != referralclient.ReferralStatusPENDING || ref.ReferrerID != "u1" || ref.RewardAmount != nil {
			t.Fatalf("referral: %+v", ref)
		}
		again, err := c.CreateReferralWithResponse(ctx, attribution, backend)
		ok("attribute again", again, err, http.StatusOK)
		self, err := c.CreateReferralWithResponse(ctx, referralclient.CreateReferralRequest{ReferredUserID: "u1", Code: code.JSON200.Code}, backend)
		ok("self-referral", self, err, http.StatusUnprocessableEntity)
		var p *referralclient.Problem
		if err := referralclient.ProblemOf(self); err == nil || !errors.As(error(err), &p) || p.Code != "self_referral" ||
			!strings.HasPrefix(err.Error(), "422 self_referral: ") {
			t.Fatalf("self-referral: %v", err)
		}

		paid, err := c.ReportPaymentWithResponse(ctx, referralclient.PaymentRequest{PaymentID: "pay_1", UserID: "u2", Amount: 10000, Currency: "usd"}, backend)
		ok("payment", paid, err, http.StatusOK)
		if !paid.JSON200.Qualified || paid.JSON200.Referral == nil || *paid.JSON200.Referral.RewardAmount != 2000 || paid.JSON200.Referral.QualifiedAt == nil {
			t.Fatalf("payment: %+v", paid.JSON200)
		}
		refund, err := c.ReportRefundWithResponse(ctx, referralclient.RefundRequest{RefundID: "re_1", PaymentID: "pay_1", Amount: 5000}, backend)
		ok("refund", refund, err, http.StatusOK)
		if refund.JSON200.Duplicate || refund.JSON200.Referral == nil || *refund.JSON200.Referral.RewardAmount != 1000 {
			t.Fatalf("refund: %+v", refund.JSON200)
		}

		// Stripe: a signed event.
		payload := rawEvent(t, "evt_client_1", "customer.created", map[string]any{
			"id": "cus_u1", "object": "customer", "metadata": map[string]any{"user_id": "u1"}})
		signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: testWebhookSecret, Timestamp: time.Now()})
		hook, err := c.ReceiveStripeEventWithBodyWithResponse(ctx, &referralclient.ReceiveStripeEventParams{StripeSignature: signed.Header},
			"application/json", bytes.NewReader(payload))
		ok("stripe event", hook, err, http.StatusOK)
		if !hook.JSON200.Received || !hook.JSON200.Outcome.Valid() {
			t.Fatalf("stripe event: %+v", hook.JSON200)
		}
		unsigned, err := c.ReceiveStripeEventWithResponse(ctx, &referralclient.ReceiveStripeEventParams{StripeSignature: "t=1,v1=00"},
			referralclient.StripeEvent{ID: "evt_forged", Type: "invoice.paid", Data: map[string]any{}})
		ok("forged stripe event", unsigned, err, http.StatusBadRequest)

		// The referrer's dashboard.
		stats, err := c.GetMyReferralStatsWithResponse(ctx, user)
		ok("stats", stats, err, http.StatusOK)
		if stats.JSON200.Total != 1 || stats.JSON200.ByStatus.QUALIFIED.RewardAmount["usd"] != 1000 {
			t.Fatalf("stats: %+v", stats.JSON200)
		}
		limit := 5
		history, err := c.ListMyReferralsWithResponse(ctx, &referralclient.ListMyReferralsParams{
			Status: new(referralclient.ListMyReferralsParamsStatusQUALIFIED), Limit: &limit}, user)
		ok("history", history, err, http.StatusOK)
		if len(history.JSON200.Items) != 1 || history.JSON200.Items[0].ReferredUser != "j***@example.com" || history.JSON200.NextCursor != nil {
			t.Fatalf("history: %+v", history.JSON200)
		}
		series, err := c.GetMyTimeSeriesWithResponse(ctx, &referralclient.GetMyTimeSeriesParams{
			Interval: new(referralclient.GetMyTimeSeriesParamsIntervalWeek)}, user)
		ok("time series", series, err, http.StatusOK)
		if len(series.JSON200.Buckets) == 0 || series.JSON200.From.IsZero() {
			t.Fatalf("time series: %+v", series.JSON200)
		}
		bal, err := c.GetMyBalanceWithResponse(ctx, user)
		ok("balance", bal, err, http.StatusOK)
		if len(bal.JSON200.Balances) != 1 || bal.JSON200.Balances[0].Amount != 1000 {
			t.Fatalf("balance: %+v", bal.JSON200)
		}
		ledger, err := c.ListMyTransactionsWithResponse(ctx, &referralclient.ListMyTransactionsParams{Currency: ptr("usd")}, user)
		ok("ledger", ledger, err, http.StatusOK)
		if len(ledger.JSON200.Items) != 2 {
			t.Fatalf("ledger: %+v", ledger.JSON200)
		}
		anonymous, err := c.GetMyBalanceWithResponse(ctx)
		ok("balance without a token", anonymous, err, http.StatusUnauthorized)
		if p := referralclient.ProblemOf(anonymous); p == nil || p.Code != "unauthorized" {
			t.Fatalf("no token: %v", p)
		}

		// Operators: referrals, balances, analytics.
		list, err := c.AdminListReferralsWithResponse(ctx, &referralclient.AdminListReferralsParams{ReferrerID: ptr("u1")}, admin)
		ok("admin referrals", list, err, http.StatusOK)
		if len(list.JSON200.Items) != 1 || list.JSON200.Items[0].ID != ref.ID {
			t.Fatalf("admin referrals: %+v", list.JSON200)
		}
		one, err := c.AdminGetReferralWithResponse(ctx, ref.ID, admin)
		ok("admin referral", one, err, http.StatusOK)
		if one.JSON200.Status != referralclient.ReferralStatusQUALIFIED {
			t.Fatalf("admin referral: %+v", one.JSON200)
		}
		userBal, err := c.AdminGetUserBalanceWithResponse(ctx, "u1", admin)
		ok("admin balance", userBal, err, http.StatusOK)
		userLedger, err := c.AdminListUserTransactionsWithResponse(ctx, "u1", &referralclient.AdminListUserTransactionsParams{}, admin)
		ok("admin ledger", userLedger, err, http.StatusOK)
		if len(userLedger.JSON200.Items) != len(ledger.JSON200.Items) {
			t.Fatalf("admin ledger: %+v", userLedger.JSON200)
		}
		program, err := c.AdminProgramStatsWithResponse(ctx, &referralclient.AdminProgramStatsParams{}, admin)
		ok("program stats", program, err, http.StatusOK)
		if program.JSON200.Signups != 1 || program.JSON200.Qualified != 1 {
			t.Fatalf("program stats: %+v", program.JSON200)
		}
		leaders, err := c.AdminLeaderboardWithResponse(ctx, &referralclient.AdminLeaderboardParams{
			Period: new(referralclient.AdminLeaderboardParamsPeriodAll)}, admin)
		ok("leaderboard", leaders, err, http.StatusOK)
		if len(leaders.JSON200.Items) != 1 || leaders.JSON200.Items[0].UserID != "u1" {
			t.Fatalf("leaderboard: %+v", leaders.JSON200)
		}
		forbidden, err := c.AdminLeaderboardWithResponse(ctx, nil, user)
		ok("leaderboard as a user", forbidden, err, http.StatusForbidden)

		// Payouts.
		payout, err := c.AdminCreatePayoutWithResponse(ctx, &referralclient.AdminCreatePayoutParams{IdempotencyKey: ptr("client-1")},
			referralclient.PayoutRequest{UserID: "u1", Currency: "usd", Method: referralclient.PayoutRequestMethodManual, Reference: ptr("wire-1")}, admin)
		ok("payout", payout, err, http.StatusCreated)
		po := payout.JSON201
		if po.Status != referralclient.PayoutStatusPaid || po.Amount != 1000 || po.PaidAt == nil {
			t.Fatalf("payout: %+v", po)
		}
		payouts, err := c.AdminListPayoutsWithResponse(ctx, &referralclient.AdminListPayoutsParams{UserID: ptr("u1")}, admin)
		ok("payouts", payouts, err, http.StatusOK)
		if len(payouts.JSON200.Items) != 1 || payouts.JSON200.Items[0].ID != po.ID {
			t.Fatalf("payouts: %+v", payouts.JSON200)
		}
		got, err := c.AdminGetPayoutWithResponse(ctx, po.ID, admin)
		ok("payout by id", got, err, http.StatusOK)

		// A cancellation after payout claws the reward back.
		cancelled, err := c.AdminCancelReferralWithResponse(ctx, ref.ID, referralclient.CancelRequest{Reason: "fraud: test"}, admin)
		ok("cancel", cancelled, err, http.StatusOK)
		if cancelled.JSON200.Status != referralclient.ReferralStatusCANCELLED || cancelled.JSON200.CancelReason == nil {
			t.Fatalf("cancel: %+v", cancelled.JSON200)
		}

		// API keys: create, use, list, revoke.
		key, err := c.AdminCreateAPIKeyWithResponse(ctx, referralclient.APIKeyRequest{Name: "billing", Role: referralclient.APIKeyRequestRoleService}, admin)
		ok("create key", key, err, http.StatusCreated)
		withKey, err := c.ReportPaymentWithResponse(ctx, referralclient.PaymentRequest{PaymentID: "pay_2", UserID: "u2", Amount: 100, Currency: "usd"},
			referralclient.BearerToken(key.JSON201.Key))
		ok("payment with an API key", withKey, err, http.StatusOK)
		keys, err := c.AdminListAPIKeysWithResponse(ctx, &referralclient.AdminListAPIKeysParams{}, admin)
		ok("list keys", keys, err, http.StatusOK)
		if len(keys.JSON200.Items) != 1 || keys.JSON200.Items[0].ID != key.JSON201.ID {
			t.Fatalf("keys: %+v", keys.JSON200)
		}
		revoked, err := c.AdminRevokeAPIKeyWithResponse(ctx, key.JSON201.ID, admin)
		ok("revoke key", revoked, err, http.StatusNoContent)
		afterRevoke, err := c.ReportPaymentWithResponse(ctx, referralclient.PaymentRequest{PaymentID: "pay_3", UserID: "u2", Amount: 100, Currency: "usd"},
			referralclient.BearerToken(key.JSON201.Key))
		ok("payment with a revoked key", afterRevoke, err, http.StatusUnauthorized)

		// Events and webhooks: an endpoint on a real receiver, its ping,
		// its attempts, the feeds, a redelivery and a replay.
		var hooks sync.Mutex
		received := map[string]int{}
		receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hooks.Lock()
			received[r.Header.Get("webhook-id")]++
			hooks.Unlock()
		}))
		defer receiver.Close()
		delivered := func(id string) func() bool {
			return func() bool { hooks.Lock(); defer hooks.Unlock(); return received[id] > 0 }
		}
		ep, err := c.AdminCreateWebhookEndpointWithResponse(ctx, referralclient.WebhookEndpointCreate{URL: receiver.URL, Description: ptr("CRM")}, admin)
		ok("create endpoint", ep, err, http.StatusCreated)
		if !strings.HasPrefix(ep.JSON201.Secret, "whsec_") || ep.JSON201.Status != "enabled" {
			t.Fatalf("endpoint: %+v", ep.JSON201)
		}
		eps, err := c.AdminListWebhookEndpointsWithResponse(ctx, &referralclient.AdminListWebhookEndpointsParams{}, admin)
		ok("list endpoints", eps, err, http.StatusOK)
		if len(eps.JSON200.Items) != 1 || eps.JSON200.Items[0].ID != ep.JSON201.ID {
			t.Fatalf("endpoints: %+v", eps.JSON200)
		}
		patched, err := c.AdminUpdateWebhookEndpointWithResponse(ctx, ep.JSON201.ID, referralclient.WebhookEndpointUpdate{
			Events: &[]string{"referral.created", "payout.paid"}}, admin)
		ok("update endpoint", patched, err, http.StatusOK)
		if patched.JSON200.Description != "CRM" || len(patched.JSON200.Events) != 2 {
			t.Fatalf("patched: %+v", patched.JSON200)
		}
		gotEP, err := c.AdminGetWebhookEndpointWithResponse(ctx, ep.JSON201.ID, admin)
		ok("get endpoint", gotEP, err, http.StatusOK)
		ping, err := c.AdminTestWebhookEndpointWithResponse(ctx, ep.JSON201.ID, admin)
		ok("test endpoint", ping, err, http.StatusAccepted)
		testutil.Eventually(t, 20*time.Second, "ping delivery", delivered(ping.JSON202.ID))
		var attempts *referralclient.AdminListWebhookDeliveriesResponse
		testutil.Eventually(t, 20*time.Second, "recorded attempt", func() bool {
			attempts, err = c.AdminListWebhookDeliveriesWithResponse(ctx, ep.JSON201.ID, &referralclient.AdminListWebhookDeliveriesParams{}, admin)
			ok("deliveries", attempts, err, http.StatusOK)
			return len(attempts.JSON200.Items) == 1 && attempts.JSON200.Items[0].Status == "succeeded"
		})
		rotated, err := c.AdminRotateWebhookSecretWithResponse(ctx, ep.JSON201.ID, admin)
		ok("rotate secret", rotated, err, http.StatusOK)
		var feed *referralclient.AdminListEventsResponse
		testutil.Eventually(t, 20*time.Second, "events in the feed", func() bool {
			feed, err = c.AdminListEventsWithResponse(ctx, &referralclient.AdminListEventsParams{Limit: new(100)}, admin)
			ok("event feed", feed, err, http.StatusOK)
			return len(feed.JSON200.Items) >= 5
		})
		var createdEvent string
		for _, e := range feed.JSON200.Items {
			if e.Type == "referral.created" {
				createdEvent = e.ID
				if r, err := e.Data.AsReferral(); err != nil || r.ReferrerID != "u1" {
					t.Fatalf("referral.created data: %+v %v", r, err)
				}
			}
		}
		redelivered, err := c.AdminRedeliverEventWithResponse(ctx, createdEvent, admin)
		ok("redeliver", redelivered, err, http.StatusAccepted)
		testutil.Eventually(t, 20*time.Second, "redelivery", delivered(createdEvent))
		replay, err := c.AdminReplayWebhookEndpointWithResponse(ctx, ep.JSON201.ID, referralclient.ReplayRequest{From: time.Now().Add(-time.Hour)}, admin)
		ok("replay", replay, err, http.StatusAccepted)
		if replay.JSON202.Events < 2 { // referral.created and payout.paid
			t.Fatalf("replay: %+v", replay.JSON202)
		}
		mine, err := c.ListMyEventsWithResponse(ctx, &referralclient.ListMyEventsParams{}, user)
		ok("my events", mine, err, http.StatusOK)
		if len(mine.JSON200.Items) == 0 {
			t.Fatalf("my events: %+v", mine.JSON200)
		}
		deleted, err := c.AdminDeleteWebhookEndpointWithResponse(ctx, ep.JSON201.ID, admin)
		ok("delete endpoint", deleted, err, http.StatusNoContent)

		// Email: the backend gives the address, the user chooses the emails.
		contact, err := c.PutUserContactWithResponse(ctx, "u1", referralclient.ContactRequest{Email: "jane@example.com", Locale: ptr("de")}, backend)
		ok("contact", contact, err, http.StatusOK)
		if contact.JSON200.Email != "jane@example.com" || contact.JSON200.Locale != "de" || contact.JSON200.Source != referralclient.ContactSourceService {
			t.Fatalf("contact: %+v", contact.JSON200)
		}
		badContact, err := c.PutUserContactWithResponse(ctx, "u1", referralclient.ContactRequest{Email: "jane"}, backend)
		ok("bad contact", badContact, err, http.StatusBadRequest)
		notes, err := c.GetMyNotificationsWithResponse(ctx, user)
		ok("notifications", notes, err, http.StatusOK)
		if e := notes.JSON200.Email; !e.ReferralQualified || !e.PayoutPaid || e.ReferralCreated || e.RewardAvailable {
			t.Fatalf("default notifications: %+v", e)
		}
		chosen := referralclient.NotificationSettings{Email: referralclient.EmailNotifications{ReferralCreated: true, PayoutPaid: true}}
		setNotes, err := c.PutMyNotificationsWithResponse(ctx, chosen, user)
		ok("set notifications", setNotes, err, http.StatusOK)
		if setNotes.JSON200.Email != chosen.Email {
			t.Fatalf("notifications: %+v", setNotes.JSON200)
		}
		// Programs: create, a code in it, list, read, change, price, archive, history.
		prog, err := c.AdminCreateProgramWithResponse(ctx, referralclient.ProgramCreate{Name: "Partners",
			ReferrerReward: &referralclient.ReferrerRewardChange{Percent: ptr("25"), MaxAmount: &map[string]int64{"usd": 5000}},
			Milestones:     &[]referralclient.Milestone{{QualifiedReferrals: 10, Bonus: map[string]int64{"usd": 10000}}}}, admin)
		ok("create program", prog, err, http.StatusCreated)
		if p := prog.JSON201; p.ReferrerReward.Percent != "25" || p.ReferrerReward.HoldDays != 14 || p.FriendReward.Type != "none" || p.Default ||
			len(p.Milestones) != 1 {
			t.Fatalf("program: %+v", p)
		}
		progCode, err := c.GetMyReferralCodeWithResponse(ctx, &referralclient.GetMyReferralCodeParams{Program: &prog.JSON201.ID}, user)
		ok("code in a program", progCode, err, http.StatusOK)
		if progCode.JSON200.ProgramID != prog.JSON201.ID || progCode.JSON200.Code == code.JSON200.Code {
			t.Fatalf("code in a program: %+v", progCode.JSON200)
		}
		inProgram, err := c.CreateReferralWithResponse(ctx, referralclient.CreateReferralRequest{ReferredUserID: "u7", Code: progCode.JSON200.Code}, backend)
		ok("attribute in a program", inProgram, err, http.StatusCreated)
		if inProgram.JSON201.ProgramID != prog.JSON201.ID {
			t.Fatalf("referral in a program: %+v", inProgram.JSON201)
		}
		progs, err := c.AdminListProgramsWithResponse(ctx, &referralclient.AdminListProgramsParams{}, admin)
		ok("list programs", progs, err, http.StatusOK)
		if len(progs.JSON200.Items) != 2 || !progs.JSON200.Items[0].Default {
			t.Fatalf("programs: %+v", progs.JSON200)
		}
		gotProg, err := c.AdminGetProgramWithResponse(ctx, "prog_default", admin)
		ok("get program", gotProg, err, http.StatusOK)
		patchedProg, err := c.AdminUpdateProgramWithResponse(ctx, prog.JSON201.ID, referralclient.ProgramUpdate{
			ReferrerReward: &referralclient.ReferrerRewardChange{Percent: ptr("30")}}, admin)
		ok("update program", patchedProg, err, http.StatusOK)
		if r := patchedProg.JSON200.ReferrerReward; r.Percent != "30" || r.MaxAmount["usd"] != 5000 {
			t.Fatalf("patched program: %+v", r)
		}
		preview, err := c.AdminPreviewProgramWithResponse(ctx, prog.JSON201.ID, referralclient.ProgramPreviewRequest{Amount: 10000, Currency: "usd"}, admin)
		ok("preview", preview, err, http.StatusOK)
		if !preview.JSON200.Earns || preview.JSON200.RewardAmount != 3000 {
			t.Fatalf("preview: %+v", preview.JSON200)
		}
		partner, err := c.AdminPutOverrideWithResponse(ctx, "u1", referralclient.OverrideRequest{ProgramID: &prog.JSON201.ID, Percent: "40"}, admin)
		ok("override", partner, err, http.StatusOK)
		if partner.JSON200.Percent != "40" || partner.JSON200.SetBy != "ops" {
			t.Fatalf("override: %+v", partner.JSON200)
		}
		removed, err := c.AdminDeleteOverrideWithResponse(ctx, "u1", &referralclient.AdminDeleteOverrideParams{ProgramID: &prog.JSON201.ID}, admin)
		ok("remove override", removed, err, http.StatusNoContent)
		archived, err := c.AdminArchiveProgramWithResponse(ctx, prog.JSON201.ID, admin)
		ok("archive program", archived, err, http.StatusOK)
		progHistory, err := c.AdminProgramHistoryWithResponse(ctx, prog.JSON201.ID, &referralclient.AdminProgramHistoryParams{}, admin)
		ok("program history", progHistory, err, http.StatusOK)
		if h := progHistory.JSON200.Items; len(h) != 5 || h[0].Action != "archive" || h[4].Subject != "ops" || h[3].Program.ReferrerReward.Percent != "30" ||
			h[2].Override == nil || *h[2].Override.Percent != "40" || h[1].Override.Percent != nil {
			t.Fatalf("program history: %+v", h)
		}

		var missing []string
		for _, id := range specOperations(t) {
			if doer.ops[id] == 0 {
				missing = append(missing, id)
			}
		}
		if len(missing) > 0 {
			t.Fatalf("operations of api/openapi.json never called through the generated client: %v", missing)
		}
	})
}
