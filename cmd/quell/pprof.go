package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
)

// servePprof serves Go's profiles (/debug/pprof/) on the address in
// QUELL_PPROF_LISTEN, for whoever profiles quell under load; unset, it
// does nothing. The profiles tell much about a process: give it a loopback
// address.
func servePprof() error {
	addr := os.Getenv("QUELL_PPROF_LISTEN")
	if addr == "" {
		return nil
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("QUELL_PPROF_LISTEN: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	go func() { _ = http.Serve(l, mux) }()
	return nil
}
