package app

import (
	"math"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// signInWindow is the period sign-in rates are counted over, and the period in
// which a throttled client's refusals are audited once.
const signInWindow = time.Minute

// maxSignInClients bounds the limiter's memory: about a hundred bytes per client
// address, so a few megabytes at most whatever the number of attackers.
const maxSignInClients = 20_000

// overflowClient is the key shared by every new address once the table is full:
// they are throttled together rather than not at all.
const overflowClient = "overflow"

// signInLimiter throttles sign-in attempts per client address: perWindow
// attempts per signInWindow, in a burst or spread out (a token bucket of
// perWindow that refills in one window). Entries idle for a window are evicted,
// since they are no different from a new client.
type signInLimiter struct {
	perWindow int
	now       func() time.Time

	mu        sync.Mutex
	clients   map[string]*signInClient
	lastSweep time.Time
}

type signInClient struct {
	lim      *rate.Limiter
	lastSeen time.Time
	// audited is when this client's throttling was last audited.
	audited time.Time
}

func newSignInLimiter(perWindow int, now func() time.Time) *signInLimiter {
	return &signInLimiter{perWindow: perWindow, now: now, clients: map[string]*signInClient{}}
}

// allow takes one attempt for client. When refused it says how long to wait and
// whether this is the first refusal of the client's current window (to audit).
func (l *signInLimiter) allow(client string) (ok bool, retryAfter time.Duration, report bool) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	c, found := l.clients[client]
	if !found {
		if len(l.clients) >= maxSignInClients {
			client = overflowClient
			c = l.clients[client]
		}
		if c == nil {
			c = &signInClient{lim: rate.NewLimiter(rate.Limit(float64(l.perWindow)/signInWindow.Seconds()), l.perWindow)}
			l.clients[client] = c
		}
	}
	c.lastSeen = now
	if c.lim.AllowN(now, 1) {
		return true, 0, false
	}
	missing := 1 - c.lim.TokensAt(now)
	retryAfter = time.Duration(missing / float64(c.lim.Limit()) * float64(time.Second))
	if now.Sub(c.audited) >= signInWindow {
		c.audited = now
		report = true
	}
	return false, retryAfter, report
}

// sweep evicts entries unused for a window (their bucket has refilled, and their
// audit window has passed): once per window, or once a second while the table is
// full, so a flood of new addresses never makes every attempt scan the table.
func (l *signInLimiter) sweep(now time.Time) {
	every := signInWindow
	if len(l.clients) >= maxSignInClients {
		every = time.Second
	}
	if now.Sub(l.lastSweep) < every {
		return
	}
	l.lastSweep = now
	for k, c := range l.clients {
		if now.Sub(c.lastSeen) >= signInWindow {
			delete(l.clients, k)
		}
	}
}

// size is the number of tracked clients (for tests).
func (l *signInLimiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.clients)
}

// retryAfterSeconds rounds a wait up to whole seconds, as Retry-After needs.
func retryAfterSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}

// clientAddr is the address a request comes from: the peer address, or, when the
// peer is a trusted proxy, the nearest address in X-Forwarded-For that is not a
// trusted proxy itself. Earlier entries are ignored: a client writes whatever it
// likes there. IPv6 clients are grouped by /64, the block one subscriber holds.
func clientAddr(r *http.Request, trusted []netip.Prefix) string {
	addr := peerAddr(r.RemoteAddr)
	if addr.IsValid() && isTrusted(addr, trusted) {
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break
			}
			addr = hop.Unmap()
			if !isTrusted(addr, trusted) {
				break
			}
		}
	}
	if !addr.IsValid() {
		return r.RemoteAddr
	}
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}

func peerAddr(remote string) netip.Addr {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
