package configuration

import _ "embed"

// The package's static SQL, one statement a file (sql/*.sql), embedded so
// the queries read as SQL and sit beside the package that owns their tables.
var (
	//go:embed sql/current_version.sql
	sqlCurrentVersion string
	//go:embed sql/change_insert.sql
	sqlChangeInsert string
	//go:embed sql/change_files_insert.sql
	sqlChangeFilesInsert string
	//go:embed sql/file_contents.sql
	sqlFileContents string
	//go:embed sql/review_upsert.sql
	sqlReviewUpsert string
	//go:embed sql/change_state.sql
	sqlChangeState string
	//go:embed sql/change_by_id.sql
	sqlChangeByID string
	//go:embed sql/change_files.sql
	sqlChangeFiles string
	//go:embed sql/change_reviews.sql
	sqlChangeReviews string
	//go:embed sql/policy_upsert.sql
	sqlPolicyUpsert string
	//go:embed sql/version_from_change.sql
	sqlVersionFromChange string
	//go:embed sql/version_rollback.sql
	sqlVersionRollback string
	//go:embed sql/copy_files.sql
	sqlCopyFiles string
	//go:embed sql/blobs_insert.sql
	sqlBlobsInsert string
	//go:embed sql/files_delete.sql
	sqlFilesDelete string
	//go:embed sql/files_insert.sql
	sqlFilesInsert string
	//go:embed sql/cluster_hosts.sql
	sqlClusterHosts string
	//go:embed sql/groups.sql
	sqlGroups string
	//go:embed sql/file_refs.sql
	sqlFileRefs string
	//go:embed sql/rollout_components.sql
	sqlRolloutComponents string
	//go:embed sql/changes.sql
	sqlChanges string
	//go:embed sql/stale.sql
	sqlStale string
	//go:embed sql/versions.sql
	sqlVersions string
	//go:embed sql/version_files.sql
	sqlVersionFiles string
	//go:embed sql/group_upsert.sql
	sqlGroupUpsert string
	//go:embed sql/outbox_pending.sql
	sqlOutboxPending string
	//go:embed sql/outbox_failed.sql
	sqlOutboxFailed string
	//go:embed sql/outbox_pushed.sql
	sqlOutboxPushed string
	//go:embed sql/commit_meta.sql
	sqlCommitMeta string
	//go:embed sql/commit_approvals.sql
	sqlCommitApprovals string
)
