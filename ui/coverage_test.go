package ui

import (
	"context"
	"encoding/json"
	"testing"

	"qtc/store"
	qsync "qtc/sync"
)

func TestCoverageScreenListsGapsAndOpensTheRecord(t *testing.T) {
	h := newHarness(t, 140, 30)
	ctx := context.Background()
	// The harness's Qualys connector t has TotalCloud Entra ID users; add a
	// Graph identity connector holding one of them and one more.
	var tc []store.Record
	if err := h.eng.Store.Each(ctx, "t", "azure/ENTRA_ID_USER", func(r store.Record) error {
		tc = append(tc, r)
		return nil
	}); err != nil || len(tc) < 2 {
		t.Fatalf("%d TotalCloud users, %v", len(tc), err)
	}
	var first struct{ ResourceID, UserPrincipalName, DisplayName string }
	if err := json.Unmarshal(tc[0].Raw, &first); err != nil {
		t.Fatal(err)
	}
	if err := h.eng.Store.PutConnector(ctx, store.Connector{Name: "ent", Kind: qsync.KindEntra}); err != nil {
		t.Fatal(err)
	}
	users := []store.Record{
		{ID: first.ResourceID, Raw: json.RawMessage(`{"id":"` + first.ResourceID + `","displayName":"` + first.DisplayName + `"}`), Cells: []string{first.DisplayName}},
		{ID: "only-in-graph", Raw: json.RawMessage(`{"id":"only-in-graph","displayName":"Zed Graphonly","userPrincipalName":"zed@x"}`), Cells: []string{"Zed Graphonly"}},
	}
	if _, err := h.eng.Store.WritePage(ctx, store.PageWrite{Connector: "ent", Type: "users", Layout: store.Layout{Columns: []store.ColumnKind{store.Text}}, Records: users}); err != nil {
		t.Fatal(err)
	}
	h.open("coverage")
	h.contains("match: device displayName", qsync.GapGraphUserOnly, "Zed Graphonly", qsync.GapTotalCloudUserOnly,
		"no Qualys host assets synced")
	if rows, _, _ := h.eng.Coverage(ctx); len(rows) != len(tc) { // all but one TotalCloud user, plus Zed
		t.Errorf("%d gaps, want %d", len(rows), len(tc))
	}
	// The first row: the Graph-only user (gaps sort by name); enter opens it.
	h.keys("enter")
	h.contains("Zed Graphonly", "Fields", "only-in-graph")
}
