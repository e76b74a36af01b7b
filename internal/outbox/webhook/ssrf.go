package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// ErrURL is a webhook URL the service refuses.
var ErrURL = errors.New("webhook URL refused")

// refusedPrefixes are address ranges an endpoint may not be in (besides
// loopback, private, link-local, multicast and unspecified addresses):
// "this network", shared address space (carrier NAT), IETF protocol
// assignments, benchmarking, reserved and broadcast, and NAT64's mapping
// of IPv4 into IPv6.
var refusedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
}

// refused reports whether ip is an address a webhook may not reach: one
// inside the service's own network or host rather than on the Internet.
func refused(ip netip.Addr) bool {
	ip = ip.Unmap() // ::ffff:127.0.0.1 is 127.0.0.1
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() || !ip.IsValid() {
		return true
	}
	for _, p := range refusedPrefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// Guard checks webhook URLs and the addresses deliveries connect to.
type Guard struct {
	// AllowPrivate lets endpoints be on private, loopback and link-local
	// addresses (tests, on-premises receivers).
	AllowPrivate bool
	// Resolver looks names up; net.DefaultResolver when nil.
	Resolver *net.Resolver
}

// CheckURL refuses a URL that is not absolute http(s), carries
// credentials or a fragment, or whose host is (or resolves to) a refused
// address. Deliveries check the address again as they connect, so a name
// that resolves differently later is still refused.
func (g Guard) CheckURL(ctx context.Context, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Opaque != "" {
		return fmt.Errorf("%w: %q is not an absolute http or https URL", ErrURL, raw)
	}
	if u.User != nil || u.Fragment != "" {
		return fmt.Errorf("%w: a webhook URL carries no credentials or fragment", ErrURL)
	}
	if g.AllowPrivate {
		return nil
	}
	host := u.Hostname()
	if ip, err := netip.ParseAddr(host); err == nil {
		if refused(ip) {
			return fmt.Errorf("%w: %s is a private, loopback or link-local address", ErrURL, host)
		}
		return nil
	}
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return fmt.Errorf("%w: %s is this host", ErrURL, host)
	}
	resolver := g.Resolver
	if resolver == nil {
		resolver = net.DefaultResolver
	}
	rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	addrs, err := resolver.LookupNetIP(rctx, "ip", host)
	if err != nil {
		return fmt.Errorf("%w: %s does not resolve: %v", ErrURL, host, err)
	}
	for _, a := range addrs {
		if refused(a) {
			return fmt.Errorf("%w: %s resolves to %s, a private, loopback or link-local address", ErrURL, host, a)
		}
	}
	return nil
}

// errRefusedAddress is a connection refused by the guard.
var errRefusedAddress = errors.New("refused: a private, loopback or link-local address")

// Client returns the HTTP client deliveries use: it connects only to
// addresses the guard allows (checked on the address actually dialled,
// after name resolution), follows no redirects, ignores proxy settings
// and gives up after timeout.
func (g Guard) Client(timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second, Resolver: g.Resolver}
	if !g.AllowPrivate {
		dialer.Control = func(_, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			ip, err := netip.ParseAddr(host)
			if err != nil || refused(ip) {
				return fmt.Errorf("%w: %s", errRefusedAddress, host)
			}
			return nil
		}
	}
	transport := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: timeout,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{
		Transport:     transport,
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
