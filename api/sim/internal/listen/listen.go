// Package listen runs a simulator's HTTP handler on a loopback listener in
// the background, with a Close that abandons requests in flight (the
// simulators' Start and Close).
package listen

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Server is one background listener; the zero value is ready to Start.
type Server struct {
	mu     sync.Mutex
	hs     *http.Server
	cancel context.CancelFunc
	done   chan struct{}
	url    string
}

// Start listens on addr (e.g. "127.0.0.1:0") and serves h until Close;
// requests see a context Close cancels. name prefixes log lines; the HTTP
// server's own errors are logged at errLevel. It returns the base URL, e.g.
// "http://127.0.0.1:41234", and refuses to start twice at once.
func (s *Server) Start(addr string, h http.Handler, log *slog.Logger, name string, errLevel slog.Level) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hs != nil {
		return "", errors.New(name + ": server already started")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithCancel(context.Background())
	hs := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 30 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ErrorLog:          slog.NewLogLogger(log.Handler(), errLevel),
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error(name+": serve", "err", err)
		}
	}()
	s.hs, s.cancel, s.done = hs, cancel, done
	s.url = "http://" + ln.Addr().String()
	log.Info(name+": listening", "url", s.url)
	return s.url, nil
}

// URL is the base URL of the last Start ("" before one).
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.url
}

// Close stops a started server: the listener and all connections close and
// requests in flight are cancelled. Close without Start, or a second Close,
// does nothing.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hs == nil {
		return nil
	}
	s.cancel()
	err := s.hs.Close()
	<-s.done
	s.hs = nil
	return err
}
