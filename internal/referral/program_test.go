package referral_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/refhub/referral-service/internal/referral"
	"github.com/refhub/referral-service/internal/store"
	"github.com/refhub/referral-service/internal/testdb"
)

func ptr[T any](v T) *T { return &v }

// TestDefaultProgramFollowsTheEnvironment: without any program change the
// default program is the service's REWARD_* options, the start records them
// once in its history, and an operator's change makes the stored rules win.
func TestDefaultProgramFollowsTheEnvironment(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		svc := referral.NewService(st, referral.Options{
			Rule: referral.RewardRule{Percent: referral.MustPercent("12.5"), Fixed: 100, Cap: 5000}, MinPayment: 500, Payments: 2, Hold: 14 * 24 * time.Hour,
		})
		p, err := svc.Program(ctx, referral.DefaultProgramID)
		if err != nil {
			t.Fatal(err)
		}
		r := p.Referrer
		if !p.Default || p.Status != referral.ProgramActive || r.Percent.String() != "12.5" || r.Fixed.For("eur") != 100 ||
			r.Max.For("usd") != 5000 || r.MinPayment.For("jpy") != 500 || r.Payments != 2 || r.HoldDays != 14 || p.Friend.Type != referral.FriendNone {
			t.Fatalf("default program: %+v", p)
		}
		for range 2 { // a second start with the same values records nothing more
			if apiManaged, err := svc.SyncEnvironmentProgram(ctx); err != nil || apiManaged {
				t.Fatalf("sync: %v %v", apiManaged, err)
			}
		}
		hist, _, err := svc.ProgramHistory(ctx, referral.DefaultProgramID, "", 10)
		if err != nil || len(hist) != 1 || hist[0].Subject != "environment" || hist[0].Program.Referrer.Percent.String() != "12.5" {
			t.Fatalf("history after start: %+v %v", hist, err)
		}
		// Rewards exactly as before programs existed.
		setupReferral(t, svc, "r", "f")
		mustPay(t, svc, "small", "f", 499)
		if res := mustPay(t, svc, "p1", "f", 10000); !res.Qualified || *res.Referral.RewardAmount != 1350 {
			t.Fatalf("reward under the environment: %+v", res.Referral)
		}
		// A restart with other values is recorded, and applies.
		svc2 := referral.NewService(st, referral.Options{Rule: referral.RewardRule{Percent: referral.MustPercent("30")}})
		if _, err := svc2.SyncEnvironmentProgram(ctx); err != nil {
			t.Fatal(err)
		}
		if hist, _, _ := svc2.ProgramHistory(ctx, referral.DefaultProgramID, "", 10); len(hist) != 2 {
			t.Fatalf("history after a changed start: %+v", hist)
		}
		// An operator's change: the stored rules apply, REWARD_* no longer.
		if _, err := svc2.UpdateProgram(ctx, "ops", referral.DefaultProgramID, referral.ProgramPatch{Referrer: &referral.RewardPatch{Percent: ptr("5")}}); err != nil {
			t.Fatal(err)
		}
		if apiManaged, err := svc.SyncEnvironmentProgram(ctx); err != nil || !apiManaged {
			t.Fatalf("sync after an operator's change: %v %v", apiManaged, err)
		}
		p, _ = svc.Program(ctx, referral.DefaultProgramID)
		// Merged into the values in force for svc2 (30%, nothing else).
		if p.Referrer.Percent.String() != "5" || p.Referrer.Fixed.For("usd") != 0 || p.Referrer.Payments != 1 || p.ManagedBy != referral.ManagedByAPI {
			t.Fatalf("default program after PATCH merged into the environment's values: %+v", p)
		}
		setupReferral(t, svc, "r", "f2")
		if res := mustPay(t, svc, "p2", "f2", 10000); *res.Referral.RewardAmount != 500 {
			t.Fatalf("reward after the operator's change: %+v", res.Referral)
		}
	})
}

