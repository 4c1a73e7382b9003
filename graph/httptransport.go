package graph

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/teslaops/tesla/internal/fault"
)

// The HTTP transports follow the GraphQL-over-HTTP specification
// (https://graphql.github.io/graphql-over-http/draft/) where gqlgen's stock
// transport.POST and transport.GET do not:
//
//   - a request the server cannot even read as GraphQL (a body that is not a JSON
//     object, no query) is 400; the wrong method is 405 with Allow; a body that is
//     not JSON is 415; every one of these carries extensions.code;
//   - with Accept: application/json, a document that fails to parse or validate,
//     or variables that fail to coerce, answer 200 with the errors (gqlgen: 422),
//     since legacy clients read the body only on 200;
//   - with Accept: application/graphql-response+json, the same failures answer 400
//     and the body has no "data" entry at all (gqlgen: "data": null), which tells
//     the client that execution never started.

// Media types of a GraphQL response.
const (
	mediaJSON            = "application/json"
	mediaGraphQLResponse = "application/graphql-response+json"
)

// Codes of requests refused before any GraphQL processing, in extensions.code.
const (
	codeBadRequest           = "BAD_REQUEST"
	codeMethodNotAllowed     = "METHOD_NOT_ALLOWED"
	codeUnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE"
)

// httpPOST runs operations sent as a JSON body.
type httpPOST struct{}

func (httpPOST) Supports(r *http.Request) bool {
	if r.Method != http.MethodPost || r.Header.Get("Upgrade") != "" {
		return false
	}
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mediaType == mediaJSON
}

func (httpPOST) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	media := responseMediaType(r)
	start := graphql.Now()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			refuse(w, http.StatusRequestEntityTooLarge, string(fault.Invalid), "request body too large")
			return
		}
		refuse(w, http.StatusBadRequest, codeBadRequest, "could not read the request body")
		return
	}
	var params graphql.RawParams
	if err := jsonDecode(bytes.NewReader(body), &params); err != nil {
		refuse(w, http.StatusBadRequest, codeBadRequest,
			"the request body must be a JSON object {query, operationName, variables, extensions}: "+err.Error())
		return
	}
	params.Headers = r.Header
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}
	execute(w, r, exec, media, &params, false)
}

// httpGET runs queries sent as URL parameters. Mutations are refused: a GET must
// never change anything (it can be sent by a link, prefetched, or cached).
type httpGET struct{}

func (httpGET) Supports(r *http.Request) bool {
	return r.Method == http.MethodGet && r.Header.Get("Upgrade") == ""
}

func (httpGET) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	media := responseMediaType(r)
	start := graphql.Now()
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		refuse(w, http.StatusBadRequest, codeBadRequest, "the URL query string is malformed")
		return
	}
	params := graphql.RawParams{Query: query.Get("query"), OperationName: query.Get("operationName"), Headers: r.Header}
	for name, dst := range map[string]any{"variables": &params.Variables, "extensions": &params.Extensions} {
		if v := query.Get(name); v != "" {
			if err := jsonDecode(strings.NewReader(v), dst); err != nil {
				refuse(w, http.StatusBadRequest, codeBadRequest, "the "+name+" parameter must be a JSON object")
				return
			}
		}
	}
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}
	execute(w, r, exec, media, &params, true)
}

// allowedMethods are the methods /query serves.
const allowedMethods = "GET, POST, OPTIONS"

// RefuseOtherMethods answers 405 with Allow for any method /query does not serve,
// before next runs: such a request is wrong whoever sends it, so it needs no
// credentials to be told so.
func RefuseOtherMethods(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodPost, http.MethodOptions:
			next.ServeHTTP(w, r)
		default:
			refuseMethod(w, r)
		}
	})
}

func refuseMethod(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Allow", allowedMethods)
	refuse(w, http.StatusMethodNotAllowed, codeMethodNotAllowed,
		"method "+strconv.Quote(r.Method)+" is not allowed: use POST (or GET for queries)")
}

// httpRefusal answers every request no other transport took (it must be added
// last): a method /query does not serve, or a POST body that is not JSON.
type httpRefusal struct{}

func (httpRefusal) Supports(*http.Request) bool { return true }

func (httpRefusal) Do(w http.ResponseWriter, r *http.Request, _ graphql.GraphExecutor) {
	if r.Method == http.MethodPost {
		refuse(w, http.StatusUnsupportedMediaType, codeUnsupportedMediaType,
			"send the operation as a JSON body with Content-Type: application/json")
		return
	}
	refuseMethod(w, r)
}

// execute prepares and runs one operation and writes its response.
func execute(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor, media string, params *graphql.RawParams, isGET bool) {
	ctx := r.Context()
	if params.Query == "" && params.Extensions["persistedQuery"] == nil {
		refuse(w, http.StatusBadRequest, codeBadRequest, "the request has no query")
		return
	}
	rc, errs := exec.CreateOperationContext(ctx, params)
	if errs != nil {
		// The document did not parse or validate, its variables did not coerce, or a
		// limit (complexity, depth) refused it: nothing was executed.
		resp := exec.DispatchError(graphql.WithOperationContext(ctx, rc), errs)
		w.Header().Set("Content-Type", media)
		if media == mediaGraphQLResponse {
			w.WriteHeader(http.StatusBadRequest)
			writeJSON(w, struct {
				Errors     gqlerror.List  `json:"errors"`
				Extensions map[string]any `json:"extensions,omitempty"`
			}{resp.Errors, resp.Extensions})
			return
		}
		writeJSON(w, resp)
		return
	}
	if isGET {
		if op := rc.Doc.Operations.ForName(rc.OperationName); op != nil && op.Operation != ast.Query {
			w.Header().Set("Allow", "POST")
			refuse(w, http.StatusMethodNotAllowed, codeMethodNotAllowed,
				"GET runs queries only: send a "+string(op.Operation)+" with POST")
			return
		}
	}
	responses, ctx := exec.DispatchOperation(ctx, rc)
	w.Header().Set("Content-Type", media)
	writeJSON(w, responses(ctx))
}

// responseMediaType picks the response's media type from the Accept header, as
// gqlgen does: application/json when the client names it first, accepts anything
// or sends no Accept (legacy clients), else application/graphql-response+json.
func responseMediaType(r *http.Request) string {
	accept := r.Header.Get("Accept")
	if accept == "" {
		return mediaJSON
	}
	for part := range strings.SplitSeq(accept, ",") {
		mediaType, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mediaType {
		case "*/*", "application/*", mediaJSON:
			return mediaJSON
		case mediaGraphQLResponse:
			return mediaGraphQLResponse
		}
	}
	return mediaGraphQLResponse
}

// refuse answers a request that never reached GraphQL processing. The body is
// application/json whatever the client accepts: there is no GraphQL response.
func refuse(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", mediaJSON)
	w.WriteHeader(status)
	writeJSON(w, map[string]any{"errors": []map[string]any{{"message": msg, "extensions": map[string]string{"code": code}}}})
}

func jsonDecode(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("unexpected data after the JSON object")
	}
	return nil
}

func writeJSON(w io.Writer, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Every value written here is plain data; a failure is a programming error.
		panic(err)
	}
	_, _ = w.Write(b)
}
