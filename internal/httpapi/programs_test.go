package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/refhub/referral-service/pkg/referralapi"
)

// TestProgramsAdmin: the admin API over HTTP: the default program from
// the environment, create, PATCH merging, refusals (with nothing changed),
// unknown programs, the audit trail, the dry run, and rewards under the
// program in force.
func TestProgramsAdmin(t *testing.T) {
	eachBackend(t, serverOpts{}, func(t *testing.T, s *server) {
		admin := s.token("ops@example.com", "admin")
		backend := s.token("backend", "service")

		var def referralapi.Program
		s.do(t, request{method: "GET", path: "/v1/admin/programs/prog_default", token: admin}).decode(t, &def)
		if !def.Default || def.ManagedBy != "environment" || def.ReferrerReward.Percent != "20" || def.FriendReward.Type != "none" {
			t.Fatalf("default program: %+v", def)
		}
		s.do(t, request{method: "GET", path: "/v1/admin/programs", token: s.token("u1")}).problem(t, http.StatusForbidden, "forbidden")

		res := s.do(t, request{method: "POST", path: "/v1/admin/programs", token: admin, body: `{"name": "Partners",
			"referrerReward": {"percent": "25", "fixedAmount": {"usd": 100}, "minPayment": {"usd": 1000, "eur": 900}, "holdDays": 0}}`})
		if res.Status != http.StatusCreated {
			t.Fatalf("create: %d %s", res.Status, res.Body)
		}
		var prog referralapi.Program
		res.decode(t, &prog)
		if prog.ReferrerReward.Payments != 1 || prog.ReferrerReward.MinPayment["eur"] != 900 || prog.Status != "active" || prog.ManagedBy != "api" {
			t.Fatalf("created: %+v", prog)
		}
		path := "/v1/admin/programs/" + prog.ID

		// Refusals: out-of-range values are 422 with the fields named;
		// malformed bodies 400; unknown programs 404. None changes anything.
		for _, tc := range []struct {
			name, method, path, body string
			status                   int
			code, field              string
		}{
			{"percent over 100", "PATCH", path, `{"referrerReward": {"percent": "101"}}`, 422, "program_invalid", "referrerReward.percent"},
			{"percent as a number", "PATCH", path, `{"referrerReward": {"percent": 20}}`, 400, "invalid_request", ""},
			{"bad currency", "PATCH", path, `{"referrerReward": {"maxAmount": {"dollars": 5}}}`, 422, "program_invalid", "referrerReward.maxAmount"},
			{"negative amount", "PATCH", path, `{"referrerReward": {"fixedAmount": {"usd": -1}}}`, 422, "program_invalid", "referrerReward.fixedAmount"},
			{"zero payments", "PATCH", path, `{"referrerReward": {"payments": 0}}`, 422, "program_invalid", "referrerReward.payments"},
			{"blank name", "PATCH", path, `{"name": "  "}`, 422, "program_invalid", "name"},
			{"unknown field", "PATCH", path, `{"rate": 5}`, 400, "invalid_request", ""},
			{"unknown friend reward", "PATCH", path, `{"friendReward": {"type": "cash"}}`, 422, "program_invalid", "friendReward.type"},
			{"create without name", "POST", "/v1/admin/programs", `{"referrerReward": {"percent": "5"}}`, 422, "program_invalid", "name"},
			{"create earning nothing", "POST", "/v1/admin/programs", `{"name": "zero"}`, 422, "program_invalid", "referrerReward.percent"},
			{"unknown program", "PATCH", "/v1/admin/programs/prog_nope", `{"name": "x"}`, 404, "program_not_found", ""},
			{"preview bad currency", "POST", path + "/preview", `{"amount": 100, "currency": "USD"}`, 400, "invalid_request", "currency"},
			{"preview bad draft", "POST", path + "/preview", `{"amount": 100, "currency": "usd", "draft": {"referrerReward": {"holdDays": -1}}}`, 422, "program_invalid", "draft.referrerReward.holdDays"},
			{"preview unknown program", "POST", "/v1/admin/programs/prog_nope/preview", `{"amount": 100, "currency": "usd"}`, 404, "program_not_found", ""},
			{"archive default", "POST", "/v1/admin/programs/prog_default/archive", "", 422, "program_default", ""},
			{"archive unknown", "POST", "/v1/admin/programs/prog_nope/archive", "", 404, "program_not_found", ""},
			{"history unknown", "GET", "/v1/admin/programs/prog_nope/history", "", 404, "program_not_found", ""},
			{"get unknown", "GET", "/v1/admin/programs/prog_nope", "", 404, "program_not_found", ""},
			{"code in unknown program", "GET", "/v1/me/referral-code?program=prog_nope", "", 404, "program_not_found", ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				tok := admin
				if tc.path == "/v1/me/referral-code?program=prog_nope" {
					tok = s.token("u1")
				}
				p := s.do(t, request{method: tc.method, path: tc.path, token: tok, body: tc.body}).problem(t, tc.status, tc.code)
				if tc.field != "" {
					if errs, _ := p["errors"].(map[string]any); errs[tc.field] == nil {
						t.Fatalf("errors = %v, want %s named", p["errors"], tc.field)
					}
				}
			})
		}
		// Pages: the default program first, then the newest.
		var page referralapi.ProgramPage
		s.do(t, request{method: "GET", path: "/v1/admin/programs?limit=1", token: admin}).decode(t, &page)
		if len(page.Items) != 1 || page.Items[0].ID != "prog_default" || page.NextCursor == nil {
			t.Fatalf("first page: %+v", page)
		}
		s.do(t, request{method: "GET", path: "/v1/admin/programs?limit=1&cursor=" + *page.NextCursor, token: admin}).decode(t, &page)
		if len(page.Items) != 1 || page.Items[0].ID != prog.ID || page.NextCursor != nil {
			t.Fatalf("second page: %+v", page)
		}
		s.do(t, request{method: "GET", path: "/v1/admin/programs?cursor=bm9wZQ", token: admin}).problem(t, 400, "invalid_cursor")

		var after referralapi.Program
		s.do(t, request{method: "GET", path: path, token: admin}).decode(t, &after)
		if after.ReferrerReward.Percent != "25" || after.UpdatedAt != prog.UpdatedAt || after.Name != "Partners" {
			t.Fatalf("a refused change changed the program: %+v", after)
		}

		// A referral under the program earns its rule; a later PATCH (merged:
		// the fixed amount and minimum stay) applies to later rewards only.
		code := getCodeIn(t, s, "r1", prog.ID)
		mustStatus(t, attribute(t, s, "f1", code, nil), http.StatusCreated)
		mustStatus(t, pay(t, s, "p1", "f1", 10000, "usd"), http.StatusOK)
		res = s.do(t, request{method: "PATCH", path: path, token: admin, body: `{"referrerReward": {"percent": "10"}}`})
		res.decode(t, &after)
		if after.ReferrerReward.Percent != "10" || after.ReferrerReward.FixedAmount["usd"] != 100 || after.ReferrerReward.MinPayment["usd"] != 1000 {
			t.Fatalf("PATCH did not merge: %+v", after.ReferrerReward)
		}
		mustStatus(t, attribute(t, s, "f2", code, nil), http.StatusCreated)
		mustStatus(t, pay(t, s, "p2", "f2", 10000, "usd"), http.StatusOK)
		var bal referralapi.Balances
		s.do(t, request{method: "GET", path: "/v1/admin/users/r1/balance", token: admin}).decode(t, &bal)
		if len(bal.Balances) != 1 || bal.Balances[0].Amount != 2600+1100 {
			t.Fatalf("balance under the program's rules: %+v", bal)
		}

		var pv referralapi.ProgramPreview
		s.do(t, request{method: "POST", path: path + "/preview", token: admin, body: `{"amount": 999, "currency": "usd"}`}).decode(t, &pv)
		if pv.Earns || pv.MinPayment != 1000 {
			t.Fatalf("preview under the minimum: %+v", pv)
		}
		s.do(t, request{method: "POST", path: path + "/preview", token: admin,
			body: `{"amount": 5000, "currency": "gbp", "draft": {"referrerReward": {"maxAmount": {"*": 300}}}}`}).decode(t, &pv)
		if !pv.Earns || pv.RewardAmount != 300 || pv.Rule.MaxAmount != 300 || pv.Rule.Percent != "10" {
			t.Fatalf("draft preview: %+v", pv)
		}

		var hist referralapi.ProgramChangePage
		s.do(t, request{method: "GET", path: path + "/history?limit=1", token: admin}).decode(t, &hist)
		if len(hist.Items) != 1 || hist.NextCursor == nil || hist.Items[0].Subject != "ops@example.com" || hist.Items[0].Action != "update" ||
			hist.Items[0].Program.ReferrerReward.Percent != "10" {
			t.Fatalf("history page: %+v", hist)
		}
		s.do(t, request{method: "GET", path: path + "/history?cursor=" + *hist.NextCursor, token: admin}).decode(t, &hist)
		if len(hist.Items) != 1 || hist.Items[0].Action != "create" || hist.NextCursor != nil {
			t.Fatalf("history second page: %+v", hist)
		}

		// Archived: no new codes or referrals in it, existing ones earn.
		s.do(t, request{method: "POST", path: path + "/archive", token: admin})
		s.do(t, request{method: "GET", path: "/v1/me/referral-code?program=" + prog.ID, token: s.token("r2")}).problem(t, 422, "program_archived")
		s.do(t, request{method: "POST", path: "/v1/referrals", token: backend,
			body: jsonBody(t, map[string]string{"referredUserId": "f3", "code": code})}).problem(t, 422, "program_archived")
		s.do(t, request{method: "PATCH", path: path, token: admin, body: `{"name": "x"}`}).problem(t, 422, "program_archived")
		s.do(t, request{method: "POST", path: "/v1/referrals", token: backend,
			body: jsonBody(t, map[string]string{"referredUserId": "f3", "code": code, "programId": "prog_nope"})}).problem(t, 404, "program_not_found")
	})
}

