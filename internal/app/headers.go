package app

import "net/http"

// pageCSP is the Content-Security-Policy of the web app and GraphiQL: every
// script, style, image and connection comes from this origin, no inline script or
// style runs, and no other site may frame the pages (clickjacking). The one
// exception, found by loading every page in Chromium (csp.e2e.mjs): GraphiQL's
// stylesheet embeds its fonts as data: URLs, so font-src allows data: — a font
// cannot run code. Neither GraphiQL 3 (CodeMirror 5) nor ECharts needs inline
// styles, eval, workers or blob: URLs; websockets to this origin are 'self'.
const pageCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; font-src 'self' data:; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// apiCSP is the policy of every other response (JSON, metrics, text): nothing in
// it may load or run anything, should a browser ever render it.
const apiCSP = "default-src 'none'; frame-ancestors 'none'"

// securityHeaders sets the headers every response carries. Handlers that serve
// pages replace the Content-Security-Policy with pageCSP.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY") // frame-ancestors for browsers without CSP 2
		h.Set("Content-Security-Policy", apiCSP)
		next.ServeHTTP(w, r)
	})
}
