package budget

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// WebhookConfig tunes the webhook sender; zero fields take the defaults.
type WebhookConfig struct {
	// Timeout bounds one POST, connection to last byte (default 10s): an
	// endpoint that never answers costs one attempt, not the sender.
	Timeout time.Duration
	// MaxAttempts is how many POSTs a delivery gets before GAVE_UP (default 8).
	MaxAttempts int
	// BaseDelay is the wait after the first failure (default 30s); each
	// further failure doubles it, up to MaxDelay (default 1h); the wait drawn
	// is uniform in [step/2, step] (jitter), so failed deliveries spread out.
	BaseDelay time.Duration
	MaxDelay  time.Duration
	// Batch is how many due deliveries a run claims (default 100), Workers
	// how many it posts at once (default 8).
	Batch   int
	Workers int
	// AllowPrivate lets deliveries reach loopback and private addresses
	// (TESLA_WEBHOOK_ALLOW_PRIVATE: on-premise installs whose hooks live on
	// the company network, and tests' httptest servers). Without it those
	// are refused too. Link-local (cloud metadata services live there),
	// unspecified, multicast and reserved addresses are refused always.
	// Checked when connecting, after DNS, so a name cannot lead there
	// either: any person may set a webhook on their own budget, and the
	// server must not become their way into itself or its network.
	AllowPrivate bool
}

// WithDefaults returns c with its zero fields set to the defaults.
func (c WebhookConfig) WithDefaults() WebhookConfig {
	c.Timeout = cmp.Or(c.Timeout, 10*time.Second)
	c.MaxAttempts = cmp.Or(c.MaxAttempts, 8)
	c.BaseDelay = cmp.Or(c.BaseDelay, 30*time.Second)
	c.MaxDelay = cmp.Or(c.MaxDelay, time.Hour)
	c.Batch = cmp.Or(c.Batch, 100)
	c.Workers = cmp.Or(c.Workers, 8)
	return c
}

// Backoff is the wait before attempt n+1 after n failed attempts (n >= 1):
// step = min(BaseDelay × 2^(n-1), MaxDelay), drawn uniformly in [step/2, step].
func (c WebhookConfig) Backoff(n int, r *rand.Rand) time.Duration {
	step := c.MaxDelay
	if n-1 < 32 {
		step = min(c.BaseDelay<<(n-1), c.MaxDelay)
	}
	if step <= 0 {
		step = c.MaxDelay
	}
	half := step / 2
	return half + time.Duration(r.Int64N(int64(step-half)+1))
}

// Sender delivers the webhook outbox (budget_webhook). Safe with several
// replicas: a run claims due rows with FOR UPDATE SKIP LOCKED and moves
// their next attempt past the request timeout (a lease) before posting
// outside any transaction, and records each outcome only if the row is
// still at the attempt it claimed.
type Sender struct {
	pool   *pgxpool.Pool
	cfg    WebhookConfig
	client *http.Client
	logger *slog.Logger

	mu  sync.Mutex
	rng *rand.Rand
}

// NewSender returns a Sender on pool; logger may be nil.
func NewSender(pool *pgxpool.Pool, cfg WebhookConfig, logger *slog.Logger) *Sender {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.WithDefaults()
	return &Sender{pool: pool, cfg: cfg, logger: logger, client: webhookClient(cfg.Timeout, cfg.AllowPrivate),
		rng: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x7e51a))}
}

// webhookClient is the HTTP client deliveries go through. Every connection
// is checked by the dialer's Control hook, which sees the address actually
// dialled (after DNS, for each address tried), so neither a name resolving
// to a forbidden address nor one re-pointed after the URL was accepted gets
// through. No proxy is used, even one set in the environment: the proxy
// would make the connection the check cannot see. Redirects are not
// followed: a 3xx answer is a failed attempt, so a hook cannot bounce the
// POST to an address it could not name itself.
func webhookClient(timeout time.Duration, allowPrivate bool) *http.Client {
	dialer := &net.Dialer{Timeout: timeout, Control: func(_, address string, _ syscall.RawConn) error {
		return checkAddress(address, allowPrivate)
	}}
	transport := &http.Transport{Proxy: nil, DialContext: dialer.DialContext,
		TLSHandshakeTimeout: timeout, MaxIdleConns: 16, IdleConnTimeout: time.Minute}
	return &http.Client{Timeout: timeout, Transport: transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// SendResult counts what a run did.
type SendResult struct {
	Claimed   int
	Delivered int
	Failed    int
	GaveUp    int
}

type claimed struct {
	alertID  int64
	url      string
	payload  []byte
	attempts int
}

// RunOnce claims up to Batch due deliveries and posts them, Workers at a time.
func (s *Sender) RunOnce(ctx context.Context) (SendResult, error) {
	lease := s.cfg.Timeout + time.Minute
	rows, err := s.pool.Query(ctx, sqlClaimWebhooks, s.cfg.Batch, lease.Milliseconds())
	if err != nil {
		return SendResult{}, fmt.Errorf("error claiming budget webhooks: %w", err)
	}
	work, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (claimed, error) {
		var c claimed
		var body string
		err := r.Scan(&c.alertID, &c.url, &body, &c.attempts)
		c.payload = []byte(body)
		return c, err
	})
	if err != nil {
		return SendResult{}, fmt.Errorf("error claiming budget webhooks: %w", err)
	}
	res := SendResult{Claimed: len(work)}
	var mu sync.Mutex
	var firstErr error
	jobs := make(chan claimed)
	var wg sync.WaitGroup
	for range min(s.cfg.Workers, len(work)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range jobs {
				state, err := s.deliver(ctx, c)
				mu.Lock()
				switch {
				case err != nil:
					firstErr = cmp.Or(firstErr, err)
				case state == Delivered:
					res.Delivered++
				case state == GaveUp:
					res.GaveUp++
				default:
					res.Failed++
				}
				mu.Unlock()
			}
		}()
	}
	for _, c := range work {
		jobs <- c
	}
	close(jobs)
	wg.Wait()
	if res.Claimed > 0 {
		s.logger.InfoContext(ctx, "delivered budget webhooks", "claimed", res.Claimed, "delivered", res.Delivered,
			"failed", res.Failed, "gave_up", res.GaveUp)
	}
	return res, firstErr
}

