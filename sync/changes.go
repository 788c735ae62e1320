package sync

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"qtc/api/qualys"
	"qtc/store"
	"qtc/sync/catalog"
)

// Changes made through the API (exceptions, Azure tenant connectors). After
// each one the store holds the server's version of the record, not a guess.

const exceptionsType = "exceptions"

// qualysFor opens the client of a Qualys connector by name.
func (e *Engine) qualysFor(ctx context.Context, name string) (*qualys.Client, error) {
	conn, err := e.Store.Connector(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("connector %s: %w", name, err)
	}
	c, err := e.QualysClient(conn)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// keep stores a record the server returned.
func (e *Engine) keep(ctx context.Context, conn, typ string, raw json.RawMessage) (store.Record, error) {
	t, ok := catalog.Lookup(typ)
	if !ok {
		return store.Record{}, fmt.Errorf("unknown type %s", typ)
	}
	rec, err := t.Record(raw, nil)
	if err != nil {
		return store.Record{}, err
	}
	if _, err := e.Store.PutRecord(ctx, conn, typ, t.Layout(), rec); err != nil {
		return store.Record{}, fmt.Errorf("store %s %s: %w", typ, rec.ID, err)
	}
	return rec, nil
}

// CreateException creates an exception on the server and stores the
// server's answer. Validation runs first, so nothing is sent for bad input.
func (e *Engine) CreateException(ctx context.Context, conn string, in qualys.ExceptionInput) (store.Record, error) {
	if err := in.Validate(time.Now()); err != nil {
		return store.Record{}, err
	}
	c, err := e.qualysFor(ctx, conn)
	if err != nil {
		return store.Record{}, err
	}
	it, err := c.CreateException(ctx, in)
	if err != nil {
		return store.Record{}, err
	}
	return e.keep(ctx, conn, exceptionsType, it.Raw)
}

// UpdateException changes an exception on the server and stores the
// server's answer.
func (e *Engine) UpdateException(ctx context.Context, conn, id string, in qualys.ExceptionInput) (store.Record, error) {
	if err := in.Validate(time.Now()); err != nil {
		return store.Record{}, err
	}
	c, err := e.qualysFor(ctx, conn)
	if err != nil {
		return store.Record{}, err
	}
	it, err := c.UpdateException(ctx, id, in)
	if err != nil {
		return store.Record{}, err
	}
	return e.keep(ctx, conn, exceptionsType, it.Raw)
}

// RefreshException re-reads one exception from the server into the store.
func (e *Engine) RefreshException(ctx context.Context, conn, id string) (store.Record, error) {
	c, err := e.qualysFor(ctx, conn)
	if err != nil {
		return store.Record{}, err
	}
	it, err := c.Exception(ctx, id)
	if err != nil {
		return store.Record{}, err
	}
	return e.keep(ctx, conn, exceptionsType, it.Raw)
}

// DeleteExceptions deletes exceptions on the server, then the ones the
// server confirms from the store.
func (e *Engine) DeleteExceptions(ctx context.Context, conn string, ids []string) ([]string, error) {
	c, err := e.qualysFor(ctx, conn)
	if err != nil {
		return nil, err
	}
	deleted, err := c.DeleteExceptions(ctx, ids)
	if err != nil {
		return nil, err
	}
	if _, err := e.Store.DeleteRecords(ctx, conn, exceptionsType, deleted); err != nil {
		return deleted, fmt.Errorf("deleted on the server, but the store could not drop them: %w", err)
	}
	return deleted, nil
}

// RefreshResource re-reads one TotalCloud resource by uuid (the by-uuid
// detail call) into the store.
func (e *Engine) RefreshResource(ctx context.Context, conn, typ, id string) (store.Record, error) {
	t, ok := catalog.Lookup(typ)
	if !ok || t.Cloud == "" {
		return store.Record{}, fmt.Errorf("%s is not a TotalCloud resource type", typ)
	}
	c, err := e.qualysFor(ctx, conn)
	if err != nil {
		return store.Record{}, err
	}
	raw, err := c.ResourceByUUID(ctx, t.Cloud, t.Resource, id)
	if err != nil {
		return store.Record{}, err
	}
	return e.keep(ctx, conn, t.Name, raw)
}

// CreateAzureOrg creates an Azure tenant connector (seed 001) through the
// connector's account and stores the answer under type "azure-org".
func (e *Engine) CreateAzureOrg(ctx context.Context, conn string, in qualys.AzureOrgConnectorInput) (store.Record, error) {
	if err := in.Validate(); err != nil {
		return store.Record{}, err
	}
	c, err := e.qualysFor(ctx, conn)
	if err != nil {
		return store.Record{}, err
	}
	it, err := c.CreateAzureOrgConnector(ctx, in)
	if err != nil {
		return store.Record{}, err
	}
	return e.keep(ctx, conn, catalog.AzureOrgType, it.Raw)
}