// TestOverridesOverHTTP: a partner's own percent through the API, its
// refusals, and its removal.
func TestOverridesOverHTTP(t *testing.T) {
	eachBackend(t, serverOpts{}, func(t *testing.T, s *server) {
		admin := s.token("ops@example.com", "admin")
		put := func(user, body string) response {
			return s.do(t, request{method: "PUT", path: "/v1/admin/referrers/" + user + "/override", token: admin, body: body})
		}
		var o referralapi.Override
		res := put("partner", `{"percent": "30"}`)
		res.decode(t, &o)
		if res.Status != http.StatusOK || o.ProgramID != "prog_default" || o.Percent != "30" || o.SetBy != "ops@example.com" {
			t.Fatalf("override: %d %+v", res.Status, o)
		}
		put("partner", `{"percent": "130"}`).problem(t, 422, "program_invalid")
		put("partner", `{"percent": 30}`).problem(t, 400, "invalid_request")
		put("partner", `{}`).problem(t, 400, "invalid_request")
		put("partner", `{"percent": "30", "programId": "prog_nope"}`).problem(t, 404, "program_not_found")
		s.do(t, request{method: "PUT", path: "/v1/admin/referrers/partner/override", token: s.token("partner"), body: `{"percent": "90"}`}).problem(t, 403, "forbidden")

		code := getCode(t, s, "partner").Code
		mustStatus(t, attribute(t, s, "f1", code, nil), http.StatusCreated)
		var paid referralapi.PaymentResult
		res = pay(t, s, "p1", "f1", 10000, "usd")
		res.decode(t, &paid)
		if paid.Referral == nil || *paid.Referral.RewardAmount != 3000 {
			t.Fatalf("partner's reward: %s", res.Body)
		}
		del := func(query string) response {
			return s.do(t, request{method: "DELETE", path: "/v1/admin/referrers/partner/override" + query, token: admin})
		}
		del("?programId=prog_nope").problem(t, 404, "program_not_found")
		mustStatus(t, del("?programId=prog_default"), http.StatusNoContent)
		del("").problem(t, 404, "override_not_found")
		mustStatus(t, attribute(t, s, "f2", code, nil), http.StatusCreated)
		res = pay(t, s, "p2", "f2", 10000, "usd")
		res.decode(t, &paid)
		if *paid.Referral.RewardAmount != 2000 {
			t.Fatalf("reward after removal: %s", res.Body)
		}
	})
}