// TestRewardsFollowTheProgramInForce: a referral earns under its program's
// rules at the time of each payment; a later change does not touch an
// earned reward, also when a refund recomputes it.
func TestRewardsFollowTheProgramInForce(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		svc := newService(st, "20")
		prog, err := svc.CreateProgram(ctx, "ops", referral.ProgramPatch{
			Name: ptr("Partners"),
			Referrer: &referral.RewardPatch{Percent: ptr("25"), Fixed: &referral.Amounts{"usd": 100}, Max: &referral.Amounts{"usd": 2000},
				MinPayment: &referral.Amounts{"usd": 1000}, Payments: ptr(2), HoldDays: ptr(0)},
		})
		if err != nil {
			t.Fatal(err)
		}
		code, err := svc.GetOrCreateProgramCode(ctx, "r", prog.ID)
		if err != nil || code.ProgramID != prog.ID {
			t.Fatalf("program code: %+v %v", code, err)
		}
		def, err := svc.GetOrCreateCode(ctx, "r")
		if err != nil || def.Code == code.Code || def.ProgramID != referral.DefaultProgramID {
			t.Fatalf("default code %+v beside %+v: %v", def, code, err)
		}
		if again, _ := svc.GetOrCreateProgramCode(ctx, "r", prog.ID); again != code {
			t.Fatalf("second call: %+v, want %+v", again, code)
		}
		ref, _, err := svc.Attribute(ctx, referral.Attribution{ReferredUserID: "f", Code: code.Code})
		if err != nil || ref.ProgramID != prog.ID {
			t.Fatalf("attribution: %+v %v", ref, err)
		}
		// Under the minimum: nothing. Then 25% + 100 of 4000 = 1100.
		if res := mustPay(t, svc, "tiny", "f", 999); res.Qualified {
			t.Fatal("a payment under the program's minimum earned")
		}
		if res := mustPay(t, svc, "p1", "f", 4000); !res.Qualified || *res.Referral.RewardAmount != 1100 {
			t.Fatalf("first reward: %+v", res.Referral)
		}
		// The operator lowers the rate; the second payment earns under it.
		if _, err := svc.UpdateProgram(ctx, "ops", prog.ID, referral.ProgramPatch{Referrer: &referral.RewardPatch{Percent: ptr("10")}}); err != nil {
			t.Fatal(err)
		}
		if res := mustPay(t, svc, "p2", "f", 4000); !res.Qualified || *res.Referral.RewardAmount != 1100+500 {
			t.Fatalf("second reward: %+v", res.Referral)
		}
		// A half refund of the first payment keeps 25% (and half the fixed part).
		mustClaim(t, svc, refund("half", "p1", 2000))
		if s := stateOf(t, svc, st, "r", "f"); s.reward != 550+500 || s.balance != 1050 {
			t.Fatalf("after refund: %+v", s)
		}
		rw, err := st.RewardByPayment(ctx, "p1")
		if err != nil || rw.ProgramID != prog.ID || rw.Rule.Percent.String() != "25" || rw.Rule.Fixed != 100 || rw.Rule.Cap != 2000 {
			t.Fatalf("stored reward: %+v %v", rw, err)
		}
		// A referral may be attributed to another program than its code's.
		other, _ := svc.CreateProgram(ctx, "ops", referral.ProgramPatch{Name: ptr("Other"), Referrer: &referral.RewardPatch{Percent: ptr("50")}})
		ref2, _, err := svc.Attribute(ctx, referral.Attribution{ReferredUserID: "g", Code: def.Code, ProgramID: other.ID})
		if err != nil || ref2.ProgramID != other.ID {
			t.Fatalf("attribution naming a program: %+v %v", ref2, err)
		}
		if res := mustPay(t, svc, "g1", "g", 1000); *res.Referral.RewardAmount != 500 {
			t.Fatalf("reward under the named program: %+v", res.Referral)
		}
		// An unknown program is refused, for codes and attributions.
		if _, err := svc.GetOrCreateProgramCode(ctx, "r", "prog_nope"); !errors.Is(err, referral.ErrProgramNotFound) {
			t.Fatalf("code in unknown program: %v", err)
		}
		if _, _, err := svc.Attribute(ctx, referral.Attribution{ReferredUserID: "h", Code: def.Code, ProgramID: "prog_nope"}); !errors.Is(err, referral.ErrProgramNotFound) {
			t.Fatalf("attribution to unknown program: %v", err)
		}
	})
}

