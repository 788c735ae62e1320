package catalog

import (
	"encoding/json"

	"qtc/store"
)

// Qualys TotalCloud types (seed 000).
func init() {
	register(Type{
		Name:          "policies",
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
		Title:         "Exceptions",
		ConnectorKind: "qualys",
		Columns: []Column{
			{Title: "NAME", Kind: store.Text, MinWidth: 18, Flex: 3},
			{Title: "STATE", Kind: store.Text, MinWidth: 8, MaxWidth: 9},
			{Title: "REASON", Kind: store.Text, MinWidth: 10, MaxWidth: 22, Flex: 1},
			{Title: "SCOPE", Kind: store.Text, MinWidth: 8, MaxWidth: 9},
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
	})
}
