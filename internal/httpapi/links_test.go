package httpapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/refhub/referral-service/pkg/referralapi"
)

const browserUA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"

// follow requests a short link without following the redirect.
func (s *server) follow(t *testing.T, method, path string, headers map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, s.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("User-Agent", browserUA)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	checkAgainstSpec(t, request{method: method, path: strings.SplitN(path, "?", 2)[0]}, response{Status: res.StatusCode, Header: res.Header})
	if res.StatusCode != http.StatusFound {
		t.Fatalf("%s %s: status %d", method, path, res.StatusCode)
	}
	return res
}

// destination checks that a redirect stays on APP_URL and returns its query.
func destination(t *testing.T, res *http.Response) url.Values {
	t.Helper()
	loc := res.Header.Get("Location")
	u, err := url.Parse(loc)
	app, _ := url.Parse(testAppURL)
	if err != nil || u.Scheme != app.Scheme || u.Host != app.Host || u.Path != "/" || u.User != nil || !strings.HasPrefix(loc, testAppURL+"/") {
		t.Fatalf("redirect leaves the app: %q", loc)
	}
	return u.Query()
}

func cookieOf(res *http.Response) *http.Cookie {
	for _, c := range res.Cookies() {
		if c.Name == "referral_code" {
			return c
		}
	}
	return nil
}

