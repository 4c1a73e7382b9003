package budget

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fault"
)

// Input sets a budget: exactly one of PersonID and BUID; Month any time in
// the first month (the current one when nil); Thresholds DefaultThresholds
// when nil; WebhookURL unchanged when nil, removed when empty.
type Input struct {
	PersonID   *int64          `json:"person,omitempty"`
	BUID       *int64          `json:"bu,omitempty"`
	Month      *time.Time      `json:"month,omitempty"`
	Amount     decimal.Decimal `json:"amount"`
	Thresholds []int           `json:"thresholds,omitempty"`
	WebhookURL *string         `json:"-"`
}

// auditInput is what the audit log keeps of an Input: the webhook's scheme
// and host only, as its path and query often hold a secret.
type auditInput struct {
	Input
	Webhook *string `json:"webhook,omitempty"`
}

const (
	maxThresholds = 10
	maxURLLength  = 2000
)

var maxAmount = decimal.New(1, 15)

// validate checks an Input, naming the field at fault, and returns its
// month and thresholds.
func (in Input) validate(now time.Time) (time.Time, []int, error) {
	switch {
	case in.PersonID != nil && in.BUID != nil:
		return time.Time{}, nil, fault.Field("input.bu", "give either person or bu, not both")
	case in.PersonID == nil && in.BUID == nil:
		return time.Time{}, nil, fault.Field("input.person", "give the person or the bu whose budget it is")
	}
	if !in.Amount.IsPositive() {
		return time.Time{}, nil, fault.Field("input.amount", "amount must be positive, not %s", in.Amount)
	}
	if in.Amount.Exponent() < -2 && !in.Amount.Equal(in.Amount.Round(2)) {
		return time.Time{}, nil, fault.Field("input.amount", "amount has at most 2 decimals, not %s", in.Amount)
	}
	if in.Amount.GreaterThanOrEqual(maxAmount) {
		return time.Time{}, nil, fault.Field("input.amount", "amount must be below %s", maxAmount)
	}
	th, err := checkThresholds(in.Thresholds)
	if err != nil {
		return time.Time{}, nil, err
	}
	if in.WebhookURL != nil && *in.WebhookURL != "" {
		if err := CheckWebhookURL("input.webhookUrl", *in.WebhookURL); err != nil {
			return time.Time{}, nil, err
		}
	}
	m := monthStart(now)
	if in.Month != nil && !in.Month.IsZero() {
		m = monthStart(*in.Month)
	}
	return m, th, nil
}

func checkThresholds(in []int) ([]int, error) {
	if in == nil {
		return slices.Clone(DefaultThresholds), nil
	}
	if len(in) == 0 || len(in) > maxThresholds {
		return nil, fault.Field("input.thresholds", "give 1 to %d thresholds, not %d", maxThresholds, len(in))
	}
	out := slices.Clone(in)
	slices.Sort(out)
	for i, t := range out {
		if t < 1 || t > 1000 {
			return nil, fault.Field("input.thresholds", "threshold %d is not a percentage in 1..1000", t)
		}
		if i > 0 && out[i-1] == t {
			return nil, fault.Field("input.thresholds", "threshold %d is given twice", t)
		}
	}
	return out, nil
}

// CheckWebhookURL accepts an absolute http or https URL with a host.
func CheckWebhookURL(field, raw string) error {
	if len(raw) > maxURLLength {
		return fault.Field(field, "the URL is longer than %d characters", maxURLLength)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fault.Field(field, "give an absolute http:// or https:// URL")
	}
	if u.User != nil {
		return fault.Field(field, "the URL may not carry a user or password; put a secret in its path or query")
	}
	return nil
}

// Resolver looks up the addresses of a host name (net.DefaultResolver).
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// webhookTargets refuses, when a webhook is set, a URL whose host is or
// resolves to an address the sender would refuse (addressProblem), so the
// person setting it learns at once rather than from failed deliveries.
// The sender's dial-time check stays the guard: a name may resolve
// elsewhere by the time an alert is sent.
type webhookTargets struct {
	allowPrivate bool
	resolver     Resolver
}

// resolveTimeout bounds the DNS lookup of a webhook's host when it is set.
const resolveTimeout = 3 * time.Second

// check refuses raw (an absolute http(s) URL, CheckWebhookURL) when its
// host is or resolves to a forbidden address. A name that does not resolve
// now is accepted: DNS may be unreachable from here or the hook not yet
// live, and the sender checks the address it connects to in any case.
func (t webhookTargets) check(ctx context.Context, field, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fault.Field(field, "give an absolute http:// or https:// URL")
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	refuse := func(verb, why string) error {
		return fault.Field(field, "the URL's host %s an address webhooks may not reach (%s); an installation whose hooks live on its own network allows loopback and private addresses with TESLA_WEBHOOK_ALLOW_PRIVATE=on", verb, why)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if why := addressProblem(ip, t.allowPrivate); why != "" {
			return refuse("is", why)
		}
		return nil
	}
	// RFC 6761: these names are loopback whatever DNS says.
	if (host == "localhost" || strings.HasSuffix(host, ".localhost")) && !t.allowPrivate {
		return refuse("is", "loopback")
	}
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	ips, err := t.resolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil
	}
	for _, ip := range ips {
		if why := addressProblem(ip, t.allowPrivate); why != "" {
			return refuse("resolves to", why)
		}
	}
	return nil
}

func redactURL(raw *string) *string {
	if raw == nil {
		return nil
	}
	if *raw == "" {
		return raw
	}
	u, err := url.Parse(*raw)
	if err != nil {
		return nil
	}
	r := u.Scheme + "://" + u.Host + "/…"
	return &r
}