// TestMilestonesOverHTTP: milestones set through the API, refused when
// malformed, and the bonus in the referrer's ledger.
func TestMilestonesOverHTTP(t *testing.T) {
	eachBackend(t, serverOpts{}, func(t *testing.T, s *server) {
		admin := s.token("ops", "admin")
		res := s.do(t, request{method: "POST", path: "/v1/admin/programs", token: admin, body: `{"name": "Ladder",
			"referrerReward": {"percent": "10", "holdDays": 0}, "milestones": [{"qualifiedReferrals": 2, "bonus": {"usd": 500}}]}`})
		var prog referralapi.Program
		res.decode(t, &prog)
		if res.Status != http.StatusCreated || len(prog.Milestones) != 1 || prog.Milestones[0].Bonus["usd"] != 500 {
			t.Fatalf("create: %d %s", res.Status, res.Body)
		}
		path := "/v1/admin/programs/" + prog.ID
		for _, body := range []string{
			`{"milestones": [{"qualifiedReferrals": 2, "bonus": {"usd": 500}}, {"qualifiedReferrals": 2, "bonus": {"usd": 900}}]}`,
			`{"milestones": [{"qualifiedReferrals": 0, "bonus": {"usd": 500}}]}`,
			`{"milestones": [{"qualifiedReferrals": 3, "bonus": {}}]}`,
			`{"milestones": [{"qualifiedReferrals": 3, "bonus": {"USD": 5}}]}`,
		} {
			s.do(t, request{method: "PATCH", path: path, token: admin, body: body}).problem(t, 422, "program_invalid")
		}
		code := getCodeIn(t, s, "climber", prog.ID)
		for _, f := range []string{"m1", "m2"} {
			mustStatus(t, attribute(t, s, f, code, nil), http.StatusCreated)
			mustStatus(t, pay(t, s, "pay-"+f, f, 1000, "usd"), http.StatusOK)
		}
		var page referralapi.LedgerPage
		s.do(t, request{method: "GET", path: "/v1/me/balance/transactions", token: s.token("climber")}).decode(t, &page)
		var bonus int64
		for _, e := range page.Items {
			if e.Type == "bonus" {
				bonus += e.Amount
			}
		}
		if bonus != 500 || len(page.Items) != 3 {
			t.Fatalf("ledger: %+v", page.Items)
		}
		// Replacing the milestones with none: the standing bonus stays.
		res = s.do(t, request{method: "PATCH", path: path, token: admin, body: `{"milestones": []}`})
		res.decode(t, &prog)
		if res.Status != http.StatusOK || len(prog.Milestones) != 0 || prog.ReferrerReward.Percent != "10" {
			t.Fatalf("patch milestones: %d %s", res.Status, res.Body)
		}
	})
}

