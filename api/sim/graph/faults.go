package graphsim

// Fault kinds: each has its own hash stream, so probabilities combine
// independently.
const (
	faultReset = iota + 1
	faultTruncate
	faultThrottle
	faultUnavailable
	faultUnavailableNoRA
	faultGatewayTimeout
	faultExpiredToken
	faultDeltaGone
	faultReplay
	faultSlowBody
)

// fault decides, deterministically from the seed and the request's arrival
// number, whether a fault of the kind happens.
func (s *Server) fault(n uint64, kind int, p float64) bool {
	if p <= 0 {
		return false
	}
	return unit(hashOf(uint64(s.opt.Seed), n, uint64(kind), 0xfa17)) < p
}
