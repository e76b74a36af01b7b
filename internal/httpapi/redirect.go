package httpapi

import (
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"log/slog"
	"net/http"
	"net/url"
	runtimedebug "runtime/debug"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/labstack/echo/v4"

	"github.com/refhub/referral-service/internal/ratelimit"
	"github.com/refhub/referral-service/internal/referral"
	"github.com/refhub/referral-service/internal/telemetry"
	"github.com/refhub/referral-service/pkg/referralapi"
)

// cookieName is the first-touch cookie the short link sets.
const cookieName = "referral_code"

// LinkConfig is how short links and the links of a code are built.
type LinkConfig struct {
	AppURL          string
	PublicURL       string
	CookieDays      int
	CookieDomain    string
	IOSTemplate     string
	AndroidTemplate string
}

// ClickRecorder takes clicks off the request path.
type ClickRecorder interface {
	Record(c referral.Click) bool
}

// redirect godoc
//
//	@Summary		Short referral link
//	@Description	The shareable link PUBLIC_URL/r/CODE. Answers 302 to APP_URL/?ref=CODE plus the click id (click) and the utm_source, utm_medium, utm_campaign, utm_term and utm_content parameters it was given; the destination never comes from the request. Records the click (time, code, a keyed hash of IP and user agent — never the IP —, referer, utm_*): repeated clicks of one visitor within an hour count once as unique; link unfurlers, crawlers, prefetches and HEAD requests are not counted. Sets the first-touch cookie referral_code (HttpOnly, SameSite=Lax, Secure on https, Max-Age REFERRAL_COOKIE_DAYS, Domain COOKIE_DOMAIN) unless one is already set. An unknown or malformed code redirects to APP_URL without cookie.
//	@ID				followShortLink
//	@Produce		application/problem+json
//	@Tags			links
//	@Param			code			path	string	true	"A current or earlier referral code"
//	@Param			utm_source		query	string	false	"Passed on to the destination"
//	@Param			utm_medium		query	string	false	"Passed on to the destination"
//	@Param			utm_campaign	query	string	false	"Passed on to the destination"
//	@Param			utm_term		query	string	false	"Passed on to the destination"
//	@Param			utm_content		query	string	false	"Passed on to the destination"
//	@Success		302				"Redirect to the app"
//	@Header			302				{string}	Location			"APP_URL/?ref=CODE&click=ID (and utm_*), or APP_URL/ for unknown codes"
//	@Header			302				{string}	Set-Cookie			"referral_code=CODE on the first visit"
//	@Failure		429				{object}	referralapi.Problem	"Over the rate limit: RATE_LIMIT_PUBLIC per client address, RATE_LIMIT_USER per subject or API key (code rate_limited); retry after Retry-After seconds"
//	@Header			429				{string}	Retry-After			"Seconds to wait before retrying"
//	@Header			429				{string}	RateLimit-Limit		"Requests allowed in a burst"
//	@Header			429				{string}	RateLimit-Remaining	"Requests left now (0)"
//	@Header			429				{string}	RateLimit-Reset		"Seconds until the limit is whole again"
//	@Header			all				{string}	X-Request-Id		"Request id: the caller's valid X-Request-Id, else a new one"
//	@Security
//	@Router			/r/{code} [get]
func (h *handlers) redirect(c echo.Context) error {
	h.shortLink(c.Response(), c.Request(), c.Param("code"), requestID(c))
	return nil
}

// redirectHead godoc
//
//	@Summary		Short referral link (HEAD)
//	@Description	The same redirect as GET, for clients that check a link first; it is not counted as a click and sets no cookie.
//	@ID				headShortLink
//	@Produce		application/problem+json
//	@Tags			links
//	@Param			code	path	string	true	"A current or earlier referral code"
//	@Success		302		"Redirect to the app"
//	@Header			302		{string}	Location			"APP_URL/?ref=CODE (and utm_*), or APP_URL/ for unknown codes"
//	@Failure		429		{object}	referralapi.Problem	"Over the rate limit: RATE_LIMIT_PUBLIC per client address, RATE_LIMIT_USER per subject or API key (code rate_limited); retry after Retry-After seconds"
//	@Header			429		{string}	Retry-After			"Seconds to wait before retrying"
//	@Header			429		{string}	RateLimit-Limit		"Requests allowed in a burst"
//	@Header			429		{string}	RateLimit-Remaining	"Requests left now (0)"
//	@Header			429		{string}	RateLimit-Reset		"Seconds until the limit is whole again"
//	@Header			all		{string}	X-Request-Id		"Request id: the caller's valid X-Request-Id, else a new one"
//	@Security
//	@Router			/r/{code} [head]
func (h *handlers) redirectHead(c echo.Context) error { return h.redirect(c) }