// TestFriendCreditOverHTTP: "give $10, get 10%": the friend's credit in
// their own ledger when the referral qualifies; malformed ones refused.
func TestFriendCreditOverHTTP(t *testing.T) {
	eachBackend(t, serverOpts{}, func(t *testing.T, s *server) {
		admin := s.token("ops", "admin")
		res := s.do(t, request{method: "POST", path: "/v1/admin/programs", token: admin, body: `{"name": "Give and get",
			"referrerReward": {"percent": "10", "holdDays": 0},
			"friendReward": {"type": "credit", "credit": {"amount": {"usd": 1000}, "when": "qualified"}}}`})
		var prog referralapi.Program
		res.decode(t, &prog)
		if res.Status != http.StatusCreated || prog.FriendReward.Credit == nil || prog.FriendReward.Credit.Amount["usd"] != 1000 {
			t.Fatalf("create: %d %s", res.Status, res.Body)
		}
		path := "/v1/admin/programs/" + prog.ID
		for body, field := range map[string]string{
			`{"friendReward": {"type": "discount"}}`: "friendReward.discount",
			`{"friendReward": {"type": "credit"}}`:   "friendReward.credit",
			`{"friendReward": {"type": "credit", "credit": {"amount": {"usd": 5, "eur": 5}, "when": "signup"}}}`: "friendReward.credit.amount",
		} {
			p := s.do(t, request{method: "PATCH", path: path, token: admin, body: body}).problem(t, 422, "program_invalid")
			if errs, _ := p["errors"].(map[string]any); errs[field] == nil {
				t.Fatalf("%s: errors %v, want %s", body, p["errors"], field)
			}
		}
		code := getCodeIn(t, s, "giver", prog.ID)
		mustStatus(t, attribute(t, s, "friend", code, nil), http.StatusCreated)
		mustStatus(t, pay(t, s, "pay-friend", "friend", 5000, "usd"), http.StatusOK)
		var page referralapi.LedgerPage
		s.do(t, request{method: "GET", path: "/v1/me/balance/transactions", token: s.token("friend")}).decode(t, &page)
		if len(page.Items) != 1 || page.Items[0].Type != "credit" || page.Items[0].Amount != 1000 {
			t.Fatalf("friend's ledger: %+v", page.Items)
		}
		var bal referralapi.Balances
		s.do(t, request{method: "GET", path: "/v1/me/balance", token: s.token("giver")}).decode(t, &bal)
		if len(bal.Balances) != 1 || bal.Balances[0].Amount != 500 {
			t.Fatalf("referrer's balance: %+v", bal)
		}
	})
}

