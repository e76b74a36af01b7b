package httpapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/labstack/echo/v4"

	"github.com/refhub/referral-service/internal/referral"
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
//	@Tags			links
//	@Param			code			path	string	true	"A current or earlier referral code"
//	@Param			utm_source		query	string	false	"Passed on to the destination"
//	@Param			utm_medium		query	string	false	"Passed on to the destination"
//	@Param			utm_campaign	query	string	false	"Passed on to the destination"
//	@Param			utm_term		query	string	false	"Passed on to the destination"
//	@Param			utm_content		query	string	false	"Passed on to the destination"
//	@Success		302				"Redirect to the app"
//	@Header			302				{string}	Location		"APP_URL/?ref=CODE&click=ID (and utm_*), or APP_URL/ for unknown codes"
//	@Header			302				{string}	Set-Cookie		"referral_code=CODE on the first visit"
//	@Header			all				{string}	X-Request-Id	"Request id: the caller's valid X-Request-Id, else a new one"
//	@Router			/r/{code} [get]
func (h *handlers) redirect(c echo.Context) error {
	req := c.Request()
	home := h.links.AppURL + "/"
	raw := c.Param("code")
	code := referral.NormalizeCode(raw)
	if !referral.ValidCodeSyntax(code) {
		return c.Redirect(http.StatusFound, home)
	}
	now := time.Now().UTC()
	found, ok, err := h.codes.lookup(req.Context(), code, now)
	if err != nil {
		h.log.ErrorContext(req.Context(), "short link lookup failed", "request_id", requestID(c), "error", err)
		return c.Redirect(http.StatusFound, home) // the visitor still reaches the app
	}
	if !ok {
		return c.Redirect(http.StatusFound, home)
	}
	// The destination is APP_URL with escaped parameters appended; built
	// directly rather than through url.Values, which sorts and allocates.
	var dest strings.Builder
	dest.Grow(len(h.links.AppURL) + 128)
	dest.WriteString(h.links.AppURL)
	dest.WriteString("/?ref=")
	dest.WriteString(url.QueryEscape(found.Code))
	var utm [5]string
	if req.URL.RawQuery != "" {
		for i, p := range referral.UTMParams {
			if v := cleanParam(c.QueryParam(p)); v != "" {
				utm[i] = v
				dest.WriteString("&" + p + "=")
				dest.WriteString(url.QueryEscape(v))
			}
		}
	}
	if counted(req) {
		id, err := h.svc.NewClickID(now)
		if err == nil {
			dest.WriteString("&click=")
			dest.WriteString(id)
			h.clicks.Record(referral.Click{
				ID: id, Code: code, ReferrerID: found.UserID, VisitorHash: h.visitorHash(c),
				Referer: cleanParam(req.Referer()), UTM: utm, CreatedAt: now,
			})
		}
		if _, err := req.Cookie(cookieName); err != nil {
			c.SetCookie(h.firstTouchCookie(req, found.Code))
		}
	}
	return c.Redirect(http.StatusFound, dest.String())
}

// redirectHead godoc
//
//	@Summary		Short referral link (HEAD)
//	@Description	The same redirect as GET, for clients that check a link first; it is not counted as a click and sets no cookie.
//	@ID				headShortLink
//	@Tags			links
//	@Param			code	path	string	true	"A current or earlier referral code"
//	@Success		302		"Redirect to the app"
//	@Header			302		{string}	Location		"APP_URL/?ref=CODE (and utm_*), or APP_URL/ for unknown codes"
//	@Header			all		{string}	X-Request-Id	"Request id: the caller's valid X-Request-Id, else a new one"
//	@Router			/r/{code} [head]
func (h *handlers) redirectHead(c echo.Context) error { return h.redirect(c) }

func (h *handlers) firstTouchCookie(req *http.Request, code string) *http.Cookie {
	return &http.Cookie{
		Name: cookieName, Value: code, Path: "/", Domain: h.links.CookieDomain,
		MaxAge: h.links.CookieDays * 24 * 60 * 60, HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: req.TLS != nil || strings.HasPrefix(h.links.PublicURL, "https://"),
	}
}

// visitorHash identifies a visitor without storing who they are: a keyed
// hash of the client IP (as the IP extractor trusts it) and user agent.
func (h *handlers) visitorHash(c echo.Context) string {
	mac, _ := h.macs.Get().(hash.Hash)
	if mac == nil {
		mac = hmac.New(sha256.New, h.visitorKey)
	}
	mac.Reset()
	mac.Write([]byte(c.RealIP()))
	mac.Write([]byte{0})
	mac.Write([]byte(c.Request().UserAgent()))
	var sum [sha256.Size]byte
	out := hex.EncodeToString(mac.Sum(sum[:0])[:16])
	h.macs.Put(mac)
	return out
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

// botMarkers are user-agent fragments of link unfurlers, crawlers and
// preview fetchers, which open links without a person behind them.
var botMarkers = []string{
	"bot", "crawl", "spider", "slurp", "facebookexternalhit", "facebookcatalog", "embedly", "quora link preview",
	"whatsapp", "skypeuripreview", "preview", "pinterest", "vkshare", "w3c_validator", "outbrain", "flipboard",
	"tumblr", "bitlybot", "nuzzel", "google-inspectiontool", "headlesschrome", "lighthouse", "python-requests",
	"go-http-client", "curl/", "wget/", "httpclient", "okhttp", "axios/", "node-fetch",
}

// counted tells a person's visit from a machine's: HEAD requests,
// prefetches and known bots are redirected but not counted.
func counted(req *http.Request) bool {
	if req.Method != http.MethodGet {
		return false
	}
	if p := req.Header.Get("Sec-Purpose") + req.Header.Get("Purpose") + req.Header.Get("X-Purpose"); strings.Contains(strings.ToLower(p), "prefetch") {
		return false
	}
	ua := req.UserAgent()
	if ua == "" {
		return false
	}
	// Lower-case once, without allocating when it is lower case already.
	if strings.ContainsFunc(ua, unicode.IsUpper) {
		ua = strings.ToLower(ua)
	}
	for _, m := range botMarkers {
		if strings.Contains(ua, m) {
			return false
		}
	}
	return true
}
