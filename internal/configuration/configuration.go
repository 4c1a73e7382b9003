// Package configuration keeps the configuration files of each cluster's
// services as code: config groups of hosts whose files overlay the cluster
// default, every version in PostgreSQL (and mirrored as a git commit),
// changes proposed against a version, reviewed by others and applied as a
// CONFIG_APPLY operation, rollbacks that make a new version restoring an old
// one, and validation that refuses a broken file before anyone reviews it.
// Model, overlay order, workflow and roles: docs/configuration.md.
//
// The package owns config_group, config_group_host, config_policy,
// config_blob, config_version, config_file, config_change,
// config_change_file, config_review and config_git_outbox; it stamps
// host_component.config_version through internal/inventory.
package configuration
