// Package migrations holds the numbered SQL migrations of the Tesla schema, embedded
// in the binary so that the server, the migrate command and the tests all apply
// exactly the same files.
package migrations

import "embed"

// Files are the migration files, named NNNN_description.sql and applied in order.
//
//go:embed *.sql
var Files embed.FS