// TestArchivedProgram: no new codes or referrals; existing ones keep earning.
func TestArchivedProgram(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		svc := newService(st, "20")
		prog, err := svc.CreateProgram(ctx, "ops", referral.ProgramPatch{Name: ptr("Spring"), Referrer: &referral.RewardPatch{Percent: ptr("30")}})
		if err != nil {
			t.Fatal(err)
		}
		code, _ := svc.GetOrCreateProgramCode(ctx, "r", prog.ID)
		attribution := referral.Attribution{ReferredUserID: "f", Code: code.Code}
		if _, _, err := svc.Attribute(ctx, attribution); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if p, err := svc.ArchiveProgram(ctx, "ops", prog.ID); err != nil || p.Status != referral.ProgramArchived {
				t.Fatalf("archive: %+v %v", p, err)
			}
		}
		if _, err := svc.ArchiveProgram(ctx, "ops", referral.DefaultProgramID); !errors.Is(err, referral.ErrProgramDefault) {
			t.Fatalf("archive default: %v", err)
		}
		if _, err := svc.GetOrCreateProgramCode(ctx, "r2", prog.ID); !errors.Is(err, referral.ErrProgramArchived) {
			t.Fatalf("new code in archived program: %v", err)
		}
		if again, _ := svc.GetOrCreateProgramCode(ctx, "r", prog.ID); again.Code != code.Code {
			t.Fatal("the existing code is not returned")
		}
		if _, _, err := svc.Attribute(ctx, referral.Attribution{ReferredUserID: "g", Code: code.Code}); !errors.Is(err, referral.ErrProgramArchived) {
			t.Fatalf("new referral in archived program: %v", err)
		}
		if r, created, err := svc.Attribute(ctx, attribution); err != nil || created || r.ReferredUserID != "f" {
			t.Fatalf("retried attribution: %+v %v %v", r, created, err)
		}
		if res := mustPay(t, svc, "p", "f", 1000); *res.Referral.RewardAmount != 300 {
			t.Fatalf("reward in archived program: %+v", res.Referral)
		}
		if _, err := svc.UpdateProgram(ctx, "ops", prog.ID, referral.ProgramPatch{Name: ptr("x")}); !errors.Is(err, referral.ErrProgramArchived) {
			t.Fatalf("update archived: %v", err)
		}
		hist, _, err := svc.ProgramHistory(ctx, prog.ID, "", 10)
		if err != nil || len(hist) != 2 || hist[0].Action != referral.ChangeArchive || hist[1].Action != referral.ChangeCreate || hist[0].Subject != "ops" {
			t.Fatalf("history: %+v %v", hist, err)
		}
	})
}

