// Command httpecho is a test helper baked into berth's test images: an HTTP
// server on $PORT (default 8080).
//
//	/              the hostname, then the request (method, path, remote address, host, headers)
//	/env           the process environment, one VAR=value a line, sorted
//	/healthz       200 "ok"
//	/exit?code=N   answers, then exits with code N (default 0)
//
// Each request is logged as one line on stdout.
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", root)
	mux.HandleFunc("/env", env)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/exit", exit)
	addr := ":" + port
	fmt.Printf("httpecho listening on %s\n", addr)
	srv := &http.Server{Addr: addr, Handler: logRequests(mux), ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		log.Fatalf("httpecho: %v", err)
	}
}

func root(w http.ResponseWriter, r *http.Request) {
	host, _ := os.Hostname()
	fmt.Fprintf(w, "hostname: %s\n", host)
	fmt.Fprintf(w, "method: %s\npath: %s\nremote: %s\nhost: %s\n", r.Method, r.URL.RequestURI(), r.RemoteAddr, r.Host)
	keys := make([]string, 0, len(r.Header))
	for k := range r.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "header: %s: %s\n", k, strings.Join(r.Header[k], ", "))
	}
}

func env(w http.ResponseWriter, _ *http.Request) {
	vars := os.Environ()
	sort.Strings(vars)
	for _, v := range vars {
		fmt.Fprintln(w, v)
	}
}

func exit(w http.ResponseWriter, r *http.Request) {
	code := 0
	if s := r.URL.Query().Get("code"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			http.Error(w, "code: "+err.Error(), http.StatusBadRequest)
			return
		}
		code = n
	}
	fmt.Fprintf(w, "exiting with code %d\n", code)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	go func() {
		time.Sleep(50 * time.Millisecond)
		fmt.Printf("httpecho exiting with code %d\n", code)
		os.Exit(code)
	}()
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func logRequests(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, r)
		fmt.Printf("%s %s %s %d\n", r.RemoteAddr, r.Method, r.URL.RequestURI(), sw.status)
	})
}