// TestGiveAndGetFlow is the issue's end to end: an operator creates "give
// 20% off the first month, get 25% of the first payment" (a Stripe coupon
// and promotion code on stripe-mock), a referrer shares a code from it,
// the landing page reads the offer, attribution answers the promotion
// code, the friend pays, the referrer is credited under the program's
// rule, a later change of the program does not touch that reward, and a
// partner override and a milestone bonus pay in the same program.
func TestGiveAndGetFlow(t *testing.T) {
	eachBackend(t, serverOpts{stripeCredits: true}, func(t *testing.T, s *server) {
		admin := s.token("ops", "admin")
		res := s.do(t, request{method: "POST", path: "/v1/admin/programs", token: admin, body: `{"name": "Give 20%, get 25%",
			"referrerReward": {"percent": "25", "holdDays": 0},
			"friendReward": {"type": "discount", "discount": {"percentOff": "20", "duration": "once", "promotionCode": "FRIEND20"}},
			"milestones": [{"qualifiedReferrals": 2, "bonus": {"usd": 500}}]}`})
		var prog referralapi.Program
		res.decode(t, &prog)
		if res.Status != http.StatusCreated || prog.FriendReward.Discount == nil || prog.FriendReward.Discount.StripeCouponID == "" ||
			prog.FriendReward.Discount.PromotionCode == "" {
			t.Fatalf("create: %d %s", res.Status, res.Body)
		}
		promo := prog.FriendReward.Discount.PromotionCode
		for _, body := range []string{
			`{"friendReward": {"type": "discount", "discount": {"percentOff": "20", "amountOff": {"usd": 5}, "duration": "once"}}}`,
			`{"friendReward": {"type": "discount", "discount": {"percentOff": "120", "duration": "once"}}}`,
			`{"friendReward": {"type": "discount", "discount": {"percentOff": "20", "duration": "repeating"}}}`,
			`{"friendReward": {"type": "discount", "discount": {"amountOff": {"usd": 500, "eur": 500}, "duration": "once"}}}`,
			`{"friendReward": {"type": "discount", "discount": {"percentOff": "20", "duration": "once", "promotionCode": "friend 20"}}}`,
		} {
			s.do(t, request{method: "PATCH", path: "/v1/admin/programs/" + prog.ID, token: admin, body: body}).problem(t, 422, "program_invalid")
		}

		code := getCodeIn(t, s, "sharer", prog.ID)
		var check referralapi.CodeCheck
		s.do(t, request{method: "GET", path: "/v1/codes/" + code}).decode(t, &check)
		if o := check.Offer; o == nil || o.Type != "discount" || o.PercentOff == nil || *o.PercentOff != "20" || o.Duration != "once" ||
			o.PromotionCode != promo || o.Description != "20% off your first payment" {
			t.Fatalf("landing page offer: %+v", check.Offer)
		}
		res = attribute(t, s, "newbie", code, nil)
		var ref referralapi.Referral
		res.decode(t, &ref)
		if res.Status != http.StatusCreated || ref.Offer == nil || ref.Offer.PromotionCode != promo || ref.ProgramID != prog.ID ||
			ref.Offer.StripePromotionCodeID != prog.FriendReward.Discount.StripePromotionCodeID || ref.Offer.StripePromotionCodeID == "" {
			t.Fatalf("attribution: %d %s", res.Status, res.Body)
		}
		mustStatus(t, pay(t, s, "pay-newbie", "newbie", 8000, "usd"), http.StatusOK) // 10000 less 20%
		s.do(t, request{method: "PATCH", path: "/v1/admin/programs/" + prog.ID, token: admin, body: `{"referrerReward": {"percent": "5"}}`})
		var got referralapi.Referral
		s.do(t, request{method: "GET", path: "/v1/admin/referrals/" + ref.ID, token: admin}).decode(t, &got)
		if got.RewardAmount == nil || *got.RewardAmount != 2000 {
			t.Fatalf("referrer's reward: %+v", got)
		}
		// A partner at 30% in this program, and the second referral reaches
		// the milestone: 30% of 8000 and a 500 bonus.
		mustStatus(t, s.do(t, request{method: "PUT", path: "/v1/admin/referrers/sharer/override", token: admin,
			body: `{"programId": "` + prog.ID + `", "percent": "30"}`}), http.StatusOK)
		mustStatus(t, attribute(t, s, "second", code, nil), http.StatusCreated)
		mustStatus(t, pay(t, s, "pay-second", "second", 8000, "usd"), http.StatusOK)
		var page referralapi.LedgerPage
		s.do(t, request{method: "GET", path: "/v1/admin/users/sharer/transactions", token: admin}).decode(t, &page)
		byType := map[string]int64{}
		for _, e := range page.Items {
			byType[e.Type] += e.Amount
		}
		if byType["reward"] != 2000+2400 || byType["bonus"] != 500 || len(page.Items) != 3 {
			t.Fatalf("sharer's ledger: %+v", page.Items)
		}
		// A code of the default program offers nothing.
		s.do(t, request{method: "GET", path: "/v1/codes/" + getCode(t, s, "plain").Code}).decode(t, &check)
		if check.Offer != nil {
			t.Fatalf("default program offer: %+v", check.Offer)
		}
	})
}