// TestProgramValidation: out-of-range values are refused with the fields
// named, and nothing is stored.
func TestProgramValidation(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		svc := newService(st, "20")
		for _, tc := range []struct {
			name  string
			patch referral.ProgramPatch
			field string
		}{
			{"no name", referral.ProgramPatch{Referrer: &referral.RewardPatch{Percent: ptr("10")}}, "name"},
			{"percent over 100", referral.ProgramPatch{Name: ptr("x"), Referrer: &referral.RewardPatch{Percent: ptr("100.5")}}, "referrerReward.percent"},
			{"percent negative", referral.ProgramPatch{Name: ptr("x"), Referrer: &referral.RewardPatch{Percent: ptr("-1")}}, "referrerReward.percent"},
			{"percent too precise", referral.ProgramPatch{Name: ptr("x"), Referrer: &referral.RewardPatch{Percent: ptr("1.00001")}}, "referrerReward.percent"},
			{"earns nothing", referral.ProgramPatch{Name: ptr("x")}, "referrerReward.percent"},
			{"bad currency", referral.ProgramPatch{Name: ptr("x"), Referrer: &referral.RewardPatch{Percent: ptr("1"), Max: &referral.Amounts{"USD": 5}}}, "referrerReward.maxAmount"},
			{"negative amount", referral.ProgramPatch{Name: ptr("x"), Referrer: &referral.RewardPatch{Percent: ptr("1"), Fixed: &referral.Amounts{"usd": -5}}}, "referrerReward.fixedAmount"},
			{"no payments", referral.ProgramPatch{Name: ptr("x"), Referrer: &referral.RewardPatch{Percent: ptr("1"), Payments: ptr(0)}}, "referrerReward.payments"},
			{"long hold", referral.ProgramPatch{Name: ptr("x"), Referrer: &referral.RewardPatch{Percent: ptr("1"), HoldDays: ptr(4000)}}, "referrerReward.holdDays"},
			{"unknown friend reward", referral.ProgramPatch{Name: ptr("x"), Referrer: &referral.RewardPatch{Percent: ptr("1")}, Friend: &referral.FriendReward{Type: "cash"}}, "friendReward.type"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := svc.CreateProgram(ctx, "ops", tc.patch)
				var ve *referral.ValidationError
				if !errors.As(err, &ve) || ve.Fields[tc.field] == "" {
					t.Fatalf("err = %v, want a message for %s", err, tc.field)
				}
			})
		}
		if ps, _, _ := svc.Programs(ctx, referral.ProgramFilter{Limit: 10}); len(ps) != 1 || ps[0].ID != referral.DefaultProgramID {
			t.Fatalf("programs after refusals: %+v", ps)
		}
		if _, err := svc.UpdateProgram(ctx, "ops", "prog_nope", referral.ProgramPatch{}); !errors.Is(err, referral.ErrProgramNotFound) {
			t.Fatalf("update unknown: %v", err)
		}
	})
}

// TestPreviewPricesASamplePayment: the program's rule, or a draft merged
// in, applied to a sample payment; nothing stored.
func TestPreviewPricesASamplePayment(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		svc := newService(st, "20")
		pv, err := svc.PreviewProgram(ctx, referral.DefaultProgramID, referral.PreviewRequest{Amount: 10001, Currency: "usd"})
		if err != nil || !pv.Earns || pv.Reward != 2000 {
			t.Fatalf("preview: %+v %v", pv, err)
		}
		pv, err = svc.PreviewProgram(ctx, referral.DefaultProgramID, referral.PreviewRequest{Amount: 10000, Currency: "usd",
			Draft: &referral.ProgramPatch{Referrer: &referral.RewardPatch{Percent: ptr("7.5"), Max: &referral.Amounts{"usd": 600}, MinPayment: &referral.Amounts{"eur": 20000}}}})
		if err != nil || pv.Reward != 600 || pv.Rule.Cap != 600 {
			t.Fatalf("draft preview: %+v %v", pv, err)
		}
		pv, _ = svc.PreviewProgram(ctx, referral.DefaultProgramID, referral.PreviewRequest{Amount: 10000, Currency: "eur",
			Draft: &referral.ProgramPatch{Referrer: &referral.RewardPatch{MinPayment: &referral.Amounts{"eur": 20000}}}})
		if pv.Earns || pv.Reward != 0 || pv.MinPayment != 20000 {
			t.Fatalf("preview under the minimum: %+v", pv)
		}
		var ve *referral.ValidationError
		if _, err := svc.PreviewProgram(ctx, referral.DefaultProgramID, referral.PreviewRequest{Amount: 1, Currency: "usd",
			Draft: &referral.ProgramPatch{Referrer: &referral.RewardPatch{Percent: ptr("101")}}}); !errors.As(err, &ve) {
			t.Fatalf("invalid draft: %v", err)
		}
		if p, _ := svc.Program(ctx, referral.DefaultProgramID); p.ManagedBy != referral.ManagedByEnvironment || p.Referrer.Percent.String() != "20" {
			t.Fatalf("a preview changed the program: %+v", p)
		}
	})
}

