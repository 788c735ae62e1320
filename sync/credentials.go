package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"qtc/store"
)

// The credentials view (seeds 002 and 003, Key Rotation): every client
// secret and certificate of the synced applications and service
// principals, one record each, so they sort and filter by expiry like any
// other list. The records are derived from the store after the two pulls,
// not fetched: each is
//
//	{"id": "<owner id>/<keyId>", "ownerId", "ownerType", "ownerDisplayName",
//	 "appId", "credentialType": "secret"|"certificate", "keyId",
//	 "displayName", "startDateTime", "endDateTime", "type", "usage"}
const credentialsType = "credentials"

// credential is one entry of keyCredentials or passwordCredentials.
type credential struct {
	KeyID         string `json:"keyId"`
	DisplayName   string `json:"displayName"`
	StartDateTime string `json:"startDateTime"`
	EndDateTime   string `json:"endDateTime"`
	Type          string `json:"type,omitempty"`
	Usage         string `json:"usage,omitempty"`
}

// derivedCredential is the record written for one credential.
type derivedCredential struct {
	ID               string `json:"id"`
	OwnerID          string `json:"ownerId"`
	OwnerType        string `json:"ownerType"`
	OwnerDisplayName string `json:"ownerDisplayName"`
	AppID            string `json:"appId,omitempty"`
	CredentialType   string `json:"credentialType"`
	credential
}

// deriveCredentials lists the credentials of the stored applications and
// service principals of conn, as one page.
func (e *Engine) deriveCredentials(ctx context.Context, conn string) (rawPage, error) {
	var items [][]byte
	for _, owner := range []struct{ typ, kind string }{{"applications", "application"}, {"servicePrincipals", "servicePrincipal"}} {
		err := e.Store.Each(ctx, conn, owner.typ, func(r store.Record) error {
			if !r.Removed.IsZero() {
				return nil
			}
			var o struct {
				ID          string       `json:"id"`
				AppID       string       `json:"appId"`
				DisplayName string       `json:"displayName"`
				Keys        []credential `json:"keyCredentials"`
				Passwords   []credential `json:"passwordCredentials"`
			}
			if err := json.Unmarshal(r.Raw, &o); err != nil {
				return fmt.Errorf("%s %s: %w", owner.typ, r.ID, err)
			}
			for _, set := range []struct {
				kind  string
				creds []credential
			}{{"certificate", o.Keys}, {"secret", o.Passwords}} {
				for _, c := range set.creds {
					if c.KeyID == "" {
						continue
					}
					b, err := json.Marshal(derivedCredential{ID: o.ID + "/" + c.KeyID, OwnerID: o.ID, OwnerType: owner.kind,
						OwnerDisplayName: o.DisplayName, AppID: o.AppID, CredentialType: set.kind, credential: c})
					if err != nil {
						return err
					}
					items = append(items, b)
				}
			}
			return nil
		})
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return rawPage{}, fmt.Errorf("credentials: %w", err)
		}
	}
	return rawPage{items: items, last: true}, nil
}
