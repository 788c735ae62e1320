package sync

import (
	"context"
	"errors"
	"fmt"
	"net"
)

// explainNetwork adds what to do to an error that never reached the server:
// the API errors already carry the seeds' advice, a refused or unresolvable
// connection does not.
func explainNetwork(err error, endpoint string) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var dnsErr *net.DNSError
	var opErr *net.OpError
	switch {
	case errors.As(err, &dnsErr):
		return fmt.Errorf("%w — the host of %s does not resolve: check the URL (or platform) and your DNS", err, endpoint)
	case errors.As(err, &opErr):
		return fmt.Errorf("%w — cannot reach %s: check the URL (or platform), the proxy (HTTPS_PROXY) and that outbound HTTPS is allowed", err, endpoint)
	}
	return err
}
