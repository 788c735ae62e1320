package sync

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"qtc/store"
)

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ValidateName checks a connector name: 1–64 letters, digits, '.', '_' or
// '-', starting with a letter or digit.
func ValidateName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("connector name %q is invalid: use 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit", name)
	}
	return nil
}

// SaveQualys validates and stores a Qualys connector, sealing its password.
// An existing connector of the same name is updated in place (its synced data
// is kept).
func (e *Engine) SaveQualys(ctx context.Context, q QualysConnector) (store.Connector, error) {
	if err := q.Resolve(); err != nil {
		return store.Connector{}, err
	}
	if err := q.Validate(); err != nil {
		return store.Connector{}, err
	}
	sealed, err := e.Vault.Seal([]byte(q.Password), SecretAAD(q.Name, SealedPassword))
	if err != nil {
		return store.Connector{}, fmt.Errorf("seal password: %w", err)
	}
	now := time.Now().UTC()
	c, err := e.Store.Connector(ctx, q.Name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		c = store.Connector{Name: q.Name, Kind: KindQualys, CreatedAt: now}
	case err != nil:
		return store.Connector{}, err
	case c.Kind != KindQualys:
		return store.Connector{}, fmt.Errorf("connector %s already exists as a %s connector", q.Name, c.Kind)
	}
	c.Settings = q.settings()
	c.Sealed = map[string]string{SealedPassword: sealed}
	c.UpdatedAt = now
	if err := e.Store.PutConnector(ctx, c); err != nil {
		return store.Connector{}, err
	}
	return c, nil
}

// Status summarises a connector for lists: its state and last run.
type Status struct {
	Connector store.Connector
	State     string
	LastRun   *store.Run
	Records   map[string]int
}

// ConnectorStatus reads a connector's state from its newest run.
func (e *Engine) ConnectorStatus(ctx context.Context, c store.Connector) (Status, error) {
	s := Status{Connector: c, State: StateRegistered, Records: map[string]int{}}
	runs, err := e.Store.Runs(ctx, c.Name, 1)
	if err != nil {
		return s, err
	}
	if len(runs) > 0 {
		r := runs[0]
		s.LastRun = &r
		s.State = r.State
		if e.Running(c.Name) {
			s.State = StateProcessing
		} else if r.State == StateProcessing {
			// A run that never finished: the process died mid-sync.
			s.State = StateErrored
		}
	}
	types, err := e.Store.Types(ctx, c.Name)
	if err != nil {
		return s, err
	}
	for _, t := range types {
		n, err := e.Store.Count(ctx, c.Name, t)
		if err != nil {
			return s, err
		}
		s.Records[t] = n
	}
	return s, nil
}

// Endpoint is where a connector's data comes from, for lists.
func Endpoint(c store.Connector) string {
	if u := c.Settings[SettingGatewayURL]; u != "" {
		return u
	}
	if u := c.Settings[SettingGraphURL]; u != "" {
		return u + " (tenant " + c.Settings[SettingTenantID] + ")"
	}
	if t := c.Settings[SettingTenantID]; t != "" {
		return "tenant " + t
	}
	return ""
}
