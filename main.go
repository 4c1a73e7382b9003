// Command tesla is the operations-analytics portal for big-data compute platforms:
// `tesla serve` runs the API, web app, scheduler and live demo; other subcommands
// migrate, seed, and manage tokens. See `tesla help`.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/teslaops/tesla/internal/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := app.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "tesla:", err)
		os.Exit(1)
	}
}
