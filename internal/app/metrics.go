package app

import (
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the server's Prometheus metrics: HTTP traffic by route, GraphQL
// operations by type and outcome, and the database pool.
type metrics struct {
	requests   *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	operations *prometheus.CounterVec
	opLatency  *prometheus.HistogramVec
}

func newMetrics(reg *prometheus.Registry, pools map[string]*pgxpool.Pool) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tesla_http_requests_total", Help: "HTTP requests by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "tesla_http_request_duration_seconds", Help: "HTTP request latency by route pattern.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12),
		}, []string{"route"}),
		operations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tesla_graphql_operations_total", Help: "GraphQL operations by type and outcome.",
		}, []string{"type", "outcome"}),
		opLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "tesla_graphql_operation_duration_seconds", Help: "GraphQL operation latency by type.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12),
		}, []string{"type"}),
	}
	reg.MustRegister(m.requests, m.latency, m.operations, m.opLatency, poolCollector{pools},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) observeOperation(opType string, d time.Duration, failed bool) {
	outcome := "ok"
	if failed {
		outcome = "error"
	}
	opType = operationLabel(opType)
	m.operations.WithLabelValues(opType, outcome).Inc()
	m.opLatency.WithLabelValues(opType).Observe(d.Seconds())
}

// Every label value comes from a fixed set: a client chooses the method and, in
// effect, the status code and operation type, and each new value would be a new
// time series held by the server and by Prometheus for good.

// methodLabel is the request method if it is a standard one, else "other".
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "other"
}

// codeLabel is the status code if net/http knows it, else "other".
func codeLabel(code int) string {
	if http.StatusText(code) == "" {
		return "other"
	}
	return strconv.Itoa(code)
}

// operationLabel is the GraphQL operation type, or "unknown" (e.g. a request that
// failed to parse).
func operationLabel(opType string) string {
	switch opType {
	case "query", "mutation", "subscription":
		return opType
	}
	return "unknown"
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection (websocket upgrades).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// instrument records every request under its route pattern (never the raw path,
// which would explode label cardinality); the patterns are the mux's own, a fixed
// set.
func (m *metrics) instrument(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		mux.ServeHTTP(rec, r)
		route := r.Pattern
		if route == "" {
			_, route = mux.Handler(r)
		}
		m.requests.WithLabelValues(route, methodLabel(r.Method), codeLabel(rec.status)).Inc()
		m.latency.WithLabelValues(route).Observe(time.Since(start).Seconds())
	})
}

// poolCollector exports pgxpool statistics at scrape time, one series per pool
// (label pool: "main" for ingestion, jobs and sign-in; "api" for GraphQL), so an
// exhausted API share shows apart from the connections it must never take.
type poolCollector struct{ pools map[string]*pgxpool.Pool }

var (
	poolTotal    = prometheus.NewDesc("tesla_db_pool_connections", "Open database connections.", []string{"pool"}, nil)
	poolIdle     = prometheus.NewDesc("tesla_db_pool_idle_connections", "Idle database connections.", []string{"pool"}, nil)
	poolInUse    = prometheus.NewDesc("tesla_db_pool_acquired_connections", "Database connections in use.", []string{"pool"}, nil)
	poolMax      = prometheus.NewDesc("tesla_db_pool_max_connections", "Maximum database connections.", []string{"pool"}, nil)
	poolAcquires = prometheus.NewDesc("tesla_db_pool_acquires_total", "Connection acquisitions.", []string{"pool"}, nil)
	poolWaits    = prometheus.NewDesc("tesla_db_pool_empty_acquires_total", "Acquisitions that had to wait for a connection.", []string{"pool"}, nil)
	poolWaitTime = prometheus.NewDesc("tesla_db_pool_acquire_wait_seconds_total", "Time spent waiting for connections.", []string{"pool"}, nil)
)

func (poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolTotal, poolIdle, poolInUse, poolMax, poolAcquires, poolWaits, poolWaitTime} {
		ch <- d
	}
}

func (c poolCollector) Collect(ch chan<- prometheus.Metric) {
	for name, pool := range c.pools {
		if pool == nil {
			continue
		}
		s := pool.Stat()
		ch <- prometheus.MustNewConstMetric(poolTotal, prometheus.GaugeValue, float64(s.TotalConns()), name)
		ch <- prometheus.MustNewConstMetric(poolIdle, prometheus.GaugeValue, float64(s.IdleConns()), name)
		ch <- prometheus.MustNewConstMetric(poolInUse, prometheus.GaugeValue, float64(s.AcquiredConns()), name)
		ch <- prometheus.MustNewConstMetric(poolMax, prometheus.GaugeValue, float64(s.MaxConns()), name)
		ch <- prometheus.MustNewConstMetric(poolAcquires, prometheus.CounterValue, float64(s.AcquireCount()), name)
		ch <- prometheus.MustNewConstMetric(poolWaits, prometheus.CounterValue, float64(s.EmptyAcquireCount()), name)
		ch <- prometheus.MustNewConstMetric(poolWaitTime, prometheus.CounterValue, s.AcquireDuration().Seconds(), name)
	}
}