// waitForClicks polls the referrer's stats until the click counts arrive.
func waitForClicks(t *testing.T, s *server, user string, total, unique int64) referralapi.ReferralStats {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var st referralapi.ReferralStats
		s.do(t, request{method: "GET", path: "/v1/me/referrals/stats", token: s.token(user)}).decode(t, &st)
		if st.Clicks.Total == total && st.Clicks.Unique == unique {
			return st
		}
		if time.Now().After(deadline) || st.Clicks.Total > total {
			t.Fatalf("clicks = %+v, want total %d unique %d", st.Clicks, total, unique)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestShortLinkRedirect(t *testing.T) {
	eachBackend(t, serverOpts{publicURL: "https://refer.example.com"}, func(t *testing.T, s *server) {
		code := getCode(t, s, "u1")
		if code.Links.Share != "https://refer.example.com/r/"+code.Code || code.Links.Web != code.URL ||
			code.Links.IOS != "myapp://invite?ref="+code.Code || code.Links.Android != "https://app.example.com/android?ref="+code.Code {
			t.Fatalf("links = %+v", code.Links)
		}
		res := s.follow(t, "GET", "/r/"+strings.ToLower(code.Code)+"?utm_source=news&utm_campaign=fall&next=https://evil.example&ref=EVIL", nil)
		q := destination(t, res)
		if q.Get("ref") != code.Code || q.Get("utm_source") != "news" || q.Get("utm_campaign") != "fall" || q.Get("next") != "" || !strings.HasPrefix(q.Get("click"), "clk_") {
			t.Fatalf("destination query = %v", q)
		}
		c := cookieOf(res)
		if c == nil || c.Value != code.Code || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.MaxAge != 30*24*3600 || c.Path != "/" || !c.Secure {
			t.Fatalf("cookie = %+v", c)
		}
		// First touch: a visitor who already has a cookie keeps it.
		res = s.follow(t, "GET", "/r/"+code.Code, map[string]string{"Cookie": "referral_code=FIRSTONE"})
		if cookieOf(res) != nil {
			t.Fatal("the first-touch cookie was overwritten")
		}
		// Unknown and malformed codes go to the app's home, without cookie.
		for _, path := range []string{"/r/ZZZZ2222", "/r/a", "/r/" + strings.Repeat("A", 100), "/r/%E2%98%83", "/r/..%2F..%2Fetc", "/r/%0d%0aLocation:%20https:%2F%2Fevil.example"} {
			res := s.follow(t, "GET", path, nil)
			if res.Header.Get("Location") != testAppURL+"/" || cookieOf(res) != nil {
				t.Fatalf("%s → %q, cookie %v", path, res.Header.Get("Location"), cookieOf(res))
			}
		}
		// No open redirect through any encoding of a destination.
		for _, path := range []string{
			"/r/" + code.Code + "?url=https://evil.example", "/r/" + code.Code + "?redirect=%2F%2Fevil.example",
			"/r/https:%2F%2Fevil.example", "/r/%2F%2Fevil.example", "/r/%5C%5Cevil.example", "/r/" + code.Code + "?utm_source=%0d%0aLocation:https://evil.example",
			"/r/" + code.Code + "?utm_source=" + url.QueryEscape("@evil.example"),
		} {
			destination(t, s.follow(t, "GET", path, nil))
		}
	})
}

func TestClicksCountPeopleOnce(t *testing.T) {
	eachBackend(t, serverOpts{}, func(t *testing.T, s *server) {
		code := getCode(t, s, "u1").Code
		for range 3 {
			s.follow(t, "GET", "/r/"+code, nil) // the same visitor three times
		}
		s.follow(t, "GET", "/r/"+code, map[string]string{"User-Agent": browserUA + " Firefox"}) // another visitor
		// Machines are redirected but not counted, and get no cookie.
		for _, h := range []map[string]string{
			{"User-Agent": "facebookexternalhit/1.1"}, {"User-Agent": "Slackbot-LinkExpanding 1.0"},
			{"User-Agent": "Twitterbot/1.0"}, {"User-Agent": ""}, {"Sec-Purpose": "prefetch"},
		} {
			if res := s.follow(t, "GET", "/r/"+code, h); cookieOf(res) != nil || destination(t, res).Get("click") != "" {
				t.Fatalf("a machine visit (%v) was counted", h)
			}
		}
		if res := s.follow(t, "HEAD", "/r/"+code, nil); cookieOf(res) != nil {
			t.Fatal("HEAD set a cookie")
		}
		st := waitForClicks(t, s, "u1", 4, 2)
		// Two signups out of two unique visitors.
		attribute(t, s, "f1", code, nil)
		attribute(t, s, "f2", code, nil)
		pay(t, s, "p1", "f1", 1000, "usd")
		s.do(t, request{method: "GET", path: "/v1/me/referrals/stats", token: s.token("u1")}).decode(t, &st)
		if st.Conversion.SignupRate != 1 || st.Conversion.PaidRate != 0.5 {
			t.Fatalf("conversion = %+v", st.Conversion)
		}
	})
}

func TestVanityCodes(t *testing.T) {
	eachBackend(t, serverOpts{}, func(t *testing.T, s *server) {
		first := getCode(t, s, "john").Code
		put := func(user, code string) response {
			return s.do(t, request{method: "PUT", path: "/v1/me/referral-code", token: s.token(user), body: jsonBody(t, map[string]string{"code": code})})
		}
		var got referralapi.ReferralCode
		res := put("john", " john-2024 ")
		res.decode(t, &got)
		if res.Status != http.StatusOK || got.Code != "JOHN-2024" || got.URL != testAppURL+"/?ref=JOHN-2024" {
			t.Fatalf("claim: %d %s", res.Status, res.Body)
		}
		if again := getCode(t, s, "john"); again.Code != "JOHN-2024" {
			t.Fatalf("current code = %s", again.Code)
		}
		put("john", "JOHN-2024").decode(t, &got) // claiming it again is fine
		// The old code keeps resolving everywhere: check, redirect, attribution.
		for _, c := range []string{first, "john-2024"} {
			var chk referralapi.CodeCheck
			s.do(t, request{method: "GET", path: "/v1/codes/" + c}).decode(t, &chk)
			if !chk.Valid {
				t.Fatalf("%s not valid", c)
			}
		}
		if q := destination(t, s.follow(t, "GET", "/r/"+first, nil)); q.Get("ref") != "JOHN-2024" {
			t.Fatalf("old link → %v", q)
		}
		var ref referralapi.Referral
		attribute(t, s, "friend", first, nil).decode(t, &ref)
		if ref.ReferrerID != "john" {
			t.Fatalf("attribution through the old code: %+v", ref)
		}
		// Nobody else can take a code john has or had.
		getCode(t, s, "mary")
		put("mary", "JOHN-2024").problem(t, http.StatusConflict, "code_taken")
		put("mary", first).problem(t, http.StatusConflict, "code_taken")
		// John may switch back to his first code.
		put("john", first).decode(t, &got)
		if got.Code != first {
			t.Fatalf("switch back: %+v", got)
		}
		for _, bad := range []string{"abc", "with space", "admin", "Support", strings.Repeat("X", 21), "émile123", "a/b/c/d"} {
			put("mary", bad).problem(t, http.StatusUnprocessableEntity, "code_invalid")
		}
		s.do(t, request{method: "GET", path: "/v1/codes/NOPE2345"}).problem(t, http.StatusNotFound, "code_not_found")
		s.do(t, request{method: "GET", path: "/v1/codes/%E2%98%83"}).problem(t, http.StatusNotFound, "code_not_found")
		s.do(t, request{method: "PUT", path: "/v1/me/referral-code", body: `{"code":"ABCD"}`}).problem(t, http.StatusUnauthorized, "unauthorized")
	})
}

func TestAttributionWindow(t *testing.T) {
	eachBackend(t, serverOpts{window: 30 * 24 * time.Hour}, func(t *testing.T, s *server) {
		code := getCode(t, s, "u1").Code
		click := destination(t, s.follow(t, "GET", "/r/"+code, nil)).Get("click")
		var ref referralapi.Referral
		res := attribute(t, s, "fresh", code, map[string]string{"clickId": click})
		res.decode(t, &ref)
		if res.Status != http.StatusCreated {
			t.Fatalf("fresh click: %d %s", res.Status, res.Body)
		}
		old := time.Now().Add(-31 * 24 * time.Hour).UTC().Format(time.RFC3339)
		attribute(t, s, "late", code, map[string]string{"clickedAt": old}).problem(t, http.StatusUnprocessableEntity, "attribution_expired")
		recent := time.Now().Add(-29 * 24 * time.Hour).UTC().Format(time.RFC3339)
		if res := attribute(t, s, "inside", code, map[string]string{"clickedAt": recent}); res.Status != http.StatusCreated {
			t.Fatalf("inside the window: %d %s", res.Status, res.Body)
		}
		attribute(t, s, "forged", code, map[string]string{"clickId": "clk_nonsense"}).problem(t, http.StatusBadRequest, "invalid_request")
		attribute(t, s, "badtime", code, map[string]string{"clickedAt": "yesterday"}).problem(t, http.StatusBadRequest, "invalid_request")
		future := time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)
		attribute(t, s, "future", code, map[string]string{"clickedAt": future}).problem(t, http.StatusBadRequest, "invalid_request")
	})
}
