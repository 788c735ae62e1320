package catalog

import (
	"encoding/json"
	"time"

	"qtc/store"
)

// Qualys TotalCloud types (seed 000).
func init() {
	register(Type{
		Name:          "policies",
		Order:         1,
		Title:         "Policies",
		ConnectorKind: "qualys",
		Columns: []Column{
			{Title: "TITLE", Kind: store.Text, MinWidth: 20, Flex: 4},
			{Title: "CLOUD", Kind: store.Text, MinWidth: 5, MaxWidth: 6},
			{Title: "TYPE", Kind: store.Text, MinWidth: 13, MaxWidth: 21, Flex: 1},
			{Title: "SCOPE", Kind: store.Text, MinWidth: 8, MaxWidth: 8},
			{Title: "CONTROLS", Kind: store.Number, MinWidth: 8, MaxWidth: 8, Right: true},
			{Title: "MODIFIED", Kind: store.Time, MinWidth: 10, MaxWidth: 16, Flex: 3},
		},
		ID: uuidID,
		Cells: func(raw json.RawMessage, _ Resolver) ([]string, error) {
			var p struct {
				Title        string            `json:"title"`
				CloudType    string            `json:"cloudType"`
				Type         string            `json:"type"`
				Scope        string            `json:"scope"`
				ControlIDs   []json.RawMessage `json:"controlIds"`
				ModifiedDate string            `json:"modifiedDate"`
			}
			if err := json.Unmarshal(raw, &p); err != nil {
				return nil, err
			}
			return []string{p.Title, p.CloudType, p.Type, p.Scope, itoa(len(p.ControlIDs)), p.ModifiedDate}, nil
		},
	})
	register(Type{
		Name:          "exceptions",
		Order:         2,
		Title:         "Exceptions",
		ConnectorKind: "qualys",
		Columns: []Column{
			{Title: "NAME", Kind: store.Text, MinWidth: 18, Flex: 3},
			{Title: "STATE", Kind: store.Text, MinWidth: 8, MaxWidth: 9},
			{Title: "REASON", Kind: store.Text, MinWidth: 10, MaxWidth: 22, Flex: 1},
			{Title: "SCOPE", Kind: store.Text, MinWidth: 9, MaxWidth: 9},
			{Title: "START", Kind: store.Time, MinWidth: 10, MaxWidth: 16, Flex: 2},
			{Title: "END", Kind: store.Time, MinWidth: 10, MaxWidth: 16, Flex: 2},
		},
		ID: uuidID,
		Cells: func(raw json.RawMessage, _ Resolver) ([]string, error) {
			var e struct {
				Name         string `json:"name"`
				State        string `json:"state"`
				Reason       string `json:"reason"`
				Scope        string `json:"scope"`
				StartingDate string `json:"startingDate"`
				EndingDate   string `json:"endingDate"`
			}
			if err := json.Unmarshal(raw, &e); err != nil {
				return nil, err
			}
			return []string{e.Name, e.State, e.Reason, e.Scope, e.StartingDate, e.EndingDate}, nil
		},
		Marker: exceptionMarker,
	})
}

// AzureOrgType holds the Azure tenant (org) connectors created through the
// Qualys connectors API (seed 001), as the server answered.
const AzureOrgType = "azure-org"

func init() {
	register(Type{
		Name:          AzureOrgType,
		Order:         100,
		Title:         "Azure tenant connectors",
		ConnectorKind: "qualys",
		Columns: []Column{
			{Title: "NAME", Kind: store.Text, MinWidth: 14, Flex: 3},
			{Title: "STATE", Kind: store.Text, MinWidth: 8, MaxWidth: 12},
			{Title: "PREFIX", Kind: store.Text, MinWidth: 8, MaxWidth: 30, Flex: 1},
			{Title: "TENANT", Kind: store.Text, MinWidth: 12, MaxWidth: 36, Flex: 1},
			{Title: "NEXT SYNC", Kind: store.Time, MinWidth: 10, MaxWidth: 16, Flex: 2},
			{Title: "LAST ERROR", Kind: store.Text, MinWidth: 10, Flex: 2},
		},
		ID: uuidID,
		Cells: func(raw json.RawMessage, _ Resolver) ([]string, error) {
			c, _, err := fields(raw, "name", "state", "connectorPrefixName", "tenantName", "nextSync", "lastError")
			return c, err
		},
	})
}

// Exception markers: ended, or ending within a week.
const (
	MarkEnded      = "x"
	MarkEndingSoon = "!"
)

// exceptionMarker flags exceptions that have ended or end within 7 days,
// from the END cell.
func exceptionMarker(cells []string, now time.Time) string {
	if len(cells) < 6 {
		return ""
	}
	end, ok := parseTime(cells[5])
	switch {
	case !ok:
		return ""
	case !end.After(now):
		return MarkEnded
	case end.Sub(now) <= 7*24*time.Hour:
		return MarkEndingSoon
	}
	return ""
}

// parseTime reads the timestamp formats the APIs send.
func parseTime(s string) (time.Time, bool) {
	for _, l := range []string{"2006-01-02T15:04:05.000Z07:00", "2006-01-02T15:04:05-0700", time.RFC3339Nano} {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
