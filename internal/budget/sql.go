package budget

import _ "embed"

// The package's static SQL, one statement a file (sql/*.sql); the dynamic
// parts are optional arguments, never built from values.
var (
	//go:embed sql/in_force.sql
	sqlInForce string
	//go:embed sql/by_id.sql
	sqlByID string
	//go:embed sql/subtree.sql
	sqlSubtree string
	//go:embed sql/children.sql
	sqlChildren string
)

var (
	//go:embed sql/alerts.sql
	sqlAlerts string
	//go:embed sql/raise.sql
	sqlRaise string
)

var (
	//go:embed sql/store_spend.sql
	sqlStoreSpend string
	//go:embed sql/month_spend.sql
	sqlMonthSpend string
)

var (
	//go:embed sql/claim_webhooks.sql
	sqlClaimWebhooks string
	//go:embed sql/webhook_delivered.sql
	sqlWebhookDelivered string
	//go:embed sql/webhook_failed.sql
	sqlWebhookFailed string
	//go:embed sql/queue_webhooks.sql
	sqlQueueWebhooks string
)