// shortLinkPath reports whether r is a GET or HEAD of /r/{code} that the
// short-link handler can serve directly: one plain path segment after /r/.
// Anything else (escaped paths, other methods) goes through Echo's router,
// which has the same routes.
func shortLinkPath(r *http.Request) bool {
	p := r.URL.Path
	return len(p) > 3 && p[:3] == "/r/" && (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
		r.URL.RawPath == "" && strings.IndexByte(p[3:], '/') < 0
}

// serveShortLink is the hot path: the short link outside Echo's context,
// router and middleware, with the same behaviour the middleware gives
// every other route (request id, no-store, panic recovery, access log).
// CORS headers are not added: a short link is navigated to, not fetched.
func (h *handlers) serveShortLink(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get(headerRequestID)
	if !validRequestID(id) {
		id = newRequestID()
	}
	debug := h.log.Enabled(r.Context(), slog.LevelDebug)
	metrics := h.shortLinkGet
	if r.Method == http.MethodHead {
		metrics = h.shortLinkHead
	}
	var start time.Time
	if debug || metrics != nil {
		start = time.Now()
	}
	status := http.StatusFound // also what a recovered panic answers
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			h.log.ErrorContext(r.Context(), "panic", "request_id", id, "panic", fmt.Sprint(v), "stack", string(runtimedebug.Stack()))
			w.Header()["Location"] = []string{h.links.AppURL + "/"}
			w.WriteHeader(http.StatusFound)
			status = http.StatusFound
		}
		if metrics != nil {
			metrics.Observe(status, time.Since(start))
		}
		if debug { // short-link hits, 429s included, are logged at debug only (see accessLog)
			h.log.DebugContext(r.Context(), "request", "request_id", id, "method", r.Method, "path", "/r/:code",
				"status", status, "bytes", 0, "duration", time.Since(start))
		}
	}()
	telemetry.NameServerSpan(r.Context(), r.Method, "/r/:code", id)
	status = h.shortLink(w, r, r.URL.Path[len("/r/"):], id)
}

// Header values shared by every short-link response; never written to.
var (
	noStore = []string{"no-store"}
)

// shortLink answers a short link: 302 to APP_URL with ref, utm_* and the
// click id, the first-touch cookie, and the click handed to the recorder;
// or 429 over the rate limit. It returns the status it answered with. It
// formats as little as it can per hit: the code's location and cookie come
// prebuilt from the cache, and the destination is one allocation.
func (h *handlers) shortLink(w http.ResponseWriter, r *http.Request, raw, reqID string) int {
	hdr := w.Header()
	vals := make([]string, 2) // the request id and the location, one allocation
	vals[0] = reqID
	hdr[headerRequestID] = vals[0:1:1]
	hdr["Cache-Control"] = noStore
	redirectTo := func(w http.ResponseWriter, location string) {
		vals[1] = location
		hdr["Location"] = vals[1:2:2]
		w.WriteHeader(http.StatusFound)
	}
	home := h.home
	var ip string
	if h.publicLimit != nil {
		ip = h.clientIP(r)
		if d := h.publicLimit.Allow(ip, time.Now()); !d.Allowed {
			h.shortLinkLimited(w, reqID, d)
			return http.StatusTooManyRequests
		}
	}
	code := referral.NormalizeCode(raw)
	if !referral.ValidCodeSyntax(code) {
		redirectTo(w, home)
		return http.StatusFound
	}
	now := time.Now().UTC()
	t, err := h.codes.lookup(r.Context(), code, now)
	if err != nil {
		h.log.ErrorContext(r.Context(), "short link lookup failed", "request_id", reqID, "error", err)
		redirectTo(w, home) // the visitor still reaches the app
		return http.StatusFound
	}
	if t == nil {
		redirectTo(w, home)
		return http.StatusFound
	}
	// The destination is APP_URL with escaped parameters appended; built
	// in one buffer, never from anything but the known code and utm_*.
	var buf [512]byte
	dest := append(buf[:0], t.location...)
	var utm [5]string
	if r.URL.RawQuery != "" {
		utm = utmParams(r.URL.RawQuery)
		for i, v := range utm {
			if v != "" {
				dest = append(dest, '&')
				dest = append(dest, referral.UTMParams[i]...)
				dest = append(dest, '=')
				dest = appendQueryEscape(dest, v)
			}
		}
	}
	if counted(r) {
		id, err := h.svc.NewClickID(now)
		if err == nil {
			dest = append(dest, "&click="...)
			dest = append(dest, id...)
			h.clicks.Record(referral.Click{
				ID: id, Code: code, ReferrerID: t.code.UserID, VisitorHash: h.visitorHash(cmp.Or(ip, h.clientIP(r)), r.UserAgent()),
				Referer: cleanParam(r.Referer()), UTM: utm, CreatedAt: now,
			})
		}
		if !hasCookie(r, cookieName) {
			secure := 0
			if r.TLS != nil || strings.HasPrefix(h.links.PublicURL, "https://") {
				secure = 1
			}
			hdr["Set-Cookie"] = t.cookie[secure]
		}
	}
	redirectTo(w, string(dest))
	return http.StatusFound
}