// owner loads the person's BU (or checks the BU exists and is active), the
// BU access is decided by.
func owner(ctx context.Context, q db.DBTX, person, bu *int64) (int64, error) {
	if person != nil {
		var b int64
		err := q.QueryRow(ctx, `SELECT bu_id FROM person WHERE id = $1`, *person).Scan(&b)
		if errors.Is(err, pgx.ErrNoRows) {
			return 0, fault.Field("input.person", "person not found")
		}
		if err != nil {
			return 0, fmt.Errorf("error loading person %d: %w", *person, err)
		}
		return b, nil
	}
	var active bool
	err := q.QueryRow(ctx, `SELECT active FROM bu WHERE id = $1`, *bu).Scan(&active)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, fault.Field("input.bu", "BU not found")
	}
	if err != nil {
		return 0, fmt.Errorf("error loading BU %d: %w", *bu, err)
	}
	if !active {
		return 0, fault.Field("input.bu", "BU %d is deactivated", *bu)
	}
	return *bu, nil
}

func refusal(p *auth.Principal, what string) error {
	if p.Role == auth.Operator {
		return fault.Forbiddenf("an OPERATOR may set only their own budget; %s needs a BU admin of its BU or an ADMIN", what)
	}
	return fault.Forbiddenf("you may not set %s: a BU admin sets the budgets of their BU subtree, anyone their own", what)
}

// Upsert sets an owner's budget from a month on (replacing the owner's
// budget of that very month, if any): a BU admin for BUs and people of their
// subtree, an ADMIN for all, anyone for their own person budget. Audited,
// refusals included.
func (s *Service) Upsert(ctx context.Context, in Input) (*Budget, error) {
	target := "budget:"
	switch {
	case in.PersonID != nil:
		target += fmt.Sprintf("person:%d", *in.PersonID)
	case in.BUID != nil:
		target += fmt.Sprintf("bu:%d", *in.BUID)
	}
	var id int64
	var month time.Time
	// The URL's host is resolved before the transaction, so no database
	// connection waits on DNS; the refusal is returned (and audited) in it.
	var hookErr error
	if in.WebhookURL != nil && *in.WebhookURL != "" && CheckWebhookURL("input.webhookUrl", *in.WebhookURL) == nil {
		hookErr = s.hooks.check(ctx, "input.webhookUrl", *in.WebhookURL)
	}
	err := s.audit.Do(ctx, "upsertBudget", target, auditInput{Input: in, Webhook: redactURL(in.WebhookURL)}, func(tx pgx.Tx) error {
		p, err := auth.Require(ctx)
		if err != nil {
			return err
		}
		var th []int
		month, th, err = in.validate(s.now())
		if err != nil {
			return err
		}
		if hookErr != nil {
			return hookErr
		}
		scope, err := owner(ctx, tx, in.PersonID, in.BUID)
		if err != nil {
			return err
		}
		if !canEdit(p, scope, in.PersonID) {
			what := "this budget"
			if in.PersonID != nil {
				what = fmt.Sprintf("the budget of person %d", *in.PersonID)
			} else {
				what = fmt.Sprintf("the budget of BU %d", *in.BUID)
			}
			return refusal(p, what)
		}
		var hook *string
		if in.WebhookURL != nil && *in.WebhookURL != "" {
			hook = in.WebhookURL
		}
		conflict := "(person_id, valid_from) WHERE person_id IS NOT NULL"
		if in.BUID != nil {
			conflict = "(bu_id, valid_from) WHERE bu_id IS NOT NULL"
		}
		err = tx.QueryRow(ctx, `INSERT INTO budget (person_id, bu_id, valid_from, amount, thresholds, webhook_url, updated_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT `+conflict+` DO UPDATE SET amount = EXCLUDED.amount, thresholds = EXCLUDED.thresholds,
				webhook_url = CASE WHEN $8 THEN EXCLUDED.webhook_url ELSE budget.webhook_url END,
				updated_at = now(), updated_by = EXCLUDED.updated_by
			RETURNING id`, in.PersonID, in.BUID, month, in.Amount, th, hook, p.PersonID, in.WebhookURL != nil).Scan(&id)
		if err != nil {
			return db.Interpret(fmt.Errorf("error writing budget: %w", err), "budget")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.ByID(ctx, id, &month)
}

// Delete deletes a budget row (the owner's earlier budget, if any, applies
// again); same rule as Upsert. Its alerts and their deliveries go with it.
func (s *Service) Delete(ctx context.Context, id int64) (*Budget, error) {
	var out *Budget
	err := s.audit.Do(ctx, "deleteBudget", fmt.Sprintf("budget:%d", id), map[string]int64{"id": id}, func(tx pgx.Tx) error {
		p, err := auth.Require(ctx)
		if err != nil {
			return err
		}
		b, err := budgetByID(ctx, tx, id, true)
		if err != nil {
			if fault.Is(err, fault.NotFound) {
				return &fault.Error{Kind: fault.NotFound, Field: "input.id", Message: "budget not found"}
			}
			return err
		}
		if !canEdit(p, b.scopeBU, b.PersonID) {
			return refusal(p, fmt.Sprintf("budget %d", id))
		}
		if err := s.view(ctx, p, []*Budget{b}, b.ValidFrom); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM budget WHERE id = $1`, id); err != nil {
			return fmt.Errorf("error deleting budget %d: %w", id, err)
		}
		out = b
		return nil
	})
	return out, err
}
