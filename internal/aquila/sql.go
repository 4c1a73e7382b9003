package aquila

import _ "embed"

// The package's static SQL, one statement a file (sql/*.sql).
var (
	//go:embed sql/claim.sql
	sqlClaim string
	//go:embed sql/record.sql
	sqlRecord string
	//go:embed sql/count_progress.sql
	sqlCountProgress string
	//go:embed sql/next_stage.sql
	sqlNextStage string
	//go:embed sql/operation.sql
	sqlOperation string
	//go:embed sql/cluster_operations.sql
	sqlClusterOperations string
	//go:embed sql/operations_by_ids.sql
	sqlOperationsByIDs string
	//go:embed sql/stages.sql
	sqlStages string
	//go:embed sql/events.sql
	sqlEvents string
	//go:embed sql/insert_events.sql
	sqlInsertEvents string
)
