package sync_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"

	"qtc/store"
	"qtc/store/vault"
	qsync "qtc/sync"
)

func TestCoverageFindsWhatEachSideLacks(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, "qtc.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	v, err := vault.Open(filepath.Join(dir, "key"))
	if err != nil {
		t.Fatal(err)
	}
	eng := &qsync.Engine{Store: st, Vault: v}
	ctx := context.Background()
	put := func(conn, kind, typ string, recs ...map[string]any) {
		t.Helper()
		if err := st.PutConnector(ctx, store.Connector{Name: conn, Kind: kind}); err != nil {
			t.Fatal(err)
		}
		var rs []store.Record
		for i, r := range recs {
			raw, _ := json.Marshal(r)
			rs = append(rs, store.Record{ID: typ + string(rune('a'+i)), Raw: raw, Cells: []string{"x"}})
		}
		if _, err := st.WritePage(ctx, store.PageWrite{Connector: conn, Type: typ, Layout: store.Layout{Columns: []store.ColumnKind{store.Text}}, Records: rs}); err != nil {
			t.Fatal(err)
		}
	}

	// Before any data: nothing compared, and the notes say why.
	rows, notes, err := eng.Coverage(ctx)
	if err != nil || len(rows) != 0 || len(notes) != 2 {
		t.Fatalf("empty store: %v rows, notes %q, %v", rows, notes, err)
	}

	put("devs", qsync.KindEntraDevices, "devices",
		map[string]any{"displayName": "LAPTOP-1"},     // host by name, other case
		map[string]any{"displayName": "ws-22"},        // host by FQDN's first label
		map[string]any{"displayName": "PHONE-9"},      // no host
		map[string]any{"displayName": "db01.corp.ex"}) // host by dnsHostName
	put("q", qsync.KindQualys, "hosts",
		map[string]any{"name": "laptop-1"},
		map[string]any{"name": "10.0.0.7", "fqdn": "WS-22.corp.example"},
		map[string]any{"name": "srv-9", "dnsHostName": "db01.corp.ex"},
		map[string]any{"name": "srv-db-0001"}) // no device
	put("q", qsync.KindQualys, "azure/ENTRA_ID_USER",
		map[string]any{"displayName": "Ann", "resourceId": "ID-1", "userPrincipalName": "ann@x"},
		map[string]any{"displayName": "Bob", "resourceId": "zzz", "userPrincipalName": "BOB@x"},
		map[string]any{"displayName": "Cy", "resourceId": "id-9", "userPrincipalName": "cy@x"})
	put("ent", qsync.KindEntra, "users",
		map[string]any{"displayName": "Ann", "id": "id-1", "userPrincipalName": "other@x"},
		map[string]any{"displayName": "Bob", "id": "id-2", "userPrincipalName": "bob@x"},
		map[string]any{"displayName": "Dee", "id": "id-4", "userPrincipalName": "dee@x"})

	rows, notes, err = eng.Coverage(ctx)
	if err != nil || len(notes) != 0 {
		t.Fatalf("notes %q, %v", notes, err)
	}
	var got []string
	for _, r := range rows {
		got = append(got, r.Gap+": "+r.Name+" ("+r.Connector+"/"+r.Type+")")
	}
	want := []string{
		qsync.GapDeviceWithoutHost + ": PHONE-9 (devs/devices)",
		qsync.GapGraphUserOnly + ": Dee (ent/users)",
		qsync.GapHostWithoutDevice + ": srv-db-0001 (q/hosts)",
		qsync.GapTotalCloudUserOnly + ": Cy (q/azure/ENTRA_ID_USER)",
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("coverage\n got %q\nwant %q", got, want)
	}
}
