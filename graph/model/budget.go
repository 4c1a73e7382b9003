package model

import (
	"time"

	"github.com/teslaops/tesla/internal/budget"
)

// Budget is a budget seen for a month; its person, BU, forecast, alerts,
// children and updatedBy are resolved (forecast and children read per
// object, alerts through a loader).
type Budget struct {
	ID           string
	DBID         int64
	OwnerKind    BudgetOwnerKind
	PersonID     *int64
	BUID         *int64
	ValidFrom    time.Time
	Month        time.Time
	Amount       Decimal
	Currency     string
	Thresholds   []int
	WebhookURL   *string
	Spend        Decimal
	SpendPercent float64
	Editable     bool
	UpdatedAt    time.Time
	UpdatedByID  *int64
	// Domain is the budget as the service returned it, for the per-object fields.
	Domain *budget.Budget
}

// IsNode marks Budget as a Node.
func (Budget) IsNode() {}

// GetID returns the global id.
func (b Budget) GetID() string { return b.ID }

// BudgetAlert is a threshold crossed; its budget is resolved.
type BudgetAlert struct {
	ID        string
	DBID      int64
	BudgetID  int64
	Month     time.Time
	Kind      BudgetAlertKind
	Threshold int
	Value     Decimal
	Amount    Decimal
	RaisedAt  time.Time
	Webhook   *WebhookDelivery
}

// IsNode marks BudgetAlert as a Node.
func (BudgetAlert) IsNode() {}

// GetID returns the global id.
func (a BudgetAlert) GetID() string { return a.ID }

// BudgetChild is a child BU's part of a budget month; its BU is resolved.
type BudgetChild struct {
	BUID   int64
	Spend  Decimal
	Budget *Budget
}

// The global id kinds of budgets and their alerts.
const (
	KindBudget      = "Budget"
	KindBudgetAlert = "BudgetAlert"
)