// deliver posts one claimed delivery and records the outcome.
func (s *Sender) deliver(ctx context.Context, c claimed) (string, error) {
	postErr := s.post(ctx, c)
	if postErr == nil {
		_, err := s.pool.Exec(context.WithoutCancel(ctx), sqlWebhookDelivered, c.alertID, c.attempts)
		if err != nil {
			return "", fmt.Errorf("error recording webhook delivery of alert %d: %w", c.alertID, err)
		}
		return Delivered, nil
	}
	state := Pending
	if c.attempts >= s.cfg.MaxAttempts {
		state = GaveUp
	}
	s.mu.Lock()
	wait := s.cfg.Backoff(c.attempts, s.rng)
	s.mu.Unlock()
	_, err := s.pool.Exec(context.WithoutCancel(ctx), sqlWebhookFailed,
		c.alertID, c.attempts, state, postErr.Error(), wait.Milliseconds())
	if err != nil {
		return "", fmt.Errorf("error recording webhook failure of alert %d: %w", c.alertID, err)
	}
	s.logger.WarnContext(ctx, "budget webhook failed", "alert_id", c.alertID, "attempt", c.attempts, "state", state, "error", postErr)
	return state, nil
}

// post sends the payload; an answer other than 2xx, a transport error or
// the timeout is a failure, described without the URL (it may hold a secret).
func (s *Sender) post(ctx context.Context, c claimed) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(c.payload))
	if err != nil {
		return errors.New("the URL cannot be requested")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "tesla-budget-webhook")
	req.Header.Set("X-Tesla-Alert", fmt.Sprint(c.alertID))
	res, err := s.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if fa := (*forbiddenAddress)(nil); errors.As(err, &fa) {
			return fa
		}
		if errors.Is(err, context.DeadlineExceeded) || (ue != nil && ue.Timeout()) {
			return fmt.Errorf("no answer within %s", s.cfg.Timeout)
		}
		return err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return fmt.Errorf("answered %s", res.Status)
	}
	return nil
}

// checkAddress refuses, at connection time, an address (host:port, the
// host an IP) webhooks may not reach.
func checkAddress(address string, allowPrivate bool) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return err
	}
	if why := addressProblem(ip, allowPrivate); why != "" {
		return &forbiddenAddress{why: why}
	}
	return nil
}

// forbiddenAddress refuses a connection. Its message names the kind of
// address, not the address: the last error is shown to whoever reads the
// budget, and the address a name resolved to inside the network is not
// theirs to learn.
type forbiddenAddress struct{ why string }

func (e *forbiddenAddress) Error() string {
	return fmt.Sprintf("the webhook's address is %s, which webhooks may not reach", e.why)
}

var (
	// sharedV4 is RFC 6598's carrier-grade NAT space: private in practice
	// (some clouds serve metadata from it, e.g. 100.100.100.200).
	sharedV4 = netip.MustParsePrefix("100.64.0.0/10")
	// reserved are never a company's hook: "this network", IETF protocol
	// assignments, benchmarking, the future-use block and the broadcast
	// address (240.0.0.0/4), IPv6 site-local (deprecated), IPv4-compatible
	// IPv6 (deprecated) and Teredo.
	reserved = []netip.Prefix{
		netip.MustParsePrefix("0.0.0.0/8"), netip.MustParsePrefix("192.0.0.0/24"),
		netip.MustParsePrefix("198.18.0.0/15"), netip.MustParsePrefix("240.0.0.0/4"),
		netip.MustParsePrefix("fec0::/10"), netip.MustParsePrefix("::/96"), netip.MustParsePrefix("2001::/32"),
	}
	// NAT64 (RFC 6052, RFC 8215) and 6to4 (RFC 3056) addresses carry an IPv4
	// address that a gateway connects to: they are judged by it.
	nat64     = []netip.Prefix{netip.MustParsePrefix("64:ff9b::/96"), netip.MustParsePrefix("64:ff9b:1::/48")}
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// addressProblem says why webhooks may not reach ip ("" when they may):
// loopback and private only without allowPrivate; link-local, unspecified,
// multicast and reserved never.
func addressProblem(ip netip.Addr, allowPrivate bool) string {
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		b := ip.As16()
		for _, p := range nat64 {
			if p.Contains(ip) {
				return addressProblem(netip.AddrFrom4([4]byte(b[12:16])), allowPrivate)
			}
		}
		if sixToFour.Contains(ip) {
			return addressProblem(netip.AddrFrom4([4]byte(b[2:6])), allowPrivate)
		}
	}
	switch {
	case ip.IsUnspecified():
		return "unspecified"
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
		return "link-local"
	case ip.IsMulticast(), ip.IsInterfaceLocalMulticast():
		return "multicast"
	case ip.IsLoopback():
		if allowPrivate {
			return ""
		}
		return "loopback"
	case ip.IsPrivate(), sharedV4.Contains(ip):
		if allowPrivate {
			return ""
		}
		return "private"
	}
	for _, p := range reserved {
		if p.Contains(ip) {
			return "reserved"
		}
	}
	return ""
}