func getCodeIn(t *testing.T, s *server, user, program string) string {
	t.Helper()
	res := s.do(t, request{method: "GET", path: "/v1/me/referral-code?program=" + program, token: s.token(user)})
	var c referralapi.ReferralCode
	res.decode(t, &c)
	if res.Status != http.StatusOK || c.ProgramID != program {
		t.Fatalf("code in %s: %d %s", program, res.Status, res.Body)
	}
	return c.Code
}

func mustStatus(t *testing.T, res response, status int) {
	t.Helper()
	if res.Status != status {
		t.Fatalf("status %d, want %d: %s", res.Status, status, res.Body)
	}
}

// TestPromotionCodePerReferrerCodeOverHTTP: with "perReferrerCode" the
// landing page and the attribution name the referrer's own code as the
// promotion code to enter at checkout (created at stripe-mock).
func TestPromotionCodePerReferrerCodeOverHTTP(t *testing.T) {
	eachBackend(t, serverOpts{stripeCredits: true}, func(t *testing.T, s *server) {
		admin := s.token("ops", "admin")
		res := s.do(t, request{method: "POST", path: "/v1/admin/programs", token: admin, body: `{"name":"Give 15","referrerReward":{"percent":"20"},
			"friendReward":{"type":"discount","discount":{"percentOff":"15","duration":"once","perReferrerCode":true}}}`})
		var prog referralapi.Program
		res.decode(t, &prog)
		if res.Status != http.StatusCreated || !prog.FriendReward.Discount.PerReferrerCode {
			t.Fatalf("create: %d %s", res.Status, res.Body)
		}
		var code referralapi.ReferralCode
		s.do(t, request{method: "GET", path: "/v1/me/referral-code?program=" + prog.ID, token: s.token("u1")}).decode(t, &code)
		var check referralapi.CodeCheck
		s.do(t, request{method: "GET", path: "/v1/codes/" + code.Code}).decode(t, &check)
		if check.Offer == nil || check.Offer.PromotionCode != code.Code ||
			check.Offer.StripePromotionCodeID == "" || check.Offer.StripePromotionCodeID == prog.FriendReward.Discount.StripePromotionCodeID {
			t.Fatalf("landing page offer: %+v", check.Offer)
		}
		var ref referralapi.Referral
		attribute(t, s, "f1", code.Code, nil).decode(t, &ref)
		if ref.Offer == nil || ref.Offer.StripePromotionCodeID != check.Offer.StripePromotionCodeID {
			t.Fatalf("attribution offer: %+v", ref.Offer)
		}
	})
}