// buildTarget prebuilds what a short link of code answers with.
func (h *handlers) buildTarget(code referral.Code) *linkTarget {
	t := &linkTarget{code: code, location: h.links.AppURL + "/?ref=" + url.QueryEscape(code.Code)}
	for secure := range 2 {
		c := &http.Cookie{
			Name: cookieName, Value: code.Code, Path: "/", Domain: h.links.CookieDomain,
			MaxAge: h.links.CookieDays * 24 * 60 * 60, HttpOnly: true, SameSite: http.SameSiteLaxMode,
			Secure: secure == 1,
		}
		t.cookie[secure] = []string{c.String()}
	}
	return t
}

// hasCookie reports whether the request carries the named cookie; without
// any Cookie header (a first visit) it parses nothing.
func hasCookie(r *http.Request, name string) bool {
	if len(r.Header["Cookie"]) == 0 {
		return false
	}
	_, err := r.Cookie(name)
	return err == nil
}

// utmParams returns the first value of each utm_* parameter of a raw query,
// read as url.ParseQuery would (pairs with ';' or bad escapes skipped) and
// cleaned.
func utmParams(raw string) (utm [5]string) {
	var seen [5]bool
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if strings.IndexByte(pair, ';') >= 0 {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		if !strings.HasPrefix(k, "utm") && !strings.HasPrefix(k, "%") {
			continue // cheap filter: an escaped key may still spell utm_*
		}
		key, err := url.QueryUnescape(k)
		if err != nil {
			continue
		}
		i := slices.Index(referral.UTMParams[:], key)
		if i < 0 || seen[i] {
			continue
		}
		val, err := url.QueryUnescape(v)
		if err != nil {
			continue
		}
		seen[i] = true
		utm[i] = cleanParam(val)
	}
	return utm
}

// appendQueryEscape appends s escaped as url.QueryEscape does.
func appendQueryEscape(dst []byte, s string) []byte {
	const hexDigits = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~':
			dst = append(dst, c)
		case c == ' ':
			dst = append(dst, '+')
		default:
			dst = append(dst, '%', hexDigits[c>>4], hexDigits[c&15])
		}
	}
	return dst
}

// visitorState is a pooled keyed hash with its scratch space.
type visitorState struct {
	mac hash.Hash
	buf []byte
	sum [sha256.Size]byte
}

// visitorHash identifies a visitor without storing who they are: a keyed
// hash of the client IP (as the IP extractor trusts it) and user agent.
func (h *handlers) visitorHash(ip, ua string) string {
	st, _ := h.macs.Get().(*visitorState)
	if st == nil {
		st = &visitorState{mac: hmac.New(sha256.New, h.visitorKey), buf: make([]byte, 0, 512)}
	}
	st.mac.Reset()
	st.buf = append(append(append(st.buf[:0], ip...), 0), ua...)
	st.mac.Write(st.buf)
	var out [32]byte
	hex.Encode(out[:], st.mac.Sum(st.sum[:0])[:16])
	if cap(st.buf) <= 4096 {
		h.macs.Put(st)
	}
	return string(out[:])
}

