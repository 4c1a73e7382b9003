// Package frontend embeds the built web app so the tesla binary serves it.
package frontend

import "embed"

// Dist holds frontend/dist: index.html (the app), graphiql.html and assets/.
// Before `npm run build` it holds only .gitkeep.
//
//go:embed all:dist
var Dist embed.FS
