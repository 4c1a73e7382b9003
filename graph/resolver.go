// Package graph is Tesla's GraphQL layer: the schema, thin resolvers that parse
// arguments, call one domain method and map the result, request-scoped dataloaders,
// and the HTTP handler with its limits and error presenter.
package graph

//go:generate go run github.com/99designs/gqlgen generate

import (
	"log/slog"

	"github.com/teslaops/tesla/internal/account"
	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/inventory"
)

// Resolver is the dependency root of every resolver.
type Resolver struct {
	Inventory *inventory.Service
	Accounts  *account.Service
	Audit     *audit.Log
	Events    *Events
	Logger    *slog.Logger
}