// cleanParam keeps a passed-on value short and printable.
func cleanParam(v string) string {
	if len(v) > 200 {
		v = v[:200]
	}
	if v == "" || !strings.ContainsFunc(v, func(r rune) bool { return unicode.IsControl(r) || r == unicode.ReplacementChar }) {
		return v
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return -1
		}
		return r
	}, v)
}

// botMarkers are lower-case user-agent fragments of link unfurlers,
// crawlers and preview fetchers, which open links without a person behind
// them.
var botMarkers = []string{
	"bot", "crawl", "spider", "slurp", "facebookexternalhit", "facebookcatalog", "embedly", "quora link preview",
	"whatsapp", "skypeuripreview", "preview", "pinterest", "vkshare", "w3c_validator", "outbrain", "flipboard",
	"tumblr", "nuzzel", "google-inspectiontool", "headlesschrome", "lighthouse", "python-requests",
	"go-http-client", "curl/", "wget/", "httpclient", "okhttp", "axios/", "node-fetch",
}

// markerPairs has a bit for each pair of bytes a bot marker starts with,
// so the user agent is scanned once and the markers are compared only
// where one could start (it runs on every short-link hit).
var markerPairs = func() (bits [1 << 16 / 64]uint64) {
	for _, m := range botMarkers {
		k := uint16(m[0])<<8 | uint16(m[1])
		bits[k/64] |= 1 << (k % 64)
	}
	return bits
}()

// lowerTable maps ASCII capitals to lower case and every other byte to itself.
var lowerTable = func() (t [256]byte) {
	for i := range t {
		t[i] = byte(i)
		if i >= 'A' && i <= 'Z' {
			t[i] += 'a' - 'A'
		}
	}
	return t
}()

func lowerASCII(c byte) byte { return lowerTable[c] }

// hasMarker reports whether ua contains a bot marker, ignoring ASCII case.
func hasMarker(ua string) bool {
	if len(ua) < 2 {
		return false
	}
	prev := lowerTable[ua[0]]
	for i := 1; i < len(ua); i++ {
		c := lowerTable[ua[i]]
		k := uint16(prev)<<8 | uint16(c)
		prev = c
		if markerPairs[k>>6]&(1<<(k&63)) == 0 {
			continue
		}
		for _, m := range botMarkers {
			if hasPrefixFold(ua[i-1:], m) {
				return true
			}
		}
	}
	return false
}

// hasPrefixFold reports whether s starts with the lower-case ASCII prefix,
// ignoring ASCII case in s.
func hasPrefixFold(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for j := 0; j < len(prefix); j++ {
		if lowerASCII(s[j]) != prefix[j] {
			return false
		}
	}
	return true
}

// containsFold reports whether s contains the lower-case ASCII word sub,
// ignoring ASCII case in s.
func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if hasPrefixFold(s[i:], sub) {
			return true
		}
	}
	return false
}

// counted tells a person's visit from a machine's: HEAD requests,
// prefetches and known bots are redirected but not counted.
func counted(r *http.Request) bool {
	if r.Method != http.MethodGet {
		return false
	}
	for _, k := range [...]string{"Sec-Purpose", "Purpose", "X-Purpose"} {
		for _, v := range r.Header[k] {
			if containsFold(v, "prefetch") {
				return false
			}
		}
	}
	ua := r.UserAgent()
	return ua != "" && !hasMarker(ua)
}

// shortLinkLimited answers a short link over its client's rate limit: the
// same 429 problem the other routes answer.
func (h *handlers) shortLinkLimited(w http.ResponseWriter, reqID string, d ratelimit.Decision) {
	hdr := w.Header()
	rateHeaders(hdr, d)
	ae := tooMany(hdr, d)
	hdr.Set(echo.HeaderContentType, problemContentType)
	w.WriteHeader(ae.Status)
	_, _ = w.Write(mustJSON(referralapi.Problem{Type: problemTypePrefix + ae.Code, Title: ae.Title, Status: ae.Status,
		Detail: ae.Detail, Code: ae.Code, RequestID: reqID}))
}