// TestReferrerOverride: a partner earns their own percent in a program
// (the program's fixed part and cap still apply), others the program's;
// setting and removing it applies to rewards earned afterwards only, and
// the program's history names who did it.
func TestReferrerOverride(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		svc := referral.NewService(st, referral.Options{Rule: referral.RewardRule{Percent: referral.MustPercent("20"), Cap: 4000}})
		setupReferral(t, svc, "partner", "f1")
		mustPay(t, svc, "p1", "f1", 10000) // 2000, before the override
		if _, err := svc.SetOverride(ctx, "ops", "partner", "", "30"); err != nil {
			t.Fatal(err)
		}
		if o, err := svc.SetOverride(ctx, "ops2", "partner", referral.DefaultProgramID, "35.5"); err != nil || o.Percent.String() != "35.5" {
			t.Fatalf("replace override: %+v %v", o, err)
		}
		setupReferral(t, svc, "partner", "f2")
		setupReferral(t, svc, "other", "g1")
		if res := mustPay(t, svc, "p2", "f2", 10000); *res.Referral.RewardAmount != 3550 {
			t.Fatalf("partner's reward: %+v", res.Referral)
		}
		setupReferral(t, svc, "partner", "f3")
		if res := mustPay(t, svc, "p3", "f3", 20000); *res.Referral.RewardAmount != 4000 {
			t.Fatalf("partner's reward over the program's cap: %+v", res.Referral)
		}
		if res := mustPay(t, svc, "g", "g1", 10000); *res.Referral.RewardAmount != 2000 {
			t.Fatalf("other referrer's reward: %+v", res.Referral)
		}
		pv, err := svc.PreviewProgram(ctx, referral.DefaultProgramID, referral.PreviewRequest{Amount: 1000, Currency: "usd", ReferrerID: "partner"})
		if err != nil || pv.Reward != 355 || !pv.Overridden {
			t.Fatalf("preview for the partner: %+v %v", pv, err)
		}
		if err := svc.RemoveOverride(ctx, "ops", "partner", ""); err != nil {
			t.Fatal(err)
		}
		if err := svc.RemoveOverride(ctx, "ops", "partner", ""); !errors.Is(err, referral.ErrOverrideMissing) {
			t.Fatalf("second removal: %v", err)
		}
		setupReferral(t, svc, "partner", "f4")
		if res := mustPay(t, svc, "p4", "f4", 10000); *res.Referral.RewardAmount != 2000 {
			t.Fatalf("partner's reward after removal: %+v", res.Referral)
		}
		// Earned rewards keep their rule: a refund recomputes at 35.5%.
		mustClaim(t, svc, refund("r2", "p2", 5000))
		if rw, _ := st.RewardByPayment(ctx, "p2"); rw.KeptAmount != 1775 || rw.Rule.Percent.String() != "35.5" {
			t.Fatalf("refunded partner reward: %+v", rw)
		}
		if got := balanceOf(t, svc, "partner", "usd"); got != 2000+1775+4000+2000 {
			t.Fatalf("partner balance %d", got)
		}
		for _, tc := range []struct {
			program, percent string
			want             error
		}{{"prog_nope", "30", referral.ErrProgramNotFound}} {
			if _, err := svc.SetOverride(ctx, "ops", "partner", tc.program, tc.percent); !errors.Is(err, tc.want) {
				t.Fatalf("override in %s: %v", tc.program, err)
			}
		}
		var ve *referral.ValidationError
		if _, err := svc.SetOverride(ctx, "ops", "partner", "", "130"); !errors.As(err, &ve) {
			t.Fatalf("override of 130%%: %v", err)
		}
		hist, _, err := svc.ProgramHistory(ctx, referral.DefaultProgramID, "", 10)
		if err != nil || len(hist) != 3 {
			t.Fatalf("history: %+v %v", hist, err)
		}
		if h := hist[0]; h.Action != referral.ChangeOverrideDel || h.Override.UserID != "partner" || h.Override.Percent != nil {
			t.Fatalf("removal entry: %+v", h)
		}
		if h := hist[1]; h.Action != referral.ChangeOverrideSet || h.Subject != "ops2" || h.Override.Percent.String() != "35.5" {
			t.Fatalf("set entry: %+v", h)
		}
	})
}
