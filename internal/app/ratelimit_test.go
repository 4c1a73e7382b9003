package app

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSignInIsThrottledPerClientAddress: past the allowed rate, sign-ins answer
// 429 with Retry-After, and the throttling is audited once, not per attempt.
func TestSignInIsThrottledPerClientAddress(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.SignInRate = 3 })
	signIn := func(token, forwardedFor string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/api/v1/session", strings.NewReader(`{"token":"`+token+`"}`))
		req.Header.Set("Content-Type", "application/json")
		if forwardedFor != "" {
			req.Header.Set("X-Forwarded-For", forwardedFor)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp
	}
	for range 3 {
		require.Equal(t, http.StatusUnauthorized, signIn("tsl_guess", "").StatusCode)
	}
	for range 50 {
		resp := signIn("tsl_guess", "")
		require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
		secs, err := strconv.Atoi(resp.Header.Get("Retry-After"))
		require.NoError(t, err)
		require.True(t, secs >= 1 && secs <= 60, "Retry-After %d", secs)
	}
	// A good token is throttled too: the limit is on the address, not the token.
	require.Equal(t, http.StatusTooManyRequests, signIn(e.as("alice"), "").StatusCode)
	// X-Forwarded-For from an untrusted peer changes nothing.
	require.Equal(t, http.StatusTooManyRequests, signIn(e.as("alice"), "203.0.113.9").StatusCode)

	var refused, throttled int
	require.NoError(t, e.db.Pool.QueryRow(context.Background(),
		`SELECT count(*) FILTER (WHERE action = 'signIn'), count(*) FILTER (WHERE action = 'signIn.throttled' AND outcome = 'DENIED')
		 FROM audit_log`).Scan(&refused, &throttled))
	require.Equal(t, 3, refused, "only attempts that got through are audited as sign-ins")
	require.Equal(t, 1, throttled, "the throttling is audited once per window")
}

// TestSignInThrottleTrustsForwardedForOnlyFromConfiguredProxies: behind a
// trusted proxy each forwarded client has its own allowance.
func TestSignInThrottleTrustsForwardedForOnlyFromConfiguredProxies(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) {
		c.SignInRate = 2
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	})
	signIn := func(forwardedFor string) int {
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/api/v1/session", strings.NewReader(`{"token":"tsl_guess"}`))
		req.Header.Set("X-Forwarded-For", forwardedFor)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	for range 2 {
		require.Equal(t, http.StatusUnauthorized, signIn("198.51.100.1"))
	}
	require.Equal(t, http.StatusTooManyRequests, signIn("198.51.100.1"))
	// A spoofed first hop does not help: the proxy appended the real one.
	require.Equal(t, http.StatusTooManyRequests, signIn("10.9.9.9, 198.51.100.1"))
	require.Equal(t, http.StatusUnauthorized, signIn("198.51.100.2"))
}

func TestSignInLimiterAuditsOncePerWindowAndEvictsIdleClients(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newSignInLimiter(2, func() time.Time { return now })
	ok, _, _ := l.allow("a")
	require.True(t, ok)
	ok, _, _ = l.allow("a")
	require.True(t, ok)
	ok, wait, report := l.allow("a")
	require.False(t, ok)
	require.True(t, report, "the first refusal is reported")
	require.Greater(t, wait, time.Duration(0))
	require.LessOrEqual(t, wait, 30*time.Second, "one attempt refills in half a window")
	for range 10 {
		ok, _, report = l.allow("a")
		require.False(t, ok)
		require.False(t, report, "later refusals in the window are not")
	}
	now = now.Add(30 * time.Second)
	ok, _, _ = l.allow("a")
	require.True(t, ok, "the bucket refills")
	ok, _, report = l.allow("a")
	require.False(t, ok)
	require.False(t, report, "still the same window")
	now = now.Add(signInWindow)
	l.allow("a")
	l.allow("a")
	_, _, report = l.allow("a")
	require.True(t, report, "a new window is reported again")

	// Many addresses, then a quiet window: the table empties.
	for i := range 1000 {
		l.allow(fmt.Sprintf("10.0.%d.%d", i/256, i%256))
	}
	require.Equal(t, 1001, l.size())
	now = now.Add(signInWindow)
	l.allow("b")
	require.Equal(t, 1, l.size())
}

func TestSignInLimiterMemoryIsBounded(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newSignInLimiter(1, func() time.Time { return now })
	for i := range maxSignInClients + 5000 {
		l.allow("c" + strconv.Itoa(i))
	}
	require.LessOrEqual(t, l.size(), maxSignInClients+1)
	// The new addresses share one allowance instead of being unlimited.
	ok, _, _ := l.allow("newcomer")
	require.False(t, ok)
}

func TestClientAddr(t *testing.T) {
	t.Parallel()
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	cases := []struct {
		remote, xff string
		trusted     []netip.Prefix
		want        string
	}{
		{"192.0.2.7:5555", "", nil, "192.0.2.7"},
		{"192.0.2.7:5555", "198.51.100.1", nil, "192.0.2.7"},
		{"192.0.2.7:5555", "198.51.100.1", proxies, "192.0.2.7"},
		{"10.1.1.1:5555", "198.51.100.1", proxies, "198.51.100.1"},
		{"10.1.1.1:5555", "1.1.1.1, 198.51.100.1, 10.2.2.2", proxies, "198.51.100.1"},
		{"10.1.1.1:5555", "", proxies, "10.1.1.1"},
		{"10.1.1.1:5555", "garbage", proxies, "10.1.1.1"},
		{"[2001:db8:1:2:3:4:5:6]:443", "", nil, "2001:db8:1:2::/64"},
		{"[::ffff:192.0.2.7]:1", "", nil, "192.0.2.7"},
	}
	for _, c := range cases {
		r := httptest.NewRequest(http.MethodPost, "/api/v1/session", nil)
		r.RemoteAddr = c.remote
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		require.Equal(t, c.want, clientAddr(r, c.trusted), "%s %s", c.remote, c.xff)
	}
}

func TestSignInThrottleConfiguration(t *testing.T) {
	t.Parallel()
	c, err := LoadConfig(func(string) string { return "" })
	require.NoError(t, err)
	require.Equal(t, 10, c.SignInRate)
	require.Empty(t, c.TrustedProxies)
	env := map[string]string{"TESLA_SIGNIN_RATE": "5", "TESLA_TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.1,::1"}
	c, err = LoadConfig(func(k string) string { return env[k] })
	require.NoError(t, err)
	require.Equal(t, 5, c.SignInRate)
	require.Equal(t, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.1/32"),
		netip.MustParsePrefix("::1/128")}, c.TrustedProxies)
	for k, v := range map[string]string{"TESLA_SIGNIN_RATE": "0", "TESLA_TRUSTED_PROXIES": "10.0.0.0/8,proxy.local"} {
		_, err = LoadConfig(func(name string) string { return map[string]string{k: v}[name] })
		require.ErrorContains(t, err, k)
	}
}
